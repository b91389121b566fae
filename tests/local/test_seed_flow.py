"""The seed's AWS CLI flow replayed with boto3, and the Lambda data plane's contract around it."""

import base64
import contextlib
import json
import uuid
from pathlib import Path

import localstack_client.session
import pytest
from botocore.exceptions import ClientError

from tests.conftest import WAITER_POLL

REPO_ROOT = Path(__file__).resolve().parents[2]  # where the endpoint fixture runs build.py local

ECHO = "def lambda_handler(event, context):\n    print('value1 = ' + event['key1'])\n    return event['key1']\n"


@pytest.fixture
def make_function(deploy_function):
    """`make_function(source=ECHO)`: a deployed function's name."""
    return lambda source=ECHO: deploy_function(source)["FunctionName"]


def test_seed_cli_flow(endpoint, zip_of, tmp_path) -> None:
    iam, client, s3 = endpoint.client("iam"), endpoint.client("lambda"), endpoint.client("s3")
    role_name, name = f"lambda-ex-{uuid.uuid4().hex[:8]}", f"my-function-{uuid.uuid4().hex[:8]}"
    trust = {
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    }
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    policy = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    iam.attach_role_policy(RoleName=role_name, PolicyArn=policy)
    (tmp_path / "function.zip").write_bytes(zip_of(ECHO))
    client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": (tmp_path / "function.zip").read_bytes()},  # fileb://function.zip
    )
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=WAITER_POLL)
    response = client.invoke(FunctionName=name, Payload=json.dumps({"key1": "value1"}), LogType="Tail")
    assert response["StatusCode"] == 200
    assert json.loads(response["Payload"].read()) == "value1"
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    tail = base64.b64decode(response["LogResult"]).decode()
    assert "value1 = value1" in tail and "REPORT RequestId:" in tail

    bucket = f"seed-bucket-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)  # s3 mb
    upload = tmp_path / "hello.txt"
    upload.write_text("hello")
    s3.upload_file(str(upload), bucket, "hello.txt")  # s3 cp
    assert s3.get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"hello"


def test_function_error_is_reported_as_lambda_does(endpoint, make_function) -> None:
    client = endpoint.client("lambda")
    response = client.invoke(FunctionName=make_function(), Payload=b"{}")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "KeyError"
    assert "LogResult" not in response  # only with LogType Tail


def test_dry_run_and_bad_payload(endpoint, make_function) -> None:
    client, name = endpoint.client("lambda"), make_function()
    assert client.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204
    with pytest.raises(ClientError) as caught:
        client.invoke(FunctionName=name, Payload=b"{not json")
    assert caught.value.response["Error"]["Code"] == "InvalidRequestContentException"
    with pytest.raises(ClientError) as caught:
        client.invoke(FunctionName=name, Payload=b"{}", ClientContext="not base64 json!")
    assert caught.value.response["Error"]["Code"] == "InvalidRequestContentException"
    with pytest.raises(ClientError) as caught:
        client.invoke(FunctionName="no-such-function", Payload=b"{}")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_updating_code_or_configuration_replaces_warm_environments(endpoint, make_function, zip_of) -> None:
    client = endpoint.client("lambda")
    counter = "import os\nn = 0\ndef lambda_handler(event, context):\n    global n\n    n += 1\n"
    name = make_function(counter + "    return [n, os.environ.get('MODE')]\n")

    def call() -> list:
        return json.loads(client.invoke(FunctionName=name, Payload=b"{}")["Payload"].read())

    assert call() == [1, None]
    assert call() == [2, None]  # warm: module state persists
    client.update_function_configuration(FunctionName=name, Environment={"Variables": {"MODE": "blue"}})
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=WAITER_POLL)
    assert call() == [1, "blue"]
    client.update_function_code(FunctionName=name, ZipFile=zip_of(counter + "    return ['v2', n]\n"))
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=WAITER_POLL)
    assert call() == ["v2", 1]


def test_async_failure_is_retried_twice_then_reaches_its_sqs_destination(endpoint, make_function, wait_for) -> None:
    client, sqs = endpoint.client("lambda"), endpoint.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"failures-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = make_function("def lambda_handler(event, context):\n    raise RuntimeError('boom ' + event['n'])\n")
    client.put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnFailure": {"Destination": queue_arn}}
    )
    assert client.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": "7"}')["StatusCode"] == 202

    def received() -> list:
        """the invocation record on the failure queue"""
        return sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])

    [message] = wait_for(received)
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].endswith(f":function:{name}:$LATEST")
    assert record["requestPayload"] == {"n": "7"}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == "boom 7"


def test_async_success_reaches_its_sns_destination(endpoint, make_function, wait_for) -> None:
    client, sns, sqs = endpoint.client("lambda"), endpoint.client("sns"), endpoint.client("sqs")
    topic = sns.create_topic(Name=f"done-{uuid.uuid4().hex[:8]}")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"done-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    name = make_function("def lambda_handler(event, context):\n    return {'doubled': event['n'] * 2}\n")
    client.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=0, DestinationConfig={"OnSuccess": {"Destination": topic}}
    )
    client.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 21}')
    [message] = wait_for(lambda: sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", []))
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["responsePayload"] == {"doubled": 42}


def test_localstack_client_sessions_work(embedded) -> None:
    port = embedded.url.rsplit(":", 1)[1]
    session = localstack_client.session.Session(localstack_host=f"localhost:{port}")
    bucket = f"lsc-{uuid.uuid4().hex[:8]}"
    session.client("s3").create_bucket(Bucket=bucket)
    assert bucket in [b["Name"] for b in session.client("s3").list_buckets()["Buckets"]]
    assert "Functions" in session.client("lambda").list_functions()


LINGERING = """
import subprocess
def lambda_handler(event, context):
    # A child that outlives the invocation, named by the marker: it lives exactly as long as its environment.
    subprocess.Popen(["sh", "-c", "sleep 300", event["marker"]])
"""


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
def test_deleting_a_function_stops_its_environments(embedded, make_function, wait_for) -> None:
    client, name = embedded.client("lambda"), make_function(LINGERING)
    marker = f"lambdafleet-env-{uuid.uuid4().hex}"
    client.invoke(FunctionName=name, Payload=json.dumps({"marker": marker}).encode())
    assert wait_for(lambda: _processes_with(marker), timeout=10)
    client.delete_function(FunctionName=name)

    def stopped() -> bool:
        """the deleted function's environment (and the child it left) is gone"""
        return not _processes_with(marker)

    assert wait_for(stopped, timeout=10)


def test_log_tail_is_the_last_4_kb(endpoint, make_function) -> None:
    name = make_function(
        "def lambda_handler(event, context):\n    for n in range(400):\n        print(f'line {n:04d} ' + 'x' * 40)\n"
    )
    response = endpoint.client("lambda").invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
    tail = base64.b64decode(response["LogResult"])
    assert len(tail) == 4096
    assert b"line 0399" in tail and b"line 0000" not in tail
    assert tail.rstrip().splitlines()[-1].startswith(b"REPORT RequestId:")
