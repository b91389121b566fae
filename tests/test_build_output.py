"""What a build produces: reproducible bytes, the target's binaries, the right files, the manifest."""

import base64
import hashlib
import os
import stat
import zipfile

import pytest

SOURCES = {
    "lambda_function.py": "from helpers import util\n\ndef lambda_handler(event, context):\n    return util.VALUE\n",
    "helpers/__init__.py": "",
    "helpers/util.py": "VALUE = 42\n",
    "data/model.txt": "weights\n",
    "run.sh": "#!/bin/sh\necho hi\n",
}
ELF_MACHINE = {"x86_64": 62, "aarch64": 183}


def _write_sources(workspace, order, mode):
    folder = workspace.add_function("app", files={name: SOURCES[name] for name in order})
    for path in folder.rglob("*"):
        if path.is_file():
            path.chmod(0o755 if path.name == "run.sh" else mode)
    return folder


def _digests(workspace):
    build = workspace.root / "build"
    # The outputs; .stamps/ is the build's private bookkeeping (file mtimes), not something it ships.
    outputs = [p for p in sorted(build.iterdir()) if not p.name.startswith(".")]
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in outputs}


@pytest.mark.stack  # slow end to end: leave out with -m 'not stack' while editing
def test_same_inputs_give_identical_bytes_whatever_the_machine_state(tmp_path, make_workspace):
    first = make_workspace(tmp_path / "checkout-one", tmp_path / "cache-one")
    _write_sources(first, sorted(SOURCES), 0o644)
    first.add_locked_function("numeric", "numpy-python3.12-x86_64.txt")
    second = make_workspace(tmp_path / "elsewhere" / "checkout-two", tmp_path / "cache-two")
    folder = _write_sources(second, sorted(SOURCES, reverse=True), 0o600)
    second.add_locked_function("numeric", "numpy-python3.12-x86_64.txt")
    for path in folder.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))

    result_one = first.run("all", "-j", "1", env={"TZ": "UTC", "PYTHONHASHSEED": "0"}, umask=0o022)
    result_two = second.run("all", "-j", "4", env={"TZ": "Asia/Tokyo", "PYTHONHASHSEED": "99"}, umask=0o077)
    assert result_one.returncode == 0, result_one.stderr
    assert result_two.returncode == 0, result_two.stderr
    cold = _digests(first)
    assert cold == _digests(second)
    assert set(cold) == {"app.zip", "app.cdx.json", "numeric.zip", "numeric.cdx.json", "manifest.json"}

    warm = second.run("all", "--force", env={"TZ": "America/Lima"})  # warm dependency cache
    assert warm.returncode == 0, warm.stderr
    assert _digests(second) == cold


def test_zip_entries_are_normalised_and_sorted(workspace):
    _write_sources(workspace, sorted(SOURCES), 0o640)
    assert workspace.run("all").returncode == 0
    with zipfile.ZipFile(workspace.root / "build" / "app.zip") as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(SOURCES)
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.extra == b""
        assert info.compress_type == zipfile.ZIP_DEFLATED
        expected = 0o755 if info.filename == "run.sh" else 0o644
        assert stat.S_IMODE(info.external_attr >> 16) == expected, info.filename


@pytest.mark.stack  # slow end to end: real compiled wheels for each architecture
@pytest.mark.parametrize(("architecture", "machine"), [("arm64", "aarch64"), ("x86_64", "x86_64")])
def test_compiled_dependencies_match_the_target_architecture(workspace, architecture, machine):
    workspace.add_locked_function(
        "numeric", f"numpy-python3.12-{architecture}.txt", config=f'architecture = "{architecture}"\n'
    )
    result = workspace.run("numeric")
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(workspace.root / "build" / "numeric.zip") as archive:
        shared = [n for n in archive.namelist() if n.endswith(".so") or ".so." in n]
        assert shared
        for name in shared:
            header = archive.read(name)[:20]
            assert header[:4] == b"\x7fELF", name
            assert int.from_bytes(header[18:20], "little") == ELF_MACHINE[machine], name
        assert any(f"cpython-312-{machine}-linux-gnu.so" in n for n in shared)


