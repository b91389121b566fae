"""Reserved concurrency: a function reserved N concurrent executions (PutFunctionConcurrency, Terraform's
reserved_concurrent_executions) runs at most N invocations at once, every version and alias counted together; one
more is refused with Lambda's 429, and a reservation of 0 refuses every invocation.

Every path into a function (Invoke, asynchronous events, event sources, HTTP APIs, function URLs) goes through
lambdafleet.endpoint.fleet.Fleet.invoke, which admits each invocation here; each caller answers the refusal as its
AWS service does (lambdafleet.endpoint.async_invoke queues a throttled event again).
"""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaFunction, lambda_backends

# Lambda's answer (recorded against AWS in LocalStack's TestLambdaConcurrency snapshots).
THROTTLE_MESSAGE = "Rate Exceeded."
THROTTLE_REASON = "ReservedFunctionConcurrentInvocationLimitExceeded"


class Throttled(LambdaClientError):
    """Lambda's 429 TooManyRequestsException for an invocation beyond the function's reserved concurrency."""

    code = 429

    def __init__(self, function_name: str, reserved: int) -> None:
        super().__init__("TooManyRequestsException", THROTTLE_MESSAGE)
        self.function_name = function_name
        self.reserved = reserved
        # Lambda's body: botocore reads Type and Reason from it (moto adds the x-amzn-ErrorType header).
        document = {"__type": self.error_type, "Type": "User", "message": THROTTLE_MESSAGE, "Reason": THROTTLE_REASON}
        self.description = json.dumps(document)


def reserved_of(function: LambdaFunction) -> int | None:
    """The function's reserved concurrency (on its unqualified function, which every version shares); None: none."""
    try:
        latest = lambda_backends[function.account_id][function.region].get_function(function.function_name)
    except LambdaClientError:  # deleted meanwhile: nothing reserved
        return None
    reserved = getattr(latest, "reserved_concurrency", None)
    return None if reserved is None else int(reserved)


class Reservations:
    """How many invocations of each function run now, held against its reserved concurrency."""

    def __init__(self) -> None:
        """Counts by function ARN (unqualified), only while invocations run."""
        self._running: dict[str, int] = {}
        self._mutex = threading.Lock()

    @contextmanager
    def admitted(self, function: LambdaFunction) -> Iterator[None]:
        """Hold one of the function's executions for the block; raises Throttled when none is free."""
        reserved = reserved_of(function)
        key = f"{function.account_id}:{function.region}:{function.function_name}"
        with self._mutex:
            running = self._running.get(key, 0)
            if reserved is not None and running >= reserved:
                raise Throttled(function.function_name, reserved)
            self._running[key] = running + 1
        try:
            yield
        finally:
            with self._mutex:
                left = self._running[key] - 1
                if left:
                    self._running[key] = left
                else:
                    del self._running[key]
