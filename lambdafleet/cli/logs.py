"""`build.py logs NAME [--follow]`: a deployed function's CloudWatch Logs, from the local endpoint by default,
or from AWS itself with --aws."""

import argparse
import re
import time
from collections.abc import Iterator
from typing import Any

from lambdafleet.cli import Commands, aws_target
from lambdafleet.errors import UserError

DEFAULT_ENDPOINT = aws_target.DEFAULT_ENDPOINT
POLL_INTERVAL_S = 1.0
# Lambda's FunctionName pattern (a name, or a full or partial ARN, optionally qualified), from the API reference.
DEPLOYED_NAME = re.compile(
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?"
    r"([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)


def _check(args: argparse.Namespace) -> None:
    """Refuse a NAME Lambda would refuse, and an endpoint that is not an http(s) URL, before any call."""
    if not DEPLOYED_NAME.fullmatch(args.name):
        raise UserError(f"NAME {args.name!r}: not a Lambda function name (letters, digits, - and _)")
    aws_target.check_endpoint(args)


def _log_group(lambda_client: Any, name: str, prefix: str) -> str:
    for candidate in dict.fromkeys([name, prefix + name]):
        try:
            config = lambda_client.get_function_configuration(FunctionName=candidate)
        except lambda_client.exceptions.ResourceNotFoundException:
            continue
        return config.get("LoggingConfig", {}).get("LogGroup") or f"/aws/lambda/{candidate}"
    raise UserError(f"{name}: no deployed function named {name!r} or {prefix + name!r}")


def _events(logs_client: Any, group: str, start_ms: int) -> Iterator[dict[str, Any]]:
    paginator = logs_client.get_paginator("filter_log_events")
    for page in paginator.paginate(logGroupName=group, startTime=start_ms):
        yield from page["events"]


def in_order(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events by timestamp, then as ingested: event ids are numbers written as strings (as text, "10" < "9"),
    and otherwise the order the service answered in is kept."""

    def ingested(event: dict[str, Any]) -> int:
        event_id = str(event.get("eventId", ""))
        return int(event_id) if event_id.isdigit() else 0

    return sorted(events, key=lambda event: (event["timestamp"], ingested(event)))


def _print_new(logs_client: Any, group: str, start_ms: int, seen: set[str], follow: bool) -> int:
    """Print events not printed yet; returns the newest timestamp seen.

    Lambda creates a function's log group at its first invocation: when following, a group that does
    not exist yet just has no events so far.
    """
    newest = start_ms
    try:
        found = list(_events(logs_client, group, start_ms))
    except logs_client.exceptions.ResourceNotFoundException:
        if not follow:
            raise UserError(f"{group}: no log group yet (the function has not run; --follow waits for it)") from None
        return newest
    for event in in_order(found):
        if event["eventId"] not in seen:
            seen.add(event["eventId"])
            print(event["message"].rstrip("\n").replace("\r", "\n"), flush=True)
        newest = max(newest, event["timestamp"])
    return newest


def _run(args: argparse.Namespace) -> int:
    _check(args)
    with aws_target.aws_errors(args, args.name):
        client = aws_target.client_factory(args)
        lambda_client, logs_client = client("lambda"), client("logs")
        group = _log_group(lambda_client, args.name, args.prefix)
        start_ms = int((time.time() - args.since * 60) * 1000)
        seen: set[str] = set()
        start_ms = _print_new(logs_client, group, start_ms, seen, args.follow)
        while args.follow:
            time.sleep(POLL_INTERVAL_S)
            start_ms = _print_new(logs_client, group, start_ms, seen, args.follow)
    return 0


def register(subparsers: Commands) -> None:
    """Add the logs command."""
    summary = "print a deployed function's CloudWatch logs (--follow keeps printing)"
    parser = subparsers.add_parser(
        "logs",
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}: reads /aws/lambda/<function> (or the function's "
        "configured log group) with filter_log_events, from the local endpoint or, with --aws, from AWS.",
    )
    parser.add_argument("name", metavar="NAME", help="deployed function name, or the manifest name (+ --prefix)")
    parser.add_argument("--follow", "-f", action="store_true", help="keep polling for new events (Ctrl-C stops)")
    parser.add_argument("--since", type=float, default=60.0, metavar="MINUTES", help="how far back (default 60)")
    aws_target.add_arguments(parser)
    parser.set_defaults(run=_run)
