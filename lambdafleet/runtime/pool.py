"""A function's execution environments: warm ones are reused, more start when invocations overlap."""

import json
import secrets
import sys
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from lambdafleet.errors import UserError
from lambdafleet.runtime import platform_log, sandbox, task_root
from lambdafleet.runtime.debug import Debugger, interpreter_options
from lambdafleet.runtime.environment import EnvironmentGone, ExecutionEnvironment, InvocationOutcome, Launch
from lambdafleet.runtime.interpreter import find_interpreter
from lambdafleet.runtime.launcher import ForkLauncher, Launcher, SpawnLauncher
from lambdafleet.runtime.log_records import as_text, split_records
from lambdafleet.runtime.provision import debugger_dir, interpreter_bin, runtime_dir
from lambdafleet.runtime.result import InvokeResult
from lambdafleet.runtime.server import Invocation
from lambdafleet.runtime.spec import FunctionSpec

# Lambda's limit on a synchronous request, and its wording when a payload exceeds it.
MAX_REQUEST_BYTES = 6291456
ACCOUNT_ID = "123456789012"
# How many environments an event may find already exited before it is given a fresh one.
_GONE_RETRIES = 3


class PayloadTooLargeError(UserError):
    """The event is bigger than Lambda accepts for a synchronous invocation."""


