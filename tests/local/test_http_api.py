"""The HTTP API data plane on routes deployed with boto3: stages, payload-2.0 events, response mapping, errors."""

import http.client
import json
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
