"""The HTTP API data plane on routes deployed with boto3: stages, payload-2.0 events, response mapping, errors."""

import http.client
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import closing

import pytest

# Answers with what it received, or in the shape the query string asks for.
HANDLER = """
import base64, json
def lambda_handler(event, context):
    shape = (event.get('queryStringParameters') or {}).get('shape')
    if shape == 'fail':
        raise RuntimeError('asked to fail')
    if event.get('version') == '1.0':
        return {'statusCode': 200, 'multiValueHeaders': {'x-v': ['1', '2']}, 'body': json.dumps(event)}
    if shape == 'bare':
        return {'bare': True}
    if shape == 'binary':
        return {'statusCode': 200, 'body': base64.b64encode(b'\\x00\\xff').decode(), 'isBase64Encoded': True,
                'headers': {'content-type': 'application/octet-stream'}}
    return {'statusCode': 202, 'cookies': ['a=1', 'b=2'], 'headers': {'x-route': event['routeKey']},
            'body': json.dumps(event)}
"""


@pytest.fixture(scope="module")
def api(endpoint, deploy_function) -> dict:
    """One function behind `ANY /echo/{proxy+}` and `GET /echo/fixed`, on the `$default` and `v1` stages."""
    if not endpoint.embedded:
        pytest.skip("addresses APIs by the embedded endpoint's /_api/ paths")
    gateway = endpoint.client("apigatewayv2")
    function = deploy_function(HANDLER)
    api_id = gateway.create_api(Name="http-test", ProtocolType="HTTP")["ApiId"]
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function['FunctionArn']}/invocations"
    integration = gateway.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=uri, PayloadFormatVersion="2.0"
    )["IntegrationId"]
    for key in ("ANY /echo/{proxy+}", "GET /echo/fixed"):
        gateway.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{integration}")
    for stage in ("$default", "v1"):
        gateway.create_stage(ApiId=api_id, StageName=stage, AutoDeploy=True)
    v1 = gateway.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=uri, PayloadFormatVersion="1.0"
    )["IntegrationId"]
    gateway.create_route(ApiId=api_id, RouteKey="ANY /v1format/{proxy+}", Target=f"integrations/{v1}")
    return {"base": f"{endpoint.url}/_api/{api_id}", "id": api_id}


def _call(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        response = urllib.request.urlopen(request, timeout=30)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        return response.status, response.headers, response.read()


def test_event_reaches_the_function_with_route_stage_and_parameters(api: dict) -> None:
    status, headers, body = _call(
        f"{api['base']}/echo/a/b%20c?x=1&x=2", "POST", b"\x89PNG", {"Content-Type": "image/png", "Cookie": "s=1"}
    )
    assert status == 202
    assert headers.get_all("set-cookie") == ["a=1", "b=2"]
    assert headers["x-route"] == "ANY /echo/{proxy+}"
    assert headers["apigw-requestid"]
    event = json.loads(body)
    assert event["rawPath"] == "/echo/a/b%20c"
    assert event["pathParameters"] == {"proxy": "a/b%20c"}
    assert event["queryStringParameters"] == {"x": "1,2"}
    assert event["cookies"] == ["s=1"]
    assert event["isBase64Encoded"] is True
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["http"]["method"] == "POST"


def test_named_stage_and_most_specific_route(api: dict) -> None:
    status, headers, body = _call(f"{api['base']}/v1/echo/fixed")
    assert status == 202
    assert headers["x-route"] == "GET /echo/fixed"
    assert json.loads(body)["requestContext"]["stage"] == "v1"


def test_response_shapes(api: dict) -> None:
    assert _call(f"{api['base']}/echo/x?shape=bare")[::2] == (200, b'{"bare": true}')
    status, headers, body = _call(f"{api['base']}/echo/x?shape=binary")
    assert (status, headers["content-type"], body) == (200, "application/octet-stream", b"\x00\xff")


def test_errors_are_api_gateway_errors(api: dict, endpoint) -> None:
    assert _call(f"{api['base']}/echo/x?shape=fail")[::2] == (500, b'{"message":"Internal Server Error"}')
    assert _call(f"{api['base']}/nowhere")[::2] == (404, b'{"message":"Not Found"}')
    assert _call(f"{endpoint.url}/_api/nosuchapi/echo/x")[::2] == (404, b'{"message":"Not Found"}')
    # The endpoint is still serving AWS calls afterwards.
    assert "Functions" in endpoint.client("lambda").list_functions()


def _raw(base: str, path: str, head: str, body: bytes) -> tuple[int, bytes]:
    """Send a hand-written POST (headers urllib would not send) and read the answer."""
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(base).netloc, timeout=30)
    with closing(connection):
        connection.putrequest("POST", urllib.parse.urlsplit(base).path + path)
        name, _, value = head.partition(": ")
        connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.read()


def test_a_content_length_that_is_not_a_number_is_a_bad_request(api: dict) -> None:
    assert _raw(api["base"], "/echo/x", "Content-Length: abc", b"") == (400, b'{"message":"Bad Request"}')


def test_a_chunked_body_reaches_the_function(api: dict) -> None:
    status, body = _raw(api["base"], "/echo/x", "Transfer-Encoding: chunked", b"5\r\nhello\r\n0\r\n\r\n")
    assert (status, json.loads(body)["body"]) == (202, "hello")


