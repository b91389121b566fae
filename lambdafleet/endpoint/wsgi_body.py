"""Reading requests and writing answers in the WSGI layers in front of moto, with werkzeug's Request and Response
(installed with moto) rather than by hand."""

import logging
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from lambdafleet.endpoint.http_event import HttpResponse
from lambdafleet.endpoint.http_server import HEADER_PAIRS, WsgiApp
from lambdafleet.runtime.pool import MAX_REQUEST_BYTES

LOG = logging.getLogger("lambdafleet.endpoint")


class _Answer(Response):
    """A response that adds no Content-Type of its own: a function's answer without one has none in API
    Gateway either."""

    default_mimetype = None


class BodyTooLarge(ValueError):
    """The body is over what the layer takes (the HTTP server refuses most such bodies before they reach here)."""


def request_of(environ: dict[str, Any]) -> Request:
    """werkzeug's view of the request, which reads at most Lambda's 6 MB of body."""
    request = Request(environ)
    request.max_content_length = MAX_REQUEST_BYTES
    return request


def sent_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """The request's headers, one (name, value) per header line in the client's spelling, as the HTTP server
    recorded them; from the WSGI keys (repeats already joined, names capitalized) for a server that did not."""
    recorded: list[tuple[str, str]] | None = environ.get(HEADER_PAIRS)
    if recorded is not None:
        return recorded
    return [(name, value) for name, value in Request(environ).headers.items() if value]


def read_body(environ: dict[str, Any]) -> bytes:
    """The whole request body, de-chunked by the server; none without one.

    Raises ValueError when Content-Length is not a number, BodyTooLarge (a ValueError) when the body is over
    Lambda's 6 MB.
    """
    length = environ.get("CONTENT_LENGTH") or "0"
    if not length.isdigit():
        raise ValueError(f"Content-Length {length!r} is not a number")
    try:
        return request_of(environ).get_data(cache=False)
    except RequestEntityTooLarge:
        raise BodyTooLarge(f"the body is over {MAX_REQUEST_BYTES} bytes") from None


def send(
    start_response: Callable[..., Any], response: HttpResponse, environ: dict[str, Any] | None = None
) -> Iterable[bytes]:
    """Start `response` and return its body, as a WSGI application does; with the request's `environ`, a HEAD
    request gets the headers without the body."""
    answer = _Answer(response.body, status=response.status, headers=response.headers)
    return answer(environ or {"REQUEST_METHOD": "GET"}, start_response)


def front(
    app: WsgiApp,
    address: Callable[[dict[str, Any]], tuple[Any, ...] | None],
    handle: Callable[..., HttpResponse],
    failure: HttpResponse,
    what: str,
) -> WsgiApp:
    """A WSGI app answering the requests `address` claims with `handle(*address(environ), environ)` and passing the
    rest to `app`; a fault in `handle` costs one request (`failure`, and a logged traceback), never the server."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        addressed = address(environ)
        if addressed is None:
            return app(environ, start_response)
        try:
            response = handle(*addressed, environ)
        except Exception:
            LOG.exception("%s request %s failed", what, environ.get("PATH_INFO"))
            response = failure
        return send(start_response, response, environ)

    return application
