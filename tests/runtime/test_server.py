"""The Runtime API server spoken to directly over HTTP, as a runtime client would."""

import json
import threading
import urllib.error
import urllib.request

import pytest

from lambdafleet.runtime.server import Invocation, RuntimeApiServer


@pytest.fixture
def server():
    wakes = threading.Semaphore(0)
    server = RuntimeApiServer(wake=wakes.release)
    server.init_collected.set()  # no environment here collecting init logs before the first event
    yield server
    server.close()


def _call(server: RuntimeApiServer, method: str, path: str, body: bytes | None = None):
    request = urllib.request.Request(f"http://{server.address}/2018-06-01/runtime{path}", body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _invocation(**overrides) -> Invocation:
    fields = {"request_id": "req-1", "payload": b'{"k": 1}', "timeout_s": 3, "function_arn": "arn:fn"}
    return Invocation(**{**fields, **overrides})


def test_binds_loopback_only(server):
    assert server.address.startswith("127.0.0.1:")


def test_next_carries_every_documented_header(server):
    server.submit(_invocation(client_context='{"custom": {}}', trace_id="Root=1-abc"))
    status, headers, body = _call(server, "GET", "/invocation/next")
    assert (status, body) == (200, b'{"k": 1}')
    assert headers["Lambda-Runtime-Aws-Request-Id"] == "req-1"
    assert headers["Lambda-Runtime-Invoked-Function-Arn"] == "arn:fn"
    assert headers["Lambda-Runtime-Trace-Id"] == "Root=1-abc"
    assert headers["Lambda-Runtime-Client-Context"] == '{"custom": {}}'
    assert headers["Lambda-Runtime-Cognito-Identity"] == ""  # present even when unknown
    assert int(headers["Lambda-Runtime-Deadline-Ms"]) > 0


def test_response_and_error_resolve_the_invocation(server):
    invocation = _invocation()
    server.submit(invocation)
    _call(server, "GET", "/invocation/next")
    assert _call(server, "POST", "/invocation/req-1/response", b"42")[0] == 202
    assert invocation.done.is_set() and invocation.response == b"42"
    assert _call(server, "POST", "/invocation/req-1/error", b"{}")[0] == 202
    assert invocation.error is None  # the first report wins


def test_unknown_request_id_and_route(server):
    status, _, body = _call(server, "POST", "/invocation/other/response", b"1")
    assert status == 400 and json.loads(body)["errorType"] == "InvalidRequestID"
    assert _call(server, "GET", "/nowhere")[0] == 404


def test_init_error_is_recorded(server):
    assert _call(server, "POST", "/init/error", b'{"errorType": "Runtime.ImportModuleError"}')[0] == 202
    assert server.init_error == b'{"errorType": "Runtime.ImportModuleError"}'
