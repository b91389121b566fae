"""The endpoint's HTTP server: waitress, with the limits a server reachable by any local process needs.

waitress (a maintained production WSGI server) parses HTTP/1.1 strictly, keeps connections alive, caps open
connections and header sizes, and spools large bodies to disk instead of memory. Four things it leaves to us are
added here through its documented-by-source extension points (`channel_class`, `parser_class`, `task_class`):

- a request whose headers carry both `Content-Length` and `Transfer-Encoding` is refused (400), as RFC 9112 § 6.3
  allows, instead of trusting one of them (request smuggling);
- routes with a small body limit (Invoke and HTTP API bodies: 6 MB) are refused as soon as the headers, or the
  chunks received so far, show the body is over it, in the route's own error shape (`BodyLimit`): a body up to
  `DISCARD_LIMIT` is read and dropped first, so a client that writes its whole body before reading gets the 413
  rather than a reset connection;
- a request must arrive whole within `read_timeout` seconds of its first byte (waitress alone only closes idle
  connections, so a client trickling one byte at a time would hold one forever);
- the environ carries what moto reads from werkzeug's server: `RAW_URI` (S3 keys with encoded slashes) and S3
  metadata headers whose names hold underscores;
- the environ also carries the request's header lines as sent (`HEADER_PAIRS`: names in the client's spelling,
  one pair per line): WSGI joins a repeated header with ", ", while API Gateway joins with "," and payload 1.0
  events list every value of a repeated header.
"""

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY, should_preserve_original_header_name
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError, get_header_lines
from waitress.rfc7230 import HEADER_FIELD_RE
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, WSGITask
from waitress.utilities import Error

LOG = logging.getLogger("lambdafleet.endpoint")
MAX_HEADER_BYTES = 64 * 1024  # request line + headers; API Gateway and Lambda take far less (10 KB)
MAX_BODY_BYTES = 1024**3  # any other API (S3 PutObject of a deployment zip): bodies over 512 KB spool to disk
DISCARD_LIMIT = 64 * 1024**2  # an over-limit body up to this size is read and dropped before the 413
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
HEADER_PAIRS = "lambdafleet.header_pairs"  # environ key: [(name, value), ...] as the request's header lines had them


@dataclass(frozen=True)
class BodyLimit:
    """A route's largest body, and the answer to a bigger one."""

    max_bytes: int
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    @classmethod
    def json(cls, max_bytes: int, status: int, reason: str, document: dict[str, Any], **headers: str) -> "BodyLimit":
        """A limit answered with a JSON `document` and extra `headers` (underscores become dashes)."""
        extra = [(name.replace("_", "-"), value) for name, value in headers.items()]
        return cls(
            max_bytes,
            status,
            reason,
            [("Content-Type", "application/json"), *extra],
            json.dumps(document, separators=(",", ":")).encode(),
        )


# (method, path, Host header) -> the route's body limit, or None for the server-wide one.
BodyLimits = Callable[[str, str, str], BodyLimit | None]


@dataclass(frozen=True)
class Limits:
    """What one client may cost the server."""

    body_limits: BodyLimits = lambda method, path, host: None
    read_timeout_s: float = 30.0  # first byte of a request to its last
    idle_timeout_s: float = 60.0  # a kept-alive connection with no request in flight
    connection_limit: int = 128
    # One per connection: a synchronous Invoke holds its thread for the function's duration, and a function may
    # call the endpoint back (S3, another Invoke); with fewer threads than connections those calls could wait on
    # each other until the functions time out.
    threads: int = 128
    extra: dict[str, Any] = field(default_factory=dict)  # any other waitress adjustment


class _Refusal(Error):  # type: ignore[misc]  # waitress is untyped
    """waitress's error answer, in the route's shape."""

    def __init__(self, limit: BodyLimit) -> None:
        super().__init__(f"request body over {limit.max_bytes} bytes")
        self.code = limit.status
        self.reason = limit.reason
        self.limit = limit

    def to_response(self, ident: str | None = None) -> tuple[str, list[tuple[str, str]], bytes]:
        return f"{self.code} {self.reason}", list(self.limit.headers), self.limit.body


class _Dropped:
    """A body buffer that counts what it is given and keeps none of it."""

    def __init__(self, size: int = 0) -> None:
        self.size = size

    def append(self, data: bytes) -> None:
        self.size += len(data)

    def __len__(self) -> int:
        return self.size

    def close(self) -> None:
        pass


