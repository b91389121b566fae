"""A warm server between `build.py invoke` runs, as Lambda keeps an environment between invocations.

The first `build.py invoke NAME` starts a small server in the background (lambdafleet/runtime/warm_server.py) that
answers on a unix socket in the runtime cache (`.cache/lambdafleet/runtime/warm/<key>.sock`, a folder only the
user can enter; the server also checks that the peer is the same user). Each later `invoke` sends it the function's
name, its event and its options, and the server, whose imports are already done:

1. runs the same no-op build check `build.py invoke` would run (rebuilding the zip when its handler, requirements,
   function.toml, shared code or layers changed), so the code on disk is what runs, never a stale zip;
2. runs the invocation in a warm environment of that exact build (zip SHA-256, layers, configuration, `--env`,
   credentials, region): a warm start, with init code run once, as on Lambda. A changed function gets a new
   environment; the old one is stopped.

This module is the client: it imports nothing but the standard library's sockets and hashes, because a repeated
`build.py invoke` is mostly interpreter start-up and imports. The server's key covers what its answers depend on
besides the request: this package's source files (size and mtime), the interpreter and its site-packages, the
environment variables, the working directory and the umask. Any change starts a new server. A server idle for
IDLE_S seconds stops. `build.py invoke --cold` and `--debug` bypass all this.
"""

import base64
import contextlib
import hashlib
import json
import os
import socket
import stat
import struct
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lambdafleet.errors import UserError

if TYPE_CHECKING:  # the client never imports subprocess unless it starts a server
    import subprocess

IDLE_ENV = "LAMBDAFLEET_WARM_IDLE_S"  # how long a server waits for the next invocation before it stops
IDLE_S = 120.0  # ...unless that variable says otherwise (the test suite shortens it)
_START_TIMEOUT_S = 30.0
_MAX_MESSAGE = 16 << 20  # a request or response (6 MB at most) base64-encoded, plus the logs
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux, 104 on macOS
PACKAGE = Path(__file__).resolve().parents[1]  # the lambdafleet package the server runs
# Where the runtime cache is (lambdafleet.build.paths, not imported: it is the build's module).
_CACHE_ENV, _RUNTIME_CACHE = "LAMBDAFLEET_CACHE_DIR", "runtime"


class WarmResult:
    """What `build.py invoke` prints of an invocation, and what the server's build check printed."""

    __slots__ = ("function_error", "logs", "payload", "stderr", "stdout")

    def __init__(self, payload: bytes, function_error: bool, logs: str, stdout: str = "", stderr: str = "") -> None:
        self.payload, self.function_error, self.logs = payload, function_error, logs
        self.stdout, self.stderr = stdout, stderr


def server_key() -> str:
    """What the server's answers depend on besides the request: a change starts another server."""
    facts = {
        "package": _tree_stamp(PACKAGE),
        "python": [sys.executable, sys.version, *(_stat(Path(p)) for p in sys.path if p.endswith("-packages"))],
        "environment": sorted(os.environ.items()),
        "cwd": os.getcwd(),
        "umask": _umask(),
        "uid": os.getuid(),
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:32]


def _tree_stamp(folder: Path) -> list[list[Any]]:
    """Name, size and mtime of every file under `folder` (but bytecode caches): an edit, an added or a removed
    file changes it. ~1 ms for this package."""
    stamp = []
    for parent, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if name != "__pycache__")
        for name in sorted(files):
            stamp.append([os.path.join(parent, name), *_stat(Path(parent, name))])
    return stamp


