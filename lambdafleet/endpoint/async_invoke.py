"""Event (asynchronous) invocations: queued, retried on function errors as Lambda does, then routed to the
function's on_success / on_failure destination."""

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaFunction

from lambdafleet.endpoint import destinations, recursion
from lambdafleet.endpoint.concurrency import Throttled
from lambdafleet.endpoint.fleet import Fleet
from lambdafleet.runtime import InvokeResult
from lambdafleet.runtime.pool import PayloadTooLargeError

LOG = logging.getLogger("lambdafleet.endpoint")
# Lambda delivers to a destination with the function's execution role, which needs these (Lambda developer guide,
# "Capturing records of asynchronous invocations": execution role permissions).
_DESTINATION_ACTIONS = {"lambda": "lambda:InvokeFunction", "sqs": "sqs:SendMessage", "sns": "sns:Publish"}
DEFAULT_RETRIES = 2  # Lambda retries a failed asynchronous invocation twice unless configured otherwise
DEFAULT_MAX_AGE_S = 21600
# A throttled event is tried again after retry_delay_s, doubling up to this many times it (Lambda: 1 s to 5 min).
MAX_THROTTLE_BACKOFF = 8


@dataclass
class _Event:
    function: LambdaFunction
    payload: bytes
    invoked_arn: str | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    queued_at: float = field(default_factory=time.monotonic)
    attempts: int = 0
    trace: str | None = None  # its X-Ray trace header (recursion), or what caused it when it was stopped
    looped: bool = False  # recursive loop detection stopped it
    throttles: int = 0  # attempts refused by the function's reserved concurrency (not retry attempts)


def _config(function: LambdaFunction) -> dict[str, Any]:
    """The function's EventInvokeConfig (retries, event age, destinations); {} when none is set."""
    return function.event_invoke_config[0].config if function.event_invoke_config else {}


