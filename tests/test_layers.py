"""Layers: `layers/<name>/` built into one reproducible zip per target under python/, listed in the manifest,
attached to the functions that name them; Lambda's limits checked at build time."""

import json
import zipfile

import pytest

SIX_LOCK = "six-python3.12-x86_64.txt"


def _layer(workspace, name: str, toml: str = "", code: dict[str, str] | None = None, lock: str | None = None):
    folder = workspace.root / "layers" / name
    (folder / "python").mkdir(parents=True)
    for relative, text in (code or {"shared_code.py": "VALUE = 42\n"}).items():
        (folder / "python" / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / "python" / relative).write_text(text)
    if toml:
        (folder / "layer.toml").write_text(toml)
    if lock:
        (folder / "requirements.txt").write_text(lock)
    return folder


def _six_lock() -> str:
    from pathlib import Path

    return (Path(__file__).parent / "fixtures" / SIX_LOCK).read_text()


def test_a_layer_builds_per_target_under_python_and_functions_list_it(workspace) -> None:
    _layer(
        workspace,
        "common",
        'runtimes = ["python3.12", "python3.13"]\n',
        # Bytecode never ships (a test session compiles lambdafleet's: lambdafleet.testing.bytecode).
        code={"shared_code.py": "VALUE = 42\n", "__pycache__/shared_code.cpython-312.pyc": "", "stray.pyc": ""},
        lock=_six_lock().replace("python3.12 x86_64", "python3.12 x86_64"),
    )
    workspace.add_function("user", 'layers = ["common"]\n')
    result = workspace.run("all")
    assert result.returncode == 0, result.stderr
    manifest = workspace.manifest()
    assert manifest["functions"]["user"]["layers"] == ["common"]
    layer = manifest["layers"]["common"]
    assert layer["runtimes"] == ["python3.12", "python3.13"] and layer["architectures"] == ["x86_64"]
    assert set(layer["builds"]) == {"python3.12-x86_64", "python3.13-x86_64"}
    build = layer["builds"]["python3.12-x86_64"]
    assert build["zip"] == "layers/common-python3.12-x86_64.zip"
    with zipfile.ZipFile(workspace.root / "build" / build["zip"]) as archive:
        names = archive.namelist()
    assert "python/shared_code.py" in names and "python/six.py" in names
    assert all(name.startswith("python/") for name in names)
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    sbom = json.loads((workspace.root / "build" / build["sbom"]).read_text())
    assert [c["name"] for c in sbom["components"] if c["type"] == "library"] == ["six"]
    assert "layer:common:python3.12-x86_64" in result.stderr

    first = {t: b["sha256"] for t, b in layer["builds"].items()}
    again = workspace.run("all", "--force")
    assert again.returncode == 0, again.stderr
    assert {t: b["sha256"] for t, b in workspace.manifest()["layers"]["common"]["builds"].items()} == first
    noop = workspace.run("all")
    assert "cached  layer:common:python3.12-x86_64" in noop.stderr


def test_layer_mistakes_are_one_line_errors(workspace) -> None:
    workspace.add_function("user", 'layers = ["missing"]\n')
    result = workspace.cli("check")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: functions/user/function.toml: key 'layers': no layer named 'missing' under layers/"
    )
    _layer(workspace, "old", 'runtimes = ["python3.11"]\n')
    (workspace.root / "functions" / "user" / "function.toml").write_text('layers = ["old"]\n')
    result = workspace.cli("check")
    assert result.returncode == 2 and "layer 'old' is built for python3.11 on x86_64, not python3.12" in result.stderr
    for index in range(6):
        _layer(workspace, f"l{index}")
    (workspace.root / "functions" / "user" / "function.toml").write_text(
        "layers = [" + ", ".join(f'"l{i}"' for i in range(6)) + "]\n"
    )
    result = workspace.cli("check")
    assert result.returncode == 2 and "lists 6 layers; Lambda allows 5" in result.stderr
    (workspace.root / "functions" / "user" / "function.toml").write_text('package_type = "image"\nlayers = ["l0"]\n')
    result = workspace.cli("check")
    assert result.returncode == 2 and "Lambda attaches no layers to a container image function" in result.stderr
    (workspace.root / "layers" / "l0" / "layer.toml").write_text("color = 1\n")
    result = workspace.cli("check")
    assert result.returncode == 2 and result.stderr.startswith("error: layers/l0/layer.toml: key 'color': unknown key")


@pytest.mark.stack  # slow end to end: writes and zips 250 MB
def test_a_function_and_its_layers_over_250_mb_unzipped_are_refused(workspace) -> None:
    layer = _layer(workspace, "big")
    with (layer / "python" / "blob.bin").open("wb") as stream:
        stream.truncate(200 * 1024 * 1024)
    folder = workspace.add_function("user", 'layers = ["big"]\n')
    with (folder / "data.bin").open("wb") as stream:
        stream.truncate(70 * 1024 * 1024)
    result = workspace.run("all")
    assert result.returncode == 2
    assert "functions/user/: unzipped size 70.0 MB plus its layers' 200.0 MB exceeds" in result.stderr


def test_a_function_pinning_a_layers_package_at_another_version_is_warned(workspace) -> None:
    _layer(workspace, "common", lock=_six_lock())
    function_lock = _six_lock().replace("six==1.16.0", "six==1.15.0")
    workspace.add_function("user", 'layers = ["common"]\n', files={"requirements.txt": function_lock})
    result = workspace.run("check")
    assert result.returncode == 0, result.stderr
    assert (
        "warning: functions/user/requirements.txt: six==1.15.0 shadows six==1.16.0 of layer 'common' "
        "(layers/common/requirements.txt)" in result.stderr
    )
