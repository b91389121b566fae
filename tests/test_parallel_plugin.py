"""lambdafleet.testing.parallel on a throwaway project: the tests of a `one_worker_fixtures` fixture share one
pytest-xdist worker whether the workers are the default or named with `-n N` alone."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFTEST = """
import os, pytest
pytest_plugins = ["lambdafleet.testing.parallel"]

@pytest.fixture(scope="session")
def shared():
    return os.environ.get("PYTEST_XDIST_WORKER", "main")
"""
TESTS = """
import os, pytest

@pytest.mark.parametrize("n", range(6))
def test_uses_the_shared_fixture(shared, n):
    with open(os.environ["WORKERS_SEEN"], "a") as seen:
        seen.write(shared + "\\n")

@pytest.mark.parametrize("n", range(6))
def test_free(n):
    pass
"""


@pytest.mark.stack  # slow end to end: pytest runs on pytest-xdist workers in new processes
@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["default", "n-alone"])
def test_the_tests_of_a_one_worker_fixture_share_one_worker(tmp_path: Path, workers: list[str]) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\none_worker_fixtures = ["shared"]\n')
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_grouped.py").write_text(TESTS)
    seen = tmp_path / "seen.txt"
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "WORKERS_SEEN": str(seen)}
    environment.pop("PYTEST_XDIST_WORKER", None)
    environment["PYTEST_XDIST_AUTO_NUM_WORKERS"] = "2"  # whatever this machine's CPU count
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *workers],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "created: 2/2 workers" in result.stdout, result.stdout
    lines = seen.read_text().split()
    assert len(lines) == 6 and len(set(lines)) == 1 and lines[0].startswith("gw"), lines
