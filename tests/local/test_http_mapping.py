"""API Gateway HTTP API rules, checked on the route selector and the payload-2.0 mapping directly."""

import base64
import json

import pytest

from lambdafleet.endpoint import routes
from lambdafleet.endpoint.http_event import HttpRequest, RouteTarget, build_event, map_response
from lambdafleet.endpoint.http_event_v1 import build_event_v1, map_response_v1

ROUTES = [
    "GET /items",
    "GET /items/{id}",
    "GET /items/special",
    "ANY /items/{id}",
    "GET /files/{proxy+}",
    "ANY /{proxy+}",
    "POST /",
]


@pytest.mark.parametrize(
    ("method", "path", "route_key", "parameters"),
    [
        ("GET", "/items", "GET /items", {}),
        ("GET", "/items/special", "GET /items/special", {}),  # exact beats {param}
        ("GET", "/items/42", "GET /items/{id}", {"id": "42"}),  # the method beats ANY
        ("DELETE", "/items/42", "ANY /items/{id}", {"id": "42"}),
        ("GET", "/files/a/b/c.txt", "GET /files/{proxy+}", {"proxy": "a/b/c.txt"}),
        ("PUT", "/files/a", "ANY /{proxy+}", {"proxy": "files/a"}),  # GET /files/{proxy+} takes GET only
        ("POST", "/", "POST /", {}),
        ("get", "/items", "GET /items", {}),
    ],
)
def test_most_specific_route_wins(method: str, path: str, route_key: str, parameters: dict) -> None:
    assert routes.select(ROUTES, method, path) == routes.Match(route_key, parameters)


def test_default_route_catches_the_rest_and_nothing_means_404() -> None:
    assert routes.select(["GET /a", "$default"], "POST", "/a") == routes.Match("$default", {})
    assert routes.select(["GET /a"], "POST", "/a") is None
    assert routes.select(["GET /a/{proxy+}"], "GET", "/a") is None  # a greedy variable needs a segment


def _event(**request) -> dict:
    defaults = {
        "method": "POST",
        "raw_path": "/items/7",
        "raw_query": "",
        "headers": [],
        "body": b"",
        "source_ip": "127.0.0.1",
    }
    target = RouteTarget("abc123", "123456789012", "abc123.execute-api.localhost", "$default", "POST /items/{id}")
    return build_event(HttpRequest(**{**defaults, **request}), target, "req-1")


def test_event_has_the_payload_2_shape() -> None:
    event = _event(
        raw_query="a=1&b=2&a=3",
        headers=[("Content-Type", "application/json"), ("X-Multi", "1"), ("x-multi", "2"), ("Cookie", "s=1; t=2")],
        body=b'{"k": 1}',
    )
    assert event["version"] == "2.0"
    assert (event["rawPath"], event["rawQueryString"]) == ("/items/7", "a=1&b=2&a=3")
    assert event["queryStringParameters"] == {"a": "1,3", "b": "2"}
    assert event["headers"] == {"content-type": "application/json", "x-multi": "1,2"}
    assert event["cookies"] == ["s=1", "t=2"]
    assert (event["body"], event["isBase64Encoded"]) == ('{"k": 1}', False)
    context = event["requestContext"]
    assert (context["routeKey"], context["stage"], context["apiId"]) == ("POST /items/{id}", "$default", "abc123")
    assert context["http"]["method"] == "POST" and context["http"]["path"] == "/items/7"
    assert isinstance(context["timeEpoch"], int)


def test_absent_parts_are_left_out_and_binary_bodies_are_base64() -> None:
    assert not {"cookies", "queryStringParameters", "body", "pathParameters"} & set(_event())
    event = _event(headers=[("content-type", "image/png")], body=b"\x89PNG\x00")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x89PNG\x00"


