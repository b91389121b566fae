"""The endpoint's HTTP server survives a failure while accepting a connection, and then stops cleanly."""

import socket
import urllib.request
from typing import Any

from lambdafleet.endpoint.http_server import HttpServer, Limits


def _app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]


def test_a_failed_accept_neither_ends_the_server_nor_breaks_its_stop() -> None:
    """waitress closed its listener and trigger when a connection's setup raised: the endpoint stopped answering,
    and stop() then failed with EBADF on the trigger (seen at the end of a stack test session)."""
    server = HttpServer(_app, socket.create_server(("127.0.0.1", 0)), Limits())
    stopped = False
    try:
        channel_class = server._server.channel_class
        failures = []

        def fails_once(*args: Any, **kwargs: Any) -> Any:
            if not failures:
                failures.append(True)
                raise RuntimeError("a connection's setup failed")
            return channel_class(*args, **kwargs)

        server._server.channel_class = fails_once
        socket.create_connection(("127.0.0.1", server.port)).close()  # its accept fails
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/", timeout=10) as response:
            assert response.read() == b"ok"
        assert failures
        server.stop()
        stopped = True
    finally:
        if not stopped:
            server.stop()
