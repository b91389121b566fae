"""The plain moto bugs lambdafleet patches, each shown by a standalone script beside this file: the script fails on
unpatched moto (that is the bug to report upstream) and passes once lambdafleet's patches are applied."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
# The patches with a reproduction script, named here rather than read from the registry at collection (importing it
# imports moto, ~0.6 s in every test process); the first test checks the registry says the same.
SCRIPTED = ("lambda_keeps_its_logging_config", "lambda_updates_image_config", "s3_listings_survive_concurrent_deletes")
PATCHED = "from lambdafleet.endpoint import moto_patches; moto_patches.apply_all(); import runpy, sys; "
PATCHED += "runpy.run_path(sys.argv[1], run_name='__main__')"


def _run(script: str, *, patched: bool) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}  # moto alone
    command = [sys.executable, "-c", PATCHED, script] if patched else [sys.executable, script]
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


def _reproductions() -> dict[str, str]:
    from lambdafleet.endpoint.moto_patches import PATCHES

    return {patch.name: patch.reproduction for patch in PATCHES if patch.reproduction}


def test_every_reproduction_is_a_script_here() -> None:
    assert set(_reproductions()) == set(SCRIPTED)
    for script in _reproductions().values():
        assert (REPO_ROOT / script).parent == Path(__file__).parent, script


@pytest.mark.stack  # slow end to end: each script runs on moto twice, in new interpreters
@pytest.mark.parametrize("patch_name", SCRIPTED)
def test_the_bug_shows_on_moto_and_not_with_the_patch(patch_name: str) -> None:
    script = _reproductions()[patch_name]
    unpatched = _run(script, patched=False)
    assert unpatched.returncode == 1 and "Error" in unpatched.stderr.splitlines()[-1], unpatched.stderr
    patched = _run(script, patched=True)
    assert patched.returncode == 0, patched.stderr
