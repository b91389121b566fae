"""Interpreter discovery, architecture checks and the per-version runtime directory."""

import os
import platform
import subprocess
from pathlib import Path

import pytest

from lambdafleet.errors import UserError
from lambdafleet.runtime.interpreter import find_interpreter, lambda_architecture
from lambdafleet.runtime.provision import runtime_dir
from tests.runtime.conftest import CACHE_DIR

VERSION = "import sys\n\ndef lambda_handler(e, c):\n    return list(sys.version_info[:2])\n"
HOST = lambda_architecture(platform.machine())
OTHER = "arm64" if HOST == "x86_64" else "x86_64"


def test_the_function_runs_on_its_runtime_version(make_pool):
    assert make_pool(VERSION, runtime="python3.12").invoke({}).response == [3, 12]
    assert make_pool(VERSION, runtime="python3.10").invoke({}).response == [3, 10]


def test_found_interpreter_reports_its_version():
    interpreter = find_interpreter("python3.12", HOST, source="function.toml")
    assert interpreter.version == "3.12" and interpreter.path.name == "python3.12"
    assert "shims" not in interpreter.path.parts  # resolved to the real binary


def test_a_virtualenv_first_on_path_does_not_reach_the_function(make_pool, tmp_path: Path, monkeypatch):
    base = find_interpreter("python3.11", HOST, source="function.toml").path
    venv = tmp_path / "venv"
    subprocess.run([str(base), "-m", "venv", "--without-pip", str(venv)], check=True)
    (venv / "lib" / "python3.11" / "site-packages" / "developer_only.py").write_text("", encoding="utf-8")
    monkeypatch.setenv("PATH", f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}")
    source = """
        import subprocess, sys
        def lambda_handler(event, context):
            child = subprocess.run([sys.executable, "-c", "import developer_only"], capture_output=True)
            return [sys.executable, child.returncode]
    """
    executable, returncode = make_pool(source, runtime="python3.11", fork_server=False).invoke({}).response
    assert executable == str(base) and returncode == 1  # the venv's package is not importable


@pytest.mark.parametrize("located_by", ["PYENV_ROOT", "HOME"])
def test_pyenv_versions_are_found_without_pyenv_on_path(tmp_path: Path, monkeypatch, located_by):
    pyenv_root = tmp_path / ".pyenv"
    (pyenv_root / "versions").mkdir(parents=True)
    real = find_interpreter("python3.12", HOST, source="function.toml").path
    (pyenv_root / "versions" / "3.12.99").symlink_to(real.parent.parent)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # neither python3.12 nor pyenv
    monkeypatch.delenv("PYENV_ROOT", raising=False)
    if located_by == "PYENV_ROOT":
        monkeypatch.setenv("PYENV_ROOT", str(pyenv_root))
    else:
        monkeypatch.setenv("HOME", str(tmp_path))
    found = find_interpreter("python3.12", HOST, source="function.toml")
    assert found.version == "3.12" and found.path.is_relative_to(pyenv_root)


def test_missing_version_is_a_user_error():
    with pytest.raises(UserError, match=r"^functions/x/function.toml: runtime 'python3.99' needs python3.99"):
        find_interpreter("python3.99", HOST, source="functions/x/function.toml")


def test_foreign_architecture_is_refused():
    with pytest.raises(UserError, match=rf"architecture '{OTHER}' cannot run on this {HOST} machine"):
        find_interpreter("python3.12", OTHER, source="functions/x/function.toml")


def test_non_python_runtime_is_refused():
    with pytest.raises(UserError, match=r"runtime 'nodejs20\.x' is not a Python runtime"):
        find_interpreter("nodejs20.x", HOST, source="functions/x/function.toml")


def test_foreign_architecture_stops_before_unpacking(make_pool):
    with pytest.raises(UserError, match="cannot run on this"):
        make_pool(VERSION, architecture=OTHER)


def test_runtime_directory_is_installed_once_and_reused():
    interpreter = find_interpreter("python3.12", HOST, source="function.toml")
    first = runtime_dir(interpreter, CACHE_DIR)
    stamp = (first / "awslambdaric" / "__init__.py").stat().st_mtime_ns
    assert runtime_dir(interpreter, CACHE_DIR) == first
    assert (first / "awslambdaric" / "__init__.py").stat().st_mtime_ns == stamp
    assert any(path.name.startswith("runtime_client.cpython-312") for path in first.iterdir())


def test_a_found_binary_is_remembered_until_it_changes(tmp_path):
    """A warm `build.py invoke` starts no probe: the answer is kept in the cache, tied to the binary's identity."""
    import json

    first = find_interpreter("python3.12", HOST, source="function.toml", cache_dir=tmp_path)
    known = json.loads((tmp_path / "runtime" / "interpreters.json").read_text())
    entries = [entry for entry in known.values() if entry[5] == str(first.path)]
    assert entries and entries[0][3:5] == ["3.12", HOST]
    info = first.path.stat()
    assert entries[0][:3] == [info.st_size, info.st_mtime_ns, info.st_ino]
    assert find_interpreter("python3.12", HOST, source="function.toml", cache_dir=tmp_path) == first
    # An entry whose identity no longer matches the file is not trusted: the binary is probed again.
    stale = {key: [0, 0, 0, *entry[3:]] for key, entry in known.items()}
    (tmp_path / "runtime" / "interpreters.json").write_text(json.dumps(stale))
    assert find_interpreter("python3.12", HOST, source="function.toml", cache_dir=tmp_path) == first
    assert json.loads((tmp_path / "runtime" / "interpreters.json").read_text()) == known
