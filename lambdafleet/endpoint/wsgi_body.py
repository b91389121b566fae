"""Reading requests and writing answers in the WSGI layers in front of moto."""

import http
from collections.abc import Callable, Iterable
from typing import Any, BinaryIO

from lambdafleet.endpoint.http_event import HttpResponse


def read_body(environ: dict[str, Any]) -> bytes:
    """The whole request body: to its end when it came chunked (the server de-chunks it and marks the input
    terminated), else Content-Length bytes; none without either.

    Raises ValueError when Content-Length is not a number.
    """
    stream: BinaryIO = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        return stream.read()
    length = environ.get("CONTENT_LENGTH") or "0"
    if not length.isdigit():
        raise ValueError(f"Content-Length {length!r} is not a number")
    return stream.read(int(length)) if int(length) else b""


def send(start_response: Callable[..., Any], response: HttpResponse) -> Iterable[bytes]:
    """Start `response` and return its body, as a WSGI application does."""
    headers = [*response.headers, ("content-length", str(len(response.body)))]
    start_response(f"{response.status} {_reason(response.status)}", headers)
    return [response.body]


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:  # a function may answer any code from 100 to 599
        return "Unknown"
