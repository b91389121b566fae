"""Fixtures for the local endpoint's tests: the endpoint itself (a real `build.py local` process, or whatever
AWS_ENDPOINT_URL names, e.g. LocalStack) and boto3 clients pointed at it."""

import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from lambdafleet.testing.endpoint import _wait_until_up, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@dataclass(frozen=True)
class Endpoint:
    """Where the tests send AWS calls; `embedded` is False for an external one from AWS_ENDPOINT_URL."""

    url: str
    embedded: bool
    pid: int | None = None  # the embedded endpoint's process

    def client(self, service: str, **options: Any) -> Any:
        """A boto3 client of `service` on this endpoint, with placeholder keys and boto3.client `options`."""
        return boto3.client(service, endpoint_url=self.url, region_name=REGION, **CREDENTIALS, **options)


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    """AWS_ENDPOINT_URL when set, else `python build.py local` on a free loopback port for the session, stopped
    with Ctrl-C at the end, when it must exit 0 without a traceback in its log.

    Failed asynchronous invocations are retried after 0.1 s and 0.2 s instead of Lambda's minutes.
    """
    external = os.environ.get("AWS_ENDPOINT_URL")
    if external:
        yield Endpoint(external, embedded=False)
        return
    port = free_port()
    log = tmp_path_factory.mktemp("local") / "endpoint.log"
    with log.open("w") as sink:  # a file, not a pipe: nobody reads until the end, and a full pipe blocks
        process = subprocess.Popen(
            [sys.executable, "build.py", "local", "--port", str(port), "--retry-delay", "0.1"],
            cwd=REPO_ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield Endpoint(url, embedded=True, pid=process.pid)
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
        output = log.read_text()
        assert code == 0, output
        assert "Traceback" not in output, output
        assert "answered 500 InternalFailure" not in output, output  # a crash the endpoint contained is still a bug


@pytest.fixture
def embedded(endpoint: Endpoint) -> Endpoint:
    """The endpoint, for tests of behaviour only the embedded one promises (skipped on an external one)."""
    if not endpoint.embedded:
        pytest.skip("checks the embedded endpoint's own behaviour; AWS_ENDPOINT_URL names another")
    return endpoint


def _wait_for(probe: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"nothing after {timeout} s: {probe.__doc__ or probe}")


@pytest.fixture(scope="session")
def wait_for() -> Callable[..., Any]:
    """`wait_for(probe, timeout=20)`: poll `probe` until it returns something truthy; fails the test on timeout."""
    return _wait_for


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", source)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def zip_of() -> Callable[[str], bytes]:
    """`zip_of(source)`: a function zip holding `source` as lambda_function.py."""
    return _zip


@pytest.fixture(scope="session")
def lambda_role(endpoint: Endpoint) -> str:
    """ARN of an execution role Lambda may assume (create-role with the seed's trust policy), allowed every action:
    the endpoint enforces IAM on the functions' calls, and the tests using this role are not about IAM
    (test_iam.py's roles are)."""
    iam = endpoint.client("iam")
    name = f"lambda-ex-{uuid.uuid4().hex[:8]}"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_role_policy(RoleName=name, PolicyName="everything", PolicyDocument=json.dumps(everything))
    return arn


@pytest.fixture(scope="session")
def deploy_function(endpoint: Endpoint, lambda_role: str) -> Callable[..., dict]:
    """`deploy_function(source, **create_function_options)`: create-function from a zip of `source`, wait until
    it is active; returns CreateFunction's answer. The name is unique unless given."""
    client = endpoint.client("lambda")

    def deploy(source: str, **options: Any) -> dict:
        spec = {
            "FunctionName": f"fn-{uuid.uuid4().hex[:8]}",
            "Runtime": "python3.12",
            "Role": lambda_role,
            "Handler": "lambda_function.lambda_handler",
            "Code": {"ZipFile": _zip(source)},
            **options,
        }
        function = client.create_function(**spec)
        client.get_waiter("function_active_v2").wait(FunctionName=function["FunctionName"])
        return function

    return deploy


@pytest.fixture(scope="session")
def run_execution(endpoint: Endpoint) -> Callable[..., dict]:
    """`run_execution(state_machine_arn, document, timeout=20)`: StartExecution with `document` as its input;
    DescribeExecution's answer once the execution has ended."""
    client = endpoint.client("stepfunctions")

    def run(state_machine_arn: str, document: Any, timeout: float = 20.0) -> dict:
        execution_arn = client.start_execution(stateMachineArn=state_machine_arn, input=json.dumps(document))[
            "executionArn"
        ]

        def ended() -> dict | None:
            """the execution ends"""
            described = client.describe_execution(executionArn=execution_arn)
            return described if described["status"] != "RUNNING" else None

        return _wait_for(ended, timeout)

    return run
