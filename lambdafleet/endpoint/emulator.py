"""Embedded AWS emulator: a moto server on 127.0.0.1 with the gaps this project's Terraform hits filled in.

Run it with ``python -m lambdafleet.endpoint.emulator --port 4566`` or start it in-process with :func:`start`.
"""

import argparse
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

HOST = "127.0.0.1"
DEFAULT_PORT = 4566  # LocalStack's port, so tools configured for LocalStack work unchanged

# AWS-managed policies are off in moto by default; set before moto builds its IAM backend.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: E402

from lambdafleet.endpoint import moto_patches  # noqa: E402
from lambdafleet.endpoint.http_server import (  # noqa: E402
    HttpServer,
    Limits,
    WsgiApp,
)


@dataclass
class Emulator:
    """A running emulator; ``url`` is its endpoint."""

    server: HttpServer
    url: str

    def stop(self) -> None:
        """Close every connection and the listener; running requests get 5 s to finish."""
        self.server.stop()


def start(
    port: int = DEFAULT_PORT,
    host: str = HOST,
    wrap: Callable[[WsgiApp], WsgiApp] | None = None,
    limits: Limits | None = None,
) -> Emulator:
    """Start the emulator on `host` (default 127.0.0.1) in a background thread (port 0 picks a free port).

    `wrap` may put a WSGI layer in front of moto (the local data plane does); `limits` bound what one client
    may cost (lambdafleet.endpoint.http_server). Raises OSError when the port cannot be bound.
    """
    moto_patches.apply_all()
    moto: WsgiApp = _HostCachingDispatcher(create_backend_app)
    app = _answer_crashes_as_internal_failure(wrap(moto) if wrap else moto)
    # Bound here so a busy port raises OSError, and with the backlog the connection cap leaves waiting.
    listener = socket.create_server((host, port), backlog=1024)
    try:
        server = HttpServer(app, listener, limits or Limits())
    except BaseException:
        listener.close()
        raise
    return Emulator(server=server, url=f"http://{host}:{server.port}")


class _HostCachingDispatcher(DomainDispatcherApplication):
    """moto's dispatcher, remembering which backend serves a host: moto lists and stats its ~180 package folders
    on every request to answer that (about a third of a warm Invoke's CPU)."""

    MAX_HOSTS = 4096  # Host headers are the client's to choose: past this, stop remembering

    def __init__(self, create_app: Callable[..., Any]) -> None:
        super().__init__(create_app)
        self._backends: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        try:
            return self._backends[host]
        except KeyError:
            backend = super().get_backend_for_host(host)
            if len(self._backends) < self.MAX_HOSTS:
                self._backends[host] = backend
            return backend


def _answer_crashes_as_internal_failure(app: WsgiApp) -> WsgiApp:
    """Answer a request that moto (or a layer in front of it) crashes on as AWS does, 500 InternalFailure, and log
    one line instead of werkzeug's traceback.

    moto raises on some malformed requests (an unsigned POST to an S3 key path is a KeyError); the endpoint must keep
    answering in AWS's shape and keep its log readable.
    """

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            return app(environ, start_response)
        except Exception as error:  # any fault: the client gets AWS's answer to a service fault
            request = f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"
            print(f"error: {request}: {type(error).__name__}: {error} (answered 500 InternalFailure)", file=sys.stderr)
            body = json.dumps({"__type": "InternalFailure", "message": f"{type(error).__name__}: {error}"}).encode()
            headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            start_response("500 Internal Server Error", headers)
            return [body]

    return application


def _port(text: str) -> int:
    """argparse type: a TCP port number (0 picks a free one)."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    """Command line: serve until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m lambdafleet.endpoint.emulator", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"port on {HOST} (default {DEFAULT_PORT})")
    args = parser.parse_args(argv)
    try:
        emulator = start(args.port)
    except OSError as error:
        print(f"error: cannot listen on {HOST}:{args.port}: {error.strerror}", file=sys.stderr)
        return 2
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    print(f"emulator listening on {emulator.url}", flush=True)
    stopped.wait()
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
