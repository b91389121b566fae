"""API Gateway HTTP API payload format 1.0: the REST-style event a request becomes, and its response mapping.

Follows "Working with AWS Lambda proxy integrations for HTTP APIs" (format 1.0) in the API Gateway developer
guide: single and multi-value headers (names as the client spelled them) and query parameters, absent parts as
null, cookies left in the Cookie header, and a response that must carry statusCode (format 1.0 infers nothing).
"""

import base64
import binascii
import json
import time
from typing import Any
from urllib.parse import parse_qsl

from lambdafleet.endpoint.http_event import (
    INTERNAL_ERROR,
    HttpRequest,
    HttpResponse,
    RouteTarget,
    encoded_body,
    header_value,
)

_IDENTITY_KEYS = (
    "accessKey",
    "accountId",
    "caller",
    "cognitoAuthenticationProvider",
    "cognitoAuthenticationType",
    "cognitoIdentityId",
    "cognitoIdentityPoolId",
    "principalOrgId",
    "user",
    "userArn",
)


def _multi(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


def _multi_headers(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """One entry per header line, under the name as the client spelled it first (names differing only in case are
    one header)."""
    spelling: dict[str, str] = {}
    return _multi([(spelling.setdefault(name.lower(), name), value) for name, value in pairs])


def _get(headers: dict[str, str], name: str) -> str:
    """A header's value, whatever the case of its name."""
    return next((value for key, value in headers.items() if key.lower() == name), "")


def _last(grouped: dict[str, list[str]]) -> dict[str, str]:
    """The single-value map: a repeated name keeps its last value, as REST-style events have it."""
    return {name: values[-1] for name, values in grouped.items()}


def build_event_v1(
    request: HttpRequest, target: RouteTarget, request_id: str, authorizer: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The payload-1.0 event for `request`; absent parts are null, as API Gateway sends them."""
    headers = _multi_headers(request.headers)
    query = _multi(parse_qsl(request.raw_query, keep_blank_values=True))
    now = time.time()
    _, _, route_path = target.route_key.partition(" ")
    resource = route_path or target.route_key  # "$default" has no path
    single_headers = _last(headers)
    body, is_base64 = (
        encoded_body(request.body, _get(single_headers, "content-type")) if request.body else (None, False)
    )
    identity: dict[str, Any] = dict.fromkeys(_IDENTITY_KEYS)
    identity.update({"sourceIp": request.source_ip, "userAgent": _get(single_headers, "user-agent")})
    return {
        "version": "1.0",
        "resource": resource,
        "path": request.raw_path,
        "httpMethod": request.method,
        "headers": single_headers,
        "multiValueHeaders": headers,
        "queryStringParameters": _last(query) or None,
        "multiValueQueryStringParameters": query or None,
        "requestContext": {
            "accountId": target.account_id,
            "apiId": target.api_id,
            "authorizer": authorizer if authorizer is not None else {"claims": None, "scopes": None},
            "domainName": target.domain_name,
            "domainPrefix": target.domain_name.split(".")[0],
            "extendedRequestId": request_id,
            "httpMethod": request.method,
            "identity": identity,
            "path": request.raw_path,
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "resourceId": target.route_key,
            "resourcePath": resource,
            "stage": target.stage,
        },
        "pathParameters": target.path_parameters or None,
        "stageVariables": None,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def map_response_v1(payload: bytes, function_error: bool) -> HttpResponse:
    """The HTTP response for a format-1.0 result: statusCode is required, headers and multiValueHeaders merge
    (a name in both keeps multiValueHeaders' values); anything malformed is a 500."""
    if function_error:
        return INTERNAL_ERROR
    try:
        result = json.loads(payload)
        if not isinstance(result, dict):
            raise ValueError("not an object")
        return _structured_v1(result)
    except (TypeError, ValueError, KeyError, binascii.Error):
        return INTERNAL_ERROR


def _structured_v1(result: dict[str, Any]) -> HttpResponse:
    status = result["statusCode"]
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r}")
    multi = {str(name).lower(): values for name, values in (result.get("multiValueHeaders") or {}).items()}
    headers = [
        (str(name).lower(), header_value(value))
        for name, value in (result.get("headers") or {}).items()
        if str(name).lower() not in multi
    ]
    for name, values in multi.items():
        if not isinstance(values, list):
            raise TypeError(f"multiValueHeaders.{name} is not a list")
        headers += [(name, header_value(value)) for value in values]
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise TypeError("body is not a string")
    if body is None:
        data = b""
    elif result.get("isBase64Encoded"):
        data = base64.b64decode(body, validate=True)
    else:
        data = body.encode()
    return HttpResponse(status, headers, data)
