"""Sample events of every trigger the project supports, shaped as AWS sends them to a function.

The shapes follow the examples of the Lambda developer guide (S3, SQS, DynamoDB Streams, SNS, EventBridge and
scheduled events) and the API Gateway developer guide (HTTP API payload formats 2.0 and 1.0); the test suite holds
those examples (tests/fixtures/events/) and checks every generated event against them. HTTP API 2.0 events come
from the same builder the local endpoint uses for real requests.
"""

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote_plus

from lambdafleet.endpoint.http_event import HttpRequest, RouteTarget, build_event

ACCOUNT = "123456789012"
REGION = "us-east-1"


@dataclass(frozen=True)
class EventOptions:
    """The usual fields of every kind; each kind reads those that apply to it."""

    method: str = "GET"
    path: str = "/"
    query: str = ""
    body: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    route: str | None = None  # route key; default "METHOD /path"
    bucket: str = "example-bucket"
    key: str = "uploads/example.png"
    size: int = 1024
    event_name: str | None = None
    queue: str = "example-queue"
    message: str = "Hello from Lambda!"
    topic: str = "example-topic"
    subject: str = "example subject"
    table: str = "example-table"
    keys: dict[str, Any] = field(default_factory=lambda: {"id": {"S": "101"}})
    new_image: dict[str, Any] | None = None
    source: str = "com.example.app"
    detail_type: str = "Example Event"
    detail: dict[str, Any] = field(default_factory=dict)
    resources: tuple[str, ...] = ()
    rule: str = "example-schedule"
    region: str = REGION
    account: str = ACCOUNT


def _now() -> float:
    return time.time()


def _iso(moment: float, millis: bool = True) -> str:
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment))
    return f"{text}.{int(moment * 1000) % 1000:03d}Z" if millis else f"{text}Z"


def _headers(options: EventOptions, body: str | None) -> list[tuple[str, str]]:
    headers = [
        ("accept", "*/*"),
        ("host", f"api-id.execute-api.{options.region}.amazonaws.com"),
        ("user-agent", "curl/8.5.0"),
        ("x-forwarded-for", "192.0.2.1"),
        ("x-forwarded-port", "443"),
        ("x-forwarded-proto", "https"),
    ]
    if body is not None:
        headers += [("content-length", str(len(body.encode()))), ("content-type", "application/json")]
    names = {name.lower() for name, _ in options.headers}
    return [(name, value) for name, value in headers if name not in names] + list(options.headers)


def http_v2(options: EventOptions) -> dict[str, Any]:
    """API Gateway HTTP API, payload format 2.0 (what routes of this project's HTTP API receive)."""
    request = HttpRequest(
        method=options.method.upper(),
        raw_path=options.path,
        raw_query=options.query,
        headers=_headers(options, options.body),
        body=(options.body or "").encode(),
        source_ip="192.0.2.1",
    )
    route = options.route or f"{options.method.upper()} {options.path}"
    target = RouteTarget(
        "api-id", options.account, f"api-id.execute-api.{options.region}.amazonaws.com", "$default", route
    )
    return build_event(request, target, str(uuid.uuid4()))


