"""Behaviours where the local runtime once differed from Lambda (issue 11), each checked against what Lambda does:
LocalStack's recorded AWS snapshots (tests/aws/services/lambda_/*.snapshot.json) and the Lambda developer guide."""

import json
import math
import re
import shutil
import sys

import pytest

from lambdafleet.runtime.environment import INIT_TIMEOUT_S, deadline
from tests.runtime.conftest import MakePool

STREAM = re.compile(r"^\d{4}/\d{2}/\d{2}/\[(?P<version>[^\]]+)\][0-9a-f]{32}$")
IDENTITY = """
    import os
    def lambda_handler(event, context):
        return {
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "aws_request_id": context.aws_request_id,
            "env_version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"],
            "env_group": os.environ["AWS_LAMBDA_LOG_GROUP_NAME"],
            "env_stream": os.environ["AWS_LAMBDA_LOG_STREAM_NAME"],
        }
"""


# 1. The deadline runs from delivery, never from the environment's start.


def test_a_warm_environment_waiting_for_delivery_is_not_past_its_deadline() -> None:
    """A warm environment started a minute ago, whose event is queued but not handed out yet (the runtime is
    still posting the previous response under CPU contention): the event has its whole timeout ahead."""
    now = 1000.0
    limit = deadline(timeout_s=3, started_at=now - 60, submitted_at=now, delivered_at=None, cold=False)
    assert limit > now + 3


def test_the_deadline_is_the_timeout_after_delivery() -> None:
    now = 1000.0
    assert deadline(timeout_s=3, started_at=now - 60, submitted_at=now - 1, delivered_at=now, cold=False) == now + 3


def test_a_cold_environment_has_the_init_limit_until_delivery() -> None:
    now = 1000.0
    limit = deadline(timeout_s=3, started_at=now, submitted_at=now, delivered_at=None, cold=True)
    assert limit == now + INIT_TIMEOUT_S


def test_many_warm_invocations_never_time_out(make_pool: MakePool) -> None:
    pool = make_pool("def lambda_handler(event, context):\n    return 1\n", timeout=3)
    results = [pool.invoke({}) for _ in range(300)]
    assert [r.status for r in results if r.status != "success"] == []
    assert max(r.duration_ms for r in results[1:]) < 1000


# 2. A runtime that exits after an oversized response is replaced before the next event.

BIG = """
    def lambda_handler(event, context):
        print("marker-of-call", event["n"])
        return "x" * (7 << 20) if event["big"] else "ok"
"""


def test_the_call_after_an_oversized_response_runs_on_a_fresh_environment(make_pool: MakePool) -> None:
    pool = make_pool(BIG)
    too_large = pool.invoke({"n": 1, "big": True})
    assert too_large.error["errorType"] == "Function.ResponseSizeTooLarge"
    after = pool.invoke({"n": 2, "big": False})
    assert after.response == "ok", after.logs
    assert "marker-of-call 1" not in after.logs
    assert after.init_duration_ms is not None  # a cold start: the old environment was discarded


# 3. and 4. What ran, and where its logs go.


def test_a_version_invoked_through_an_alias_names_itself_everywhere(make_pool: MakePool) -> None:
    pool = make_pool(IDENTITY, name="probe", version="1")
    alias_arn = f"{pool.function_arn}:live"
    result = pool.invoke({}, invoked_function_arn=alias_arn)
    seen = result.response
    assert seen["function_version"] == seen["env_version"] == "1"
    assert seen["invoked_function_arn"] == alias_arn
    assert f"START RequestId: {result.request_id} Version: 1\n" in result.logs
    assert (STREAM.match(seen["log_stream_name"]) or {"version": None})["version"] == "1"


