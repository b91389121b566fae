"""A warm execution environment between `build.py invoke` runs, as Lambda keeps one between invocations.

The first `build.py invoke NAME` starts a small server in the background that holds a pool of the function (the
same zip, layers, configuration, variables and credentials) and answers on a unix socket in the runtime cache
(`.cache/lambdafleet/runtime/warm/<key>.sock`, a folder only the user can enter; the server also checks that the
peer is the same user). The next `invoke` of the same function, unchanged, hands its event to that environment
instead of starting an interpreter: a warm start, with init code run once, as on Lambda. Anything that changes the
function (its zip's SHA-256, its layers, configuration, `--env`, credentials, region) changes the key, so it gets
a new server; a server idle for IDLE_S seconds stops. `build.py invoke --cold` bypasses all this.

Run as `python -m lambdafleet.runtime.warm` by `invoke()`, with what to run as JSON on stdin (credentials are not
put on a command line).
"""

import base64
import contextlib
import hashlib
import json
import os
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lambdafleet.build.paths import RUNTIMES_CACHE
from lambdafleet.errors import UserError
from lambdafleet.runtime.spec import FunctionSpec
from lambdafleet.runtime.task_root import Archive

if TYPE_CHECKING:  # the client side never imports the pool's machinery: a warm invoke is mostly imports
    from lambdafleet.runtime.pool import FunctionPool

IDLE_ENV = "LAMBDAFLEET_WARM_IDLE_S"  # how long a server waits for the next invocation before it stops
IDLE_S = 120.0  # ...unless that variable says otherwise (the test suite shortens it)
_START_TIMEOUT_S = 30.0
_MAX_MESSAGE = 16 << 20  # a request or response (6 MB at most) base64-encoded, plus the logs
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux, 104 on macOS


@dataclass(frozen=True)
class WarmRequest:
    """Everything that determines the environment a `build.py invoke` runs in; its hash names the server."""

    spec: dict[str, Any]
    zip_path: str
    zip_sha256: str | None
    layers: list[tuple[str, str | None]]
    cache_dir: str
    source: str
    region: str
    credentials: dict[str, str] | None
    extra_env: dict[str, str]

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:32]

    def open_pool(self) -> "FunctionPool":
        from lambdafleet.runtime.pool import FunctionPool

        spec = FunctionSpec(**{**self.spec, "environment": dict(self.spec["environment"])})
        return FunctionPool(
            spec,
            Path(self.zip_path),
            cache_dir=Path(self.cache_dir),
            region=self.region,
            credentials=self.credentials,
            extra_env=self.extra_env,
            max_environments=4,
            source=self.source,
            fork_server=False,  # one environment kept warm: a fork server would only add its own start-up
            zip_sha256=self.zip_sha256,
            layers=[Archive(Path(path), digest) for path, digest in self.layers],
        )


@dataclass(frozen=True)
class WarmResult:
    """What `build.py invoke` prints of an invocation."""

    payload: bytes
    function_error: bool
    logs: str


def request_for(
    spec: FunctionSpec,
    pool_arguments: Mapping[str, Any],
    zip_path: Path,
    *,
    region: str,
    credentials: Mapping[str, str] | None,
    extra_env: Mapping[str, str],
) -> WarmRequest:
    """The warm request of a function as `from_repo.built_function` describes it."""
    layers: list[Archive] = list(pool_arguments["layers"])
    return WarmRequest(
        spec={**asdict(spec), "environment": dict(spec.environment)},
        zip_path=str(zip_path.resolve()),
        zip_sha256=pool_arguments["zip_sha256"],
        layers=[(str(layer.path.resolve()), layer.sha256) for layer in layers],
        cache_dir=str(Path(pool_arguments["cache_dir"]).resolve()),
        source=str(pool_arguments["source"]),
        region=region,
        credentials=dict(credentials) if credentials else None,
        extra_env=dict(extra_env),
    )


def socket_path(request: WarmRequest) -> Path | None:
    """Where the server of `request` listens: in the cache, or, when that path is too long for a unix socket, in
    a folder of this user's in the temp folder; None when neither can be used."""
    if not hasattr(socket, "AF_UNIX"):
        return None
    name = f"{request.key()}.sock"
    for folder in (
        Path(request.cache_dir) / RUNTIMES_CACHE / "warm",
        Path(tempfile.gettempdir()) / f"lf-{os.getuid()}",
    ):
        if len(os.fsencode(folder / name)) <= _SOCKET_PATH_MAX and _private(folder):
            return folder / name
    return None


def _private(folder: Path) -> bool:
    """Whether `folder` is (or now is) a real folder of this user that no one else may enter."""
    with contextlib.suppress(FileExistsError, OSError):
        folder.mkdir(parents=True, mode=0o700)
    try:
        info = folder.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077


def invoke(request: WarmRequest, payload: bytes) -> WarmResult | None:
    """Run one invocation in the warm environment of `request`, starting its server when there is none.

    None when no server can be used (a socket path too long, a server that did not come up): the caller then
    runs the invocation itself. Raises UserError for an event Lambda would refuse (too large).
    """
    path = socket_path(request)
    if path is None:
        return None
    timeout = request.spec["timeout"] + 30.0  # the function's timeout plus an init phase and a margin
    answer = _exchange(path, payload, timeout)
    if answer is None:
        server = _start_server(request)
        answer = _exchange(path, payload, timeout, server)
    return answer


