"""Two ways to start an execution environment's process: a fresh interpreter, or a fork of a warm one.

Both take the environment variables and the write end of the output pipe, and return a handle with
`pid`, `poll()` and `wait()` like subprocess.Popen's.
"""

import contextlib
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
    """A bootstrap.py in `serve` mode with awslambdaric's imports done, shared by every function that runs on
    one interpreter and runtime dir; each environment is a fork of it that then enters its function's sandbox.

    One server for all functions (not one each) keeps memory per warm function to the environment's own
    pages: the server's imports are shared by every fork.
    """

    def __init__(self, python: Path, runtime_dir: Path) -> None:
        self._ready = False
        self._socket, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._server = subprocess.Popen(
            bootstrap_command(python, "serve", [str(runtime_dir)]),
            env=server_environment(runtime_dir),
            cwd="/",
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
        self.users = 0  # pools using it: see SharedForkServers
        threading.Thread(target=self._read_replies, daemon=True).start()

    def fork(self, arguments: list[str], environment: Mapping[str, str], output: int) -> ProcessHandle | None:
        """Fork an environment running bootstrap.py `run ARGUMENTS` with `environment`, its stdout and stderr on
        `output`; None while the server is still importing, or gone (the caller starts one afresh instead)."""
        with self._state:
            if not self._ready or self._closed:
                return None
        request = json.dumps({"environment": dict(environment), "arguments": arguments}).encode()
        with self._mutex:
            socket.send_fds(self._socket, [request], [output])
            with self._state:
                if not self._state.wait_for(lambda: self._forked or self._closed, _FORK_TIMEOUT_S):
                    raise RuntimeError("the runtime's fork server did not answer")
                if not self._forked:
                    raise RuntimeError(f"the runtime's fork server failed: {self._failure()}")
                return _Forked(self, self._forked.pop())

    def forget(self, arguments: list[str]) -> None:
        """Drop the spare environment kept ready for the function started with `arguments` (its pool closed)."""
        with self._mutex, contextlib.suppress(OSError):  # a server that is gone keeps no spares
            self._socket.send(json.dumps({"forget": arguments}).encode())

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

    @property
    def closed(self) -> bool:
        """Whether the server is gone (killed, or it failed)."""
        with self._state:
            return self._closed

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self._server.pid

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


def server_environment(runtime_dir: Path) -> dict[str, str]:
    """A fork server's variables: what the interpreter reads as it starts, the same for every function (each
    environment then takes its function's own)."""
    return {
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PATH": "/usr/local/bin:/usr/bin/:/bin",
        "LD_LIBRARY_PATH": f"{runtime_dir}:{runtime_dir}/lib",
        "PYTHONPATH": str(runtime_dir),
    }


class SharedForkServers:
    """One ForkServer per (interpreter, runtime dir) in this process, started by the first pool that needs it
    and stopped when the last one is closed."""

    def __init__(self) -> None:
        self._servers: dict[tuple[Path, Path], ForkServer] = {}
        self._mutex = threading.Lock()

    def acquire(self, python: Path, runtime_dir: Path) -> ForkServer:
        """The server for `python` and `runtime_dir` (started now if there is none, or it died)."""
        key = (python, runtime_dir)
        with self._mutex:
            server = self._servers.get(key)
            if server is None or server.closed:
                server = self._servers[key] = ForkServer(python, runtime_dir)
            server.users += 1
            return server

    def release(self, server: ForkServer) -> None:
        """One pool less; the last one stops the server."""
        with self._mutex:
            server.users -= 1
            if server.users > 0:
                return
            for key, known in list(self._servers.items()):
                if known is server:
                    del self._servers[key]
        server.close()


SHARED_SERVERS = SharedForkServers()


class ForkLauncher:
    """Starts one function's environments as forks of the shared server for its interpreter; until that server
    has finished its imports, as new interpreters instead, so the first cold start does not wait for it."""

    def __init__(self, python: Path, arguments: list[str], cwd: Path, runtime_dir: Path) -> None:
        self._fallback = SpawnLauncher(python, arguments, cwd)
        self._arguments = arguments
        self._server = SHARED_SERVERS.acquire(python, runtime_dir)
        self._released = False
        self._release_lock = threading.Lock()

    def start(self, environment: Mapping[str, str], output: int) -> ProcessHandle:
        """Fork an environment with `environment`, its stdout and stderr on `output`."""
        forked = None if self._released else self._server.fork(self._arguments, environment, output)
        return forked or self._fallback.start(environment, output)

    def wait_ready(self, timeout: float) -> bool:
        """Block until environments are forked rather than started afresh; False if that did not happen."""
        return self._server.wait_ready(timeout)

    def close(self) -> None:
        """Let go of the shared server (the last function to do so stops it), once however many threads close."""
        with self._release_lock:
            released, self._released = self._released, True
        if not released:
            self._server.forget(self._arguments)
            SHARED_SERVERS.release(self._server)


class _Forked:
    def __init__(self, server: ForkServer, pid: int) -> None:
        self._server = server
        self.pid = pid

    def poll(self) -> int | None:
        return self._server.returncode(self.pid)

    def wait(self, timeout: float | None = None) -> int:
        return self._server.wait(self.pid, timeout)
