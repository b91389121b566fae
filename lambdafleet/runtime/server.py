"""The Lambda Runtime API (2018-06-01) that one execution environment's runtime client talks to.

Implements the documented endpoints `GET /runtime/invocation/next`, `POST /runtime/invocation/{id}/response`,
`POST /runtime/invocation/{id}/error` and `POST /runtime/init/error`, on 127.0.0.1 only. The server only
records what the runtime reports and calls `wake`; the execution environment decides what it means.
"""

import json
import queue
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_PREFIX = "/2018-06-01/runtime"
# Lambda's limit on a synchronous response; bigger ones fail with Function.ResponseSizeTooLarge.
MAX_RESPONSE_BYTES = 6291556
# Upper bound on how long the first /next waits for the environment to collect init logs.
INIT_COLLECT_TIMEOUT_S = 5.0
# http.server's limits on a request's head: a line's length and the number of headers.
_MAX_LINE = 65536
_MAX_HEADERS = 100


@dataclass
class Invocation:
    """One event on its way through the runtime, and what the runtime answered."""

    request_id: str
    payload: bytes
    timeout_s: float
    function_arn: str
    client_context: str = ""
    cognito_identity: str = ""
    trace_id: str = ""
    delivered_at: float | None = None  # time.monotonic() when /next handed it out
    started_at: float | None = None  # time.time() then: the timestamp of the platform's start line
    finished_at: float | None = None
    response: bytes | None = None
    error: bytes | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def headers(self, deadline_ms: int) -> dict[str, str]:
        """The /next response headers; awslambdaric 4.2.2 crashes when any of them is missing."""
        return {
            "Lambda-Runtime-Aws-Request-Id": self.request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": self.function_arn,
            "Lambda-Runtime-Trace-Id": self.trace_id,
            "Lambda-Runtime-Client-Context": self.client_context,
            "Lambda-Runtime-Cognito-Identity": self.cognito_identity,
            "Content-Type": "application/json",
        }

    def finish(self, *, response: bytes | None = None, error: bytes | None = None) -> None:
        """Record the outcome once; later reports for the same request are ignored."""
        if self.done.is_set():
            return
        self.response, self.error = response, error
        self.finished_at = time.monotonic()
        self.done.set()


