"""A warm server between `build.py invoke` runs, as Lambda keeps an environment between invocations.

The first `build.py invoke NAME` starts a small server in the background (lambdafleet/runtime/warm_server.py) that
answers on a unix socket in the runtime cache (`.cache/lambdafleet/runtime/warm/<key>.sock`, a folder only the
user can enter; the server also checks that the peer is the same user). Each later `invoke` sends it its command
line, and the server, whose imports are already done:

1. parses it and runs the same build check `build.py invoke` would run (rebuilding the zip when its handler,
   requirements, function.toml, shared code or layers changed), so the code on disk is what runs, never a stale zip;
2. runs the invocation in a warm environment of that exact build (zip SHA-256, layers, configuration, `--env`,
   credentials, region): a warm start, with init code run once, as on Lambda. A changed function gets a new
   environment; the old one is stopped.

This module is the client. `build.py` calls `run_command` before it imports anything else: a repeated `invoke` is
mostly interpreter start-up and imports, so this module imports only os, sys and socket until it must start a
server (tests/runtime/test_warm_invoke.py checks what a warm invoke imports). Whatever the server leaves to the
command line (--help, --cold, --debug, a failed build check, no server) runs in-process as without it; that path
uses `invoke` below.

The server's key covers what its answers depend on besides the request: this package's files (size and mtime),
the interpreter and its site-packages, the environment variables, the working folder and the umask. Any change
starts a new server. A server idle for IDLE_S seconds stops.
"""

import _socket  # socket's C module: socket.py would import enum, selectors and more
import os
import stat
import sys
import time

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy honours the name)
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterator

IDLE_ENV = "LAMBDAFLEET_WARM_IDLE_S"  # how long a server waits for the next invocation before it stops
IDLE_S = 120.0  # ...unless that variable says otherwise (the test suite shortens it)
_START_TIMEOUT_S = 30.0
MAX_MESSAGE = 16 << 20  # a request or response (6 MB at most) base64-encoded, plus the logs
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux, 104 on macOS
PACKAGE = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))  # the lambdafleet package the server runs
# Where the runtime cache is (lambdafleet.build.paths, not imported: it is the build's module).
_CACHE_ENV, _RUNTIME_CACHE = "LAMBDAFLEET_CACHE_DIR", "runtime"
# Options (and their abbreviations) the command line runs itself: --help (for the user's terminal), --cold,
# --debug, --debug-port, --no-debug-wait. Seen here, the server is not even asked (nor started).
IN_PROCESS = ("-h", "--h", "--c", "--d", "--n")
# A command line's request starts with COMMAND; its reply with one of the three kinds after it.
COMMAND, FALLBACK, NEEDS_STDIN, DONE = b"A", b"F", b"S", b"X"
# A frame the server sends before its reply when it hands the event to the function: a server lost after it
# must not be taken for no server (the invocation may have run; running it here would run it twice). LOST is
# what `exchange` then returns, and what the command line says.
INVOKING, LOST = b"I", b"L"
LOST_MESSAGE = "the warm server stopped during the invocation, which may have run (so it is not run again here)"


def run_command(argv: list[str], root: str) -> int | None:
    """`build.py ARGV` (ARGV[0] == "invoke") answered by the warm server: its output written here, its exit code
    returned. None when the server leaves it to this process (--help, --cold, --debug, a failed build check, a
    server that could not start)."""
    if any(arg.startswith(IN_PROCESS) for arg in argv[1:]):
        return None
    request: dict[str, object] = {"argv": argv, "root": root}
    try:
        reply = exchange(root, COMMAND + repr(request).encode())
        if reply[:1] == LOST:
            sys.stderr.write(f"error: {LOST_MESSAGE}\n")
            return 1
        if reply[:1] == NEEDS_STDIN:  # `--event -`: only now is reading stdin certain not to block for nothing
            request["stdin"] = sys.stdin.buffer.read()
            reply = exchange(root, COMMAND + repr(request).encode())
        if reply[:1] != DONE or len(reply) < 2:
            if "stdin" in request:  # what this process then runs reads the event where the server's came from
                _put_back(request["stdin"])
            return None
        _write(reply, 2)
        return reply[1]
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit-time flush stays quiet
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _write(reply: bytes, at: int) -> None:
    """Write each (stream, length, bytes) of `reply` from `at` on, in order: stdout and stderr stay interleaved
    as the command line would have written them."""
    while at < len(reply):
        stream, size = reply[at], int.from_bytes(reply[at + 1 : at + 5], "big")
        text = reply[at + 5 : at + 5 + size].decode("utf-8", "surrogateescape")
        at += 5 + size
        if text:
            out = sys.stdout if stream == 1 else sys.stderr
            out.write(text)
            out.flush()  # a closed pipe (`| head`) shows here, as in lambdafleet.cli.main


