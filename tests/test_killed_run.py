"""A pytest run killed with SIGKILL (an IDE stopping it, `kill -9`) leaves no xdist worker behind, so no endpoint
either: each worker dies with the run (lambdafleet.testing.endpoint's pytest_configure), and each endpoint with its
worker (tests/runtime/test_lifeline.py, tests/local/test_parent_death.py)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from lambdafleet.testing.processes import descendants, describe, survivors

ROOT = Path(__file__).resolve().parents[1]
SLOW = """
import pathlib, time

def test_waits():
    pathlib.Path("started").touch()
    time.sleep(60)
"""


def test_the_workers_of_a_killed_run_die_with_it(tmp_path: Path) -> None:
    (tmp_path / "test_slow.py").write_text(SLOW)
    command = [sys.executable, "-m", "pytest", "-q", "-n", "1", "-p", "no:cacheprovider"]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.Popen(
        [*command, "-p", "lambdafleet.testing.endpoint", "test_slow.py"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "started").exists():  # the worker is in its test
            assert time.monotonic() < deadline and run.poll() is None, "the worker never started its test"
            time.sleep(0.05)
        workers = descendants(run.pid)
        assert workers
    finally:
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
    left = survivors(workers, timeout=5)  # on its own, a worker noticed after ~16 s
    assert not left, describe(left)
