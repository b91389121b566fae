"""The Runtime API server spoken to directly over HTTP, as a runtime client would."""

import json
import socket
import threading
import time
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


def _raw(server: RuntimeApiServer, data: bytes) -> bytes:
    """`data` written on one connection, and everything the server answers until it closes it (or 2 s pass)."""
    host, port = server.address.split(":")
    with socket.create_connection((host, int(port)), timeout=2) as connection:
        connection.sendall(data)
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
        except TimeoutError:
            pass
    return received


def test_one_kept_alive_connection_serves_several_requests(server):
    request = b"POST /2018-06-01/runtime/invocation/x/response HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n1"
    answer = _raw(server, request * 2 + b"GET /nowhere HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    assert answer.count(b"HTTP/1.1 400 ") == 2 and answer.count(b"HTTP/1.1 404 ") == 1


def test_an_http_1_0_request_closes_its_connection(server):
    started = time.monotonic()
    assert _raw(server, b"GET /nowhere HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 404 ")
    assert time.monotonic() - started < 1.5  # closed by the server, not by _raw's 2 s wait


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET /x HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", b"431"),
        (b"GET /x HTTP/1.1\r\n" + b"X: 1\r\n" * 101 + b"\r\n", b"431"),
        (b"GET /x HTTP/1.1\r\nno colon here\r\n\r\n", b"400"),
        (b"GET /x HTTP/2.0\r\n\r\n", b"505"),
    ],
)
def test_a_malformed_or_oversized_head_is_refused(server, head: bytes, status: bytes):
    assert _raw(server, head).split(b"\r\n")[0].split(b" ")[1] == status
