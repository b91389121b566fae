"""Fixtures for the local Lambda runtime: zips made from handler sources, and pools that run them."""

import os
import textwrap
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lambdafleet.build.paths import cache_root
from lambdafleet.runtime import FunctionPool, FunctionSpec, sandbox

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = cache_root(REPO_ROOT)

# Why functions run unsandboxed on this machine (None: sandboxed). CI must have the sandbox: never skip there.
SANDBOX_MISSING = None if os.environ.get("CI") else sandbox.unavailable()
needs_sandbox = pytest.mark.skipif(
    SANDBOX_MISSING is not None,
    reason=f"functions run unsandboxed here ({SANDBOX_MISSING}), see docs/runtime.md",
)

# Starts a child process (which the sandbox keeps inside the environment) on its first call, then sleeps.
PARENT_OF_A_SLEEPER = """
import subprocess, time

children = []

def lambda_handler(event, context):
    if not children:
        children.append(subprocess.Popen(["sleep", "600"]))
    time.sleep(event.get("sleep", 0))
    return "ok"
"""

MakeZip = Callable[..., Path]
MakePool = Callable[..., FunctionPool]


@pytest.fixture
def make_zip(tmp_path: Path) -> MakeZip:
    """Write a function zip from {archive name: source}; sources are dedented."""

    def make(files: dict[str, str], name: str = "function.zip") -> Path:
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as archive:
            for member, source in files.items():
                archive.writestr(member, textwrap.dedent(source))
        return path

    return make


@pytest.fixture
def make_pool(make_zip: MakeZip) -> Iterator[MakePool]:
    """Start a pool for a handler source (or a dict of files); every pool is closed after the test."""
    pools: list[FunctionPool] = []

    def make(source: str | dict[str, str], **spec_options: object) -> FunctionPool:
        files = {"lambda_function.py": source} if isinstance(source, str) else source
        pool_options = {
            key: spec_options.pop(key)
            for key in ("extra_env", "max_environments", "fork_server")
            if key in spec_options
        }
        spec = FunctionSpec(name=str(spec_options.pop("name", "probe")), **spec_options)
        pool = FunctionPool(spec, make_zip(files), cache_dir=CACHE_DIR, **pool_options)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()
