"""Each zip gets a CycloneDX SBOM beside it: locked packages with versions and hashes, the function's own files,
the zip's SHA-256; valid against the CycloneDX 1.6 schema, listed in the manifest, byte-reproducible."""

import hashlib
import json

import pytest

SIX_LOCK = "six-python3.12-x86_64.txt"


def _sbom(workspace, name: str) -> tuple[bytes, dict]:
    entry = workspace.manifest()["functions"][name]
    raw = (workspace.root / "build" / entry["sbom"]).read_bytes()
    return raw, json.loads(raw)


@pytest.mark.stack  # slow end to end: a locked package installed, and the CycloneDX schema validator
def test_sbom_lists_packages_files_and_the_zip(workspace) -> None:
    folder = workspace.add_locked_function("withsix", SIX_LOCK)
    (folder / "helpers.py").write_text("VALUE = 1\n")
    result = workspace.run("all")
    assert result.returncode == 0, result.stderr
    entry = workspace.manifest()["functions"]["withsix"]
    assert entry["sbom"] == "withsix.cdx.json"
    raw, sbom = _sbom(workspace, "withsix")

    from cyclonedx.schema import SchemaVersion  # imported here: its validator costs ~1 s (jsonschema's grammars)
    from cyclonedx.validation.json import JsonStrictValidator

    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(raw.decode())
    assert errors is None, errors
    component = sbom["metadata"]["component"]
    assert component["name"] == "withsix"
    assert component["hashes"] == [{"alg": "SHA-256", "content": entry["sha256"]}]
    libraries = [c for c in sbom["components"] if c["type"] == "library"]
    lock = (folder / "requirements.txt").read_text()
    assert [(c["name"], c["purl"]) for c in libraries] == [("six", "pkg:pypi/six@1.16.0")]
    assert libraries[0]["hashes"] and all(f"sha256:{h['content']}" in lock for h in libraries[0]["hashes"])
    files = {c["name"]: c["hashes"][0]["content"] for c in sbom["components"] if c["type"] == "file"}
    assert files == {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in ("helpers.py", "lambda_function.py")
    }


def test_sbom_is_reproducible_and_follows_the_zip(workspace) -> None:
    folder = workspace.add_function("plain")
    assert workspace.run("all").returncode == 0
    first, _ = _sbom(workspace, "plain")
    assert workspace.run("all", "--force").returncode == 0
    assert _sbom(workspace, "plain")[0] == first  # same inputs, same bytes
    (workspace.root / "build" / "plain.cdx.json").unlink()
    rebuilt = workspace.run("all")  # a missing SBOM is rebuilt, not silently absent
    assert rebuilt.returncode == 0 and _sbom(workspace, "plain")[0] == first
    (folder / "lambda_function.py").write_text("def lambda_handler(event, context):\n    return 2\n")
    assert workspace.run("all").returncode == 0
    _, changed = _sbom(workspace, "plain")
    assert (
        changed["metadata"]["component"]["hashes"][0]["content"] == workspace.manifest()["functions"]["plain"]["sha256"]
    )
    assert _sbom(workspace, "plain")[0] != first
