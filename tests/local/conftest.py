"""Fixtures for the local endpoint's tests: functions deployed on it, executions, polling. The endpoint itself
(`endpoint`, `embedded`) and the applied stack (`local_stack`) are in tests/conftest.py, shared with tests/infra."""

import io
import json
import time
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import WAITER_POLL, Endpoint

REPO_ROOT = Path(__file__).resolve().parents[2]
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


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
        client.get_waiter("function_active_v2").wait(FunctionName=function["FunctionName"], WaiterConfig=WAITER_POLL)
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
