"""pytest plugin: compile the lambdafleet package to bytecode once per test session, before any test starts a
process.

The suite starts hundreds of Python processes that import lambdafleet (`python build.py ...`, the `build.py local`
endpoints, the runtime's helpers), from the checkout or from copies of it in tmp. Where PYTHONDONTWRITEBYTECODE is
set (CI does) a fresh checkout has no `__pycache__`, so each of those processes compiled every module it imported,
again and again. Compiled once here, they read the bytecode instead; copies made with `shutil.copy2` keep the
source mtimes the (timestamp-checked) bytecode is valid for, so the copies in `lambdafleet.testing.repository` and
the tests' workspaces carry it along.

What users get is unchanged: only a test session compiles, into `__pycache__/` folders that git ignores and that the
build never packs into a zip or a layer (tests/test_build_output.py checks both). While collecting, pytest may also
keep the test modules it rewrote for their asserts (see `pytest_collection`).

Registered by the repository's root conftest.py. Runs on pytest-xdist's controller (or the only process with `-n 0`),
never on the workers, so it compiles once before they start.
"""

import compileall
import py_compile
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1]  # lambdafleet/


def compile_package(package: Path = PACKAGE) -> bool:
    """Write `package`'s missing or stale bytecode (timestamp-checked); False if some could not be written (a
    read-only checkout, say: the processes then compile as before, which costs time, never correctness)."""
    return bool(
        compileall.compile_dir(package, quiet=2, invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP, workers=1)
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Compile on the controller only: each pytest-xdist worker would otherwise race to do it again."""
    if getattr(config, "workerinput", None) is None:
        compile_package()


@pytest.hookimpl(hookwrapper=True)
def pytest_collection(session: pytest.Session) -> Iterator[None]:
    """Let pytest keep the test modules it rewrote for their asserts (its `-pytest-*.pyc` files in the same
    `__pycache__/` folders) while collecting: with PYTHONDONTWRITEBYTECODE set, each worker of every run rewrote all
    of them again, ~0.8 CPU-s. A module changed since is rewritten (pytest checks its mtime and size)."""
    saved = sys.dont_write_bytecode
    sys.dont_write_bytecode = False
    try:
        yield
    finally:
        sys.dont_write_bytecode = saved