def _stat(path: Path) -> list[int]:
    try:
        info = path.stat()
    except OSError:
        return []
    return [info.st_size, info.st_mtime_ns, info.st_ino]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def socket_path(root: Path, key: str) -> Path | None:
    """Where the server of `key` listens: in the runtime cache of `root`, or, when that path is too long for a
    unix socket, in a folder of this user's in the temp folder; None when neither can be used."""
    if not hasattr(socket, "AF_UNIX"):
        return None
    cache = Path(os.environ.get(_CACHE_ENV) or root / ".cache" / "lambdafleet")
    name = f"{key}.sock"
    for folder in _folders(cache / _RUNTIME_CACHE / "warm"):
        if len(os.fsencode(folder / name)) <= _SOCKET_PATH_MAX and _private(folder):
            return folder / name
    return None


def _folders(cache: Path) -> Iterator[Path]:
    yield cache
    import tempfile  # only when the cache's path is too long: it costs a warm invoke a few ms

    yield Path(tempfile.gettempdir()) / f"lf-{os.getuid()}"


def _private(folder: Path) -> bool:
    """Whether `folder` is (or now is) a real folder of this user that no one else may enter."""
    with contextlib.suppress(FileExistsError, OSError):
        folder.mkdir(parents=True, mode=0o700)
    try:
        info = folder.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077


def invoke(root: Path, name: str, payload: bytes, *, region: str, extra_env: dict[str, str]) -> WarmResult | None:
    """Build `functions/<name>` if stale, then run one invocation in its warm environment, starting the server
    when there is none.

    None when the server cannot answer (a socket path too long, a server that did not come up) or when the build
    check failed there: the caller then builds and runs the invocation itself, which reports any error as usual.
    Raises UserError for an event Lambda would refuse (too large).
    """
    path = socket_path(root, server_key())
    if path is None:
        return None
    request = {
        "root": str(root.resolve()),
        "name": name,
        "payload": base64.b64encode(payload).decode(),
        "region": region,
        "extra_env": extra_env,
    }
    answer = _exchange(path, request)
    if answer is None:
        answer = _exchange(path, request, _start_server(path))
    return answer


def _exchange(
    path: Path, request: dict[str, Any], starting: "subprocess.Popen[bytes] | None" = None
) -> WarmResult | None:
    """The answer of the server at `path`; while `starting` (a server just started) runs, wait for it to listen."""
    deadline = time.monotonic() + (_START_TIMEOUT_S if starting else 0.0)
    while True:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.connect(str(path))  # blocking: a rebuild or the function's own timeout may take long
                send(client, request)
                reply = receive(client)
        except (FileNotFoundError, ConnectionRefusedError):
            if starting is None or starting.poll() is not None or time.monotonic() >= deadline:
                return None  # it could not start: running the invocation here says why
            time.sleep(0.005)
            continue
        except (OSError, ValueError):
            return None  # the server went away mid-invocation: the caller runs it afresh
        if reply is None or reply.get("fallback"):
            return None
        if "user_error" in reply:
            raise UserError(str(reply["user_error"]))
        return WarmResult(
            base64.b64decode(reply["payload"]),
            bool(reply["function_error"]),
            str(reply["logs"]),
            str(reply.get("stdout", "")),
            str(reply.get("stderr", "")),
        )


def _start_server(path: Path) -> "subprocess.Popen[bytes]":
    """The server for `path`, in a new session (it outlives this `build.py invoke` and its Ctrl-C), with this
    process's environment and working directory: those are part of its key."""
    import subprocess

    # In place of `-c`'s working folder on sys.path, which is this process's (a function's, say: its modules
    # must not shadow the server's), the folder lambdafleet imports from.
    where = str(PACKAGE.parent)
    code = f"import sys; sys.path[0] = {where!r}; import lambdafleet.runtime.warm_server as s; s.main()"
    server = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert server.stdin is not None
    server.stdin.write(json.dumps({"socket": str(path)}).encode())
    server.stdin.close()
    return server


def send(connection: socket.socket, message: dict[str, Any]) -> None:
    """One length-prefixed JSON message."""
    body = json.dumps(message).encode()
    connection.sendall(struct.pack("!I", len(body)) + body)


def receive(connection: socket.socket) -> dict[str, Any] | None:
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
