"""The warm server of `build.py invoke` (see lambdafleet/runtime/warm.py, its client, for the design).

It parses the command line and checks the build the way `build.py invoke` does (one check at a time: a build
writes build/ and the manifest), and keeps one pool per exact build of a function and its options, each with one
warm environment, until it has been idle IDLE_S seconds or a newer build of the same function replaces it. Run by
the client as a process of its own, with its environment and working folder.
"""

import argparse
import ast
import base64
import contextlib
import functools
import hashlib
import io
import json
import os
import socket
import struct
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lambdafleet.errors import UserError, one_line
from lambdafleet.runtime.pool import FunctionPool
from lambdafleet.runtime.result import InvokeResult
from lambdafleet.runtime.spec import FunctionSpec
from lambdafleet.runtime.task_root import Archive
from lambdafleet.runtime.warm import (
    COMMAND,
    DONE,
    FALLBACK,
    IDLE_ENV,
    IDLE_S,
    IN_PROCESS,
    INVOKING,
    MAX_MESSAGE,
    NEEDS_STDIN,
    receive_frame,
    send_frame,
)

_ACCEPT_TICK_S = 1.0  # how often an idle server looks at its pools' idle times


@dataclass(frozen=True)
class WarmRequest:
    """Everything that determines the environment a `build.py invoke` runs in; its hash names its pool."""

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
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()

    def slot(self) -> str:
        """The function and options whatever its build: a new build of the same slot replaces the old pool."""
        return json.dumps([self.zip_path, self.region, self.credentials, self.extra_env], sort_keys=True)

    def open_pool(self) -> FunctionPool:
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


@dataclass
class _Held:
    """A pool, how many invocations it runs now, and when it last finished one."""

    pool: FunctionPool
    slot: str
    busy: int = 0
    last_used: float = field(default_factory=time.monotonic)
    replaced: bool = False


