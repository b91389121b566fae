"""What an invocation gives back to the caller."""

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InvokeResult:
    """The response or error of one invocation, its logs and its timings."""

    request_id: str
    payload: bytes  # the response body, or Lambda's error document when `function_error`
    function_error: bool  # Lambda's X-Amz-Function-Error: the function (or its environment) failed
    logs: str  # platform and function log lines, as Lambda would send them to CloudWatch
    duration_ms: float
    billed_duration_ms: int
    init_duration_ms: float | None  # set on a cold start
    max_memory_used_mb: int
    status: str  # "success", "error" or "timeout"
    log_events: tuple[str, ...] = ()  # `logs` as CloudWatch events: one per runtime record or printed line
    log_stream: str = ""  # the execution environment's log stream (its AWS_LAMBDA_LOG_STREAM_NAME)

    @property
    def response(self) -> Any:
        """The decoded response; raises ValueError when the invocation failed."""
        if self.function_error:
            raise ValueError(f"invocation {self.request_id} failed: {self.payload.decode(errors='replace')}")
        return json.loads(self.payload)

    @property
    def error(self) -> dict[str, Any] | None:
        """Lambda's error document (errorType, errorMessage, ...), or None on success."""
        return json.loads(self.payload) if self.function_error else None
