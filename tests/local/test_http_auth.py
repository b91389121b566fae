"""HTTP API CORS, authorizers (JWT with the local issuer, Lambda simple and IAM-policy, AWS_IAM) and throttling
on APIs deployed with boto3, called with plain HTTP clients."""

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REPO_ROOT = Path(__file__).resolve().parents[2]

ECHO = """
import json
def lambda_handler(event, context):
    return {'statusCode': 200, 'headers': {'access-control-allow-origin': 'https://evil.example'},
            'body': json.dumps(event)}
"""

# Authorizes `Authorization: let-me-in` with a context; counts its calls in /tmp so caching can be seen.
AUTHORIZER = """
import json, os
def lambda_handler(event, context):
    path = '/tmp/calls'
    calls = int(open(path).read()) + 1 if os.path.exists(path) else 1
    open(path, 'w').write(str(calls))
    token = event['identitySource'][0]
    if event['headers'].get('x-policy'):
        effect = 'Allow' if token.startswith('let-me-in') else 'Deny'
        return {'principalId': 'user-1', 'context': {'calls': calls},
                'policyDocument': {'Version': '2012-10-17', 'Statement': [
                    {'Action': 'execute-api:Invoke', 'Effect': effect, 'Resource': event['routeArn']}]}}
    return {'isAuthorized': token == 'let-me-in', 'context': {'calls': calls, 'route': event['routeArn']}}
"""
AUDIENCE = "test-audience"
ISSUER = "https://local-issuer.lambdafleet.invalid"


def _token(*scopes: str, audience: str = AUDIENCE) -> str:
    command = [sys.executable, "build.py", "token", "--audience", audience]
    for scope in scopes:
        command += ["--scope", scope]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()


def _call(url: str, method: str = "GET", headers: dict | None = None, body: bytes | None = None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        response = urllib.request.urlopen(request, timeout=30)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        return response.status, response.headers, response.read()


@pytest.fixture(scope="module")
def api(endpoint, deploy_function) -> dict:
    """One API: CORS for https://app.example; a JWT route with a scope, Lambda-authorized routes (simple and
    IAM-policy, cached 300 s), an AWS_IAM route, a throttled route and a public one."""
    if not endpoint.embedded:
        pytest.skip("addresses APIs by the embedded endpoint's /_api/ paths")
    gateway = endpoint.client("apigatewayv2")
    echo = deploy_function(ECHO)
    gate = deploy_function(AUTHORIZER)
    api_id = gateway.create_api(
        Name="http-auth",
        ProtocolType="HTTP",
        CorsConfiguration={
            "AllowOrigins": ["https://app.example"],
            "AllowMethods": ["GET", "PUT"],
            "AllowHeaders": ["authorization", "content-type"],
            "ExposeHeaders": ["x-total"],
            "MaxAge": 300,
        },
    )["ApiId"]
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{echo['FunctionArn']}/invocations"
    integration = gateway.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=uri, PayloadFormatVersion="2.0"
    )["IntegrationId"]
    jwt = gateway.create_authorizer(
        ApiId=api_id,
        Name="users",
        AuthorizerType="JWT",
        IdentitySource=["$request.header.Authorization"],
        JwtConfiguration={"Issuer": ISSUER, "Audience": [AUDIENCE]},
    )["AuthorizerId"]
    gate_uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{gate['FunctionArn']}/invocations"
    custom = gateway.create_authorizer(
        ApiId=api_id,
        Name="gate",
        AuthorizerType="REQUEST",
        AuthorizerUri=gate_uri,
        AuthorizerPayloadFormatVersion="2.0",
        EnableSimpleResponses=True,
        AuthorizerResultTtlInSeconds=300,
        IdentitySource=["$request.header.Authorization"],
    )["AuthorizerId"]
    target = f"integrations/{integration}"
    routes = {
        "GET /public": {},
        "PUT /jwt": {"AuthorizationType": "JWT", "AuthorizerId": jwt, "AuthorizationScopes": ["items/write"]},
        "GET /jwt": {"AuthorizationType": "JWT", "AuthorizerId": jwt},
        "GET /gate": {"AuthorizationType": "CUSTOM", "AuthorizerId": custom},
        "GET /iam": {"AuthorizationType": "AWS_IAM"},
        "GET /throttled": {},
    }
    for key, options in routes.items():
        gateway.create_route(ApiId=api_id, RouteKey=key, Target=target, **options)
    gateway.create_stage(
        ApiId=api_id,
        StageName="$default",
        AutoDeploy=True,
        RouteSettings={"GET /throttled": {"ThrottlingBurstLimit": 2, "ThrottlingRateLimit": 0.5}},
    )
    return {"base": f"{endpoint.url}/_api/{api_id}", "id": api_id}


