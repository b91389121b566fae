"""Nothing outlives the process that started it (lifeline.py): a child started with its preexec dies with its
parent, even when that parent is killed with SIGKILL."""

import os
import signal
import subprocess
import sys

from lambdafleet.testing.processes import descendants, describe, survivors
from tests.runtime.conftest import REPO_ROOT

PARENT = """
import subprocess, sys, time
from lambdafleet.runtime import lifeline
child = subprocess.Popen(["sleep", "60"], preexec_fn=lifeline.preexec())
print(child.pid, flush=True)
time.sleep(60)
"""


def test_a_child_started_with_the_lifeline_dies_when_its_parent_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=REPO_ROOT, stdout=subprocess.PIPE)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    below = descendants(parent.pid)
    assert child in {pid for pid, _ in below}
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    parent.stdout.close()
    left = survivors(below, timeout=5)
    assert not left, describe(left)
