"""The test session compiles lambdafleet once (lambdafleet.testing.bytecode), and the copies of the repository the
tests run from carry that bytecode, still valid: the processes they start load it instead of compiling again."""

import importlib.util
import os
import struct
from pathlib import Path

import pytest

from lambdafleet.testing.bytecode import PACKAGE, compile_package
from lambdafleet.testing.repository import copy_repository


def _stale(package: Path) -> list[str]:
    """The modules under `package` whose bytecode is missing or would be recompiled on import (the checks
    importlib makes for a timestamp-checked pyc: magic number, flags, source mtime and size)."""
    stale = []
    for source in sorted(package.rglob("*.py")):
        cached = Path(importlib.util.cache_from_source(str(source)))
        header = cached.read_bytes()[:16] if cached.is_file() else b""
        if len(header) < 16:
            stale.append(str(source))
            continue
        flags, mtime, size = struct.unpack("<III", header[4:16])
        status = source.stat()
        fresh = (int(status.st_mtime) & 0xFFFFFFFF, status.st_size & 0xFFFFFFFF)
        if header[:4] != importlib.util.MAGIC_NUMBER or flags != 0 or (mtime, size) != fresh:
            stale.append(str(source))
    return stale


@pytest.fixture(scope="module")
def compiled() -> Path:
    if not os.access(PACKAGE, os.W_OK):
        pytest.skip("a read-only checkout: its processes compile as before")
    assert compile_package()  # what the session did at start; a no-op unless a module changed since
    return PACKAGE


def test_the_session_compiled_every_module_of_the_package(compiled):
    assert _stale(compiled) == []


def test_a_copy_of_the_repository_carries_valid_bytecode(compiled, tmp_path):
    copy = copy_repository(tmp_path / "repo")
    assert _stale(copy / "lambdafleet") == []
    assert not list((copy / "functions").rglob("__pycache__"))  # only the package's own is copied


def test_a_workspace_carries_valid_bytecode(compiled, workspace):
    assert _stale(workspace.root / "lambdafleet") == []


def test_the_session_kept_the_test_modules_pytest_rewrote() -> None:
    """pytest keeps a rewritten test module as `<name>.<tag>-pytest-<version>.pyc` beside its bytecode, unless
    bytecode may not be written (PYTHONDONTWRITEBYTECODE, as in CI): the session lets it while collecting, so the
    next run's workers read it instead of rewriting every module again."""
    name = f"{Path(__file__).stem}.*-pytest-{pytest.__version__}.pyc"
    kept = list((Path(__file__).parent / "__pycache__").glob(name))
    assert kept, "pytest did not keep this module's rewritten bytecode"
