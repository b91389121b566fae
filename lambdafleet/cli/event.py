"""`build.py event KIND`: print a ready sample event, shaped as AWS sends it, e.g. for `build.py invoke --event -`."""

import argparse
import json
import sys
from typing import Any

from lambdafleet.cli import Commands
from lambdafleet.errors import UserError

KIND_HELP = {
    "http": "API Gateway HTTP API, payload format 2.0 (this project's routes)",
    "http-v1": "API Gateway HTTP API, payload format 1.0",
    "s3": "S3 event notification (--bucket, --key, --size, --event-name ObjectRemoved:Delete ...)",
    "sqs": "SQS message batch of one (--queue, --message or --body)",
    "dynamodb": "DynamoDB Streams record (--table, --keys, --new-image, --event-name INSERT|MODIFY|REMOVE)",
    "sns": "SNS notification (--topic, --message, --subject)",
    "eventbridge": "EventBridge event (--source, --detail-type, --detail)",
    "schedule": "EventBridge scheduled event (--rule)",
}
STREAM_EVENTS = ("INSERT", "MODIFY", "REMOVE")


def _json_object(option: str, text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as error:
        raise UserError(f"{option}: not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise UserError(f"{option}: must be a JSON object, got {type(value).__name__}")
    return value


def _headers(items: list[str]) -> tuple[tuple[str, str], ...]:
    headers = []
    for item in items:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise UserError(f"--header {item!r}: expected NAME:VALUE")
        headers.append((name.strip().lower(), value.strip()))
    return tuple(headers)


def _run(args: argparse.Namespace) -> int:
    from lambdafleet.dev.sample_events import EventOptions, sample_event

    if not args.path.startswith("/"):
        raise UserError(f"--path {args.path!r}: must start with /")
    if args.kind == "dynamodb" and args.event_name not in (None, *STREAM_EVENTS):
        raise UserError(f"--event-name {args.event_name!r}: a stream record is one of {', '.join(STREAM_EVENTS)}")
    if args.size < 0:
        raise UserError(f"--size {args.size}: must not be negative")
    path, _, query = args.path.partition("?")
    options = EventOptions(
        method=args.method,
        path=path,
        query=query,
        body=args.body,
        headers=_headers(args.header),
        route=args.route,
        bucket=args.bucket,
        key=args.key,
        size=args.size,
        event_name=args.event_name,
        queue=args.queue,
        message=args.message,
        topic=args.topic,
        subject=args.subject,
        table=args.table,
        keys=_json_object("--keys", args.keys) or {"id": {"S": "101"}},
        new_image=_json_object("--new-image", args.new_image),
        source=args.source,
        detail_type=args.detail_type,
        detail=_json_object("--detail", args.detail) or {},
        resources=tuple(args.resource),
        rule=args.rule,
        region=args.region,
        account=args.account,
    )
    json.dump(sample_event(args.kind, options), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def register(subparsers: Commands) -> None:
    """Add the event command."""
    parser = subparsers.add_parser(
        "event",
        help="print a sample event of a trigger (http, http-v1, s3, sqs, dynamodb, sns, eventbridge, schedule)",
        description="Print a ready sample event, shaped as AWS sends it to a function, with the usual fields set "
        "by options. Pipe it to a function: python build.py event http --path /health | "
        "python build.py invoke predict --event -",
        epilog="kinds: " + "; ".join(f"{kind}: {text}" for kind, text in KIND_HELP.items()),
    )
    parser.add_argument("kind", choices=sorted(KIND_HELP), metavar="KIND", help=", ".join(KIND_HELP))
    http = parser.add_argument_group("http, http-v1")
    http.add_argument("--method", default="GET", help="HTTP method (default GET)")
    http.add_argument("--path", default="/", help="request path, with ?query if any (default /)")
    http.add_argument("--body", help="request body (sqs, sns: the message)")
    http.add_argument("--header", action="append", default=[], metavar="NAME:VALUE", help="extra header (repeat)")
    http.add_argument("--route", help="route key, e.g. 'GET /items/{id}' (default: METHOD PATH)")
    s3 = parser.add_argument_group("s3")
    s3.add_argument("--bucket", default="example-bucket", help="bucket name (default example-bucket)")
    s3.add_argument("--key", default="uploads/example.png", help="object key (sent URL-encoded, as S3 does)")
    s3.add_argument("--size", type=int, default=1024, help="object size in bytes")
    s3.add_argument("--event-name", help="s3: ObjectCreated:Put (default), ...; dynamodb: INSERT, MODIFY, REMOVE")
    messages = parser.add_argument_group("sqs, sns")
    messages.add_argument("--queue", default="example-queue", help="sqs: queue name (default example-queue)")
    messages.add_argument("--topic", default="example-topic", help="sns: topic name (default example-topic)")
    messages.add_argument("--message", default="Hello from Lambda!", help="the message body (or --body)")
    messages.add_argument("--subject", default="example subject", help="sns: the subject")
    stream = parser.add_argument_group("dynamodb")
    stream.add_argument("--table", default="example-table", help="table name (default example-table)")
    stream.add_argument("--keys", metavar="JSON", help='key attributes, e.g. \'{"id": {"S": "101"}}\'')
    stream.add_argument("--new-image", metavar="JSON", help="the item after the change, in DynamoDB JSON")
    bridge = parser.add_argument_group("eventbridge, schedule")
    bridge.add_argument("--source", default="com.example.app", help="eventbridge: source (default com.example.app)")
    bridge.add_argument("--detail-type", default="Example Event", help="eventbridge: detail-type")
    bridge.add_argument("--detail", metavar="JSON", help="the event's detail object")
    bridge.add_argument("--resource", action="append", default=[], metavar="ARN", help="a resource ARN (repeat)")
    bridge.add_argument("--rule", default="example-schedule", help="schedule: the rule's name")
    common = parser.add_argument_group("every kind")
    common.add_argument("--region", default="us-east-1", help="region in ARNs and fields (default us-east-1)")
    common.add_argument("--account", default="123456789012", help="account ID (default 123456789012)")
    parser.set_defaults(run=_run)