@pytest.mark.stack  # slow: real resolver or terraform runs
def test_the_newest_runtime_gets_its_own_cpython_binaries(workspace):
    workspace.add_locked_function("numeric", "numpy-python3.14-x86_64.txt", config='runtime = "python3.14"\n')
    result = workspace.run("numeric")
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(workspace.root / "build" / "numeric.zip") as archive:
        assert any("cpython-314-x86_64-linux-gnu.so" in n for n in archive.namelist())


def _wheel_tags(archive: zipfile.ZipFile, project: str) -> list[str]:
    [wheel] = [n for n in archive.namelist() if n.startswith(f"{project}-") and n.endswith(".dist-info/WHEEL")]
    return [line.split(": ", 1)[1] for line in archive.read(wheel).decode().splitlines() if line.startswith("Tag: ")]


@pytest.mark.stack  # slow: real resolver or terraform runs
def test_lock_picks_a_version_with_wheels_for_the_runtimes_glibc(workspace):
    """python3.11 runs on glibc 2.26: the newest numpy ships only manylinux_2_27+ wheels, so an older one is locked."""
    folder = workspace.add_function("numeric", config='runtime = "python3.11"\n')
    (folder / "requirements.in").write_text("numpy\n")
    assert workspace.run("lock", "numeric").returncode == 0
    result = workspace.run("numeric")
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(workspace.root / "build" / "numeric.zip") as archive:
        tags = _wheel_tags(archive, "numpy")
    glibc_minors = [int(tag.split("manylinux_2_")[1].split("_")[0]) for tag in tags if "manylinux_2_" in tag]
    assert tags and all(tag.startswith("cp311-cp311-") for tag in tags)
    assert max(glibc_minors, default=17) <= 26, tags


@pytest.mark.stack  # slow: real resolver or terraform runs
def test_lock_falls_back_to_a_pure_python_sdist(workspace, tmp_path):
    """docopt 0.6.2 was only ever published as an sdist; it builds a py3-none-any wheel, which Lambda can run.
    Its metadata is built by an interpreter found on the machine: uv downloads none (it used to fetch a CPython of
    the runtime's version, or retry for seconds offline)."""
    folder = workspace.add_function("cli")
    (folder / "requirements.in").write_text("docopt==0.6.2\n")
    downloads = tmp_path / "uv-python"  # where uv would install a managed CPython
    lock = workspace.run("lock", "cli", env={"UV_PYTHON_INSTALL_DIR": str(downloads)})
    assert lock.returncode == 0, lock.stderr
    assert not downloads.exists()
    assert "docopt==0.6.2" in (folder / "requirements.txt").read_text()
    result = workspace.run("cli")
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(workspace.root / "build" / "cli.zip") as archive:
        assert "docopt.py" in archive.namelist()


def test_compiled_sdist_without_a_wheel_for_the_target_fails_clearly(workspace):
    workspace.add_locked_function("netinfo", "netifaces-python3.12-x86_64.txt")
    result = workspace.cli("netinfo")
    assert result.returncode == 2
    assert "netifaces==0.11.0 has no wheel for python3.12 x86_64" in result.stderr
    assert "tags tried: cp312-{cp312,abi3,none}-{manylinux_2_34_x86_64 .. manylinux1_x86_64}" in result.stderr
    assert "functions/netinfo/requirements.txt" in result.stderr
    assert not (workspace.root / "build" / "netinfo.zip").exists()