class FunctionPool:
    """Runs one function's zip in up to `max_environments` parallel execution environments."""

    def __init__(
        self,
        spec: FunctionSpec,
        zip_path: Path,
        *,
        cache_dir: Path,
        region: str = "us-east-1",
        credentials: Mapping[str, str] | None = None,
        extra_env: Mapping[str, str] | None = None,
        max_environments: int = 8,
        source: str | None = None,
        fork_server: bool | None = None,
        zip_sha256: str | None = None,
        layers: Sequence[task_root.Archive] = (),
        debugger: Debugger | None = None,
    ) -> None:
        """Find the interpreter, provision the runtime and unpack the zip and its layers; no process starts yet.

        `zip_sha256` is the zip's SHA-256 in hex when the caller knows it (saves hashing it); `layers` are the
        function's layer zips in the order Lambda extracts them into /opt. `source` names the function's
        configuration in error messages. `fork_server` (default: on Linux) forks environments from a process
        that has the runtime loaded, instead of starting an interpreter for each. `debugger`: each environment
        listens for a debugger (debug.py): one at a time, started afresh. Raises UserError when the function
        cannot run on this machine or the zip is unreadable.
        """
        self.spec = spec
        interpreter = find_interpreter(
            spec.runtime, spec.architecture, source=source or str(zip_path), cache_dir=cache_dir.resolve()
        )
        runtime = runtime_dir(interpreter, cache_dir.resolve())
        if debugger is not None:
            fork_server, max_environments = False, 1  # one port: one environment, which must start with debugpy
        self._launch = Launch(
            spec=spec,
            interpreter=interpreter,
            runtime_dir=runtime,
            task_root=task_root.unpack(zip_path, cache_dir.resolve(), zip_sha256),
            opt_dir=task_root.unpack_layers(layers, cache_dir.resolve()),
            region=region,
            credentials=credentials,
            extra_env=dict(extra_env or {}),
            interpreter_bin=interpreter_bin(interpreter, runtime),
            debugger=debugger,
            debugger_dir=debugger_dir(interpreter, cache_dir.resolve()) if debugger else None,
        )
        self._launcher = _launcher(self._launch, sys.platform == "linux" if fork_server is None else fork_server)
        self._runtime_version = platform_log.runtime_version(interpreter.version, self._launch.runtime_dir, region)
        self.function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{spec.name}"  # unqualified
        self._max = max_environments
        self._idle: list[ExecutionEnvironment] = []
        self._busy: set[ExecutionEnvironment] = set()
        self._count = 0
        self._closed = False
        self._mutex = threading.Condition(threading.RLock())  # re-entrant: _forget runs under it too

    def invoke(
        self,
        event: Any = None,
        *,
        payload: bytes | None = None,
        client_context: Mapping[str, Any] | None = None,
        invoked_function_arn: str | None = None,
        request_id: str | None = None,
        trace_id: str | None = None,
    ) -> InvokeResult:
        """Invoke synchronously with `event` (JSON-encoded here) or raw `payload` bytes; `trace_id` is the X-Ray
        trace header the function sees (_X_AMZN_TRACE_ID, which its AWS SDK forwards), default a new root.

        `invoked_function_arn` is the ARN the caller used (qualified with a version or alias, as Lambda
        passes it on; default: the unqualified ARN); `request_id` one chosen by the caller (an asynchronous
        invocation keeps one id across its retries). Blocks until the function returns, fails or times out;
        safe to call from several threads. Raises PayloadTooLargeError for a request Lambda would refuse.
        """
        body = payload if payload is not None else json.dumps(event).encode()
        if len(body) > MAX_REQUEST_BYTES:
            raise PayloadTooLargeError(
                f"{self.spec.name}: Request must be smaller than {MAX_REQUEST_BYTES} bytes for the "
                f"InvokeFunction operation (got {len(body)} bytes)"
            )
        invocation = Invocation(
            request_id=request_id or str(uuid.uuid4()),
            payload=body,
            timeout_s=self._launch.timeout_s,
            function_arn=invoked_function_arn or self.function_arn,
            client_context=json.dumps(client_context) if client_context else "",
            trace_id=trace_id or f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Sampled=0",
        )
        for attempt in range(_GONE_RETRIES + 1):
            environment = self._acquire(fresh=attempt == _GONE_RETRIES)
            try:
                outcome = environment.invoke(invocation)
                break
            except EnvironmentGone:
                continue  # the event never reached it: Lambda hands it to another environment
            finally:
                self._release(environment)
        return self._result(invocation, outcome)

    def _acquire(self, fresh: bool = False) -> ExecutionEnvironment:
        with self._mutex:
            while True:
                if self._closed:
                    raise RuntimeError(f"the pool of {self.spec.name} is closed")
                while self._idle and not fresh:
                    environment = self._idle.pop()  # the most recently used, as Lambda prefers
                    if environment.alive:
                        self._busy.add(environment)
                        return environment
                    self._forget(environment)  # it died while idle (a background thread exited it)
                if self._count < self._max:
                    self._count += 1
                    break
                self._mutex.wait()
        try:
            environment = ExecutionEnvironment(self._launch, self._launcher)
        except BaseException:
            self._forget(None)
            raise
        with self._mutex:
            self._busy.add(environment)
        return environment

    def _release(self, environment: ExecutionEnvironment) -> None:
        with self._mutex:
            self._busy.discard(environment)
            if environment.alive and not self._closed:
                self._idle.append(environment)
                self._mutex.notify()
                return
        self._forget(environment)

    def _forget(self, environment: ExecutionEnvironment | None) -> None:
        if environment is not None:
            environment.close()
        with self._mutex:
            self._count -= 1
            self._mutex.notify()

    def _result(self, invocation: Invocation, outcome: InvocationOutcome) -> InvokeResult:
        spec, request_id = self.spec, invocation.request_id
        log_format = spec.logging_format
        # Platform lines end with a newline in CloudWatch; the runtime's records stay exactly as it framed them.
        events: list[str] = []
        if outcome.init_output is not None:  # a new environment
            function = (spec.name, spec.version)
            started = outcome.environment_started_at
            events += _lines(platform_log.init_start_lines(log_format, self._runtime_version, function, started))
            events += split_records(outcome.init_output)
            events += _lines(platform_log.init_report_lines(log_format, outcome))
        events += _lines(platform_log.start_lines(log_format, request_id, spec.version, invocation.started_at))
        events += split_records(outcome.output)
        events += _lines(platform_log.end_lines(log_format, request_id, spec.memory_size, outcome))
        status = outcome.fault.status if outcome.fault else ("error" if outcome.function_error else "success")
        return InvokeResult(
            request_id=request_id,
            payload=outcome.payload,
            function_error=outcome.function_error,
            logs=as_text(events),
            duration_ms=outcome.duration_ms,
            billed_duration_ms=platform_log.billed_ms(outcome),
            init_duration_ms=outcome.init_duration_ms,
            max_memory_used_mb=outcome.max_memory_mib,
            status=status,
            log_events=tuple(events),
            log_stream=outcome.log_stream,
        )

    @property
    def debugger(self) -> Debugger | None:
        """The debugger its environments listen for, if any."""
        return self._launch.debugger

    def remote_task_root(self) -> str:
        """Where the function's code is as its environments (and a debugger's path mappings) see it: /var/task
        in the sandbox, else the unpacked zip's host path."""
        sandboxed = sandbox.unavailable(str(self._launch.interpreter.path)) is None
        return sandbox.TASK_ROOT if sandboxed else str(self._launch.task_root)

    @property
    def environments(self) -> int:
        """How many execution environments exist right now (busy or idle)."""
        with self._mutex:
            return self._count

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """Block until cold starts are forks of the warmed-up fork server (True at once without one)."""
        return self._launcher.wait_ready(timeout)

    def recycle(self) -> None:
        """Stop the idle environments, as Lambda does when it reclaims them: the next call starts cold."""
        with self._mutex:
            idle, self._idle = self._idle, []
        for environment in idle:
            self._forget(environment)

    def close(self, *, stop_busy: bool = False) -> None:
        """Stop every idle environment; busy ones stop when they finish, except under a debugger: paused at a
        breakpoint, one might never finish, and it holds the debugger's port (its invocation ends as a crash,
        Runtime.ExitError). With `stop_busy` (nobody waits for their answers: the endpoint is gone), busy ones are
        stopped as well. The unpacked zip and layers stay in the cache, shared by content with other pools."""
        with self._mutex:
            self._closed = True
            busy = list(self._busy) if self._launch.debugger or stop_busy else []
        for environment in busy:
            environment.terminate()
        self.recycle()
        self._launcher.close()

    def __enter__(self) -> "FunctionPool":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def _launcher(launch: Launch, fork_server: bool) -> Launcher:
    python, arguments, cwd = launch.interpreter.path, launch.bootstrap_arguments(), launch.task_root
    if launch.debugger is not None:
        return SpawnLauncher(python, arguments, cwd, interpreter_options(launch.interpreter.version))
    if fork_server:
        return ForkLauncher(python, arguments, cwd, launch.runtime_dir)
    return SpawnLauncher(python, arguments, cwd)


def _lines(lines: list[str]) -> list[str]:
    return [line + "\n" for line in lines]
