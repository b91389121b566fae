"""One execution environment: a runtime process, its Runtime API server, its limits and its output."""

import contextlib
import math
import os
import select
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lambdafleet.runtime import faults
from lambdafleet.runtime.debug import DEBUG_TIMEOUT_S, Debugger
from lambdafleet.runtime.faults import Fault
from lambdafleet.runtime.interpreter import Interpreter
from lambdafleet.runtime.lambda_env import lambda_environment
from lambdafleet.runtime.launcher import Launcher
from lambdafleet.runtime.memory import peak_mib, resident_mib
from lambdafleet.runtime.sandbox import HAS_PROC, EnvironmentProcesses
from lambdafleet.runtime.server import Invocation, RuntimeApiServer
from lambdafleet.runtime.spec import FunctionSpec

INIT_TIMEOUT_S = 10.0  # Lambda's limit on the init phase of an on-demand function
# How often memory and deadlines are checked while an invocation runs; responses do not wait for it.
_POLL_S = 0.005
# How often the memory of the function's child processes is added in: a walk of the environment's process tree
# (sandbox._tree), too slow for each poll. Invocations shorter than this never pay for it.
_SESSION_POLL_S = 0.05
# Upper bound on how long a connection to the Runtime API waits for the environment's process to exist.
_ADMIT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Launch:
    """Everything an environment needs that is shared by all environments of one function."""

    spec: FunctionSpec
    interpreter: Interpreter
    runtime_dir: Path
    task_root: Path
    opt_dir: Path  # the function's layers, merged (empty without layers): /opt in the sandbox
    region: str
    credentials: Mapping[str, str] | None
    extra_env: Mapping[str, str]
    interpreter_bin: Path | None = None
    debugger: Debugger | None = None
    debugger_dir: Path | None = None  # debugpy for the interpreter, with `debugger`

    @property
    def timeout_s(self) -> float:
        """The function's timeout; under a debugger, SAM's 10 hours (a paused function must not be killed)."""
        return DEBUG_TIMEOUT_S if self.debugger else self.spec.timeout

    def environment(self, api_address: str) -> dict[str, str]:
        """The variables of an environment whose Runtime API listens on `api_address` (a new log stream)."""
        return lambda_environment(
            self.spec,
            task_root=self.task_root,
            runtime_dir=self.runtime_dir,
            opt_dir=self.opt_dir,
            api_address=api_address,
            region=self.region,
            credentials=self.credentials,
            extra=self.extra_env,
            interpreter_bin=self.interpreter_bin,
        )

    def bootstrap_arguments(self) -> list[str]:
        """bootstrap.py's arguments after its mode."""
        spec = self.spec
        paths = [str(self.task_root), str(self.runtime_dir), str(self.opt_dir)]
        failure = spec.start_failure.argument() if spec.start_failure else ""
        arguments = [*paths, spec.working_directory, failure, str(spec.ephemeral_storage), spec.handler]
        if self.debugger is not None:
            assert self.debugger_dir is not None, "a debugger needs debugpy's folder"
            arguments += self.debugger.bootstrap_arguments(str(self.debugger_dir))
        return arguments


@dataclass(frozen=True)
class InvocationOutcome:
    """What happened to one invocation inside an environment, before it is formatted for the caller."""

    payload: bytes
    function_error: bool
    fault: Fault | None
    init_output: bytes | None  # only on a cold start
    output: bytes
    duration_ms: float
    init_duration_ms: float | None  # a cold start whose init phase succeeded
    max_memory_mib: int
    log_stream: str  # the environment's AWS_LAMBDA_LOG_STREAM_NAME
    environment_started_at: float  # time.time() when the environment started: INIT_START's timestamp
    init_failed: bool = False  # a cold start that never got its event: the init phase is what ran


class EnvironmentGone(Exception):
    """A warm environment's runtime had exited before it took the event: the event goes to another one."""


def deadline(
    *,
    timeout_s: float,
    started_at: float,
    submitted_at: float,
    delivered_at: float | None,
    cold: bool,
    init_timeout_s: float = INIT_TIMEOUT_S,
) -> float:
    """When an invocation runs out of time (time.monotonic()).

    The function's timeout runs from the moment its event was delivered, as on Lambda. Before that, a cold
    environment is in its init phase (Lambda's 10 s limit from its start); a warm one is finishing the
    previous invocation's bookkeeping, bounded the same way but from when the event was queued: never from
    the environment's start, which may be long ago.
    """
    if delivered_at is not None:
        return delivered_at + timeout_s
    return (started_at if cold else submitted_at) + init_timeout_s


