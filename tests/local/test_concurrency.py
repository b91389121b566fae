"""Reserved concurrency on the endpoint: PutFunctionConcurrency / GetFunctionConcurrency round-trip (so Terraform's
reserved_concurrent_executions re-plans clean, 0 included), an invocation beyond the reserved count answers Lambda's
429, and asynchronous events beyond it wait and run rather than being dropped (AWS shapes: LocalStack's recorded
TestLambdaConcurrency snapshots)."""

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import Endpoint

SLEEPER = """
import time

def lambda_handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"n": event.get("n")}
"""
NO_RETRIES = Config(retries={"total_max_attempts": 1})  # botocore would retry a 429 itself


def _throttle_error(error: ClientError) -> dict[str, Any]:
    response = error.response
    return {
        "status": response["ResponseMetadata"]["HTTPStatusCode"],
        "code": response["Error"]["Code"],
        "message": response["Error"]["Message"],
        "Reason": response.get("Reason"),
        "Type": response.get("Type"),
    }


AWS_THROTTLE = {
    "status": 429,
    "code": "TooManyRequestsException",
    "message": "Rate Exceeded.",
    "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
    "Type": "User",
}


def test_reserved_concurrency_round_trips_zero_included(endpoint: Endpoint, deploy_function) -> None:
    client = endpoint.client("lambda")
    name = deploy_function(SLEEPER)["FunctionName"]
    assert "Concurrency" not in client.get_function(FunctionName=name)
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName=name)
    for reserved in (0, 3):
        assert (
            client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)[
                "ReservedConcurrentExecutions"
            ]
            == reserved
        )
        assert client.get_function(FunctionName=name)["Concurrency"] == {"ReservedConcurrentExecutions": reserved}
        assert client.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == reserved
    client.delete_function_concurrency(FunctionName=name)
    assert "Concurrency" not in client.get_function(FunctionName=name)
    assert "ReservedConcurrentExecutions" not in client.get_function_concurrency(FunctionName=name)


@pytest.mark.stack  # slow end to end: throttled invocations retried through their destinations
def test_zero_reserved_concurrency_throttles_every_invocation(embedded: Endpoint, deploy_function) -> None:
    client = embedded.client("lambda", config=NO_RETRIES)
    name = deploy_function(SLEEPER)["FunctionName"]
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as caught:
        client.invoke(FunctionName=name, Payload=b"{}")
    assert _throttle_error(caught.value) == AWS_THROTTLE
    client.delete_function_concurrency(FunctionName=name)
    assert client.invoke(FunctionName=name, Payload=b'{"n": 1}')["StatusCode"] == 200


@pytest.mark.stack  # slow end to end: a long wait: a sleeping invocation holds the only slot
def test_an_invocation_beyond_the_reserved_count_answers_429(embedded: Endpoint, deploy_function) -> None:
    client = embedded.client("lambda", config=NO_RETRIES)
    name = deploy_function(SLEEPER)["FunctionName"]
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    client.invoke(FunctionName=name, Payload=b"{}")  # warm: the long call below starts at once
    outcomes: list[Any] = []

    def long_call() -> None:
        try:
            outcomes.append(client.invoke(FunctionName=name, Payload=b'{"sleep": 3}')["StatusCode"])
        except ClientError as error:
            outcomes.append(_throttle_error(error))

    running = threading.Thread(target=long_call)
    running.start()
    time.sleep(1.0)
    try:
        client.invoke(FunctionName=name, Payload=b"{}")
    except ClientError as error:
        outcomes.append(_throttle_error(error))
    else:
        outcomes.append(200)
    running.join()
    assert sorted(outcomes, key=str) == sorted([200, AWS_THROTTLE], key=str), outcomes


@pytest.fixture
def queues(endpoint: Endpoint) -> Callable[[], tuple[str, str, Callable[[int], list[dict]]]]:
    """`queues()`: a new SQS queue's URL and ARN, and `collect(n)` that receives its first n message bodies."""
    sqs = endpoint.client("sqs")

    def make() -> tuple[str, str, Callable[[int], list[dict]]]:
        url = sqs.create_queue(QueueName=f"dest-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

        def collect(count: int, timeout: float = 30.0) -> list[dict]:
            bodies: list[dict] = []
            deadline = time.monotonic() + timeout
            while len(bodies) < count and time.monotonic() < deadline:
                for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                    "Messages", []
                ):
                    bodies.append(json.loads(message["Body"]))
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return bodies

        return url, arn, collect

    return make


@pytest.mark.stack  # slow end to end: a long wait: six sleeping invocations one at a time
def test_async_events_beyond_the_reserved_count_wait_and_all_run(embedded: Endpoint, deploy_function, queues) -> None:
    """Throttled asynchronous events go back to the queue and are not retry attempts: with no retries allowed, 6
    events on a function reserved 1 at a time all succeed once (approximateInvokeCount 1), none is dropped."""
    client = embedded.client("lambda")
    name = deploy_function(SLEEPER)["FunctionName"]
    _, success_arn, successes = queues()
    _, failure_arn, failures = queues()
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    client.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnSuccess": {"Destination": success_arn}, "OnFailure": {"Destination": failure_arn}},
    )
    for n in range(6):
        assert (
            client.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"n": n, "sleep": 0.3}))[
                "StatusCode"
            ]
            == 202
        )
    records = successes(6)
    assert sorted(record["requestPayload"]["n"] for record in records) == list(range(6))
    assert {(r["requestContext"]["condition"], r["requestContext"]["approximateInvokeCount"]) for r in records} == {
        ("Success", 1)
    }
    assert failures(1, timeout=1.0) == []


def test_an_async_event_on_zero_reserved_concurrency_goes_to_on_failure(
    embedded: Endpoint, deploy_function, queues
) -> None:
    """As AWS records it: condition ZeroReservedConcurrency, approximateInvokeCount 0, no response."""
    client = embedded.client("lambda")
    function = deploy_function(SLEEPER)
    _, failure_arn, failures = queues()
    client.put_function_concurrency(FunctionName=function["FunctionName"], ReservedConcurrentExecutions=0)
    client.put_function_event_invoke_config(
        FunctionName=function["FunctionName"], DestinationConfig={"OnFailure": {"Destination": failure_arn}}
    )
    response = client.invoke(FunctionName=function["FunctionName"], InvocationType="Event", Payload=b"{}")
    assert response["StatusCode"] == 202
    [record] = failures(1)
    assert record["requestContext"] == {
        "requestId": response["ResponseMetadata"]["RequestId"],
        "functionArn": f"{function['FunctionArn']}:$LATEST",
        "condition": "ZeroReservedConcurrency",
        "approximateInvokeCount": 0,
    }
    assert record["requestPayload"] == {}
    assert set(record) == {"version", "timestamp", "requestContext", "requestPayload"}
