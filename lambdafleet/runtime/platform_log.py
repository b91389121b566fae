"""The platform's own log lines (START, END, REPORT, timeouts, crashes) in Lambda's Text or JSON format."""

import json
import math
from datetime import UTC, datetime

from lambdafleet.runtime.environment import InvocationOutcome


def _now(timestamp: float | None = None) -> str:
    moment = datetime.now(UTC) if timestamp is None else datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def billed_ms(outcome: InvocationOutcome) -> int:
    """Billed duration: the invocation plus, on a cold start, the init phase, rounded up to 1 ms."""
    return math.ceil(outcome.duration_ms + (outcome.init_duration_ms or 0.0))


def start_lines(logging_format: str, request_id: str, started_at: float | None) -> list[str]:
    """What Lambda logs when an invocation starts; `started_at` (time.time()) stamps the JSON record.

    None (the event was never delivered, e.g. the init phase failed) stamps it now.
    """
    if logging_format == "JSON":
        return [_json("platform.start", {"requestId": request_id, "version": "$LATEST"}, started_at)]
    return [f"START RequestId: {request_id} Version: $LATEST"]


def end_lines(logging_format: str, request_id: str, memory_size: int, outcome: InvocationOutcome) -> list[str]:
    """What Lambda logs when an invocation ends: the fault (if any), END and REPORT."""
    if logging_format == "JSON":
        return [_json("platform.report", _report_record(request_id, memory_size, outcome))]
    lines = _text_fault_lines(request_id, outcome)
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {outcome.duration_ms:.2f} ms",
        f"Billed Duration: {billed_ms(outcome)} ms",
        f"Memory Size: {memory_size} MB",
        f"Max Memory Used: {outcome.max_memory_mib} MB",
    ]
    if outcome.init_duration_ms is not None:
        fields.append(f"Init Duration: {outcome.init_duration_ms:.2f} ms")
    if outcome.fault is not None:
        fields.append(f"Status: {outcome.fault.status}")
        if outcome.fault.status == "error":
            fields.append(f"Error Type: {outcome.fault.error_type}")
    return [*lines, f"END RequestId: {request_id}", "\t".join(fields) + "\t"]


def _text_fault_lines(request_id: str, outcome: InvocationOutcome) -> list[str]:
    fault = outcome.fault
    if fault is None or fault.body is not None:
        return []  # the runtime already logged its own error
    if fault.status == "timeout":
        return [f"{_now()} {request_id} {fault.message.split(' Error: ', 1)[-1]}"]
    return [fault.message, fault.error_type]


def _report_record(request_id: str, memory_size: int, outcome: InvocationOutcome) -> dict[str, object]:
    metrics: dict[str, object] = {
        "durationMs": round(outcome.duration_ms, 3),
        "billedDurationMs": billed_ms(outcome),
        "memorySizeMB": memory_size,
        "maxMemoryUsedMB": outcome.max_memory_mib,
    }
    if outcome.init_duration_ms is not None:
        metrics["initDurationMs"] = round(outcome.init_duration_ms, 3)
    record: dict[str, object] = {"requestId": request_id, "metrics": metrics, "status": "success"}
    if outcome.fault is not None:
        record |= {"status": outcome.fault.status, "errorType": outcome.fault.error_type}
    elif outcome.function_error:
        record["status"] = "error"
    return record


def _json(record_type: str, record: dict[str, object], timestamp: float | None = None) -> str:
    return json.dumps({"time": _now(timestamp), "type": record_type, "record": record})
