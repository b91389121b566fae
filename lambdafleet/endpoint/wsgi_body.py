"""Reading requests and writing answers in the WSGI layers in front of moto, with werkzeug's Request and Response
(installed with moto) rather than by hand."""

from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from lambdafleet.endpoint.http_event import HttpResponse
from lambdafleet.runtime.pool import MAX_REQUEST_BYTES


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