def test_preflight_is_answered_by_the_api_for_an_allowed_origin_only(api: dict) -> None:
    asked = {
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    status, headers, body = _call(f"{api['base']}/jwt", "OPTIONS", asked)
    assert (status, body) == (204, b"")
    assert headers["access-control-allow-origin"] == "https://app.example"
    assert "PUT" in headers["access-control-allow-methods"]
    assert headers["access-control-allow-headers"] == "authorization,content-type"
    assert headers["access-control-max-age"] == "300"
    status, headers, _ = _call(f"{api['base']}/jwt", "OPTIONS", {**asked, "Origin": "https://other.example"})
    assert status == 204
    assert not [name for name in headers if name.lower().startswith("access-control-")]


def test_responses_carry_the_configured_cors_headers_not_the_functions(api: dict) -> None:
    status, headers, _ = _call(f"{api['base']}/public", headers={"Origin": "https://app.example"})
    assert status == 200
    assert headers.get_all("access-control-allow-origin") == ["https://app.example"]
    assert headers["access-control-expose-headers"] == "x-total"
    _, headers, _ = _call(f"{api['base']}/public", headers={"Origin": "https://other.example"})
    assert headers.get("access-control-allow-origin") is None


def test_jwt_routes_need_a_valid_token_and_the_routes_scope(api: dict) -> None:
    url = f"{api['base']}/jwt"
    assert _call(url, "PUT")[::2] == (401, b'{"message":"Unauthorized"}')
    assert _call(url, "PUT", {"Authorization": "Bearer not.a.token"})[::2] == (401, b'{"message":"Unauthorized"}')
    wrong_audience = _token("items/write", audience="someone-else")
    assert _call(url, "PUT", {"Authorization": f"Bearer {wrong_audience}"})[0] == 401
    assert _call(url, "PUT", {"Authorization": f"Bearer {_token('items/read')}"})[::2] == (
        403,
        b'{"message":"Forbidden"}',
    )
    status, _, body = _call(url, "PUT", {"Authorization": f"Bearer {_token('items/write', 'other')}"})
    assert status == 200
    jwt = json.loads(body)["requestContext"]["authorizer"]["jwt"]
    assert jwt["claims"]["iss"] == ISSUER and jwt["claims"]["aud"] == AUDIENCE
    assert isinstance(jwt["claims"]["exp"], str)
    assert jwt["scopes"] == ["items/write", "other"]
    assert _call(url, headers={"Authorization": _token()})[0] == 200  # no scopes needed, no "Bearer " prefix


def test_a_token_signed_by_another_key_is_refused(api: dict, tmp_path: Path) -> None:
    forged = subprocess.run(
        [sys.executable, "build.py", "token", "--audience", AUDIENCE, "--scope", "items/write"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "LAMBDAFLEET_CACHE_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert _call(f"{api['base']}/jwt", "PUT", {"Authorization": f"Bearer {forged}"})[0] == 401


def test_lambda_authorizer_simple_response_context_and_cache(api: dict) -> None:
    url = f"{api['base']}/gate"
    assert _call(url)[::2] == (401, b'{"message":"Unauthorized"}')  # no identity source: not even called
    assert _call(url, headers={"Authorization": "wrong"})[::2] == (403, b'{"message":"Forbidden"}')
    first = json.loads(_call(url, headers={"Authorization": "let-me-in"})[2])["requestContext"]["authorizer"]
    second = json.loads(_call(url, headers={"Authorization": "let-me-in"})[2])["requestContext"]["authorizer"]
    assert first["lambda"]["route"].endswith(f":{api['id']}/$default/GET/gate")
    assert second["lambda"]["calls"] == first["lambda"]["calls"]  # the cached verdict: no new call


def test_lambda_authorizer_iam_policy_response(api: dict) -> None:
    url = f"{api['base']}/gate"
    status, _, body = _call(url, headers={"Authorization": "let-me-in-too", "X-Policy": "1"})
    assert status == 200
    authorizer = json.loads(body)["requestContext"]["authorizer"]
    assert authorizer["principalId"] == "user-1" and isinstance(authorizer["lambda"]["calls"], int)
    denied = _call(url, headers={"Authorization": "policy-deny", "X-Policy": "1"})
    assert denied[::2] == (403, b'{"message":"Forbidden"}')


def _signed(url: str, key: str = "test", secret: str = "test") -> dict:
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(key, secret), "execute-api", "us-east-1").add_auth(request)
    return dict(request.headers)


def test_aws_iam_routes_need_a_sigv4_signature_of_local_credentials(api: dict) -> None:
    url = f"{api['base']}/iam"
    assert _call(url)[::2] == (403, b'{"message":"Forbidden"}')
    assert _call(url, headers=_signed(url, secret="wrong"))[0] == 403
    status, _, body = _call(url, headers=_signed(url))
    assert status == 200
    iam = json.loads(body)["requestContext"]["authorizer"]["iam"]
    assert (iam["accessKey"], iam["accountId"]) == ("test", "123456789012")
    assert iam["userArn"] == "arn:aws:iam::123456789012:root"


@pytest.mark.stack  # slow end to end: a long wait: a token bucket refilling
def test_throttled_route_answers_429_past_its_burst(api: dict) -> None:
    url = f"{api['base']}/throttled"
    answers = [_call(url)[::2] for _ in range(4)]
    assert [status for status, _ in answers[:2]] == [200, 200]
    assert (429, b'{"message":"Too Many Requests"}') in answers[2:]
    time.sleep(2.1)  # 0.5 requests a second refill one token
    assert _call(url)[0] == 200