class AsyncInvoker:
    """Runs Event invocations on worker threads; a failed attempt is retried after `retry_delay_s`, then
    twice that (Lambda waits about a minute, then two)."""

    def __init__(self, fleet: Fleet, *, retry_delay_s: float = 1.0, workers: int = 4) -> None:
        """`workers` bounds how many asynchronous invocations run at once."""
        self._fleet = fleet
        self._retry_delay_s = retry_delay_s
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lambda-event")
        self._timers: set[threading.Timer] = set()
        self._mutex = threading.Lock()
        self._closed = False
        self._pending = 0  # submitted, not yet finished (queued, running or waiting for a retry)
        self._idle = threading.Condition(self._mutex)

    def submit(self, function: LambdaFunction, payload: bytes, invoked_arn: str | None = None) -> str:
        """Queue an invocation of `function` as `invoked_arn` names it, in the chain of what causes it (recursion);
        returns its request id at once, the id every attempt's context and the destination record carry."""
        event = _Event(function, payload, invoked_arn)
        try:
            event.trace = recursion.trace_for(function)
        except recursion.RecursiveInvocation:
            event.trace, event.looped = recursion.current_cause(), True
        with self._mutex:
            self._pending += 1
        self._executor.submit(self._attempt, event)
        return event.request_id

    def _attempt(self, event: _Event) -> None:
        finished = True
        try:
            finished = self._run(event)
        finally:
            if finished:
                with self._mutex:
                    self._pending -= 1
                    self._idle.notify_all()

    def _run(self, event: _Event) -> bool:
        """One attempt; False when a retry was scheduled."""
        if event.looped:
            LOG.warning(
                "%s: recursive loop detected: the chain invoked it more than %d times; the event is dropped "
                "(to its on-failure destination if it has one)",
                event.function.function_name,
                recursion.MAX_INVOCATIONS,
            )
            self._finish(event, "RecursiveInvocationException", None)
            return True
        event.attempts += 1
        try:
            result: InvokeResult | None = self._fleet.invoke(
                event.function,
                event.payload,
                invoked_arn=event.invoked_arn,
                request_id=event.request_id,
                trace_id=event.trace,
            )
        except Throttled as throttled:
            event.attempts -= 1  # it never ran: Lambda does not count a throttle as a retry attempt
            return self._throttled(event, throttled)
        except LambdaClientError as error:
            LOG.warning("%s: asynchronous invocation failed: %s", event.function.function_name, error.message)
            result = None
        except PayloadTooLargeError as error:  # retrying cannot make the event smaller
            LOG.warning("%s: asynchronous invocation refused: %s", event.function.function_name, error)
            return True
        except Exception:
            LOG.exception("%s: asynchronous invocation crashed", event.function.function_name)
            result = None
        if result is not None and not result.function_error:
            self._finish(event, "Success", result)
            return True
        config = _config(event.function)
        if event.attempts > config.get("MaximumRetryAttempts", DEFAULT_RETRIES):
            self._finish(event, "RetriesExhausted", result)
            return True
        delay = self._retry_delay_s * 2 ** (event.attempts - 1)
        if time.monotonic() + delay - event.queued_at > config.get("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE_S):
            self._finish(event, "EventAgeExceeded", result)
            return True
        return self._later(delay, event)

    def _throttled(self, event: _Event, throttled: Throttled) -> bool:
        """Lambda keeps an event its reserved concurrency throttles in the queue and tries again, backing off, until
        the event is too old; with 0 reserved it goes straight to the on-failure destination. False: tried later."""
        if throttled.reserved == 0:
            LOG.warning("%s: reserved concurrency is 0; the event goes to on-failure", event.function.function_name)
            self._finish(event, "ZeroReservedConcurrency", None)
            return True
        event.throttles += 1
        delay = self._retry_delay_s * min(2 ** (event.throttles - 1), MAX_THROTTLE_BACKOFF)
        max_age = _config(event.function).get("MaximumEventAgeInSeconds", DEFAULT_MAX_AGE_S)
        if time.monotonic() + delay - event.queued_at > max_age:
            self._finish(event, "EventAgeExceeded", None)
            return True
        return self._later(delay, event)

    def _later(self, delay: float, event: _Event) -> bool:
        """Schedule a retry; False when it was scheduled, True when the invoker is closed and it is dropped."""

        def fire() -> None:
            with self._mutex:
                self._timers.discard(timer)
                if self._closed:
                    return
            self._executor.submit(self._attempt, event)

        timer = threading.Timer(delay, fire)
        timer.daemon = True
        with self._mutex:
            if self._closed:
                return True
            self._timers.add(timer)
        timer.start()
        return False

    def _finish(self, event: _Event, condition: str, result: InvokeResult | None) -> None:
        kind = "OnSuccess" if condition == "Success" else "OnFailure"
        target = _config(event.function).get("DestinationConfig", {}).get(kind, {}).get("Destination")
        if not target:
            return
        record = destinations.invocation_record(
            event.function, event.request_id, condition, event.attempts, event.payload, result
        )
        if event.looped and target.split(":")[2:3] == ["lambda"]:
            # Invoking it would continue the loop that was just stopped.
            LOG.warning(
                "%s: %s destination %s not invoked: it is in the loop", event.function.function_name, kind, target
            )
            return
        action = _DESTINATION_ACTIONS.get(target.split(":")[2] if target.count(":") >= 5 else "")
        if action and not self._fleet.service_call(event.function, action, target):
            LOG.warning(
                "%s: %s destination %s not delivered: the execution role does not allow %s on it",
                event.function.function_name,
                kind,
                target,
                action,
            )
            return
        try:
            with recursion.caused_by(event.trace):  # a destination function joins the event's chain
                destinations.send(target, record, self.submit)
        except Exception as error:  # a missing queue or function must not stop the worker
            LOG.warning("%s: %s destination %s failed: %s", event.function.function_name, kind, target, error)

    @property
    def pending(self) -> int:
        """Invocations submitted and not finished: queued, running or waiting for a retry."""
        with self._mutex:
            return self._pending

    def drain(self, timeout_s: float) -> int:
        """Wait until every submitted invocation has finished (retries and destinations included), `timeout_s` at
        most; returns how many had not."""
        deadline = time.monotonic() + timeout_s
        with self._mutex:
            while self._pending and (remaining := deadline - time.monotonic()) > 0:
                self._idle.wait(remaining)
            return self._pending

    def close(self) -> None:
        """Drop pending retries and queued invocations; running ones finish."""
        with self._mutex:
            self._closed = True
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)
