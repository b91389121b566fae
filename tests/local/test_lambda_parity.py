"""The endpoint's Lambda behaves as Lambda does where it once did not (issue 11): what ran under a version or
alias, where its logs go, one event per log record, one request id per asynchronous invocation, and function
states (Pending -> Active, LastUpdateStatus InProgress -> Successful)."""

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdafleet.cli.logs import in_order
from tests.conftest import WAITER_POLL
from tests.local.conftest import Endpoint

Deploy = Callable[..., dict[str, Any]]
ZipOf = Callable[[str], bytes]

IDENTITY = """
import logging, os
logging.getLogger().setLevel(logging.INFO)

def lambda_handler(event, context):
    logging.getLogger().info("record line one\\nrecord line two")
    if event.get("fail"):
        print("attempt", context.aws_request_id)
        raise RuntimeError("failing on purpose")
    return {
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "aws_request_id": context.aws_request_id,
        "env_version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"],
        "env_group": os.environ["AWS_LAMBDA_LOG_GROUP_NAME"],
    }
"""


def _messages(logs: Any, group: str, stream: str) -> list[str]:
    return [event["message"] for event in logs.get_log_events(logGroupName=group, logStreamName=stream)["events"]]


@pytest.fixture(scope="module")
def identity(deploy_function: Deploy) -> str:
    return str(deploy_function(IDENTITY)["FunctionName"])


def test_an_alias_of_a_version_names_what_ran(embedded: Endpoint, identity: str) -> None:
    client = embedded.client("lambda")
    version = client.publish_version(FunctionName=identity)["Version"]
    client.get_waiter("function_active_v2").wait(FunctionName=identity, Qualifier=version, WaiterConfig=WAITER_POLL)
    alias_arn = client.create_alias(FunctionName=identity, Name="live", FunctionVersion=version)["AliasArn"]
    response = client.invoke(FunctionName=identity, Qualifier="live")
    seen = json.loads(response["Payload"].read())
    assert response["ExecutedVersion"] == version
    assert seen["function_version"] == seen["env_version"] == version
    assert seen["invoked_function_arn"] == alias_arn
    assert re.fullmatch(rf"\d{{4}}/\d\d/\d\d/\[{version}\][0-9a-f]{{32}}", seen["log_stream_name"])
    messages = _messages(embedded.client("logs"), f"/aws/lambda/{identity}", seen["log_stream_name"])
    assert f"START RequestId: {seen['aws_request_id']} Version: {version}\n" in messages
    by_version = json.loads(client.invoke(FunctionName=identity, Qualifier=version)["Payload"].read())
    assert by_version["invoked_function_arn"] == alias_arn.rsplit(":", 1)[0] + f":{version}"
    by_name = json.loads(client.invoke(FunctionName=f"{identity}:live")["Payload"].read())
    assert by_name["invoked_function_arn"] == alias_arn
    by_arn = json.loads(client.invoke(FunctionName=alias_arn)["Payload"].read())
    assert by_arn["invoked_function_arn"] == alias_arn


def test_the_context_names_the_log_group_and_stream_written_to(embedded: Endpoint, deploy_function: Deploy) -> None:
    group = f"/custom/{uuid.uuid4().hex[:8]}"
    name = deploy_function(IDENTITY, LoggingConfig={"LogFormat": "Text", "LogGroup": group})["FunctionName"]
    response = embedded.client("lambda").invoke(FunctionName=name)
    seen = json.loads(response["Payload"].read())
    assert seen["log_group_name"] == seen["env_group"] == group
    assert seen["invoked_function_arn"].endswith(f":function:{name}")
    assert response["ResponseMetadata"]["RequestId"] == seen["aws_request_id"]
    messages = _messages(embedded.client("logs"), group, seen["log_stream_name"])
    assert messages[0].startswith("INIT_START Runtime Version: python:3.12.v")
    assert messages[1] == f"START RequestId: {seen['aws_request_id']} Version: $LATEST\n"
    records = [message for message in messages if "record line one" in message]
    assert len(records) == 1 and "record line two" in records[0]  # one logging record, one event