class _Server:
    """Serves `build.py invoke` on a unix socket until it has been idle IDLE_S seconds."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        staging = path.with_name(f".{path.name}.{os.getpid()}")
        staging.unlink(missing_ok=True)
        self.listener.bind(str(staging))
        self.listener.listen(16)
        os.rename(staging, path)  # atomic: clients see a listening socket or none
        self.identity = path.stat().st_ino
        self.idle_s = float(os.environ.get(IDLE_ENV) or IDLE_S)
        self.mutex = threading.Lock()  # guards the fields below
        self.busy = 0
        self.last_used = time.monotonic()
        self.pools: dict[str, _Held] = {}  # by WarmRequest.key()
        self.checking = threading.Lock()  # one build check at a time

    def serve(self) -> None:
        self.listener.settimeout(_ACCEPT_TICK_S)
        try:
            while True:
                try:
                    connection, _ = self.listener.accept()
                except TimeoutError:
                    if self._sweep():
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
            for held in self.pools.values():
                held.pool.close()

    def _sweep(self) -> bool:
        """Close pools replaced or idle too long; True when the whole server has been idle too long."""
        now = time.monotonic()
        with self.mutex:
            done = [
                key
                for key, held in self.pools.items()
                if not held.busy and (held.replaced or now - held.last_used > self.idle_s)
            ]
            closing = [self.pools.pop(key) for key in done]
            idle = not self.busy and now - self.last_used > self.idle_s
        for held in closing:
            held.pool.close()
        return idle

    def _handle(self, connection: socket.socket) -> None:
        try:
            with connection:
                connection.settimeout(30.0)
                body = receive_frame(connection)
                if body is None:
                    return
                connection.settimeout(None)
                invoking = functools.partial(send_frame, connection, INVOKING)  # the client then never reruns it
                if body[:1] == COMMAND:  # `build.py invoke ARGS`, from build.py before it imports anything
                    reply = self._command(ast.literal_eval(body[1:].decode()), invoking)
                else:  # the same from lambdafleet.cli.invoke, in-process, its command line parsed
                    reply = json.dumps(self._answer(json.loads(body), invoking)).encode()
                send_frame(connection, reply)
        except (OSError, ValueError, KeyError, TypeError, SyntaxError):
            pass  # the client went away, or sent nonsense: it is its to retry
        finally:
            with self.mutex:
                self.busy -= 1
                self.last_used = time.monotonic()
            self._sweep()  # a pool this invocation's build replaced

    def _command(self, request: dict[str, Any], invoking: Callable[[], None]) -> bytes:
        """The reply to `build.py invoke ARGS`: its output and exit code, or FALLBACK / NEEDS_STDIN."""
        root, stdin = str(request["root"]), request.get("stdin")
        with self.checking:
            prepared = _parse([str(arg) for arg in request["argv"]], stdin)
            if isinstance(prepared, bytes):
                return prepared
            args, payload, extra_env = prepared
            checked = _check(root, args.name, args.region, extra_env)
            if checked is None:
                return FALLBACK
            warm_request, stdout, stderr = checked
            held = self._hold(warm_request)
        try:
            result = self._invoke(held, payload, invoking)
        except UserError as error:
            return _done(2, (1, stdout), (2, stderr), (2, f"error: {one_line(str(error))}\n"))
        except Exception as error:  # the event may have reached the function: not the client's to run again
            return _done(1, (1, stdout), (2, stderr), (2, _internal_error(error)))
        printed = result.payload.decode("utf-8", errors="replace") + "\n"  # as lambdafleet.cli.invoke prints it
        code = 1 if result.function_error else 0

        def reply(logs: str) -> bytes:  # in lambdafleet.cli.invoke's order: the build's output, logs, response
            return _done(code, (1, stdout), (2, stderr), (2, logs), (1, printed))

        return reply(_fitted_logs(result.logs, reply))

    def _answer(self, message: dict[str, Any], invoking: Callable[[], None]) -> dict[str, Any]:
        """The reply to lambdafleet.cli.invoke's request (its command line parsed): JSON."""
        with self.checking:
            extra_env = {str(key): str(value) for key, value in dict(message["extra_env"]).items()}
            checked = _check(str(message["root"]), str(message["name"]), str(message["region"]), extra_env)
            if checked is None:
                return {"fallback": True}
            request, stdout, stderr = checked
            held = self._hold(request)
        try:
            result = self._invoke(held, base64.b64decode(message["payload"]), invoking)
        except UserError as error:
            return {"user_error": str(error), "stdout": stdout, "stderr": stderr}
        except Exception as error:  # as in _command
            return {"internal_error": _internal_error(error), "stdout": stdout, "stderr": stderr}
        answer = {
            "payload": base64.b64encode(result.payload).decode(),
            "function_error": result.function_error,
            "stdout": stdout,
            "stderr": stderr,
        }
        answer["logs"] = _fitted_logs(result.logs, lambda logs: json.dumps({**answer, "logs": logs}).encode())
        return answer

    def _invoke(self, held: _Held, payload: bytes, invoking: Callable[[], None]) -> InvokeResult:
        """One invocation in the pool `_hold` gave (and counted busy); `invoking` tells the client it starts."""
        try:
            invoking()
            return held.pool.invoke(payload=payload)
        finally:
            with self.mutex:
                held.busy -= 1
                held.last_used = time.monotonic()

    def _hold(self, request: WarmRequest) -> _Held:
        """The pool of `request`, opened if new; an older build of the same function and options is replaced."""
        key, slot = request.key(), request.slot()
        with self.mutex:
            held = self.pools.get(key)
            if held is not None:
                held.busy += 1
                return held
        held = _Held(request.open_pool(), slot, busy=1)
        with self.mutex:
            for other in self.pools.values():
                other.replaced = other.replaced or other.slot == slot
            self.pools[key] = held
        return held


