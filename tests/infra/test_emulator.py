"""The embedded emulator: its command line, and the gaps it fills in moto, exercised through a real server."""

import json
import socket
import urllib.error
import urllib.request
import zipfile
from io import BytesIO
from pathlib import Path
from types import ModuleType

import boto3
import pytest

from tests.conftest import WAITER_POLL

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def moto_patches() -> ModuleType:
    """lambdafleet.endpoint.moto_patches, imported when this module's first test runs, not when each pytest-xdist
    worker collects the suite (it imports moto: ~1.2 CPU-s a worker); module-scoped, so these tests share a worker."""
    from lambdafleet.endpoint import moto_patches

    return moto_patches


@pytest.fixture(scope="module")
def emulator(moto_patches: ModuleType) -> ModuleType:
    from lambdafleet.endpoint import emulator

    return emulator


def _machine(states: dict, start: str = "A") -> str:
    return json.dumps({"StartAt": start, "States": states})


def _codes(moto_patches: ModuleType, definition: str) -> list[str]:
    return [diagnostic["code"] for diagnostic in moto_patches.check_state_machine_definition(definition)]


def test_a_valid_chain_has_no_diagnostics(moto_patches: ModuleType) -> None:
    states = {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Succeed"}}
    assert moto_patches.check_state_machine_definition(_machine(states)) == []


@pytest.mark.parametrize(
    ("definition", "code"),
    [
        ("{not json", "INVALID_JSON_DESCRIPTION"),
        (_machine({"A": {"Type": "Teleport", "End": True}}), "SCHEMA_VALIDATION_FAILED"),
        (_machine({"A": {"Type": "Pass", "End": True}}, start="Z"), "MISSING_TRANSITION_TARGET"),
        (_machine({"A": {"Type": "Pass", "Next": "Gone"}}), "MISSING_TRANSITION_TARGET"),
        (
            _machine(
                {
                    "A": {
                        "Type": "Parallel",
                        "End": True,
                        "Branches": [{"StartAt": "X", "States": {"Y": {"Type": "Succeed"}}}],
                    }
                }
            ),
            "MISSING_TRANSITION_TARGET",
        ),
    ],
    ids=["not-json", "unknown-state-type", "start-at-missing", "next-missing", "branch-start-missing"],
)
def test_an_invalid_definition_is_reported(moto_patches: ModuleType, definition: str, code: str) -> None:
    assert code in _codes(moto_patches, definition)


@pytest.mark.stack  # slow end to end: the emulator in a new interpreter
def test_the_server_validates_definitions_and_lists_versions(aws_env: str) -> None:
    client = boto3.client("stepfunctions")
    good = _machine({"A": {"Type": "Pass", "End": True}})
    assert client.validate_state_machine_definition(definition=good)["result"] == "OK"
    bad = client.validate_state_machine_definition(definition=_machine({"A": {"Type": "Pass", "Next": "B"}}))
    assert bad["result"] == "FAIL" and bad["diagnostics"][0]["code"] == "MISSING_TRANSITION_TARGET"

    role = "arn:aws:iam::123456789012:role/emulator-test"
    draft = client.create_state_machine(name="emulator-draft", definition=good, roleArn=role)["stateMachineArn"]
    assert client.list_state_machine_versions(stateMachineArn=draft)["stateMachineVersions"] == []
    published = client.create_state_machine(name="emulator-published", definition=good, roleArn=role, publish=True)
    arn = published["stateMachineArn"]
    [version] = client.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    assert version["stateMachineVersionArn"] == f"{arn}:1"


def _zip() -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", "def lambda_handler(event, context):\n    return event\n")
    return buffer.getvalue()


def test_lambda_keeps_its_logging_config_and_hides_empty_image_config(aws_env: str) -> None:
    iam, client = boto3.client("iam"), boto3.client("lambda")
    policy = {
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    }
    role = iam.create_role(RoleName="emulator-logging", AssumeRolePolicyDocument=json.dumps(policy))["Role"]["Arn"]
    common = {"Role": role, "Handler": "lambda_function.lambda_handler", "Runtime": "python3.12"}
    client.create_function(FunctionName="emulator-text", Code={"ZipFile": _zip()}, **common)
    client.create_function(
        FunctionName="emulator-json", Code={"ZipFile": _zip()}, LoggingConfig={"LogFormat": "JSON"}, **common
    )

    text = client.get_function_configuration(FunctionName="emulator-text")["LoggingConfig"]
    assert text == {"LogFormat": "Text", "LogGroup": "/aws/lambda/emulator-text"}
    structured = client.get_function_configuration(FunctionName="emulator-json")["LoggingConfig"]
    assert structured["LogFormat"] == "JSON" and structured["ApplicationLogLevel"] == "INFO"

    client.get_waiter("function_active_v2").wait(
        FunctionName="emulator-json", WaiterConfig=WAITER_POLL
    )  # Pending at first, as on AWS
    client.update_function_configuration(FunctionName="emulator-json", LoggingConfig={"LogFormat": "Text"})
    assert client.get_function_configuration(FunctionName="emulator-json")["LoggingConfig"]["LogFormat"] == "Text"

    image = client.create_function(
        FunctionName="emulator-image",
        Role=role,
        PackageType="Image",
        Code={"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:tag"},
    )
    assert "ImageConfigResponse" not in image


def test_an_s3_listing_survives_keys_deleted_while_it_runs(moto_patches: ModuleType) -> None:
    """terraform destroy deletes a bucket's objects while it lists their versions; moto answered 500 (seen in CI)."""
    from moto.s3.utils import _VersionedKeyStore

    moto_patches.apply_all()
    store = _VersionedKeyStore()
    store["a"], store["b"], store["b"] = "a1", "b1", "b2"

    versions, latest = store.iterlists(), store.items()
    started = [next(versions), next(latest)]
    del store["a"], store["b"]

    assert [*started, *versions, *latest] == [("a", ["a1"]), ("a", "a1"), ("b", ["b1", "b2"]), ("b", "b2")]
    assert list(store.values()) == []


def test_start_serves_on_a_free_loopback_port(emulator: ModuleType) -> None:
    server = emulator.start(0)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(server.url + "/moto-api/", timeout=5) as response:
            assert response.status == 200
    finally:
        server.stop()


def test_a_request_moto_crashes_on_is_an_internal_failure_not_a_traceback(
    emulator: ModuleType, capsys: pytest.CaptureFixture
) -> None:
    server = emulator.start(0)
    try:
        # Unsigned, so moto takes it for S3, whose POST-to-a-key handler raises KeyError in moto 5.2.
        request = urllib.request.Request(server.url + "/some-bucket/a/key", data=b"x", method="POST")
        with pytest.raises(urllib.error.HTTPError) as failure:
            urllib.request.urlopen(request, timeout=5)
        assert failure.value.code == 500
        assert json.loads(failure.value.read())["__type"] == "InternalFailure"
        with urllib.request.urlopen(server.url + "/moto-api/", timeout=5) as response:
            assert response.status == 200  # still serving
    finally:
        server.stop()
    logged = capsys.readouterr().err
    assert "Traceback" not in logged
    assert "error: POST /some-bucket/a/key: KeyError" in logged


def test_the_command_line_refuses_a_busy_port_in_one_line(emulator: ModuleType, capsys: pytest.CaptureFixture) -> None:
    # In-process (emulator.main): a new interpreter per user error only costs time.
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert emulator.main(["--port", str(port)]) == 2
    stderr = capsys.readouterr().err
    assert stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    assert len(stderr.strip().splitlines()) == 1


def test_the_command_line_rejects_a_port_out_of_range(emulator: ModuleType, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exited:
        emulator.main(["--port", "70000"])
    assert exited.value.code == 2
    stderr = capsys.readouterr().err
    assert "'70000' is not a port number (0-65535)" in stderr
    assert "Traceback" not in stderr
