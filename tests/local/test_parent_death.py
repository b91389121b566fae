"""Nothing outlives the process that started it: a test worker killed with SIGKILL (an IDE stopping a run, `kill -9`)
takes its `build.py local` with it, and that endpoint's death takes its pool host, its fork server, every execution
environment (idle or busy) and what the functions started."""

import io
import json
import os
import signal
import subprocess
import sys
import zipfile

import boto3
import pytest

from lambdafleet.testing.processes import descendants, describe, survivors
from tests.conftest import REGION, REPO_ROOT, WAITER_POLL
from tests.runtime.conftest import PARENT_OF_A_SLEEPER

# The test worker: starts its endpoint as the fixtures do (lambdafleet.testing.endpoint), then waits to be killed.
WORKER = """
import sys, time
from pathlib import Path
from lambdafleet.testing.endpoint import start_build_py_local
url, process = start_build_py_local(Path(sys.argv[1]))
print(url, process.pid, flush=True)
time.sleep(600)
"""
LAMBDA = {"Service": "lambda.amazonaws.com"}
TRUST = {"Statement": [{"Effect": "Allow", "Principal": LAMBDA, "Action": "sts:AssumeRole"}]}


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", PARENT_OF_A_SLEEPER)
    return buffer.getvalue()


@pytest.mark.stack  # its own build.py local
def test_a_killed_worker_leaves_no_endpoint_pool_host_or_environment_behind() -> None:
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(REPO_ROOT)], cwd=REPO_ROOT, stdout=subprocess.PIPE)
    try:
        assert worker.stdout is not None
        url, endpoint_pid = worker.stdout.readline().decode().split()
        options = {"endpoint_url": url, "region_name": REGION, "aws_access_key_id": "t", "aws_secret_access_key": "t"}
        role = boto3.client("iam", **options).create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST))
        client = boto3.client("lambda", **options)
        client.create_function(
            FunctionName="orphan", Runtime="python3.12", Role=role["Role"]["Arn"], Timeout=300,
            Handler="lambda_function.lambda_handler", Code={"ZipFile": _zip()},
        )  # fmt: skip
        client.get_waiter("function_active_v2").wait(FunctionName="orphan", WaiterConfig=WAITER_POLL)
        assert client.invoke(FunctionName="orphan")["StatusCode"] == 200  # an idle warm environment, and its child
        client.invoke(FunctionName="orphan", InvocationType="Event", Payload=b'{"sleep": 300}')  # a busy one
        below = descendants(worker.pid)
        assert int(endpoint_pid) in {pid for pid, _ in below}
        assert len(below) >= 4, describe(below)  # the endpoint, its pool host, an environment, its child at least
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    left = survivors(below, timeout=15)
    assert not left, describe(left)
