"""Lambda's recursive loop detection: a chain of invocations caused by one event stops after 16 of the same function.

Lambda counts, in the X-Ray trace header's `Lineage` field, how many times an event has invoked each function;
the function's AWS SDK forwards the header it was invoked with (`_X_AMZN_TRACE_ID` → `X-Amzn-Trace-Id`) on every
call it makes. Past 16 invocations of one function in a chain, Lambda stops: a synchronous Invoke fails with
`RecursiveInvocationException`, an asynchronous event goes to the on-failure destination, and a line is logged
("Lambda recursive loop detection" in the Lambda developer guide). Here the endpoint does the same for every chain it
can follow: a function invoking itself or another function through the endpoint (sync or async, its SDK sends the
header), and asynchronous destinations (`a` → `b` → `a`).
"""

import contextlib
import contextvars
import hashlib
import secrets
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaFunction

from lambdafleet.endpoint.http_server import WsgiApp

MAX_INVOCATIONS = 16
MESSAGE = (
    "Lambda has detected your function being invoked in a recursive loop with other AWS resources and stopped "
    "your function's invocation."
)
# The trace header of what is causing the current invocation: the request being answered, or the asynchronous
# invocation whose destination is being served.
_CAUSE: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_cause", default=None)


class RecursiveInvocation(LambdaClientError):
    """The chain has invoked this function more than MAX_INVOCATIONS times."""

    code = 400

    def __init__(self) -> None:
        super().__init__("RecursiveInvocationException", MESSAGE)


def _fields(header: str | None) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in urllib.parse.unquote(header or "").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields[key] = value
    return fields


def _lineage(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in text.split("|"):
        key, _, count = entry.partition(":")
        if key and count.isdigit():
            counts[key] = int(count)
    return counts


def _key(function: LambdaFunction) -> str:
    """A function's key in Lineage: versions and aliases of one function count together."""
    unqualified = f"{function.account_id}:{function.region}:{function.function_name}"
    return hashlib.sha256(unqualified.encode()).hexdigest()[:8]


def count_of(function: LambdaFunction, header: str | None) -> int:
    """How many times the chain `header` belongs to has invoked `function` so far."""
    return _lineage(_fields(header).get("Lineage", "")).get(_key(function), 0)


def trace_for(function: LambdaFunction, cause: str | None = None) -> str:
    """The trace header of an invocation of `function` caused by `cause` (default: the current cause): the
    chain's root, and its Lineage with this function counted once more.

    Raises RecursiveInvocation when that count would pass MAX_INVOCATIONS.
    """
    fields = _fields(cause if cause is not None else _CAUSE.get())
    counts = _lineage(fields.get("Lineage", ""))
    key = _key(function)
    counts[key] = counts.get(key, 0) + 1
    if counts[key] > MAX_INVOCATIONS:
        raise RecursiveInvocation()
    root = fields.get("Root") or f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    lineage = "|".join(f"{name}:{count}" for name, count in counts.items())
    return f"Root={root};Sampled=0;Lineage={lineage}"


@contextlib.contextmanager
def caused_by(trace: str | None) -> Iterator[None]:
    """Invocations started inside the block belong to the chain of `trace`."""
    token = _CAUSE.set(trace)
    try:
        yield
    finally:
        _CAUSE.reset(token)


def current_cause() -> str | None:
    """The trace header of what is causing invocations now (None: a new chain)."""
    return _CAUSE.get()


def wrap(app: WsgiApp) -> WsgiApp:
    """A WSGI layer: invocations a request causes (Invoke, an S3 notification of its PutObject) join the chain
    of the request's X-Amzn-Trace-Id."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with caused_by(environ.get("HTTP_X_AMZN_TRACE_ID")):
            return app(environ, start_response)

    return application