@pytest.mark.parametrize(
    ("result", "status", "body"),
    [
        ({"ok": True}, 200, b'{"ok": true}'),  # no statusCode: the result is the body
        ("plain words", 200, b"plain words"),
        ({"statusCode": 201, "body": "made"}, 201, b"made"),
        (
            {"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True},
            200,
            b"\x00\x01",
        ),
        ({"statusCode": "oops"}, 500, b'{"message":"Internal Server Error"}'),
    ],
)
def test_response_mapping(result: object, status: int, body: bytes) -> None:
    response = map_response(json.dumps(result).encode(), function_error=False)
    assert (response.status, response.body) == (status, body)


def test_cookies_become_set_cookie_headers_and_errors_become_500() -> None:
    response = map_response(json.dumps({"statusCode": 200, "cookies": ["a=1", "b=2"]}).encode(), False)
    assert [value for name, value in response.headers if name == "set-cookie"] == ["a=1", "b=2"]
    failed = map_response(b'{"errorType": "KeyError"}', function_error=True)
    assert (failed.status, failed.body) == (500, b'{"message":"Internal Server Error"}')
    assert map_response(b"not json", function_error=False).status == 500


def test_a_2_0_response_ignores_multi_value_headers_and_joins_repeated_names() -> None:
    result = {
        "statusCode": 200,
        "headers": {"X-A": "1", "x-a": "2", "x-b": "3"},
        "multiValueHeaders": {"x-b": ["4", "5"], "x-c": ["6"]},
    }
    response = map_response(json.dumps(result).encode(), False)
    assert sorted(response.headers) == [("x-a", "1,2"), ("x-b", "3")]


def test_event_has_the_payload_1_shape() -> None:
    target = RouteTarget(
        "abc123", "123456789012", "abc123.execute-api.localhost", "$default", "POST /items/{id}", {"id": "7"}
    )
    request = HttpRequest(
        method="POST",
        raw_path="/items/7",
        raw_query="a=1&b=2&a=3",
        headers=[("X-Multi", "1"), ("x-multi", "2"), ("Cookie", "s=1; t=2"), ("User-Agent", "ua")],
        body=b"hi",
        source_ip="127.0.0.1",
    )
    event = build_event_v1(request, target, "req-1")
    assert (event["version"], event["resource"], event["path"], event["httpMethod"]) == (
        "1.0",
        "/items/{id}",
        "/items/7",
        "POST",
    )
    # Names keep the client's spelling (the first one, for names differing only in case), as API Gateway's are.
    assert event["headers"] == {"X-Multi": "2", "Cookie": "s=1; t=2", "User-Agent": "ua"}
    assert event["multiValueHeaders"]["X-Multi"] == ["1", "2"]
    assert event["queryStringParameters"] == {"a": "3", "b": "2"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "3"], "b": ["2"]}
    assert event["pathParameters"] == {"id": "7"}
    assert (event["stageVariables"], event["body"], event["isBase64Encoded"]) == (None, "hi", False)
    context = event["requestContext"]
    assert context["authorizer"] == {"claims": None, "scopes": None}
    assert (context["resourcePath"], context["httpMethod"], context["stage"]) == ("/items/{id}", "POST", "$default")
    assert context["identity"]["sourceIp"] == "127.0.0.1" and context["identity"]["userAgent"] == "ua"
    assert isinstance(context["requestTimeEpoch"], int)
    assert "cookies" not in event and "rawPath" not in event


def test_payload_1_absent_parts_are_null() -> None:
    target = RouteTarget("abc123", "123456789012", "abc123.execute-api.localhost", "$default", "$default")
    event = build_event_v1(HttpRequest("GET", "/x", "", [], b"", "127.0.0.1"), target, "req-1")
    assert event["resource"] == "$default"
    for key in ("queryStringParameters", "multiValueQueryStringParameters", "pathParameters", "body"):
        assert event[key] is None


@pytest.mark.parametrize(
    ("result", "status", "headers", "body"),
    [
        ({"statusCode": 201, "body": "made"}, 201, [], b"made"),
        (
            {"statusCode": 200, "headers": {"X-A": "1", "x-b": "2"}, "multiValueHeaders": {"x-b": ["3", "4"]}},
            200,
            [("x-a", "1"), ("x-b", "3"), ("x-b", "4")],
            b"",
        ),
        ({"statusCode": 200, "body": base64.b64encode(b"\x00").decode(), "isBase64Encoded": True}, 200, [], b"\x00"),
        ({"ok": True}, 500, [("content-type", "application/json")], b'{"message":"Internal Server Error"}'),
        ({"statusCode": 200, "body": {"not": "a string"}}, 500, [("content-type", "application/json")], None),
    ],
)
def test_payload_1_response_mapping(result: object, status: int, headers: list, body: bytes | None) -> None:
    response = map_response_v1(json.dumps(result).encode(), function_error=False)
    assert (response.status, response.headers) == (status, headers)
    assert body is None or response.body == body
