"""Event sources on `build.py local`: SQS, DynamoDB Streams and Kinesis pollers, SNS and EventBridge deliveries,
schedules, each wired with the AWS API as Terraform would, and checked against what AWS documents.

A recorder function sends every event it receives to a results queue, so the tests see exactly which batches ran.
"""

import base64
import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.local.conftest import REPO_ROOT, Endpoint

RECORDER = """
import json, os, boto3
sqs = boto3.client("sqs")

def lambda_handler(event, context):
    sqs.send_message(QueueUrl=os.environ["RESULTS"], MessageBody=json.dumps(event))
    records = event.get("Records", [])
    if os.environ.get("MODE") == "partial":
        failed = [r["messageId"] for r in records if r["body"].startswith("bad")]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}
    if os.environ.get("MODE") == "poison" and "poison" in json.dumps(records):
        raise ValueError("poisoned batch")
    return {}
"""


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def results(embedded: Endpoint) -> Callable[[], list[dict]]:
    """A results queue; calling it drains what arrived so far (the events the recorder received)."""
    sqs = embedded.client("sqs")
    url = sqs.create_queue(QueueName=_unique("results"))["QueueUrl"]
    seen: list[dict] = []

    def drain() -> list[dict]:
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return seen
            for message in messages:
                seen.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    drain.url = url  # type: ignore[attr-defined]
    return drain


@pytest.fixture
def recorder(deploy_function: Callable[..., dict], results: Any) -> Callable[..., dict]:
    """`recorder(mode="")`: a deployed recorder function sending its events to the `results` queue."""

    def deploy(mode: str = "") -> dict:
        return deploy_function(RECORDER, Environment={"Variables": {"RESULTS": results.url, "MODE": mode}}, Timeout=10)

    return deploy


def _queue(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _count(sqs: Any, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[n]) for n in names)


def _bodies(events: list[dict]) -> list[str]:
    return [record["body"] for event in events for record in event["Records"]]


@pytest.mark.stack  # slow end to end: waits out visibility timeouts and the redrive (~20 s)
def test_sqs_partial_batch_failures_and_redrive(embedded, recorder, results, wait_for) -> None:
    sqs, lam = embedded.client("sqs"), embedded.client("lambda")
    dlq_url, dlq_arn = _queue(sqs, _unique("dlq"))
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    # Longer than a cold start (sandbox, role credentials) on a loaded machine: a shorter one redelivers, as on AWS.
    # 4 s was not enough beside two CPU-bound processes and 4 test workers on 2 cores: every good message came twice.
    url, arn = _queue(sqs, _unique("jobs"), VisibilityTimeout="10", RedrivePolicy=redrive)
    function = recorder("partial")
    lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=function["FunctionName"], FunctionResponseTypes=["ReportBatchItemFailures"]
    )
    bodies = [f"good-{i}" for i in range(10)] + ["bad-1", "bad-2"]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    wait_for(lambda: _count(sqs, dlq_url) == 2, timeout=120)
    received = _bodies(results())
    assert sorted(b for b in received if b.startswith("good")) == sorted(bodies[:10])  # each exactly once
    assert sorted(b for b in received if b.startswith("bad")) == ["bad-1", "bad-1", "bad-2", "bad-2"]
    assert _count(sqs, url) == 0
    record = next(r for event in results() for r in event["Records"] if r["body"] == "good-0")
    assert set(record) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == arn
    assert set(record["attributes"]) == {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    }