def http_v1(options: EventOptions) -> dict[str, Any]:
    """API Gateway HTTP API, payload format 1.0 (the REST API-compatible one)."""
    now = _now()
    headers = _headers(options, options.body)
    query = parse_qsl(options.query, keep_blank_values=True)
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        multi_query.setdefault(name, []).append(value)
    method = options.method.upper()
    resource = options.route.split(" ", 1)[-1] if options.route else options.path
    return {
        "version": "1.0",
        "resource": resource,
        "path": options.path,
        "httpMethod": method,
        "headers": {name: values[-1] for name, values in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "requestContext": {
            "accountId": options.account,
            "apiId": "api-id",
            "authorizer": {"claims": None, "scopes": None},
            "domainName": f"api-id.execute-api.{options.region}.amazonaws.com",
            "domainPrefix": "api-id",
            "extendedRequestId": str(uuid.uuid4()),
            "httpMethod": method,
            "identity": {
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": "192.0.2.1",
                "user": None,
                "userAgent": "curl/8.5.0",
                "userArn": None,
            },
            "path": options.path,
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "resourceId": None,
            "resourcePath": resource,
            "stage": "$default",
        },
        "pathParameters": None,
        "stageVariables": None,
        "body": options.body,
        "isBase64Encoded": False,
    }


def s3(options: EventOptions) -> dict[str, Any]:
    """An S3 event notification (ObjectCreated:Put unless --event-name says otherwise)."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": options.region,
                "eventTime": _iso(_now()),
                "eventName": options.event_name or "ObjectCreated:Put",
                "userIdentity": {"principalId": f"AWS:{options.account}"},
                "requestParameters": {"sourceIPAddress": "192.0.2.1"},
                "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper(), "x-amz-id-2": "EXAMPLE"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "lambda-notification",
                    "bucket": {
                        "name": options.bucket,
                        "ownerIdentity": {"principalId": options.account},
                        "arn": f"arn:aws:s3:::{options.bucket}",
                    },
                    "object": {
                        # S3 sends the key URL-encoded, spaces as "+": a handler must unquote_plus it.
                        "key": quote_plus(options.key, safe="/"),
                        "size": options.size,
                        "eTag": hashlib.md5(options.key.encode(), usedforsecurity=False).hexdigest(),
                        "sequencer": f"{time.time_ns():016X}",
                    },
                },
            }
        ]
    }


def sqs(options: EventOptions) -> dict[str, Any]:
    """One SQS message as an event source mapping delivers it (a batch of one)."""
    sent = int(_now() * 1000)
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "AQEB" + uuid.uuid4().hex,
                "body": options.message if options.body is None else options.body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(sent),
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": str(sent + 2),
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(
                    (options.message if options.body is None else options.body).encode(), usedforsecurity=False
                ).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{options.region}:{options.account}:{options.queue}",
                "awsRegion": options.region,
            }
        ]
    }


def dynamodb(options: EventOptions) -> dict[str, Any]:
    """One DynamoDB Streams record (INSERT unless --event-name says MODIFY or REMOVE)."""
    name = options.event_name or "INSERT"
    image = options.new_image if options.new_image is not None else {**options.keys, "message": {"S": "New item!"}}
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": int(_now()),
        "Keys": options.keys,
        "SequenceNumber": str(time.time_ns() // 1000),
        "SizeBytes": len(json.dumps(image)),
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if name != "REMOVE":
        change["NewImage"] = image
    if name != "INSERT":
        change["OldImage"] = options.keys
    stream = time.strftime("%Y-%m-%dT%H:%M:%S.000", time.gmtime(_now()))
    return {
        "Records": [
            {
                "eventID": uuid.uuid4().hex,
                "eventName": name,
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": options.region,
                "dynamodb": change,
                "eventSourceARN": f"arn:aws:dynamodb:{options.region}:{options.account}:table/{options.table}"
                f"/stream/{stream}",
            }
        ]
    }


def sns(options: EventOptions) -> dict[str, Any]:
    """One SNS notification to a Lambda subscription."""
    topic = f"arn:aws:sns:{options.region}:{options.account}:{options.topic}"
    subscription = f"{topic}:{uuid.uuid4()}"
    return {
        "Records": [
            {
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription,
                "EventSource": "aws:sns",
                "Sns": {
                    "SignatureVersion": "1",
                    "Timestamp": _iso(_now()),
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": f"https://sns.{options.region}.amazonaws.com/SimpleNotificationService-0000.pem",
                    "MessageId": str(uuid.uuid4()),
                    "Message": options.message if options.body is None else options.body,
                    "MessageAttributes": {},
                    "Type": "Notification",
                    "UnsubscribeUrl": f"https://sns.{options.region}.amazonaws.com/?Action=Unsubscribe"
                    f"&SubscriptionArn={subscription}",
                    "TopicArn": topic,
                    "Subject": options.subject,
                },
            }
        ]
    }


def eventbridge(options: EventOptions) -> dict[str, Any]:
    """An EventBridge event as a rule delivers it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": options.detail_type,
        "source": options.source,
        "account": options.account,
        "time": _iso(_now(), millis=False),
        "region": options.region,
        "resources": list(options.resources),
        "detail": options.detail,
    }


def schedule(options: EventOptions) -> dict[str, Any]:
    """An EventBridge scheduled rule's event (rate() or cron())."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": options.account,
        "time": _iso(_now(), millis=False),
        "region": options.region,
        "resources": [f"arn:aws:events:{options.region}:{options.account}:rule/{options.rule}"],
        "detail": {},
    }


KINDS: dict[str, Callable[[EventOptions], dict[str, Any]]] = {
    "http": http_v2,
    "http-v1": http_v1,
    "s3": s3,
    "sqs": sqs,
    "dynamodb": dynamodb,
    "sns": sns,
    "eventbridge": eventbridge,
    "schedule": schedule,
}


def sample_event(kind: str, options: EventOptions | None = None) -> dict[str, Any]:
    """The event of `kind` (a key of KINDS) with `options` filled in."""
    return KINDS[kind](options or EventOptions())
