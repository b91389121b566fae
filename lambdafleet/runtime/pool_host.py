"""Function pools in a process of their own: the endpoint's interpreter lock stays free for HTTP.

A pool's work per invocation (its Runtime API server, the environment's polling, the platform log lines) took
about 70 % of the endpoint's CPU on a busy HTTP route, all of it under the endpoint's one interpreter lock; in
another process it runs on the machine's other core (issue 18). `PoolHost` starts that process and forwards
`FunctionPool` calls to it; `RemotePool` has the part of `FunctionPool`'s interface the endpoint uses. Each calling
thread has a connection of its own: a socket pair whose other end goes to the host over the control socket
(SCM_RIGHTS), so nothing but the endpoint can reach the host. Each message is a 4-byte length and a pickle; the host
exits when the control socket closes (the endpoint stopped, or was killed), taking every environment with it,
busy or not, so nothing outlives the endpoint.

    python -m lambdafleet.runtime.pool_host FD   # FD: the host's end of the control socket pair
"""

import contextlib
import functools
import itertools
import logging
import os
import pickle
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lambdafleet.runtime.pool import FunctionPool
from lambdafleet.runtime.result import InvokeResult

LOG = logging.getLogger("lambdafleet.runtime")
_LENGTH = struct.Struct("!I")
_CHUNK = 65536  # a whole small message in one read
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding `lambdafleet`


def _send(sock: socket.socket, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_LENGTH.pack(len(data)) + data)


def _receive(sock: socket.socket) -> Any:
    """The next message on `sock`, or None once the other end closed it: one recv for a small message. A
    connection carries one message at a time each way (a request, then its answer), so a read never takes in part
    of the next one."""
    data = bytearray()
    size = None
    while size is None or len(data) < _LENGTH.size + size:
        chunk = sock.recv(_CHUNK if size is None else max(_LENGTH.size + size - len(data), _CHUNK))
        if not chunk:
            return None
        data += chunk
        if size is None and len(data) >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(data)
    return pickle.loads(memoryview(data)[_LENGTH.size :])


def _readable(sock: socket.socket, wait_s: float) -> bool:
    """Whether `sock` has data (or end of file) within `wait_s` seconds: poll, as select() refuses a descriptor
    over FD_SETSIZE (1024)."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(wait_s * 1000))


class HostGone(RuntimeError):
    """The pool host exited: its pools and their environments are gone. `delivered` is False when the request
    never reached a host that could have run it (the caller may open the pool again and retry)."""

    def __init__(self, message: str, *, delivered: bool = False) -> None:
        super().__init__(message)
        self.delivered = delivered


class RemoteTraceback(Exception):
    """Where an error raised in the host came from: the cause of the error the caller raises (a pickled
    exception has no traceback), as concurrent.futures does for a process pool's."""

    def __str__(self) -> str:
        return str(self.args[0])


class Pending(Exception):
    """The host has not answered yet: `finish()` waits for the answer and returns it (or raises it)."""

    def __init__(self, finish: Callable[[], Any]) -> None:
        super().__init__("no answer yet")
        self.finish = finish