def _exchange(
    path: Path, payload: bytes, timeout: float, starting: subprocess.Popen[bytes] | None = None
) -> WarmResult | None:
    """The answer of the server at `path`; while `starting` (a server just started) runs, wait for it to listen."""
    deadline = time.monotonic() + (_START_TIMEOUT_S if starting else 0.0)
    while True:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.settimeout(timeout)
                client.connect(str(path))
                _send(client, {"payload": base64.b64encode(payload).decode()})
                reply = _receive(client)
        except (FileNotFoundError, ConnectionRefusedError):
            if starting is None or starting.poll() is not None or time.monotonic() >= deadline:
                return None  # it could not open the function: running it here says why
            time.sleep(0.01)
            continue
        except (OSError, ValueError):
            return None  # the server went away mid-invocation: the caller runs it afresh
        if reply is None:
            return None
        if "user_error" in reply:
            raise UserError(str(reply["user_error"]))
        return WarmResult(base64.b64decode(reply["payload"]), bool(reply["function_error"]), str(reply["logs"]))


def _start_server(request: WarmRequest) -> "subprocess.Popen[bytes]":
    server = subprocess.Popen(
        [sys.executable, "-m", "lambdafleet.runtime.warm"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # outlives this `build.py invoke`, and its Ctrl-C
        cwd=str(Path(__file__).resolve().parents[2]),  # where `lambdafleet` imports from
    )
    assert server.stdin is not None
    server.stdin.write(json.dumps(asdict(request)).encode())
    server.stdin.close()
    return server


def _send(connection: socket.socket, message: Mapping[str, Any]) -> None:
    body = json.dumps(message).encode()
    connection.sendall(struct.pack("!I", len(body)) + body)


def _receive(connection: socket.socket) -> dict[str, Any] | None:
    """One length-prefixed JSON message (bounded), or None at end of file."""
    header = _read_exactly(connection, 4)
    if header is None:
        return None
    (length,) = struct.unpack("!I", header)
    if length > _MAX_MESSAGE:
        raise ValueError(f"message of {length} bytes is over the limit")
    body = _read_exactly(connection, length)
    if body is None:
        return None
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ValueError("not a JSON object")
    return message


def _read_exactly(connection: socket.socket, size: int) -> bytes | None:
    chunks, remaining = [], size
    while remaining:
        chunk = connection.recv(min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


class _Server:
    """Serves one pool on a unix socket until it has been idle IDLE_S seconds."""

    def __init__(self, request: WarmRequest, path: Path) -> None:
        self.pool = request.open_pool()
        self.path = path
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        staging = path.with_name(f".{path.name}.{os.getpid()}")
        staging.unlink(missing_ok=True)
        self.listener.bind(str(staging))
        self.listener.listen(16)
        os.rename(staging, path)  # atomic: clients see a listening socket or none
        self.identity = path.stat().st_ino
        self.busy = 0
        self.idle_s = float(os.environ.get(IDLE_ENV) or IDLE_S)
        self.last_used = time.monotonic()
        self.mutex = threading.Lock()

    def serve(self) -> None:
        self.listener.settimeout(1.0)
        try:
            while True:
                try:
                    connection, _ = self.listener.accept()
                except TimeoutError:
                    with self.mutex:
                        if not self.busy and time.monotonic() - self.last_used > self.idle_s:
                            return
                    continue
                if not _same_user(connection):
                    connection.close()
                    continue
                with self.mutex:
                    self.busy += 1
                threading.Thread(target=self._handle, args=(connection,), daemon=True).start()
        finally:
            with contextlib.suppress(OSError):
                if self.path.stat().st_ino == self.identity:
                    self.path.unlink()  # still ours: no newer server replaced it
            self.listener.close()
            self.pool.close()

    def _handle(self, connection: socket.socket) -> None:
        try:
            with connection:
                connection.settimeout(30.0)
                message = _receive(connection)
                if message is None:
                    return
                connection.settimeout(None)
                try:
                    result = self.pool.invoke(payload=base64.b64decode(message["payload"]))
                except UserError as error:
                    _send(connection, {"user_error": str(error)})
                    return
                reply = {
                    "payload": base64.b64encode(result.payload).decode(),
                    "function_error": result.function_error,
                    "logs": result.logs,
                }
                _send(connection, reply)
        except (OSError, ValueError, KeyError):
            pass  # the client went away, or sent nonsense: it is its to retry
        finally:
            with self.mutex:
                self.busy -= 1
                self.last_used = time.monotonic()


def _same_user(connection: socket.socket) -> bool:
    """Whether the connecting process runs as this user (Linux's SO_PEERCRED; elsewhere the folder's mode)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return True
    _, uid, _ = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i")))
    return bool(uid == os.getuid())


def main() -> None:
    raw = json.loads(sys.stdin.read())
    request = WarmRequest(**{**raw, "layers": [tuple(layer) for layer in raw["layers"]]})
    path = socket_path(request)
    if path is None:
        return
    _Server(request, path).serve()


if __name__ == "__main__":
    main()