@pytest.mark.stack  # slow end to end: a long wait: a batching window
def test_sqs_window_fills_one_batch_and_filters_drop(embedded, recorder, results, wait_for) -> None:
    sqs, lam = embedded.client("sqs"), embedded.client("lambda")
    url, arn = _queue(sqs, _unique("window"))
    function = recorder()
    lam.create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName=function["FunctionName"],
        BatchSize=50,
        MaximumBatchingWindowInSeconds=2,
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": {"kind": ["keep"]}})}]},
    )
    for i in range(12):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "keep" if i % 3 else "drop", "n": i}))
    sqs.send_message(QueueUrl=url, MessageBody="not json")
    kept = [i for i in range(12) if i % 3]
    wait_for(lambda: len(_bodies(results())) == len(kept), timeout=20)
    # Everything arrived within the window: each of the mapping's two pollers gathers one batch at most.
    assert len(results()) <= 2
    assert sorted(json.loads(b)["n"] for b in _bodies(results())) == kept
    wait_for(lambda: _count(sqs, url) == 0)  # the filtered-out messages are deleted too


@pytest.mark.stack  # slow end to end: polls a FIFO queue through many batches
def test_sqs_fifo_keeps_group_order(embedded, recorder, results, wait_for) -> None:
    sqs, lam = embedded.client("sqs"), embedded.client("lambda")
    url, arn = _queue(sqs, _unique("orders") + ".fifo", FifoQueue="true", ContentBasedDeduplication="true")
    function = recorder()
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function["FunctionName"], BatchSize=3)
    for i in range(12):
        sqs.send_message(QueueUrl=url, MessageBody=f"{'ab'[i % 2]}-{i:02d}", MessageGroupId="ab"[i % 2])
    wait_for(lambda: len(_bodies(results())) == 12)
    for group in "ab":
        received = [b for b in _bodies(results()) if b.startswith(group)]
        assert received == sorted(received)
    record = results()[0]["Records"][0]
    assert {"MessageGroupId", "MessageDeduplicationId", "SequenceNumber"} <= set(record["attributes"])


@pytest.mark.stack  # slow end to end: stream batches halved until one record fails
def test_dynamodb_stream_bisects_a_poisoned_record_to_on_failure(embedded, recorder, results, wait_for) -> None:
    ddb, sqs, lam = embedded.client("dynamodb"), embedded.client("sqs"), embedded.client("lambda")
    table = _unique("items")
    description = ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    failures_url, failures_arn = _queue(sqs, _unique("failures"))
    function = recorder("poison")
    lam.create_event_source_mapping(
        EventSourceArn=description["LatestStreamArn"],
        FunctionName=function["FunctionName"],
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        MaximumBatchingWindowInSeconds=1,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": failures_arn}},
    )
    for i in range(8):
        ddb.put_item(TableName=table, Item={"id": {"S": f"i{i}"}, "kind": {"S": "poison" if i == 5 else "fine"}})

    def failure() -> dict | None:
        """the on-failure record arrives"""
        messages = sqs.receive_message(QueueUrl=failures_url).get("Messages", [])
        return json.loads(messages[0]["Body"]) if messages else None

    record = wait_for(failure, timeout=30)
    info = record["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1 and info["streamArn"] == description["LatestStreamArn"]
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2  # the first attempt and one retry
    delivered = [r for event in results() for r in event["Records"]]
    poisoned = [r for r in delivered if r["dynamodb"]["NewImage"]["kind"]["S"] == "poison"]
    assert {r["dynamodb"]["SequenceNumber"] for r in poisoned} == {info["startSequenceNumber"]}
    # every record reached the function in table order, and the seven fine ones succeeded
    keys = [r["dynamodb"]["Keys"]["id"]["S"] for r in delivered]
    assert set(keys) == {f"i{i}" for i in range(8)}
    first = delivered[0]
    assert first["eventSource"] == "aws:dynamodb" and first["eventName"] == "INSERT"
    assert first["eventSourceARN"] == description["LatestStreamArn"]


@pytest.mark.stack  # slow end to end: a stream poller over many records
def test_kinesis_records_arrive_in_shard_order(embedded, recorder, results, wait_for) -> None:
    kinesis, lam = embedded.client("kinesis"), embedded.client("lambda")
    stream = _unique("clicks")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    arn = kinesis.describe_stream(StreamName=stream)["StreamDescription"]["StreamARN"]
    function = recorder()
    lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=function["FunctionName"], StartingPosition="TRIM_HORIZON", BatchSize=7
    )
    for i in range(20):
        kinesis.put_record(StreamName=stream, Data=json.dumps({"n": i}).encode(), PartitionKey="p")

    def numbers() -> list[int]:
        records = [r for event in results() for r in event["Records"]]
        return [json.loads(base64.b64decode(r["kinesis"]["data"]))["n"] for r in records]

    wait_for(lambda: len(set(numbers())) == 20)
    # in shard order (a batch retried after a failure comes again, in order: at least once, as on AWS)
    assert list(dict.fromkeys(numbers())) == list(range(20)), numbers()
    records = [r for event in results() for r in event["Records"]]
    assert max(len(e["Records"]) for e in results()) <= 7
    assert records[0]["eventName"] == "aws:kinesis:record" and records[0]["eventSourceARN"] == arn