class RuntimeApiServer:
    """A threaded HTTP server on 127.0.0.1 serving the Runtime API for a single environment."""

    def __init__(self, wake: Callable[[], object], admit: Callable[[int, int], bool] | None = None) -> None:
        """`admit(client_port, server_port)`, when given, decides whether a connection may be served."""
        self._wake = wake
        self._queue: queue.Queue[Invocation | None] = queue.Queue()
        self.current: Invocation | None = None
        self.init_error: bytes | None = None
        self.ready_at: float | None = None  # first /next: the end of the init phase
        self.init_collected = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _handler_class(self))
        self._httpd.admit = admit
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        """host:port, the value of AWS_LAMBDA_RUNTIME_API."""
        host, port = self._httpd.socket.getsockname()[:2]
        return f"{host}:{port}"

    def submit(self, invocation: Invocation) -> None:
        """Queue an event for the runtime's next /next call."""
        self._queue.put(invocation)

    def close(self) -> None:
        """Stop serving without waiting; a /next still waiting is released with an error status."""
        self._queue.put(None)
        # shutdown() waits for the serve loop's next poll (up to half a second): not on the caller's time.
        threading.Thread(target=self._stop, daemon=True).start()

    def _stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def next_invocation(self) -> Invocation | None:
        """Block until an event is queued (None when closing)."""
        if self.ready_at is None:
            self.ready_at = time.monotonic()
            self._wake()
            # Let the environment set the init logs apart before the first event's logs can start.
            self.init_collected.wait(timeout=INIT_COLLECT_TIMEOUT_S)
        invocation = self._queue.get()
        if invocation is not None:
            invocation.delivered_at = time.monotonic()
            invocation.started_at = time.time()
            self.current = invocation
            # No wake-up: the environment's next poll sees the new deadline, and waking its thread for nothing
            # cost a thread switch per invocation (issue 18).
        return invocation

    def report(self, request_id: str, *, response: bytes | None = None, error: bytes | None = None) -> bool:
        """Resolve the current invocation; False when `request_id` is not the one in flight."""
        invocation = self.current
        if invocation is None or invocation.request_id != request_id:
            return False
        invocation.finish(response=response, error=error)
        self._wake()
        return True

    def report_init_error(self, body: bytes) -> None:
        """The runtime could not load the handler."""
        self.init_error = body
        self._wake()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    admit: Callable[[int, int], bool] | None = None

    def verify_request(self, request: object, client_address: object) -> bool:
        """Refuse (close at once) a connection `admit` rejects: another function trying to steal events."""
        if self.admit is None:
            return True
        return self.admit(client_address[1], self.server_address[1])  # type: ignore[index]

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        """A runtime killed mid-request resets its connection: expected, not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_class(server: RuntimeApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_RuntimeApiHandler):
        runtime = server

    return Handler


class _RuntimeApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the runtime client reuses one connection
    disable_nagle_algorithm = True  # headers and body go out separately; Nagle would delay the body
    runtime: RuntimeApiServer
    raw_requestline: bytes  # set by http.server before parse_request
    fields: dict[str, str]  # the request's headers by lower-case name (parse_request)

    def log_message(self, format: str, *args: object) -> None:
        """Silence per-request logging; the function's own logs are what matter."""

    def parse_request(self) -> bool:
        """http.server's parse with its limits and keep-alive rules, the headers read by a plain loop: its
        email-package parser was ~8 % of the endpoint's CPU per warm invocation (issue 18)."""
        self.command = None  # type: ignore[assignment]  # http.server's own initial value
        self.request_version = self.default_request_version
        self.close_connection = True
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = self.requestline.split()
        if len(words) != 3 or not words[2].startswith("HTTP/"):
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request syntax {self.requestline!r}")
            return False
        self.request_version = words[2]
        if words[2] not in ("HTTP/1.0", "HTTP/1.1"):
            self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"Invalid HTTP version {words[2]}")
            return False
        self.command, path, _ = words
        self.path = "/" + path.lstrip("/") if path.startswith("//") else path
        self.close_connection = self.request_version != "HTTP/1.1"
        headers: dict[str, str] = {}  # by lower-case name; a repeated header keeps its last value
        for _ in range(_MAX_HEADERS + 1):
            line = self.rfile.readline(_MAX_LINE + 1)
            if len(line) > _MAX_LINE:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long")
                return False
            if line in (b"\r\n", b"\n", b""):
                break
            name, colon, value = line.decode("iso-8859-1").partition(":")
            if not colon or not name.strip():
                self.send_error(HTTPStatus.BAD_REQUEST, "Bad header line")
                return False
            headers[name.strip().lower()] = value.strip()
        else:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")
            return False
        self.fields = headers
        connection = headers.get("connection", "").lower()
        if connection in ("close", "keep-alive"):
            self.close_connection = connection == "close"
        if headers.get("expect", "").lower() == "100-continue" and self.request_version == "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def send_response(self, code: int, message: str | None = None) -> None:
        """The status line alone: no Server or Date header (the runtime client reads neither) and no access log."""
        self.send_response_only(code, message)

    def do_GET(self) -> None:
        if self.path != f"{API_PREFIX}/invocation/next":
            self._reply(404, {"errorType": "InvalidRequest", "errorMessage": f"no route {self.path}"})
            return
        invocation = self.runtime.next_invocation()
        if invocation is None:
            self._reply(500, {"errorType": "ShuttingDown", "errorMessage": "environment is shutting down"})
            return
        deadline_ms = int(time.time() * 1000 + invocation.timeout_s * 1000)
        self._send(200, invocation.payload, invocation.headers(deadline_ms))

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.fields.get("content-length") or 0))
        parts = self.path.removeprefix(API_PREFIX).strip("/").split("/")
        if parts == ["init", "error"]:
            self.runtime.report_init_error(body)
            self._reply(202, {"status": "OK"})
        elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            self._post_outcome(parts[1], parts[2], body)
        else:
            self._reply(404, {"errorType": "InvalidRequest", "errorMessage": f"no route {self.path}"})

    def _post_outcome(self, request_id: str, kind: str, body: bytes) -> None:
        if kind == "response" and len(body) > MAX_RESPONSE_BYTES:
            error = {
                "errorType": "Function.ResponseSizeTooLarge",
                "errorMessage": "Response payload size exceeded maximum allowed payload size "
                f"({MAX_RESPONSE_BYTES} bytes).",
            }
            self.runtime.report(request_id, error=json.dumps(error).encode())
            self._reply(413, {"errorType": "RequestEntityTooLarge", "errorMessage": error["errorMessage"]})
            return
        outcome = {"response": body} if kind == "response" else {"error": body}
        if self.runtime.report(request_id, **outcome):
            self._reply(202, {"status": "OK"})
        else:
            self._reply(400, {"errorType": "InvalidRequestID", "errorMessage": "Invalid request ID"})

    def _reply(self, status: int, document: dict[str, str]) -> None:
        self._send(status, json.dumps(document).encode(), {"Content-Type": "application/json"})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        """Status line, headers and body in one write: one system call, one segment."""
        phrase = self.responses[status][0] if status in self.responses else ""
        lines = [f"{self.protocol_version} {status} {phrase}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}\r\n\r\n")
        self.wfile.write("\r\n".join(lines).encode("latin-1") + body)
