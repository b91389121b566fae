"""`build.py logs NAME [--follow]`: a deployed function's CloudWatch Logs, from the local endpoint by default."""

import argparse
import os
import time
from collections.abc import Iterator
from typing import Any

from lambdafleet.errors import UserError

DEFAULT_ENDPOINT = "http://127.0.0.1:4566"
DEFAULT_PREFIX = "lambdafleet-"  # infra/envs/local's name_prefix
POLL_INTERVAL_S = 1.0


def _clients(args: argparse.Namespace) -> tuple[Any, Any]:
    import boto3  # slow to import: only `logs` itself pays for it, not every build.py command

    session = boto3.Session(region_name=args.region)
    options: dict[str, Any] = {"endpoint_url": args.endpoint_url}
    if session.get_credentials() is None:
        # An emulator accepts any keys; real AWS needs the developer's own.
        options |= {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
    return session.client("lambda", **options), session.client("logs", **options)


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
    events = sorted(found, key=lambda event: (event["timestamp"], event["eventId"]))
    for event in events:
        if event["eventId"] not in seen:
            seen.add(event["eventId"])
            print(event["message"].rstrip("\n").replace("\r", "\n"), flush=True)
        newest = max(newest, event["timestamp"])
    return newest


def _run(args: argparse.Namespace) -> int:
    from botocore.exceptions import EndpointConnectionError

    lambda_client, logs_client = _clients(args)
    try:
        group = _log_group(lambda_client, args.name, args.prefix)
        start_ms = int((time.time() - args.since * 60) * 1000)
        seen: set[str] = set()
        start_ms = _print_new(logs_client, group, start_ms, seen, args.follow)
        while args.follow:
            time.sleep(POLL_INTERVAL_S)
            start_ms = _print_new(logs_client, group, start_ms, seen, args.follow)
    except EndpointConnectionError:
        raise UserError(
            f"--endpoint-url {args.endpoint_url}: nothing answers (start it: python build.py local)"
        ) from None
    except lambda_client.exceptions.ClientError as error:
        raise UserError(f"{args.name}: {error}") from None
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the logs command."""
    parser = subparsers.add_parser(
        "logs",
        help="print a deployed function's CloudWatch logs (--follow keeps printing)",
        description="Reads /aws/lambda/<function> (or the function's configured log group) with filter_log_events.",
    )
    parser.add_argument("name", metavar="NAME", help="deployed function name, or the manifest name (+ --prefix)")
    parser.add_argument("--follow", "-f", action="store_true", help="keep polling for new events (Ctrl-C stops)")
    parser.add_argument("--since", type=float, default=60.0, metavar="MINUTES", help="how far back (default 60)")
    parser.add_argument(
        "--prefix", default=DEFAULT_PREFIX, help=f"name prefix of the deployment (default {DEFAULT_PREFIX})"
    )
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT,
        help=f"AWS endpoint (default: $AWS_ENDPOINT_URL, else {DEFAULT_ENDPOINT})",
    )
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION") or "us-east-1", help="AWS region")
    parser.set_defaults(run=_run)