class _Parser(HTTPRequestParser):  # type: ignore[misc]
    """waitress's parser, plus the conflicting-framing check, route body limits and the request's start time."""

    body_limits: BodyLimits = staticmethod(lambda method, path, host: None)
    limit: BodyLimit | None = None
    refused = False
    error: Error | None = None  # waitress's own attributes, typed for the checks below
    completed: bool = False

    def __init__(self, adj: Adjustments) -> None:
        super().__init__(adj)
        self.started = time.monotonic()
        self.preserved: dict[str, tuple[str, str]] = {}
        self.header_pairs: list[tuple[str, str]] = []

    def parse_header(self, header_plus: bytes) -> None:
        self._preserve_underscored(header_plus)
        super().parse_header(header_plus)
        self.header_pairs = _pairs(header_plus)
        if self.chunked and "CONTENT_LENGTH" in self.headers:
            raise ParsingError("Content-Length and Transfer-Encoding: chunked in one request")
        if self.chunked and _codings(header_plus).count("chunked") > 1:
            raise ParsingError("Transfer-Encoding: chunked applied more than once")
        if self.version != "1.1" and "TRANSFER_ENCODING" in self.headers:
            raise ParsingError("Transfer-Encoding in an HTTP/1.0 request")
        self.limit = type(self).body_limits(self.command, self.path, self.headers.get("HOST", ""))

    def _preserve_underscored(self, header_plus: bytes) -> None:
        """S3 metadata header names may hold underscores; waitress drops those headers, moto keeps them."""
        for line in header_plus.split(b"\r\n")[1:]:
            name, sep, value = line.partition(b":")
            text = name.decode("latin-1")
            if sep and "_" in text and should_preserve_original_header_name(text):
                key = "HTTP_" + text.upper().replace("-", "_")
                self.preserved.setdefault(key, (text, value.strip(b" \t").decode("latin-1")))

    def received(self, data: bytes) -> int:
        consumed: int = super().received(data)
        if self.limit is not None and self.error is None and not self.refused:
            self._enforce(self.limit)
        elif self.refused and self.completed and self.error is None and self.limit is not None:
            self.error = _Refusal(self.limit)
        return consumed

    def _enforce(self, limit: BodyLimit) -> None:
        receiver = self.body_rcv
        announced = 0 if self.chunked else self.content_length
        received = len(receiver) if receiver is not None else 0
        if receiver is None or (announced <= limit.max_bytes and received <= limit.max_bytes):
            return
        self.refused = True
        if self.expect_continue or announced > DISCARD_LIMIT or self.body_bytes_received > DISCARD_LIMIT:
            self._refuse_now(limit)  # the client waits for 100 Continue, or the body is absurd: close
            return
        receiver.buf.close()
        receiver.buf = _Dropped(received)  # read the rest and drop it, then answer
        if self.completed:
            self.error = _Refusal(limit)

    def _refuse_now(self, limit: BodyLimit) -> None:
        self.expect_continue = False  # waitress would send 100 Continue and wait for the body
        self.error = _Refusal(limit)
        self.completed = True
        self.connection_close = True


def _pairs(header_plus: bytes) -> list[tuple[str, str]]:
    """The header lines of a request waitress accepted, as (name, value) in order, split by waitress's own rules
    (folded lines joined, values stripped of spaces and tabs)."""
    _, _, block = header_plus.partition(b"\r\n")
    pairs: list[tuple[str, str]] = []
    for line in get_header_lines(block):
        match = HEADER_FIELD_RE.match(line)
        if match is not None:  # waitress refused the request otherwise
            name, value = match.group("name", "value")
            pairs.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return pairs


def _codings(header_plus: bytes) -> list[str]:
    """Every transfer coding named by the request's Transfer-Encoding headers, in order."""
    codings: list[str] = []
    for line in header_plus.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"transfer-encoding":
            codings += [part.strip(" \t").lower() for part in value.decode("latin-1").split(",") if part.strip()]
    return codings


class _KeepsHeaderSpelling:
    """A waitress task mixin."""

    response_headers: list[tuple[str, str]]

    def build_response_header(self) -> bytes:
        """waitress capitalizes header names (`X-Amz-Meta-My_key`); keep the application's spelling, since S3
        metadata keys reach clients through them (boto3's `Metadata` keys)."""
        spelled = {_capitalized(name): name for name, _ in reversed(self.response_headers)}
        head: bytes = super().build_response_header()  # type: ignore[misc]
        lines = head.decode("latin-1").split("\r\n")
        for index, line in enumerate(lines[1:], start=1):
            name, sep, value = line.partition(": ")
            if sep and name in spelled:
                lines[index] = f"{spelled[name]}: {value}"
        return "\r\n".join(lines).encode("latin-1")


