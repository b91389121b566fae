"""Schedules on the endpoint: a rule with a ScheduleExpression fires its Lambda targets when due, with the target's
Input or EventBridge's "Scheduled Event"; checked in-process on moto with a clock the test moves."""

import datetime
import io
import json
import zipfile

import boto3
import pytest
from moto import mock_aws

from lambdafleet.endpoint.schedules import Scheduler

pytestmark = pytest.mark.stack  # slow end to end: moto in-process for each test, and a scheduler

T0 = datetime.datetime(2026, 1, 1, 5, 59, 30, tzinfo=datetime.UTC)


@pytest.fixture
def aws():
    # The endpoint's data-plane patches (moto_patches) are not installed in this process: moto itself gives rules
    # no Lambda targets, so only the Scheduler under test invokes anything.
    with mock_aws():
        yield


def _function(name: str) -> str:
    iam = boto3.client("iam", region_name="us-east-1")
    trust = {
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    }
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", "def lambda_handler(event, context):\n    return event\n")
    client = boto3.client("lambda", region_name="us-east-1")
    return client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": buffer.getvalue()},
    )["FunctionArn"]


def _rule(name: str, expression: str, target: dict) -> str:
    events = boto3.client("events", region_name="us-east-1")
    arn = events.put_rule(Name=name, ScheduleExpression=expression)["RuleArn"]
    events.put_targets(Rule=name, Targets=[{"Id": "fn", **target}])
    return arn


def test_cron_fires_when_due_with_the_fixed_input(aws) -> None:
    fired: list[tuple[str, dict]] = []
    now = [T0]
    scheduler = Scheduler(
        lambda function, payload: fired.append((function.function_name, json.loads(payload))) or "",
        clock=lambda: now[0],
    )
    arn = _function("report")
    _rule("report-daily", "cron(0 6 * * ? *)", {"Arn": arn, "Input": json.dumps({"report": "items-count"})})
    scheduler.tick()  # first seen: due at 06:00, not now
    now[0] = T0 + datetime.timedelta(seconds=29)
    scheduler.tick()
    assert fired == []
    now[0] = T0 + datetime.timedelta(seconds=31)
    scheduler.tick()
    scheduler.tick()  # once per due time
    assert fired == [("report", {"report": "items-count"})]
    now[0] = T0 + datetime.timedelta(days=1, seconds=31)
    scheduler.tick()
    assert len(fired) == 2


def test_rate_sends_the_scheduled_event(aws) -> None:
    fired: list[dict] = []
    now = [T0]
    scheduler = Scheduler(lambda function, payload: fired.append(json.loads(payload)) or "", clock=lambda: now[0])
    rule_arn = _rule("tick-every", "rate(5 minutes)", {"Arn": _function("tick")})
    scheduler.tick()
    now[0] = T0 + datetime.timedelta(minutes=5)
    scheduler.tick()
    [event] = fired
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == [rule_arn] and event["detail"] == {}
    assert event["time"] == "2026-01-01T06:04:30Z"
    assert set(event) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}


def test_a_disabled_schedule_does_not_fire(aws) -> None:
    fired: list[bytes] = []
    now = [T0]
    scheduler = Scheduler(lambda function, payload: fired.append(payload) or "", clock=lambda: now[0])
    _rule("off", "rate(1 minute)", {"Arn": _function("off")})
    boto3.client("events", region_name="us-east-1").disable_rule(Name="off")
    scheduler.tick()
    now[0] = T0 + datetime.timedelta(minutes=3)
    scheduler.tick()
    assert fired == []
