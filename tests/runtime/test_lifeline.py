"""Nothing outlives the process that started it (lifeline.py): a child started with its preexec dies with its
parent, even when that parent is killed with SIGKILL; so does an endpoint a test fixture started (start_endpoint),
and a busy execution environment whose pool's owner was killed (its handle watches the owner's pidfd)."""

import os
import signal
import subprocess
import sys
import time

import pytest

from lambdafleet.testing.processes import Process, descendants, describe, survivors
from tests.runtime.conftest import CACHE_DIR, REPO_ROOT, MakeZip, needs_sandbox

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


# The process that owns a pool (`build.py invoke`, the pool host), with one environment busy for minutes.
OWNER = """
import sys, threading, time
from pathlib import Path
from lambdafleet.runtime import FunctionPool, FunctionSpec
zip_path, cache, fork = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "fork"
pool = FunctionPool(FunctionSpec(name="owned", timeout=300), zip_path, cache_dir=cache, fork_server=fork)
assert not fork or pool.wait_ready()
threading.Thread(target=pool.invoke, args=({"sleep": 300},), daemon=True).start()
time.sleep(600)
"""
BUSY = """
import subprocess, time

def lambda_handler(event, context):
    subprocess.Popen(["sleep", "600"])
    time.sleep(event["sleep"])
"""


def _with_sleep(root: int) -> set[Process]:
    """Every process below `root` once the function's child (`sleep 600`) is among them."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        below = descendants(root)
        if any(line.endswith(": sleep 600 ") for line in describe(below)):
            return below
        time.sleep(0.05)
    raise AssertionError(f"the function never started its child: {describe(descendants(root))}")


@needs_sandbox  # without it, a busy function runs on until it next calls the Runtime API
@pytest.mark.parametrize("launcher", ["fork", "spawn"])
def test_a_busy_environment_dies_with_the_process_that_owns_its_pool(make_zip: MakeZip, launcher: str) -> None:
    arguments = [str(make_zip({"lambda_function.py": BUSY})), str(CACHE_DIR), launcher]
    owner = subprocess.Popen([sys.executable, "-c", OWNER, *arguments], cwd=REPO_ROOT)
    try:
        below = _with_sleep(owner.pid)
    finally:
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
    left = survivors(below, timeout=10)
    assert not left, describe(left)