class _Descriptor:
    """A file descriptor with a single owner: closed at most once, and never read or written after that.

    A descriptor number is reused by the next file the process opens, so a second close, or a late write from
    another thread (a Runtime API thread waking an environment already closed), would reach someone else's file
    in the endpoint's process (its HTTP server's trigger pipe, a connection, another environment's pipe). Every
    use takes the lock and sees -1 once closed.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()

    def fileno(self) -> int:
        """The number, for select(); -1 once closed."""
        return self._fd

    @property
    def closed(self) -> bool:
        """Whether it was closed (by anyone)."""
        return self._fd < 0

    def read(self, size: int) -> bytes:
        """Up to `size` bytes; b"" once closed, as at end of file."""
        with self._lock:
            return os.read(self._fd, size) if self._fd >= 0 else b""

    def write(self, data: bytes) -> None:
        """Write without blocking (see `nonblocking`); nothing once closed."""
        with self._lock:
            if self._fd >= 0:
                with contextlib.suppress(BlockingIOError):  # a full wake-up pipe already wakes its reader
                    os.write(self._fd, data)

    def nonblocking(self) -> "_Descriptor":
        """Itself, set not to block: a write under the lock must not wait for the reader."""
        os.set_blocking(self._fd, False)
        return self

    def close(self) -> None:
        """Close it, once: the number is forgotten before it is released."""
        with self._lock:
            fd, self._fd = self._fd, -1
            if fd >= 0:
                os.close(fd)


def _pipe() -> tuple[_Descriptor, _Descriptor]:
    read, write = os.pipe()
    return _Descriptor(read), _Descriptor(write)


class ExecutionEnvironment:
    """A runtime process that serves invocations one at a time until it dies or is closed."""

    def __init__(self, launch: Launch, launcher: Launcher) -> None:
        self._launch = launch
        self._closed = False
        self._closing = threading.Lock()
        self._wake_read, wake_write = _pipe()
        self._wake_write = wake_write.nonblocking()
        self._started = threading.Event()
        self._processes: EnvironmentProcesses | None = None
        self.server = RuntimeApiServer(
            wake=lambda: self._wake_write.write(b"."), admit=self._admit if HAS_PROC else None
        )
        self._stdout, output = _pipe()
        self._started_at = time.monotonic()
        self._started_wall = time.time()
        environment = launch.environment(self.server.address)
        self.log_stream = environment["AWS_LAMBDA_LOG_STREAM_NAME"]
        try:
            self._process = launcher.start(environment, output.fileno())
            self._processes = EnvironmentProcesses(self._process.pid)
        except BaseException:
            self.server.close()  # nothing started: release what this environment opened, once
            for descriptor in (self._stdout, self._wake_read, self._wake_write):
                descriptor.close()
            raise
        finally:
            output.close()
            self._started.set()
        self._output = bytearray()
        self._init_output: bytes | None = None
        self._peak_mib = 0
        self._session_polled_at = 0.0
        self._submitted_at = self._started_at
        self._invocations = 0

    def _admit(self, client_port: int, server_port: int) -> bool:
        """Only the environment's own processes may talk to its Runtime API (not another function's)."""
        if not self._started.wait(_ADMIT_TIMEOUT_S) or self._processes is None:
            return False
        return self._processes.holds_connection(client_port, server_port)

    @property
    def alive(self) -> bool:
        """Whether the process can take another invocation."""
        return self._process.poll() is None

    def invoke(self, invocation: Invocation) -> InvocationOutcome:
        """Run one invocation to its end: a response, an error, a timeout, a crash or memory exhaustion.

        Raises EnvironmentGone when a warm environment's runtime exited before taking the event (it ended
        after its previous invocation, e.g. once its response was refused as too large).
        """
        cold = self._invocations == 0
        self._invocations += 1
        self._submitted_at = time.monotonic()
        self.server.submit(invocation)
        self._session_polled_at = time.monotonic()
        fault = None
        while fault is None:
            self._pump(_POLL_S)
            if invocation.done.is_set():  # answered: no process or deadline check to pay for
                fault = self._over_memory(invocation)
                break
            fault = self._check(invocation, cold)
        if fault is None:
            self._drain()
        else:
            self.kill()
        return self._outcome(invocation, fault, cold)

    def _over_memory(self, invocation: Invocation) -> Fault | None:
        """A function that answered between two polls was still over its memory at some point if its peak says so:
        Lambda would have stopped it there."""
        processes = self._processes
        peak = peak_mib(processes.runtime()) if processes is not None else None
        self._peak_mib = max(self._peak_mib, peak or 0)
        if peak is not None and peak > self._launch.spec.memory_size and self._launch.debugger is None:
            return faults.out_of_memory(invocation.request_id)
        return None

    def _check(self, invocation: Invocation, cold: bool) -> Fault | None:
        """A fault that ends the invocation, if one happened."""
        request_id = invocation.request_id
        if self.server.init_error is not None:
            return faults.init_failed(self.server.init_error, request_id)
        returncode = self._process.poll()
        if returncode is not None:
            self._drain()
            if invocation.done.is_set():
                return None
            if not cold and invocation.delivered_at is None:
                raise EnvironmentGone(f"runtime exited with {returncode} between invocations")
            return faults.exited(request_id, returncode)
        rss = self._resident_mib()
        if rss is not None:
            # Kept as well as the kernel's high-water mark, which is gone once the process is killed.
            self._peak_mib = max(self._peak_mib, math.ceil(rss))
            # Under a debugger, its own processes (debugpy's adapter) count too: the limit would only get in the way.
            if rss > self._launch.spec.memory_size and self._launch.debugger is None:
                return faults.out_of_memory(request_id)
        timeout_s = self._launch.timeout_s
        limit = deadline(
            timeout_s=timeout_s,
            started_at=self._started_at,
            submitted_at=self._submitted_at,
            delivered_at=invocation.delivered_at,
            cold=cold,
            init_timeout_s=timeout_s if self._launch.debugger else INIT_TIMEOUT_S,  # waiting for the client is init
        )
        if time.monotonic() > limit:
            return faults.timed_out(request_id, timeout_s)
        return None

    def _resident_mib(self) -> float | None:
        """The process's resident memory; every _SESSION_POLL_S, its whole session's (its children's too)."""
        processes = self._processes
        assert processes is not None
        rss = resident_mib(processes.runtime())
        now = time.monotonic()
        if rss is None or now - self._session_polled_at < _SESSION_POLL_S or not HAS_PROC:
            return rss
        self._session_polled_at = now
        # max: the runtime may not be known yet, and then only the started process counts.
        return max(rss, processes.resident_mib())

    def _pump(self, timeout: float) -> None:
        """Wait up to `timeout` for output or a report from the server, and take in what arrived."""
        watched = [fd for fd in (self._wake_read, self._stdout) if not fd.closed]
        readable, _, _ = select.select(watched, [], [], timeout)
        if self._wake_read in readable:
            self._wake_read.read(4096)
        if self._stdout in readable:
            self._read_output()
        if self._init_output is None and self.server.ready_at is not None:
            # The runtime printed its init logs before asking for the first event, so all are in the
            # pipe; the server holds that event back until they are set apart.
            self._drain()
            self._init_output, self._output = bytes(self._output), bytearray()
            self.server.init_collected.set()

    def _read_output(self) -> None:
        chunk = self._stdout.read(65536)
        if chunk:
            self._output += chunk
        else:
            self._stdout.close()  # end of file: the process and any children closed their output

    def _drain(self) -> None:
        """Take in everything already written to the pipe, without waiting for more."""
        while not self._stdout.closed and select.select([self._stdout], [], [], 0)[0]:
            self._read_output()

    def _outcome(self, invocation: Invocation, fault: Fault | None, cold: bool) -> InvocationOutcome:
        payload: bytes | None
        if fault is not None:
            payload, function_error = fault.payload(), True
        else:
            payload = invocation.response if invocation.error is None else invocation.error
            function_error = invocation.error is not None
        delivered_at = invocation.delivered_at
        end = invocation.finished_at or time.monotonic()
        init_output = init_duration_ms = None
        if cold:
            init_output, self._init_output = self._init_output or b"", b""
        if delivered_at is not None:
            start = delivered_at
            if cold:
                init_duration_ms = ((self.server.ready_at or delivered_at) - self._started_at) * 1000
        else:  # never delivered: a failed init phase (cold), or a warm runtime that never asked for it
            start = self._started_at if cold else self._submitted_at
        output, self._output = bytes(self._output), bytearray()
        return InvocationOutcome(
            payload=payload or b"null",
            function_error=function_error,
            fault=fault,
            init_output=init_output,
            output=output,
            duration_ms=max(end - start, 0.0) * 1000,
            init_duration_ms=init_duration_ms,
            max_memory_mib=self._peak_mib,
            log_stream=self.log_stream,
            environment_started_at=self._started_wall,
            init_failed=cold and delivered_at is None,
        )

    def terminate(self) -> None:
        """Kill every process of the environment, from any thread: the thread running its invocation sees the
        runtime exit, ends the invocation and cleans up."""
        if self._processes is not None:
            self._processes.kill()

    def kill(self) -> None:
        """Stop the process and everything it started."""
        # Every descendant, even when the runtime itself already exited: its children may not have.
        if self._processes is not None:
            self._processes.kill()
        self._process.wait()
        self._drain()

    def close(self) -> None:
        """Kill the process and release the server, pipes and port; once (a second call does nothing)."""
        with self._closing:
            if self._closed:
                return
            self._closed = True
        self.kill()
        self.server.close()
        for descriptor in (self._stdout, self._wake_read, self._wake_write):
            descriptor.close()