def _parse(argv: list[str], stdin: bytes | None) -> tuple[argparse.Namespace, bytes, dict[str, str]] | bytes:
    """`build.py ARGV` parsed as lambdafleet.cli does, with its event and variables; or the reply when that is
    all there is to it: a usage or user error, FALLBACK for what the command line must do itself (help for the
    user's terminal, --cold, --debug), NEEDS_STDIN for `--event -` before the client sent it."""
    from lambdafleet.cli import _parser
    from lambdafleet.cli.invoke import event_payload, extra_variables

    if any(arg.startswith(IN_PROCESS) for arg in argv[1:]):  # as the client: not sent by this version
        return FALLBACK
    parser, _ = _parser(("lambdafleet.cli.invoke",))
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            args = parser.parse_args(argv)
    except SystemExit as exit_:  # a usage error: one line, exit code 2
        code = exit_.code if isinstance(exit_.code, int) else 1
        return _done(code, (1, stdout.getvalue()), (2, stderr.getvalue()))
    if args.cold or args.debug or args.debug_port is not None or args.no_debug_wait:
        return FALLBACK
    if args.event == "-" and stdin is None:
        return NEEDS_STDIN
    try:
        text = None if stdin is None else _text(stdin)
        return args, event_payload(args, text), extra_variables(args)
    except UserError as error:
        return _done(2, (2, f"error: {one_line(str(error))}\n"))


def _internal_error(error: Exception) -> str:
    """What lambdafleet.cli.main prints of a bug (cli.print_internal_error): the server's stderr is /dev/null."""
    return "".join(traceback.format_exception(error)) + "internal error: please report it with the traceback above\n"


def _text(stdin: bytes) -> str:
    try:
        return stdin.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError("--event - (stdin): the event is not UTF-8 text") from None


_CUT_NOTE_MAX = 200  # characters: the line that says logs were cut


def _fitted_logs(logs: str, reply: Callable[[str], bytes]) -> str:
    """`logs`, or their end when `reply(logs)` is over MAX_MESSAGE: the invocation has run, and a reply the client
    cannot take would lose its response (and once had the command line run the event again). The end is kept, as
    in Lambda's LogResult."""
    whole = len(reply(logs))
    if whole <= MAX_MESSAGE:
        return logs
    empty = len(reply(""))
    size = whole - empty  # the logs' bytes in the reply (escaped or encoded)
    room = MAX_MESSAGE - empty - _CUT_NOTE_MAX
    start = len(logs) - max(room, 0) * len(logs) // size  # a first guess at the average bytes per character
    while start < len(logs) and (excess := len(reply(logs[start:])) - empty - room) > 0:
        start += excess  # each character cut is at least a byte of the reply
    note = f"[the first {start} characters of these logs are cut: over the warm server's limit; --cold prints all]\n"
    return note + logs[start:]


def _done(code: int, *writes: tuple[int, str]) -> bytes:
    """DONE, the exit code, then each (stream 1 or 2, text) to write in order: its stream, length and bytes."""
    reply = [DONE, bytes([code & 0xFF])]
    for stream, text in writes:
        data = text.encode("utf-8", "surrogateescape")
        reply += [bytes([stream]), len(data).to_bytes(4, "big"), data]
    return b"".join(reply)


def _check(root: str, name: str, region: str, extra_env: dict[str, str]) -> tuple[WarmRequest, str, str] | None:
    """What `build.py invoke` checks before it invokes: the function built if stale, described as a WarmRequest,
    with what the build printed. None when that failed: the client then runs it itself, and reports the error
    exactly as without a server."""
    from lambdafleet.build.syntax import unchecked_warnings
    from lambdafleet.cli.invoke import credentials
    from lambdafleet.runtime.from_repo import built_function

    stdout, stderr = io.StringIO(), io.StringIO()
    unchecked_warnings()  # as the command line does for each command: this one's warnings only
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            function = built_function(Path(root), name)
    except Exception:
        return None
    request = request_for(
        function.spec,
        function.pool_arguments(),
        function.zip_path,
        region=region,
        credentials=credentials(),
        extra_env=extra_env,
    )
    return request, stdout.getvalue(), stderr.getvalue()


def _same_user(connection: socket.socket) -> bool:
    """Whether the connecting process runs as this user (Linux's SO_PEERCRED; elsewhere the folder's mode)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return True
    _, uid, _ = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i")))
    return bool(uid == os.getuid())


def main(path: str) -> None:
    """Serve on the unix socket `path` (the client chose it) until idle."""
    _Server(Path(path)).serve()
