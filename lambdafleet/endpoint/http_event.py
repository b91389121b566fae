"""API Gateway HTTP API payload format 2.0: the event a request becomes, and the response a result becomes.

Follows "Working with AWS Lambda proxy integrations for HTTP APIs" in the API Gateway developer guide.
"""

import base64
import binascii
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

# Bodies of these types reach the function as text; anything else is base64-encoded.
_TEXT_TYPES = ("text/", "/json", "+json", "/xml", "+xml", "/javascript", "application/x-www-form-urlencoded")


@dataclass(frozen=True)
class HttpRequest:
    """What the event is built from."""

    method: str
    raw_path: str
    raw_query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str


@dataclass(frozen=True)
class RouteTarget:
    """Where the request goes: the API, its stage and the route API Gateway selected."""

    api_id: str
    account_id: str
    domain_name: str
    stage: str
    route_key: str
    path_parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpResponse:
    """What the client gets back."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


INTERNAL_ERROR = HttpResponse(500, [("content-type", "application/json")], b'{"message":"Internal Server Error"}')
NOT_FOUND = HttpResponse(404, [("content-type", "application/json")], b'{"message":"Not Found"}')
BAD_REQUEST = HttpResponse(400, [("content-type", "application/json")], b'{"message":"Bad Request"}')
# The event Lambda would refuse: API Gateway answers that a body is too large, not that the integration failed.
PAYLOAD_TOO_LARGE = HttpResponse(413, [("content-type", "application/json")], b'{"message":"Request Entity Too Large"}')
UNAUTHORIZED = HttpResponse(401, [("content-type", "application/json")], b'{"message":"Unauthorized"}')
FORBIDDEN = HttpResponse(403, [("content-type", "application/json")], b'{"message":"Forbidden"}')
TOO_MANY_REQUESTS = HttpResponse(429, [("content-type", "application/json")], b'{"message":"Too Many Requests"}')
# The integration did not answer within its TimeoutInMillis (30 s at most).
SERVICE_UNAVAILABLE = HttpResponse(503, [("content-type", "application/json")], b'{"message":"Service Unavailable"}')


def _is_text(content_type: str) -> bool:
    content_type = content_type.split(";")[0].strip().lower()
    return not content_type or any(marker in content_type for marker in _TEXT_TYPES)


def joined(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Repeated names become one comma-separated value, as API Gateway sends them."""
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


def request_cookies(headers: list[tuple[str, str]]) -> list[str]:
    """One entry per cookie of every Cookie header: the server joins repeated headers with ',', and a cookie
    value cannot hold ',' or ';' (RFC 6265), so both separate cookies."""
    return [
        cookie.strip()
        for name, value in headers
        if name.lower() == "cookie"
        for cookie in value.replace(",", ";").split(";")
        if cookie.strip()
    ]


def build_event(
    request: HttpRequest, target: RouteTarget, request_id: str, authorizer: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The payload-2.0 event for `request`; absent parts (cookies, query, body, parameters) are left out.

    `authorizer` is what the route's authorizer passed on (requestContext.authorizer: jwt, lambda or iam).
    """
    headers = [(name.lower(), value) for name, value in request.headers if name.lower() != "cookie"]
    cookies = request_cookies(request.headers)
    header_map = joined(headers)
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": target.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "headers": header_map,
        "requestContext": {
            "accountId": target.account_id,
            "apiId": target.api_id,
            "domainName": target.domain_name,
            "domainPrefix": target.domain_name.split(".")[0],
            "http": {
                "method": request.method,
                "path": request.raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": header_map.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": target.route_key,
            "stage": target.stage,
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    if cookies:
        event["cookies"] = cookies
    query = parse_qsl(request.raw_query, keep_blank_values=True)
    if query:
        event["queryStringParameters"] = joined(query)
    if target.path_parameters:
        event["pathParameters"] = target.path_parameters
    if request.body:
        _add_body(event, request.body, header_map.get("content-type", ""))
    return event


def encoded_body(body: bytes, content_type: str) -> tuple[str, bool]:
    """The body as the event carries it, and whether that is base64: text types go as text when UTF-8."""
    if _is_text(content_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode(), True


def _add_body(event: dict[str, Any], body: bytes, content_type: str) -> None:
    event["body"], event["isBase64Encoded"] = encoded_body(body, content_type)


def map_response(payload: bytes, function_error: bool) -> HttpResponse:
    """The HTTP response for a function's result; a failed or malformed result is a 500."""
    if function_error:
        return INTERNAL_ERROR
    try:
        result = json.loads(payload)
    except ValueError:
        return INTERNAL_ERROR
    if not (isinstance(result, dict) and "statusCode" in result):
        # API Gateway's format inference: a result without statusCode is the 200 body itself.
        body = result if isinstance(result, str) else json.dumps(result)
        return HttpResponse(200, [("content-type", "application/json")], body.encode())
    try:
        return _structured(result)
    except (TypeError, ValueError, binascii.Error):
        return INTERNAL_ERROR


def _structured(result: dict[str, Any]) -> HttpResponse:
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r}")
    # Format 2.0 has no multiValueHeaders: API Gateway ignores them; names differing in case are one header.
    single = [(str(name).lower(), header_value(value)) for name, value in (result.get("headers") or {}).items()]
    headers = list(joined(single).items())
    headers += [("set-cookie", str(cookie)) for cookie in result.get("cookies") or []]
    body = result.get("body")
    if body is None:
        data = b""
    elif result.get("isBase64Encoded"):
        data = base64.b64decode(body, validate=True)
    else:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
    return HttpResponse(status, headers, data)


def header_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