def test_a_body_lambda_would_refuse_is_too_large(api: dict) -> None:
    assert _call(f"{api['base']}/echo/x", "POST", b"a" * (7 * 1024 * 1024))[::2] == (
        413,
        b'{"message":"Request Entity Too Large"}',
    )


SLOW_HANDLER = """
import time
def lambda_handler(event, context):
    time.sleep(float((event.get('queryStringParameters') or {}).get('sleep', '0')))
    return {'statusCode': 200, 'body': 'late'}
"""


@pytest.fixture(scope="module")
def slow_api(endpoint, deploy_function) -> dict:
    """A function that sleeps `?sleep=` seconds behind an integration that waits 1 s at most: the API's base URL
    and the function's name."""
    if not endpoint.embedded:
        pytest.skip("addresses APIs by the embedded endpoint's /_api/ paths")
    gateway = endpoint.client("apigatewayv2")
    function = deploy_function(SLOW_HANDLER, Timeout=10)
    api_id = gateway.create_api(Name="http-slow", ProtocolType="HTTP")["ApiId"]
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function['FunctionArn']}/invocations"
    integration = gateway.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=uri, PayloadFormatVersion="2.0", TimeoutInMillis=1000
    )["IntegrationId"]
    gateway.create_route(ApiId=api_id, RouteKey="GET /slow", Target=f"integrations/{integration}")
    gateway.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    return {"base": f"{endpoint.url}/_api/{api_id}", "name": function["FunctionName"]}


@pytest.mark.stack  # slow end to end: a long wait: the integration timeout
def test_a_function_past_the_integration_timeout_is_503_at_that_time(slow_api: dict, endpoint, wait_for) -> None:
    assert _call(f"{slow_api['base']}/slow?sleep=0")[::2] == (200, b"late")
    started = time.monotonic()
    assert _call(f"{slow_api['base']}/slow?sleep=3")[::2] == (503, b'{"message":"Service Unavailable"}')
    assert 0.9 < time.monotonic() - started < 2.5
    # The invocation ran on, as in Lambda: its REPORT reaches CloudWatch once it ends.
    logs = endpoint.client("logs")

    def reported_late() -> bool:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{slow_api['name']}")["events"]
        durations = [
            float(m[1]) for e in events if (m := re.search(r"^REPORT .*\tDuration: ([\d.]+) ms", e["message"]))
        ]
        return any(duration >= 3000 for duration in durations)

    assert wait_for(reported_late, timeout=15)


def _raw_get(base: str, path: str, headers: list[tuple[str, str]]) -> dict:
    """GET `path` with `headers` sent exactly as listed (repeats included), and the event the function echoed."""
    netloc, base_path = urllib.parse.urlsplit(base)[1:3]
    connection = http.client.HTTPConnection(netloc, timeout=30)
    with closing(connection):
        connection.putrequest("GET", base_path + path)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders()
        return json.loads(connection.getresponse().read())


def test_two_cookie_headers_give_one_entry_per_cookie_and_repeats_are_joined(api: dict) -> None:
    event = _raw_get(
        api["base"], "/echo/x", [("Cookie", "a=1; b=2"), ("Cookie", "c=3"), ("X-Twice", "1"), ("X-Twice", "2")]
    )
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert event["headers"]["x-twice"] == "1,2"  # API Gateway joins with "," and no space
    assert "cookie" not in event["headers"]


def test_a_repeated_value_holding_a_comma_space_is_kept_as_sent(api: dict) -> None:
    event = _raw_get(api["base"], "/echo/x", [("X-List", "a, b"), ("x-list", "c")])
    assert event["headers"]["x-list"] == "a, b,c"


def test_a_payload_1_event_has_one_multi_value_entry_per_header_line_in_the_clients_case(api: dict) -> None:
    event = _raw_get(api["base"], "/v1format/a", [("X-A", "1"), ("X-A", "2"), ("Cookie", "s=1"), ("Cookie", "t=2")])
    assert event["headers"]["X-A"] == "2"
    assert event["multiValueHeaders"]["X-A"] == ["1", "2"]
    assert event["multiValueHeaders"]["Cookie"] == ["s=1", "t=2"]
    assert "x-a" not in event["headers"]


def test_domain_name_has_api_gateways_form_on_both_addresses(api: dict, endpoint) -> None:
    port = urllib.parse.urlsplit(endpoint.url).port
    by_path = json.loads(_call(f"{api['base']}/echo/x")[2])["requestContext"]
    by_host = json.loads(
        _call(f"http://127.0.0.1:{port}/echo/x", headers={"Host": f"{api['id']}.execute-api.localhost:{port}"})[2]
    )["requestContext"]
    for context in (by_path, by_host):
        assert context["domainName"] == f"{api['id']}.execute-api.localhost"
        assert context["domainPrefix"] == api["id"]


def test_a_payload_1_integration_gets_the_rest_style_event(api: dict) -> None:
    status, headers, body = _call(f"{api['base']}/v1format/a?x=1&x=2", "POST", b"hi", {"Content-Type": "text/plain"})
    assert status == 200
    assert headers.get_all("x-v") == ["1", "2"]
    event = json.loads(body)
    assert (event["version"], event["resource"], event["httpMethod"]) == ("1.0", "/v1format/{proxy+}", "POST")
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert event["pathParameters"] == {"proxy": "a"}
    assert (event["body"], event["isBase64Encoded"]) == ("hi", False)
