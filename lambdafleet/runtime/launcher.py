"""Two ways to start an execution environment's process: a fresh interpreter, or a fork of a warm one.

Both take the environment variables and the write end of the output pipe, and return a handle with
`pid`, `poll()` and `wait()` like subprocess.Popen's.
"""

import json
import socket
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
_FORK_TIMEOUT_S = 30.0


class ProcessHandle(Protocol):
    """The part of subprocess.Popen an environment uses."""

    pid: int

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


class Launcher(Protocol):
    """Starts the processes of one function's environments."""

    def start(self, environment: Mapping[str, str], output: int) -> ProcessHandle: ...

    def wait_ready(self, timeout: float) -> bool: ...

    def close(self) -> None: ...


def bootstrap_command(python: Path, mode: str, arguments: list[str], options: Sequence[str] = ()) -> list[str]:
    """The command line of bootstrap.py (`-S`: no site-packages, no virtualenv; `options`: more of the
    interpreter's own)."""
    return [str(python), "-S", *options, str(BOOTSTRAP), mode, *arguments]


class SpawnLauncher:
    """Starts every environment as a new interpreter: slower, but needs no fork."""

    def __init__(self, python: Path, arguments: list[str], cwd: Path, options: Sequence[str] = ()) -> None:
        self._command = bootstrap_command(python, "run", arguments, options)
        self._cwd = cwd

    def start(self, environment: Mapping[str, str], output: int) -> ProcessHandle:
        """Run bootstrap.py with `environment`, its stdout and stderr on `output`."""
        return subprocess.Popen(
            self._command,
            env=dict(environment),
            cwd=self._cwd,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            start_new_session=True,  # one process group, so a kill takes the function's children too
        )

    def wait_ready(self, timeout: float) -> bool:
        """Always ready."""
        return True

    def close(self) -> None:
        """Nothing to release."""


class ForkServer:
    """A bootstrap.py in `serve` mode with awslambdaric's imports done; each environment is a fork of it.

    Until the server has finished its imports, environments start as new interpreters instead, so the
    first cold start of a pool does not wait for the server.
    """

    def __init__(self, python: Path, arguments: list[str], cwd: Path, environment: Mapping[str, str]) -> None:
        self._fallback = SpawnLauncher(python, arguments, cwd)
        self._ready = False
        self._socket, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._server = subprocess.Popen(
            bootstrap_command(python, "serve", arguments),
            env=dict(environment),
            cwd=cwd,
            stdin=theirs.fileno(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        theirs.close()
        self._mutex = threading.Lock()  # one fork request at a time, so replies pair with requests
        self._state = threading.Condition()
        self._forked: list[int] = []
        self._exits: dict[int, int] = {}
        self._closed = False
        threading.Thread(target=self._read_replies, daemon=True).start()

    def start(self, environment: Mapping[str, str], output: int) -> ProcessHandle:
        """Fork an environment with `environment`, its stdout and stderr on `output`."""
        with self._state:
            if not self._ready or self._closed:  # still importing, or gone: start afresh instead
                return self._fallback.start(environment, output)
        with self._mutex:
            socket.send_fds(self._socket, [json.dumps(dict(environment)).encode()], [output])
            with self._state:
                if not self._state.wait_for(lambda: self._forked or self._closed, _FORK_TIMEOUT_S):
                    raise RuntimeError("the runtime's fork server did not answer")
                if not self._forked:
                    raise RuntimeError(f"the runtime's fork server failed: {self._failure()}")
                return _Forked(self, self._forked.pop())

    def _read_replies(self) -> None:
        while True:
            try:
                reply = self._socket.recv(256).decode()
            except OSError:
                reply = ""
            with self._state:
                if not reply:
                    self._closed = True
                elif reply == "ready":
                    self._ready = True
                elif reply.startswith("pid "):
                    self._forked.append(int(reply.split()[1]))
                else:
                    _, pid, code = reply.split()
                    self._exits[int(pid)] = int(code)
                self._state.notify_all()
            if not reply:
                return

    def wait_ready(self, timeout: float) -> bool:
        """Block until environments are forked rather than started afresh; False if that did not happen."""
        with self._state:
            return self._state.wait_for(lambda: self._ready or self._closed, timeout) and self._ready

    def returncode(self, pid: int) -> int | None:
        """The exit code of a forked environment, None while it runs."""
        with self._state:
            return self._exits.get(pid)

    def wait(self, pid: int, timeout: float | None) -> int:
        """Block until the fork server reports the environment's exit."""
        with self._state:
            if not self._state.wait_for(lambda: pid in self._exits or self._closed, timeout):
                raise subprocess.TimeoutExpired(f"environment {pid}", timeout or 0)
            return self._exits.get(pid, -9)  # the server died first: the child went with its session

    def _failure(self) -> str:
        self._server.wait()
        assert self._server.stderr is not None  # started with stderr=PIPE
        lines = self._server.stderr.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else f"exit code {self._server.returncode}"

    def close(self) -> None:
        """Stop the server; environments it forked are stopped by their own owners."""
        self._socket.close()
        self._server.kill()
        self._server.wait()
        if self._server.stderr is not None:
            self._server.stderr.close()


class _Forked:
    def __init__(self, server: ForkServer, pid: int) -> None:
        self._server = server
        self.pid = pid

    def poll(self) -> int | None:
        return self._server.returncode(self.pid)

    def wait(self, timeout: float | None = None) -> int:
        return self._server.wait(self.pid, timeout)