@pytest.mark.stack  # slow end to end: a build with real dependencies
def test_zip_holds_code_and_dist_info_but_not_tests_caches_secrets(workspace):
    folder = workspace.add_locked_function(
        "numeric", "numpy-python3.12-x86_64.txt", config='exclude = ["data/raw", "*.csv"]\n'
    )
    extras = {
        "tests/test_handler.py": "",
        "test_quick.py": "",
        "conftest.py": "",
        "__pycache__/lambda_function.cpython-312.pyc": "",
        ".env": "SECRET=1",
        ".env.local": "SECRET=2",
        ".git/config": "",
        ".vscode/settings.json": "{}",
        "notes.txt~": "",
        "lambda_function.py.swp": "",
        "data/raw/big.bin": "x",
        "data/table.csv": "a,b",
        "data/keep.json": "{}",
        "requirements.in": "numpy\n",
    }
    for relative, text in extras.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)
    result = workspace.run("all")
    assert result.returncode == 0, result.stderr
    names = workspace.zip_names("numeric")
    own = [n for n in names if not n.startswith(("numpy", "numpy-", "numpy.libs"))]
    assert own == ["data/keep.json", "lambda_function.py"]
    assert "numpy-2.5.5.dist-info/METADATA" in names
    assert "numpy/__init__.py" in names
    assert not [n for n in names if n.startswith("bin/") or n.endswith(".pyc") or "/tests/" in n]
    with zipfile.ZipFile(workspace.root / "build" / "numeric.zip") as archive:
        record = archive.read("numpy-2.5.5.dist-info/RECORD").decode()
    assert "../../bin/" not in record


def test_manifest_describes_each_zip(workspace):
    workspace.add_function(
        "api",
        config='memory_size = 256\ntimeout = 10\nroutes = ["POST /predict"]\n'
        'permissions = ["table:predictions:read_write"]\n[environment]\nSTAGE = "dev"\n'
        '[destinations]\non_failure = "sink"\n',
    )
    workspace.add_function("sink")
    (workspace.root / "functions" / "chains.toml").write_text('[chains.flow]\nsteps = ["api", "sink"]\n')
    assert workspace.run("all").returncode == 0
    manifest = workspace.manifest()
    assert manifest["schema_version"] == 1
    assert manifest["chains"] == {"flow": {"name": "flow", "steps": ["api", "sink"], "description": ""}}
    entry = manifest["functions"]["api"]
    data = (workspace.root / "build" / entry["zip"]).read_bytes()
    assert entry["zip"] == "api.zip"
    assert entry["size"] == len(data)
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert entry["source_code_hash"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert entry["s3"] is None
    assert entry["runtime"] == "python3.12"
    assert entry["architecture"] == "x86_64"
    assert entry["handler"] == "lambda_function.lambda_handler"
    assert (entry["memory_size"], entry["timeout"], entry["ephemeral_storage"]) == (256, 10, 512)
    assert entry["environment"] == {"STAGE": "dev"}
    assert entry["routes"] == ["POST /predict"]
    [grant] = entry["permissions"]
    assert (grant["type"], grant["name"], grant["access"]) == ("table", "predictions", "read_write")
    assert grant["allow"][0]["suffix"] == "" and "dynamodb:PutItem" in grant["allow"][0]["actions"]
    assert entry["statements"] == []
    assert entry["destinations"] == {"on_success": None, "on_failure": "sink"}


def test_symlinked_folders_ship_and_a_link_loop_ends(workspace):
    shared = workspace.root / "assets"
    (shared / "nested").mkdir(parents=True)
    (shared / "nested" / "table.json").write_text("{}")
    folder = workspace.add_function("app")
    (folder / "assets").symlink_to(shared)
    (shared / "nested" / "loop").symlink_to(shared)  # a link back up: must not recurse forever
    result = workspace.run("app")
    assert result.returncode == 0, result.stderr
    assert workspace.zip_names("app") == ["assets/nested/table.json", "lambda_function.py"]


def test_a_partial_build_records_a_chain_only_once_all_its_steps_are_built(workspace):
    workspace.add_function("first")
    workspace.add_function("second")
    (workspace.root / "functions" / "chains.toml").write_text('[chains.flow]\nsteps = ["first", "second"]\n')
    assert workspace.run("first").returncode == 0
    assert workspace.manifest()["chains"] == {}
    assert workspace.run("second").returncode == 0
    assert list(workspace.manifest()["chains"]) == ["flow"]
