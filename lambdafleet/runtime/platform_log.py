"""The platform's own log lines (START, END, REPORT, timeouts, crashes) in Lambda's Text or JSON format."""

import hashlib
import json
import math
from datetime import UTC, datetime
from pathlib import Path

from lambdafleet.runtime.environment import InvocationOutcome


def _now(timestamp: float | None = None) -> str:
    moment = datetime.now(UTC) if timestamp is None else datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def billed_ms(outcome: InvocationOutcome) -> int:
    """Billed duration: the invocation plus, on a cold start, the init phase, rounded up to 1 ms.

    A failed init phase is the invocation's whole duration (Lambda re-runs it in the invoke phase), counted once.
    """
    return math.ceil(outcome.duration_ms + (outcome.init_duration_ms or 0.0))


def runtime_version(python_version: str, runtime_dir: Path, region: str) -> tuple[str, str]:
    """The runtime version and its ARN, as INIT_START names them (`python:3.12.v38`, `arn:...::runtime:<hex>`).

    Derived from the provisioned runtime directory (the interpreter and the runtime lock): the same runtime
    gives the same version, a changed one another, as a Lambda runtime update would.
    """
    digest = hashlib.sha256(runtime_dir.name.encode()).hexdigest()
    return f"python:{python_version}.v{int(digest[:4], 16) % 100 + 1}", f"arn:aws:lambda:{region}::runtime:{digest}"


def init_start_lines(
    logging_format: str, runtime: tuple[str, str], function: tuple[str, str], started_at: float
) -> list[str]:
    """What every new environment logs first; `function` is (name, version), `started_at` a time.time()."""
    version, arn = runtime
    if logging_format == "JSON":
        record: dict[str, object] = {
            "initializationType": "on-demand",
            "phase": "init",
            "runtimeVersion": version,
            "runtimeVersionArn": arn,
            "functionName": function[0],
            "functionVersion": function[1],
        }
        return [_json("platform.initStart", record, started_at)]
    return [f"INIT_START Runtime Version: {version}\tRuntime Version ARN: {arn}"]


def init_report_lines(logging_format: str, outcome: InvocationOutcome) -> list[str]:
    """What Lambda logs when an environment's init phase failed, before the invocation's START."""
    if not outcome.init_failed or outcome.fault is None:
        return []
    if logging_format == "JSON":
        record: dict[str, object] = {
            "initializationType": "on-demand",
            "phase": "init",
            "status": outcome.fault.status,
            "errorType": outcome.fault.error_type,
            "metrics": {"durationMs": round(outcome.duration_ms, 3)},
        }
        return [_json("platform.initReport", record)]
    fields = [
        f"INIT_REPORT Init Duration: {outcome.duration_ms:.2f} ms",
        "Phase: init",
        f"Status: {outcome.fault.status}",
        f"Error Type: {outcome.fault.error_type}",
    ]
    return ["\t".join(fields)]


def start_lines(logging_format: str, request_id: str, version: str, started_at: float | None) -> list[str]:
    """What Lambda logs when an invocation of `version` starts; `started_at` (time.time()) stamps the JSON
    record.

    None (the event was never delivered, e.g. the init phase failed) stamps it now.
    """
    if logging_format == "JSON":
        return [_json("platform.start", {"requestId": request_id, "version": version}, started_at)]
    return [f"START RequestId: {request_id} Version: {version}"]


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
