"""The Invoke API's refusals, as Lambda answers them: oversized, non-UTF-8 or mistyped requests, unknown
versions; and published versions run their own code."""

import base64
import json
import time
import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import WAITER_POLL

ECHO = "def lambda_handler(event, context):\n    return event\n"
SYNC_LIMIT, ASYNC_LIMIT = 6 * 1024 * 1024, 1024 * 1024


def _padded(size: int) -> bytes:
    """A JSON document of exactly `size` bytes."""
    return b'{"x":"' + b"a" * (size - 8) + b'"}'


def _raw_invoke(url: str, name: str, body: bytes, content_type: str, **headers: str) -> tuple[int, bytes]:
    """POST `body` to Invoke, signed as the AWS CLI signs it, with `content_type`."""
    return _signed_invoke(url, name, body, content_type, **headers)[::2]


def _signed_invoke(url: str, name: str, body: bytes, content_type: str, **headers: str) -> tuple[int, dict, bytes]:
    request = AWSRequest("POST", f"{url}/2015-03-31/functions/{name}/invocations", data=body)
    request.headers["Content-Type"] = content_type
    for header, value in headers.items():
        request.headers[header.replace("_", "-")] = value
    SigV4Auth(Credentials("test", "test"), "lambda", "us-east-1").add_auth(request)
    sent = urllib.request.Request(request.url, data=body, method="POST", headers=dict(request.headers))
    try:
        with urllib.request.urlopen(sent, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def echo(deploy_function) -> str:
    """A deployed function answering with its event."""
    return deploy_function(ECHO)["FunctionName"]


@pytest.mark.parametrize(("invocation_type", "size"), [("RequestResponse", SYNC_LIMIT + 1), ("Event", ASYNC_LIMIT + 1)])
def test_an_oversized_request_is_refused_with_413(endpoint, echo, invocation_type: str, size: int) -> None:
    client = endpoint.client("lambda")
    with pytest.raises(ClientError) as caught:
        client.invoke(FunctionName=echo, InvocationType=invocation_type, Payload=_padded(size))
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert caught.value.response["Error"]["Code"] == "RequestTooLargeException"


def test_a_request_at_the_limit_runs(endpoint, echo) -> None:
    response = endpoint.client("lambda").invoke(FunctionName=echo, InvocationType="Event", Payload=_padded(ASYNC_LIMIT))
    assert response["StatusCode"] == 202


def test_a_body_that_is_not_utf8_is_invalid_content(endpoint, echo) -> None:
    status, body = _raw_invoke(endpoint.url, echo, b"\xff\xfe", "application/json")
    assert status == 400
    assert json.loads(body)["__type"] == "InvalidRequestContentException"


def test_an_unsigned_invocation_is_refused_as_lambda_does(endpoint, echo) -> None:
    sent = urllib.request.Request(f"{endpoint.url}/2015-03-31/functions/{echo}/invocations", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(sent, timeout=30)
    assert refused.value.code == 403
    assert refused.value.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


@pytest.mark.parametrize("body", [b'{"a": 1}', b"{not json"])
def test_the_direct_invoke_path_answers_as_motos_dispatch_does(endpoint, echo, body: bytes) -> None:
    """An ordinary Invoke is answered without moto's request dispatch; a request naming its account
    (x-moto-account-id) still goes through it: both answers carry the same status, headers and body."""
    varying = {"date", "x-amzn-requestid", "x-amz-crc32", "content-length"}
    answers = []
    for extra in ({}, {"x_moto_account_id": "123456789012"}):
        status, headers, payload = _signed_invoke(endpoint.url, echo, body, "application/json", **extra)
        answers.append((status, {name.lower(): value for name, value in headers.items()}, payload))
    (direct_status, direct, direct_body), (moto_status, moto, moto_body) = answers
    assert (direct_status, direct_body) == (moto_status, moto_body)
    assert {k: v for k, v in direct.items() if k not in varying} == {k: v for k, v in moto.items() if k not in varying}
    assert ("x-amz-crc32" in direct) == ("x-amz-crc32" in moto)


def test_the_body_is_the_event_whatever_its_content_type(endpoint, echo) -> None:
    assert _raw_invoke(endpoint.url, echo, b'{"a": 1}', "application/x-www-form-urlencoded") == (200, b'{"a": 1}')


def test_a_client_context_must_be_an_object(endpoint, echo) -> None:
    context = base64.b64encode(b"[1, 2]").decode()
    with pytest.raises(ClientError) as caught:
        endpoint.client("lambda").invoke(FunctionName=echo, Payload=b"{}", ClientContext=context)
    assert caught.value.response["Error"]["Code"] == "InvalidRequestContentException"


def test_a_qualifier_runs_that_version(endpoint, deploy_function, zip_of) -> None:
    client = endpoint.client("lambda")
    name = deploy_function("def lambda_handler(event, context):\n    return 'v1'\n")["FunctionName"]
    assert client.publish_version(FunctionName=name)["Version"] == "1"
    client.update_function_code(
        FunctionName=name, ZipFile=zip_of("def lambda_handler(event, context):\n    return 'v2'\n")
    )
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=WAITER_POLL)
    for qualifier, answer, executed in [("1", b'"v1"', "1"), ("$LATEST", b'"v2"', "$LATEST"), ("1", b'"v1"', "1")]:
        response = client.invoke(FunctionName=name, Qualifier=qualifier)
        assert (response["Payload"].read(), response["ExecutedVersion"]) == (answer, executed)
    with pytest.raises(ClientError) as caught:
        client.invoke(FunctionName=name, Qualifier="99")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.stack  # slow end to end: a long wait: a second for the refused record
def test_a_destination_event_lambda_would_refuse_is_dropped_without_a_crash(
    endpoint, deploy_function, wait_for
) -> None:
    """A 5 MB response plus a 1 MB request make an invocation record over 6 MB: the destination function
    cannot take it, and the endpoint says so in one log line (the session fixture fails on a traceback)."""
    client, logs = endpoint.client("lambda"), endpoint.client("logs")
    target = deploy_function(ECHO)["FunctionName"]
    source = deploy_function("def lambda_handler(event, context):\n    return 'b' * (5 * 1024 * 1024)\n")
    client.put_function_event_invoke_config(
        FunctionName=source["FunctionName"],
        MaximumRetryAttempts=0,
        DestinationConfig={
            "OnSuccess": {"Destination": client.get_function(FunctionName=target)["Configuration"]["FunctionArn"]}
        },
    )
    client.invoke(FunctionName=source["FunctionName"], InvocationType="Event", Payload=_padded(ASYNC_LIMIT))

    def source_ran() -> list:
        """the source function's REPORT line"""
        group = f"/aws/lambda/{source['FunctionName']}"
        try:
            return logs.filter_log_events(logGroupName=group, filterPattern="REPORT")["events"]
        except logs.exceptions.ResourceNotFoundException:
            return []

    wait_for(source_ran)
    time.sleep(1)  # the record is built and refused right after the source's invocation
    assert not logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{target}")["logGroups"]
