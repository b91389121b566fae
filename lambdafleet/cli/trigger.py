"""`build.py trigger NAME [--schedule S]`: fire a deployed function's schedule now, as EventBridge would at its
next due time (asynchronously, with the target's Input or the "Scheduled Event"), for tests and demos."""

import argparse
import datetime
import json
import os
from typing import Any

from lambdafleet import DEFAULT_NAME_PREFIX
from lambdafleet.cli.logs import DEFAULT_ENDPOINT
from lambdafleet.errors import UserError


def _clients(args: argparse.Namespace) -> tuple[Any, Any]:
    import boto3  # slow to import: only this command pays for it

    options = {"endpoint_url": args.endpoint_url, "region_name": args.region}
    options |= {"aws_access_key_id": "test", "aws_secret_access_key": "test"}  # an emulator accepts any keys
    return boto3.client("lambda", **options), boto3.client("events", **options)


def _function_arn(lambda_client: Any, name: str, prefix: str) -> str:
    for candidate in dict.fromkeys([prefix + name, name]):
        try:
            return str(lambda_client.get_function_configuration(FunctionName=candidate)["FunctionArn"])
        except lambda_client.exceptions.ResourceNotFoundException:
            continue
    raise UserError(
        f"NAME {name!r}: no function {prefix + name!r} or {name!r} on the endpoint (terraform apply first?)"
    )


def _schedule_rules(events: Any, function_arn: str) -> dict[str, dict[str, Any]]:
    names = events.list_rule_names_by_target(TargetArn=function_arn).get("RuleNames", [])
    rules = {name: events.describe_rule(Name=name) for name in names}
    return {name: rule for name, rule in rules.items() if rule.get("ScheduleExpression")}


def _pick(rules: dict[str, dict[str, Any]], args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    if not rules:
        raise UserError(f'NAME {args.name!r}: the function has no schedule (a trigger with type = "schedule")')
    if args.schedule:
        wanted = [n for n in rules if n == args.schedule or n.endswith(f"-{args.schedule}")]
        if not wanted:
            raise UserError(f"--schedule {args.schedule!r}: not one of the function's schedules: {', '.join(rules)}")
        return wanted[0], rules[wanted[0]]
    if len(rules) > 1:
        raise UserError(f"NAME {args.name!r} has several schedules; pick one with --schedule: {', '.join(rules)}")
    name = next(iter(rules))
    return name, rules[name]


def _run(args: argparse.Namespace) -> int:
    lambda_client, events = _clients(args)
    function_arn = _function_arn(lambda_client, args.name, args.prefix)
    rule_name, rule = _pick(_schedule_rules(events, function_arn), args)
    targets = events.list_targets_by_rule(Rule=rule_name)["Targets"]
    target = next(t for t in targets if t["Arn"].split(":")[:7] == function_arn.split(":")[:7])
    now = datetime.datetime.now(datetime.UTC)
    event = {
        "version": "0",
        "id": os.urandom(16).hex(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": function_arn.split(":")[4],
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": args.region,
        "resources": [rule["Arn"]],
        "detail": {},
    }
    payload = target["Input"] if target.get("Input") else json.dumps(event)
    response = lambda_client.invoke(FunctionName=target["Arn"], InvocationType="Event", Payload=payload.encode())
    request_id = response["ResponseMetadata"].get("RequestId", "")
    print(f"fired {rule_name} ({rule['ScheduleExpression']}) -> {function_arn.split(':')[6]}  request {request_id}")
    return 0


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the trigger command."""
    summary = "fire a deployed function's schedule now (asynchronous invocation with the schedule's input)"
    parser = subparsers.add_parser("trigger", help=summary)
    parser.add_argument("name", metavar="NAME", help="deployed function name, or the manifest name (+ --prefix)")
    parser.add_argument("--schedule", metavar="S", help="the schedule trigger's name, when the function has several")
    parser.add_argument(
        "--prefix", default=DEFAULT_NAME_PREFIX, help=f"name prefix of the deployment (default {DEFAULT_NAME_PREFIX})"
    )
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT,
        help=f"AWS endpoint (default: $AWS_ENDPOINT_URL, else {DEFAULT_ENDPOINT})",
    )
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION") or "us-east-1", help="AWS region")
    parser.set_defaults(run=_run)