def test_an_asynchronous_invocation_keeps_one_request_id(
    embedded: Endpoint, identity: str, wait_for: Callable[..., Any]
) -> None:
    client, sqs = embedded.client("lambda"), embedded.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"failures-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    client.put_function_event_invoke_config(
        FunctionName=identity, MaximumRetryAttempts=1, DestinationConfig={"OnFailure": {"Destination": queue_arn}}
    )
    try:
        response = client.invoke(FunctionName=identity, InvocationType="Event", Payload=b'{"fail": true}')
        request_id = response["ResponseMetadata"]["RequestId"]

        def record() -> dict[str, Any] | None:
            """the failure record reaches the queue"""
            messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
            return json.loads(messages[0]["Body"]) if messages else None

        delivered = wait_for(record)
    finally:
        client.delete_function_event_invoke_config(FunctionName=identity)
    assert delivered["requestContext"]["requestId"] == request_id
    assert delivered["requestContext"]["approximateInvokeCount"] == 2
    assert delivered["requestContext"]["functionArn"].endswith(f":function:{identity}:$LATEST")
    logs = embedded.client("logs")
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{identity}", filterPattern=f'"attempt {request_id}"')
    assert len(events["events"]) == 2


def test_logs_prints_events_in_ingestion_order() -> None:
    events = [{"timestamp": 5, "eventId": str(number), "message": str(number)} for number in (10, 9, 100, 11)]
    assert [event["message"] for event in in_order(events)] == ["9", "10", "11", "100"]


# 10. Function states.


def test_a_new_function_is_pending_then_active(embedded: Endpoint, lambda_role: str, zip_of: ZipOf) -> None:
    client = embedded.client("lambda")
    name = f"fn-{uuid.uuid4().hex[:8]}"
    created = client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=lambda_role,
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": zip_of("def lambda_handler(event, context):\n    return 1\n")},
    )
    assert (created["State"], created["StateReasonCode"]) == ("Pending", "Creating")
    assert "LastUpdateStatus" not in created
    with pytest.raises(ClientError) as caught:
        client.invoke(FunctionName=name)
    assert caught.value.response["Error"]["Code"] == "ResourceConflictException"
    assert caught.value.response["Error"]["Message"] == (
        "The operation cannot be performed at this time. The function is currently in the following state: Pending"
    )
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=WAITER_POLL)
    configuration = client.get_function_configuration(FunctionName=name)
    assert (configuration["State"], configuration["LastUpdateStatus"]) == ("Active", "Successful")
    assert "StateReasonCode" not in configuration
    assert client.invoke(FunctionName=name)["Payload"].read() == b"1"


def test_an_update_is_in_progress_then_successful(embedded: Endpoint, deploy_function: Deploy, zip_of: ZipOf) -> None:
    client = embedded.client("lambda")
    function = deploy_function("def lambda_handler(event, context):\n    return 1\n")
    name, arn = function["FunctionName"], function["FunctionArn"]
    updated = client.update_function_code(
        FunctionName=name, ZipFile=zip_of("def lambda_handler(event, context):\n    return 2\n")
    )
    assert (updated["State"], updated["LastUpdateStatus"]) == ("Active", "InProgress")
    with pytest.raises(ClientError) as caught:
        client.update_function_configuration(FunctionName=name, Timeout=5)
    assert caught.value.response["Error"]["Code"] == "ResourceConflictException"
    assert caught.value.response["Error"]["Message"] == (
        f"The operation cannot be performed at this time. An update is in progress for resource: {arn}"
    )
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=WAITER_POLL)
    assert client.get_function_configuration(FunctionName=name)["LastUpdateStatus"] == "Successful"
    assert client.invoke(FunctionName=name)["Payload"].read() == b"2"
    configured = client.update_function_configuration(FunctionName=name, Timeout=5)
    assert configured["LastUpdateStatus"] == "InProgress"
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=WAITER_POLL)
    assert client.get_function_configuration(FunctionName=name)["Timeout"] == 5