class _Task(_KeepsHeaderSpelling, WSGITask):  # type: ignore[misc]
    """waitress's WSGI task, with the environ keys moto reads from werkzeug's development server."""

    def get_environment(self) -> dict[str, Any]:
        if self.environ is not None:
            return self.environ  # type: ignore[no-any-return]
        environ: dict[str, Any] = super().get_environment()
        request = self.request
        environ["RAW_URI"] = request.request_uri
        names: dict[str, str] = {}
        for key, (name, value) in getattr(request, "preserved", {}).items():
            if key not in environ:  # never let an underscored header stand in for a dashed one
                environ[key] = value
                names[key] = name
        environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = names
        environ[HEADER_PAIRS] = list(getattr(request, "header_pairs", []))
        return environ


def _capitalized(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


class _ErrorTask(_KeepsHeaderSpelling, ErrorTask):  # type: ignore[misc]
    """A request the server itself refuses (bad framing, headers too large) is answered in API Gateway's JSON
    shape, `{"message": "Bad Request"}`, not waitress's text page; the detail goes to the log."""

    def execute(self) -> None:
        error = self.request.error
        if not isinstance(error, _Refusal):
            LOG.warning("refused a request from %s: %s %s", self.channel.addr[0], error.reason, error.body)
            self.request.error = _Refusal(BodyLimit.json(0, error.code, error.reason, {"message": error.reason}))
        super().execute()


class _Channel(HTTPChannel):  # type: ignore[misc]
    parser_class = _Parser
    task_class = _Task
    error_task_class = _ErrorTask


class _Server(TcpWSGIServer):  # type: ignore[misc]
    channel_class = _Channel
    read_timeout_s = 30.0

    def handle_error(self) -> None:
        """Setting up one accepted connection raised (waitress catches OSError only around accept() itself).
        waitress's default closes the listener, and with it the trigger that `HttpServer.stop` pulls: the endpoint
        would stop answering, then fail to stop (EBADF on the trigger). Log it and keep listening instead."""
        LOG.exception("accepting a connection failed; still listening")

    def maintenance(self, now: float) -> None:
        """waitress closes idle connections; also close one whose request has been arriving for too long."""
        super().maintenance(now)
        cutoff = time.monotonic() - self.read_timeout_s
        for channel in list(self.active_channels.values()):
            request = channel.request
            if request is not None and not request.completed and request.started < cutoff:
                LOG.warning(
                    "closing a connection from %s: its request took over %.0f s", channel.addr[0], self.read_timeout_s
                )
                channel.will_close = True


class HttpServer:
    """waitress serving `app` on a socket already bound, on a background thread until `stop`."""

    def __init__(self, app: WsgiApp, listener: Any, limits: Limits) -> None:
        """`listener` is a bound, listening socket (so a busy port raised OSError before this)."""
        parser = type("_RoutedParser", (_Parser,), {"body_limits": staticmethod(limits.body_limits)})
        channel = type("_RoutedChannel", (_Channel,), {"parser_class": parser})
        server_class = type(
            "_RoutedServer", (_Server,), {"channel_class": channel, "read_timeout_s": limits.read_timeout_s}
        )
        adjustments = Adjustments(
            threads=limits.threads,
            connection_limit=limits.connection_limit,
            channel_timeout=int(limits.idle_timeout_s),
            cleanup_interval=max(1, int(min(limits.read_timeout_s, limits.idle_timeout_s) / 4)),
            max_request_header_size=MAX_HEADER_BYTES,
            max_request_body_size=MAX_BODY_BYTES,
            ident="lambdafleet",
            **limits.extra,
        )
        sockinfo = (listener.family, listener.type, None, listener.getsockname())
        self._server = server_class(app, _sock=listener, adj=adjustments, sockinfo=sockinfo, bind_socket=False)
        self.port: int = self._server.effective_port
        self._thread = threading.Thread(target=self._server.run, name="http-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close every connection and the listener, then let the running requests finish (5 s at most)."""
        server = self._server
        server.trigger.pull_trigger(lambda: _close_all(server._map))
        self._thread.join(timeout=10)
        server.task_dispatcher.shutdown(timeout=5)


def _close_all(socket_map: dict[int, Any]) -> None:
    for dispatcher in list(socket_map.values()):
        dispatcher.close()
