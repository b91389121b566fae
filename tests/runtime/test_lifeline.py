"""Nothing outlives the process that started it (lifeline.py): a child started with its preexec dies with its
parent, even when that parent is killed with SIGKILL; so does an endpoint a test fixture started (start_endpoint)."""

import os
import signal
import subprocess
import sys

import pytest

from lambdafleet.testing.processes import descendants, describe, survivors
from tests.runtime.conftest import REPO_ROOT

WITH_PREEXEC = """
import subprocess, sys, time
from lambdafleet.runtime import lifeline
child = subprocess.Popen(["sleep", "60"], preexec_fn=lifeline.preexec())
print(child.pid, flush=True)
time.sleep(60)
"""
# A pytest worker's fixture starting its endpoint (a stand-in that only waits, as an idle endpoint does).
LIKE_A_FIXTURE = """
import subprocess, sys, time
from pathlib import Path
from lambdafleet.testing.endpoint import start_endpoint
child = start_endpoint(["-c", "import time; time.sleep(60)"], Path.cwd(), subprocess.DEVNULL)
print(child.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("parent_source", [WITH_PREEXEC, LIKE_A_FIXTURE], ids=["preexec", "start_endpoint"])
def test_a_child_started_with_the_lifeline_dies_when_its_parent_is_killed(parent_source: str) -> None:
    parent = subprocess.Popen([sys.executable, "-c", parent_source], cwd=REPO_ROOT, stdout=subprocess.PIPE)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    below = descendants(parent.pid)
    assert child in {pid for pid, _ in below}
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    parent.stdout.close()
    left = survivors(below, timeout=5)
    assert not left, describe(left)