def _put_back(data: object) -> None:
    import io

    assert isinstance(data, bytes)
    sys.stdin = io.TextIOWrapper(io.BytesIO(data), encoding=sys.stdin.encoding, errors=sys.stdin.errors)


class WarmResult:
    """What `build.py invoke` prints of an invocation, and what the server's build check printed."""

    __slots__ = ("function_error", "logs", "payload", "stderr", "stdout")

    def __init__(self, payload: bytes, function_error: bool, logs: str, stdout: str = "", stderr: str = "") -> None:
        self.payload, self.function_error, self.logs = payload, function_error, logs
        self.stdout, self.stderr = stdout, stderr


def invoke(root: str, name: str, payload: bytes, *, region: str, extra_env: dict[str, str]) -> WarmResult | None:
    """Build `functions/<name>` if stale, then run one invocation in its warm environment (lambdafleet.cli.invoke,
    in-process). None when the server cannot answer or its build check failed: the caller then builds and runs the
    invocation itself, which reports any error as usual. Raises UserError for an event Lambda would refuse."""
    import base64
    import json

    from lambdafleet.errors import UserError

    request = {"root": root, "name": name, "payload": base64.b64encode(payload).decode(), "region": region}
    body = exchange(root, json.dumps({**request, "extra_env": extra_env}).encode())
    if body[:1] == LOST:
        from lambdafleet.errors import BuildError

        raise BuildError(LOST_MESSAGE)
    reply = json.loads(body) if body[:1] == b"{" else None
    if not isinstance(reply, dict) or reply.get("fallback"):
        return None
    if "user_error" in reply:
        raise UserError(str(reply["user_error"]))
    if "internal_error" in reply:  # the server's traceback
        raise RuntimeError(f"the warm server failed during the invocation:\n{reply['internal_error']}")
    return WarmResult(
        base64.b64decode(reply["payload"]),
        bool(reply["function_error"]),
        str(reply["logs"]),
        str(reply.get("stdout", "")),
        str(reply.get("stderr", "")),
    )


def exchange(root: str, body: bytes) -> bytes:
    """The server's reply to `body`, starting the server when there is none; b"" when it cannot answer, LOST when
    it went away after it started the invocation."""
    path = socket_path(root, server_key())
    if path is None:
        return b""
    reply = _exchange(path, body)
    if reply is None:
        reply = _exchange(path, body, _start_server(path))
    return reply or b""


def _exchange(path: str, body: bytes, starting: "subprocess.Popen[bytes] | None" = None) -> bytes | None:
    """The reply of the server at `path`; while `starting` (a server just started) runs, wait for it to listen."""
    deadline = time.monotonic() + (_START_TIMEOUT_S if starting else 0.0)
    while True:
        client = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        invoking = False
        try:
            client.connect(path)  # blocking: a rebuild or the function's own timeout may take long
            send_frame(client, body)
            reply = receive_frame(client)
            if reply == INVOKING:
                invoking = True
                reply = receive_frame(client)
            return reply or (LOST if invoking else b"")
        except (FileNotFoundError, ConnectionRefusedError):
            if starting is None or starting.poll() is not None or time.monotonic() >= deadline:
                return None  # it could not start: running the invocation here says why
            time.sleep(0.005)
        except (OSError, ValueError):
            # The server went away: before the invocation, the caller runs it afresh; during it, it may have run.
            return LOST if invoking else b""
        finally:
            client.close()


