"""A minimal Debug Adapter Protocol client: what VS Code sends to debugpy to attach, set a breakpoint and continue.

Messages are `Content-Length: N\\r\\n\\r\\n` + JSON (https://microsoft.github.io/debug-adapter-protocol/overview).
"""

import json
import random
import socket
import time
from typing import Any

# Below Linux's ephemeral range (32768-60999): a port bind(0) handed out, then released, can be handed out again at
# once for any socket (debugpy's own internal ones included), which a debugger's port must not collide with.
_DEBUG_PORTS = range(20000, 32000)


def debug_port() -> int:
    """A free loopback port for a debugger, outside the ephemeral range."""
    while True:
        port = random.choice(_DEBUG_PORTS)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


class DapClient:
    """One DAP session over a TCP connection to a debug adapter."""

    def __init__(self, port: int, timeout_s: float = 10.0) -> None:
        self._socket = _connect(port, timeout_s)
        self._socket.settimeout(timeout_s)
        self._buffer = b""
        self._seq = 0
        self.events: list[dict[str, Any]] = []

    def send(self, command: str, **arguments: Any) -> int:
        """Send a request; returns its sequence number (responses name it as request_seq)."""
        self._seq += 1
        body = json.dumps({"seq": self._seq, "type": "request", "command": command, "arguments": arguments})
        data = body.encode()
        self._socket.sendall(b"Content-Length: %d\r\n\r\n" % len(data) + data)
        return self._seq

    def request(self, command: str, **arguments: Any) -> dict[str, Any]:
        """Send a request and return its successful response's body."""
        seq = self.send(command, **arguments)
        response = self.wait_for(lambda m: m["type"] == "response" and m["request_seq"] == seq)
        assert response["success"], response
        return dict(response.get("body") or {})

    def wait_for_event(self, name: str) -> dict[str, Any]:
        """The next event called `name` (including one already received); returns its body."""
        for event in self.events:
            if event["event"] == name:
                self.events.remove(event)
                return dict(event.get("body") or {})
        message = self.wait_for(lambda m: m["type"] == "event" and m["event"] == name)
        self.events.remove(message)
        return dict(message.get("body") or {})

    def wait_for(self, matches: Any) -> dict[str, Any]:
        """Read messages until one `matches`; events on the way are kept in `events`."""
        while True:
            message = self._read()
            if message["type"] == "event":
                self.events.append(message)
            if matches(message):
                return message

    def _read(self) -> dict[str, Any]:
        while b"\r\n\r\n" not in self._buffer:
            self._fill()
        header, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        length = next(int(line.split(b":")[1]) for line in header.split(b"\r\n") if line.startswith(b"Content-Length"))
        while len(self._buffer) < length:
            self._fill()
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return dict(json.loads(body))

    def _fill(self) -> None:
        chunk = self._socket.recv(65536)
        if not chunk:
            raise ConnectionError("the debug adapter closed the connection")
        self._buffer += chunk

    def close(self) -> None:
        self._socket.close()


def _connect(port: int, timeout_s: float) -> socket.socket:
    """Connect to 127.0.0.1:port, retrying while nothing listens yet (the environment is starting)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=1.0)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