def test_sns_invokes_asynchronously_through_the_filter_policy(embedded, recorder, results, wait_for) -> None:
    sns = embedded.client("sns")
    topic = sns.create_topic(Name=_unique("alerts"))["TopicArn"]
    function = recorder()
    subscription = sns.subscribe(
        TopicArn=topic,
        Protocol="lambda",
        Endpoint=function["FunctionArn"],
        Attributes={"FilterPolicy": json.dumps({"severity": ["high"]})},
    )["SubscriptionArn"]
    for severity in ("low", "high"):
        attributes = {"severity": {"DataType": "String", "StringValue": severity}}
        sns.publish(TopicArn=topic, Message=f"{severity} alert", Subject="disk", MessageAttributes=attributes)
    [event] = wait_for(lambda: results(), timeout=20)
    [record] = event["Records"]
    assert record["EventSource"] == "aws:sns" and record["EventSubscriptionArn"] == subscription
    assert record["Sns"]["Message"] == "high alert" and record["Sns"]["TopicArn"] == topic
    assert record["Sns"]["MessageAttributes"] == {"severity": {"Type": "String", "Value": "high"}}


def test_eventbridge_put_events_runs_matching_rules(embedded, recorder, results, wait_for) -> None:
    events = embedded.client("events")
    bus = events.create_event_bus(Name=_unique("shop"))["EventBusArn"].split("/")[-1]
    function = recorder()
    rule = _unique("orders")
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"detail-type": ["OrderPlaced"]}))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "fn", "Arn": function["FunctionArn"]}])
    entries = [
        {"Source": "shop", "DetailType": kind, "Detail": json.dumps({"order": kind}), "EventBusName": bus}
        for kind in ("OrderPlaced", "OrderShipped")
    ]
    events.put_events(Entries=entries)
    [event] = wait_for(lambda: results(), timeout=20)
    assert event["detail-type"] == "OrderPlaced" and event["detail"] == {"order": "OrderPlaced"}
    assert set(event) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}


@pytest.mark.stack  # slow end to end: build.py trigger in a new process
def test_trigger_command_fires_a_schedule_now(embedded, recorder, results, wait_for) -> None:
    events = embedded.client("events")
    function = recorder()
    rule = f"{function['FunctionName']}-nightly"
    events.put_rule(Name=rule, ScheduleExpression="cron(0 3 * * ? *)")
    events.put_targets(Rule=rule, Targets=[{"Id": "fn", "Arn": function["FunctionArn"], "Input": '{"job": "x"}'}])
    command = [sys.executable, "build.py", "trigger", function["FunctionName"], "--prefix", ""]
    result = subprocess.run(
        [*command, "--schedule", "nightly", "--endpoint-url", embedded.url],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"fired {rule} (cron(0 3 * * ? *))")
    assert wait_for(lambda: results(), timeout=20) == [{"job": "x"}]
    wrong = subprocess.run(
        [*command, "--schedule", "hourly", "--endpoint-url", embedded.url],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == f"error: --schedule 'hourly': not one of the function's schedules: {rule}"