def server_key() -> str:
    """What the server's answers depend on besides the request: a change starts another server."""
    python = [sys.executable, sys.version, *(_stat(p) for p in sys.path if p.endswith("-packages"))]
    facts = (_tree_stamp(PACKAGE), python, sorted(os.environ.items()), os.getcwd(), _umask(), os.getuid())
    return _sha256(repr(facts).encode())[:32]


def _sha256(data: bytes) -> str:
    """hashlib's sha256 without hashlib's import of OpenSSL (a few ms of a warm invoke)."""
    for name in ("_sha2", "_sha256", "hashlib"):  # Python >= 3.12, 3.11, any
        try:
            module = __import__(name)
        except ImportError:
            continue
        return str(module.sha256(data).hexdigest())
    raise ImportError("no sha256")


def _tree_stamp(folder: str) -> list[tuple[str, tuple[int, ...]]]:
    """Path, size and mtime of every file under `folder` (but bytecode caches): an edit, an added or a removed
    file changes it. ~1 ms for this package."""
    stamp = []
    for parent, folders, files in os.walk(folder):
        folders[:] = sorted(name for name in folders if name != "__pycache__")
        for name in sorted(files):
            path = os.path.join(parent, name)
            stamp.append((path, _stat(path)))
    return stamp


def _stat(path: str) -> tuple[int, ...]:
    try:
        info = os.stat(path)
    except OSError:
        return ()
    return (info.st_size, info.st_mtime_ns, info.st_ino)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def socket_path(root: str, key: str) -> str | None:
    """Where the server of `key` listens: in the runtime cache of `root`, or, when that path is too long for a
    unix socket, in a folder of this user's in the temp folder; None when neither can be used."""
    if not hasattr(_socket, "AF_UNIX"):
        return None
    cache = os.environ.get(_CACHE_ENV) or os.path.join(root, ".cache", "lambdafleet")
    name = f"{key}.sock"
    for folder in _folders(os.path.join(cache, _RUNTIME_CACHE, "warm")):
        path = os.path.join(folder, name)
        if len(os.fsencode(path)) <= _SOCKET_PATH_MAX and _private(folder):
            return path
    return None


def _folders(cache: str) -> "Iterator[str]":
    yield cache
    import tempfile  # only when the cache's path is too long: it costs a warm invoke a few ms

    yield os.path.join(tempfile.gettempdir(), f"lf-{os.getuid()}")


def _private(folder: str) -> bool:
    """Whether `folder` is (or now is) a real folder of this user that no one else may enter."""
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return False
    try:
        info = os.lstat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077


def _start_server(path: str) -> "subprocess.Popen[bytes]":
    """The server for `path`, in a new session (it outlives this `build.py invoke` and its Ctrl-C), with this
    process's environment and working folder: those are part of its key."""
    import subprocess

    # In place of `-c`'s working folder on sys.path, which is this process's (a function's, say: its modules
    # must not shadow the server's), the folder lambdafleet imports from.
    where = os.path.dirname(PACKAGE)
    code = f"import sys; sys.path[0] = {where!r}; import lambdafleet.runtime.warm_server as s; s.main({path!r})"
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def send_frame(connection: _socket.socket, body: bytes) -> None:
    """One length-prefixed message."""
    connection.sendall(len(body).to_bytes(4, "big") + body)


def receive_frame(connection: _socket.socket) -> bytes | None:
    """One length-prefixed message (bounded), or None at end of file."""
    header = _read_exactly(connection, 4)
    if header is None:
        return None
    length = int.from_bytes(header, "big")
    if length > MAX_MESSAGE:
        raise ValueError(f"message of {length} bytes is over the limit")
    return _read_exactly(connection, length)


def _read_exactly(connection: _socket.socket, size: int) -> bytes | None:
    chunks, remaining = [], size
    while remaining:
        chunk = connection.recv(min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
