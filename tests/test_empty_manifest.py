"""An empty functions/ must not write a manifest that would make Terraform destroy every function."""

import json


def test_an_empty_functions_folder_does_not_overwrite_the_manifest(workspace):
    workspace.add_function("fn")
    assert workspace.run("all", "--quiet").returncode == 0
    before = (workspace.root / "build" / "manifest.json").read_bytes()
    (workspace.root / "functions" / "fn" / "function.toml").write_text("")
    (workspace.root / "functions" / "fn").rename(workspace.root / "functions" / ".fn-moved")
    result = workspace.run("all")
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1
    assert "functions/: no functions found; refusing to write build/manifest.json" in result.stderr
    assert "--allow-empty" in result.stderr
    assert (workspace.root / "build" / "manifest.json").read_bytes() == before


def test_allow_empty_writes_the_empty_manifest(workspace):
    result = workspace.run("all", "--allow-empty", "--quiet")
    assert result.returncode == 0, result.stderr
    assert workspace.manifest()["functions"] == {}
    assert json.loads((workspace.root / "build" / "manifest.json").read_text())["chains"] == {}
