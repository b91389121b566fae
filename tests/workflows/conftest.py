"""Fixtures of the workflow tests: one strict mypy run of the package for the session, whose cache the pre-commit
test's throwaway repository starts from (its hook then checks only what the test changed)."""

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class MypyRun:
    """`mypy` (pyproject's strict configuration) on the checkout: its outcome and its cache directory."""

    result: subprocess.CompletedProcess[str]
    cache_dir: Path


@pytest.fixture(scope="session")
def mypy_run(tmp_path_factory: pytest.TempPathFactory) -> MypyRun:
    """Run once: a cold strict check costs seconds of CPU, a warm one a fraction of a second (pyproject lists this
    fixture in one_worker_fixtures, so its tests share one pytest-xdist worker)."""
    cache_dir = tmp_path_factory.mktemp("mypy-cache")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(cache_dir)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    return MypyRun(result, cache_dir)
