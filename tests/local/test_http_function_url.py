"""Lambda function URLs on the local endpoint: `<url-id>.lambda-url.<region>.localhost:<port>`, the function-URL
event, AuthType NONE and AWS_IAM, and the URL's own CORS."""

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ECHO = """
import json
def lambda_handler(event, context):
    if event.get('rawPath') == '/fail':
        raise RuntimeError('asked to fail')
    return {'statusCode': 200, 'cookies': ['c=1'], 'body': json.dumps(event)}
"""


def _call(port: int, host: str, path: str, method: str = "GET", headers: dict | None = None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", method=method, headers={"Host": host, **(headers or {})}
    )
    try:
        response = urllib.request.urlopen(request, timeout=30)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        return response.status, response.headers, response.read()


@pytest.fixture(scope="module")
def urls(endpoint, deploy_function) -> dict:
    """Two URLs of one function code: auth NONE with CORS for https://app.example, and AWS_IAM."""
    if not endpoint.embedded:
        pytest.skip("serves function URLs on the embedded endpoint's *.localhost addresses")
    client = endpoint.client("lambda")
    found = {}
    for auth in ("NONE", "AWS_IAM"):
        name = deploy_function(ECHO)["FunctionName"]
        options = {"Cors": {"AllowOrigins": ["https://app.example"], "AllowMethods": ["GET"]}} if auth == "NONE" else {}
        url = client.create_function_url_config(FunctionName=name, AuthType=auth, **options)["FunctionUrl"]
        url_id = urllib.parse.urlsplit(url).hostname.split(".")[0]
        found[auth] = f"{url_id}.lambda-url.us-east-1.localhost:{urllib.parse.urlsplit(endpoint.url).port}"
    return {"port": urllib.parse.urlsplit(endpoint.url).port, **found}


def test_repeated_headers_are_comma_joined_and_cookies_stay_one_per_entry(urls: dict) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", urls["port"], timeout=30)
    try:
        connection.putrequest("GET", "/twice", skip_host=True)
        for name, value in (("Host", urls["NONE"]), ("X-A", "1"), ("X-A", "2"), ("Cookie", "s=1"), ("Cookie", "t=2")):
            connection.putheader(name, value)
        connection.endheaders()
        event = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    assert event["headers"]["x-a"] == "1,2"
    assert event["cookies"] == ["s=1", "t=2"] and "cookie" not in event["headers"]


def test_the_function_url_event_and_response(urls: dict) -> None:
    status, headers, body = _call(urls["port"], urls["NONE"], "/some/path?a=1&a=2", headers={"Cookie": "s=1"})
    assert status == 200
    assert headers.get_all("set-cookie") == ["c=1"]
    event = json.loads(body)
    url_id = urls["NONE"].split(".")[0]
    assert (event["version"], event["routeKey"], event["rawPath"]) == ("2.0", "$default", "/some/path")
    assert event["queryStringParameters"] == {"a": "1,2"} and event["cookies"] == ["s=1"]
    context = event["requestContext"]
    assert context["domainName"] == f"{url_id}.lambda-url.us-east-1.on.aws"
    assert (context["domainPrefix"], context["apiId"], context["stage"]) == (url_id, url_id, "$default")
    assert context["accountId"] == "anonymous"
    assert "authorizer" not in context


def test_errors_and_unknown_urls(urls: dict) -> None:
    assert _call(urls["port"], urls["NONE"], "/fail")[::2] == (502, b"Internal Server Error")
    status, headers, body = _call(urls["port"], "nosuchurlid.lambda-url.us-east-1.localhost", "/")
    assert (status, body, headers["x-amzn-errortype"]) == (403, b'{"Message":null}', "AccessDeniedException")


def test_the_urls_own_cors(urls: dict) -> None:
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}
    status, headers, _ = _call(urls["port"], urls["NONE"], "/", "OPTIONS", preflight)
    assert (status, headers["access-control-allow-origin"]) == (204, "https://app.example")
    _, headers, _ = _call(urls["port"], urls["NONE"], "/", headers={"Origin": "https://other.example"})
    assert headers.get("access-control-allow-origin") is None


def test_aws_iam_urls_need_a_signature(urls: dict) -> None:
    assert _call(urls["port"], urls["AWS_IAM"], "/")[::2] == (403, b'{"Message":"Forbidden"}')
    signed = AWSRequest(method="GET", url=f"http://{urls['AWS_IAM']}/")
    SigV4Auth(Credentials("test", "test"), "lambda", "us-east-1").add_auth(signed)
    status, _, body = _call(urls["port"], urls["AWS_IAM"], "/", headers=dict(signed.headers))
    assert status == 200
    iam = json.loads(body)["requestContext"]["authorizer"]["iam"]
    assert (iam["accessKey"], iam["accountId"]) == ("test", "123456789012")