class PoolHost:
    """The endpoint's side: starts the host process on first use and forwards calls to it from any thread.

    Each calling thread borrows a connection of its own (a socket pair whose other end was passed to the host,
    which serves it on a thread of its own): a call is one write and one blocking read on each side, no thread
    hands it to another.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._free: list[socket.socket] = []  # connections no call is using
        self._ids = itertools.count(1)
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None  # passes the host its end of each new connection
        self._generation = 0  # how many hosts were started: a pool lives and dies with its host
        self._closed = False

    def open(self, **arguments: Any) -> "RemotePool":
        """A FunctionPool built in the host from `FunctionPool`'s keyword arguments; raises what its constructor
        raises (UserError when the function cannot run here)."""
        pool_id = next(self._ids)
        generation = self._call(None, "open", pool_id, arguments)
        return RemotePool(self, pool_id, generation)

    def _call(self, generation: int | None, operation: str, *arguments: Any, wait_s: float | None = None) -> Any:
        """Ask the host of `generation` (None: the current one, started if need be); the answer's value, or for
        "open" the host's generation. With `wait_s`, raises Pending when no answer came within that many seconds."""
        connection, current = self._borrow(generation)
        try:
            _send(connection, (operation, arguments))
        except OSError as error:
            connection.close()
            raise HostGone(f"the pool host is gone: {error}") from None
        if wait_s is not None and not _readable(connection, wait_s):
            raise Pending(functools.partial(self._answer, connection))
        value = self._answer(connection)
        return current if operation == "open" else value

    def _answer(self, connection: socket.socket) -> Any:
        """The answer on `connection` (raised when it is an error); the connection is free again after it."""
        try:
            answer = _receive(connection)
        except OSError as error:
            answer = None
            LOG.warning("pool host connection: %s", error)
        if answer is None:
            connection.close()
            raise HostGone("the pool host exited", delivered=True)
        with self._mutex:
            if self._closed:
                connection.close()
            else:
                self._free.append(connection)
        failed, value = answer
        if failed:
            raised, where = value
            raise raised from RemoteTraceback(where)
        return value

    def _borrow(self, generation: int | None) -> tuple[socket.socket, int]:
        """A connection to the current host, and its generation; HostGone when that is not `generation`."""
        with self._mutex:
            if self._closed:
                raise HostGone("the pool host is closed")
            if not self._running():
                if generation is not None:
                    raise HostGone("the pool host exited")  # with the pool: a new host would not know it
                self._start()
            if generation is not None and generation != self._generation:
                raise HostGone("the pool host exited")
            if self._free:
                return self._free.pop(), self._generation
            assert self._control is not None
            mine, theirs = socket.socketpair()
            try:
                socket.send_fds(self._control, [b"c"], [theirs.fileno()])
            except OSError as error:
                mine.close()
                raise HostGone(f"the pool host is gone: {error}") from None
            finally:
                theirs.close()
            return mine, self._generation

    def _running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _start(self) -> None:
        """Start the host (under self._mutex); a host that exited took its pools with it."""
        for connection in self._free:
            connection.close()
        self._free = []
        if self._control is not None:
            self._control.close()
        if self._process is not None:
            self._process.wait()  # it exited: reap it
        mine, theirs = socket.socketpair()
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PACKAGE_ROOT), environment.get("PYTHONPATH")]))
        self._process = subprocess.Popen(
            [sys.executable, "-m", "lambdafleet.runtime.pool_host", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            env=environment,
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self._control = mine
        self._generation += 1

    def close(self) -> None:
        """Stop every pool's environments and the host; waits for it to exit."""
        with self._mutex:
            self._closed = True
            control, process, free, self._free = self._control, self._process, self._free, []
        for connection in free:
            connection.close()
        if control is None or process is None:
            return
        control.shutdown(socket.SHUT_WR)  # end of file: the host closes its pools and exits
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        control.close()


class RemotePool:
    """A FunctionPool living in the pool host: `invoke` and `close` as FunctionPool's."""

    def __init__(self, host: PoolHost, pool_id: int, generation: int) -> None:
        self._host = host
        self._id = pool_id
        self._generation = generation

    def invoke(self, *, wait_s: float | None = None, **arguments: Any) -> InvokeResult:
        """FunctionPool.invoke's keyword arguments; raises what it raises, and HostGone when the host exited. With
        `wait_s`, Pending when the function has not answered within that many seconds (it runs on)."""
        result: InvokeResult = self._host._call(self._generation, "invoke", self._id, arguments, wait_s=wait_s)
        return result

    def close(self) -> None:
        """Stop the pool's idle environments (busy ones when they finish)."""
        with contextlib.suppress(HostGone):  # its environments went with the host
            self._host._call(self._generation, "close", self._id)


class _Host:
    """The host process's side: one FunctionPool per pool id; each connection served on a thread of its own."""

    def __init__(self, control: socket.socket) -> None:
        control.set_inheritable(False)  # pass_fds made it inheritable: nothing the host starts may reach the endpoint
        self._control = control
        self._pools: dict[int, FunctionPool] = {}
        self._mutex = threading.Lock()

    def serve(self) -> None:
        """Take connections until the endpoint closes the control socket (it stopped, or it died), then stop every
        pool's environments, busy ones too: nobody is left to take their answers."""
        while True:
            try:
                _, fds, _, _ = socket.recv_fds(self._control, 16, 1)
            except OSError:
                break
            if not fds:
                break  # end of file
            connection = socket.socket(fileno=fds[0])
            connection.set_inheritable(False)  # received descriptors are inheritable, and this one carries pickles
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()
        with self._mutex:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close(stop_busy=True)

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            while True:
                try:
                    message = _receive(connection)
                except OSError:
                    return
                if message is None:
                    return
                try:
                    answer = (False, self._perform(*message))
                except BaseException as error:  # the caller raises it, with this traceback as its cause
                    answer = (True, (_picklable(error), "".join(traceback.format_exception(error))))
                try:
                    _send(connection, answer)
                except OSError:
                    return

    def _perform(self, operation: str, arguments: tuple[Any, ...]) -> Any:
        if operation == "invoke":
            pool_id, keywords = arguments
            return self._pools[pool_id].invoke(**keywords)
        if operation == "open":
            pool_id, keywords = arguments
            pool = FunctionPool(keywords.pop("spec"), keywords.pop("zip_path"), **keywords)
            with self._mutex:
                self._pools[pool_id] = pool
            return None
        if operation == "close":
            with self._mutex:
                pool = self._pools.pop(arguments[0])
            pool.close()
            return None
        raise ValueError(f"unknown operation {operation!r}")


def _picklable(error: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


def main(argv: list[str]) -> int:
    """Serve on the inherited socket `argv[0]` until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the endpoint stops the host
    logging.basicConfig(level=logging.WARNING)
    _Host(socket.socket(fileno=int(argv[0]))).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
