"""`build.py logs NAME [--follow]`: a deployed function's CloudWatch Logs, from the local endpoint by default,
or from AWS itself with --aws."""

import argparse
import os
import re
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

from lambdafleet import DEFAULT_NAME_PREFIX
from lambdafleet.cli import Commands
from lambdafleet.errors import UserError

DEFAULT_ENDPOINT = "http://127.0.0.1:4566"
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
    if args.aws:
        return
    url = urllib.parse.urlsplit(args.endpoint_url)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise UserError(f"--endpoint-url {args.endpoint_url!r} (or AWS_ENDPOINT_URL): not an http(s) URL")


def _clients(args: argparse.Namespace) -> tuple[Any, Any]:
    import boto3  # slow to import: only `logs` itself pays for it, not every build.py command
    import botocore.session

    core = botocore.session.Session()
    options: dict[str, Any] = {}
    if args.aws:
        # boto3 would otherwise follow AWS_ENDPOINT_URL, which usually names the local endpoint.
        core.set_config_variable("ignore_configured_endpoint_urls", True)
    else:
        options["endpoint_url"] = args.endpoint_url
    session = boto3.Session(botocore_session=core, region_name=args.region)
    if session.get_credentials() is None:
        if args.aws:
            raise UserError("--aws: no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and its secret)")
        # An emulator accepts any keys.
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
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    _check(args)
    try:
        lambda_client, logs_client = _clients(args)
        group = _log_group(lambda_client, args.name, args.prefix)
        start_ms = int((time.time() - args.since * 60) * 1000)
        seen: set[str] = set()
        start_ms = _print_new(logs_client, group, start_ms, seen, args.follow)
        while args.follow:
            time.sleep(POLL_INTERVAL_S)
            start_ms = _print_new(logs_client, group, start_ms, seen, args.follow)
    except EndpointConnectionError as error:
        if args.aws:
            raise UserError(f"--aws: {error}") from None
        raise UserError(
            f"{args.endpoint_url} (the local endpoint; --endpoint-url or AWS_ENDPOINT_URL name another, --aws reads "
            "AWS): nothing answers (start it: python build.py local)"
        ) from None
    except ClientError as error:
        details = error.response.get("Error", {})
        code = details.get("Code") or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = " ".join(str(details.get("Message") or "").split())[:200]
        raise UserError(f"{args.name}: {error.operation_name} failed: {code} {message}".rstrip()) from None
    except BotoCoreError as error:  # a missing profile, unreadable config, bad region...
        raise UserError(f"AWS configuration (AWS_PROFILE, --region): {error}") from None
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
    parser.add_argument(
        "--prefix", default=DEFAULT_NAME_PREFIX, help=f"name prefix of the deployment (default {DEFAULT_NAME_PREFIX})"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT,
        help=f"AWS endpoint (default: $AWS_ENDPOINT_URL, else {DEFAULT_ENDPOINT})",
    )
    where.add_argument(
        "--aws", action="store_true", help="read AWS itself: your credentials (AWS_PROFILE...), no endpoint override"
    )
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION") or "us-east-1", help="AWS region")
    parser.set_defaults(run=_run)