def test_an_unqualified_invocation_names_the_unqualified_arn(make_pool: MakePool) -> None:
    pool = make_pool(IDENTITY, name="probe")
    seen = pool.invoke({}).response
    assert seen["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:probe"
    assert seen["function_version"] == "$LATEST"


def test_the_log_group_and_stream_are_the_ones_written_to(make_pool: MakePool) -> None:
    pool = make_pool(IDENTITY, name="probe", log_group="/custom/group")
    first, second = pool.invoke({}), pool.invoke({})
    seen = first.response
    assert seen["log_group_name"] == seen["env_group"] == "/custom/group"
    assert seen["log_stream_name"] == seen["env_stream"] == first.log_stream
    assert (STREAM.match(first.log_stream) or {"version": None})["version"] == "$LATEST"
    assert second.log_stream == first.log_stream  # one stream per execution environment
    pool.recycle()
    assert pool.invoke({}).log_stream != first.log_stream


def test_a_given_request_id_is_the_context_one(make_pool: MakePool) -> None:
    result = make_pool(IDENTITY).invoke({}, request_id="5c0e4b3a-0000-4000-8000-000000000001")
    assert result.request_id == result.response["aws_request_id"] == "5c0e4b3a-0000-4000-8000-000000000001"


# 5. INIT_START on every new environment.

INIT_START = re.compile(
    r"^INIT_START Runtime Version: python:3\.12\.v\d+\tRuntime Version ARN: "
    r"arn:aws:lambda:us-east-1::runtime:[0-9a-f]{64}$"
)


def test_every_new_environment_logs_init_start(make_pool: MakePool) -> None:
    pool = make_pool("def lambda_handler(event, context):\n    return 1\n")
    cold, warm = pool.invoke({}), pool.invoke({})
    assert INIT_START.match(cold.log_events[0].rstrip("\n")), cold.log_events[0]
    assert cold.log_events[1].startswith("START RequestId:")
    assert not any(event.startswith("INIT_START") for event in warm.log_events)


def test_init_start_in_json_format(make_pool: MakePool) -> None:
    cold = make_pool("def lambda_handler(event, context):\n    return 1\n", logging_format="JSON").invoke({})
    record = json.loads(cold.log_events[0])
    assert record["type"] == "platform.initStart"
    assert record["record"]["initializationType"] == "on-demand"
    assert record["record"]["phase"] == "init"
    assert record["record"]["runtimeVersion"].startswith("python:3.12.v")
    assert record["record"]["runtimeVersionArn"].startswith("arn:aws:lambda:us-east-1::runtime:")


# 6. One record, one log event.

MULTILINE = """
    import logging
    logger = logging.getLogger()
    logger.setLevel(logging.INFO)
    def lambda_handler(event, context):
        logger.info("first line\\nsecond line")
        print("printed one\\nprinted two")
        raise ValueError("boom")
"""


def test_a_multiline_record_is_one_event_and_print_lines_are_events(make_pool: MakePool) -> None:
    result = make_pool(MULTILINE).invoke({})
    events = result.log_events
    logged = [event for event in events if "first line" in event]
    assert len(logged) == 1 and "second line" in logged[0]
    assert logged[0].startswith("[INFO]\t")
    assert "printed one\n" in events and "printed two\n" in events
    tracebacks = [event for event in events if event.startswith("[ERROR] ValueError: boom")]
    assert len(tracebacks) == 1 and "\nTraceback (most recent call last):\n" in tracebacks[0]
    assert events[-1].startswith("REPORT RequestId:") and events[-2].startswith("END RequestId:")
    assert result.logs == "".join(event if event.endswith("\n") else event + "\n" for event in events)


# 7. sys.exit(0) in the handler.


def test_sys_exit_0_is_an_exit_without_a_reason(make_pool: MakePool) -> None:
    pool = make_pool("import sys\n\ndef lambda_handler(e, c):\n    if e: sys.exit(0)\n    return 'ok'\n")
    result = pool.invoke({"exit": True})
    assert result.error == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {result.request_id} Error: Runtime exited without providing a reason",
    }
    assert pool.invoke({}).response == "ok"


def test_sys_exit_0_during_init_is_an_exit_without_a_reason(make_pool: MakePool) -> None:
    result = make_pool("import sys\nsys.exit(0)\n").invoke({})
    assert result.error["errorMessage"].endswith("Error: Runtime exited without providing a reason")


# 9. An init failure's REPORT counts the init phase once.


def test_an_init_failure_reports_its_duration_once(make_pool: MakePool) -> None:
    result = make_pool("import not_a_module_anywhere\n").invoke({})
    assert result.error["errorType"] == "Runtime.ImportModuleError"
    report = result.log_events[-1]
    assert "Init Duration" not in report
    duration_match = re.search(r"\tDuration: ([\d.]+) ms", report)
    billed_match = re.search(r"\tBilled Duration: (\d+) ms", report)
    assert duration_match and billed_match, report
    duration, billed = float(duration_match[1]), int(billed_match[1])
    assert billed == math.ceil(duration) == result.billed_duration_ms
    assert "\tStatus: error\tError Type: Runtime.ImportModuleError" in report
    assert re.search(r"^INIT_REPORT Init Duration: [\d.]+ ms\tPhase: init\tStatus: error\t"
                     r"Error Type: Runtime.ImportModuleError", result.logs, re.M)  # fmt: skip


# 12. python3 in a subprocess is the function's own interpreter.

SUBPROCESS = """
    import os, shutil, subprocess, sys
    def lambda_handler(event, context):
        found = {name: shutil.which(name) for name in ("python3", "python", "python3.12")}
        ran = subprocess.run(["python3", "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
        return {"found": {k: os.path.realpath(v) if v else None for k, v in found.items()},
                "version": ran, "executable": os.path.realpath(sys.executable)}
"""


@pytest.mark.parametrize("runtime", ["python3.12", "python3.11"])
def test_python3_in_a_subprocess_is_the_runtime_interpreter(make_pool: MakePool, runtime: str) -> None:
    if not shutil.which(runtime) and runtime != f"python{sys.version_info[0]}.{sys.version_info[1]}":
        pytest.skip(f"{runtime} not installed")
    source = SUBPROCESS.replace("python3.12", runtime)
    seen = make_pool(source, runtime=runtime).invoke({}).response
    assert set(seen["found"].values()) == {seen["executable"]}
    assert seen["version"] == str(tuple(int(part) for part in runtime.removeprefix("python").split(".")))
