"""Responses, warm reuse and the platform's log lines."""

import re

import pytest

from lambdafleet.runtime import PayloadTooLargeError

COUNTER = """
    print("Loading function")
    calls = 0

    def lambda_handler(event, context):
        global calls
        calls += 1
        print(f"call {calls} for {context.aws_request_id}")
        return {"calls": calls, "echo": event, "remaining_ms": context.get_remaining_time_in_millis(),
                "function": context.function_name, "arn": context.invoked_function_arn}
"""


def test_response_and_lambda_log_lines(make_pool):
    pool = make_pool(COUNTER, name="counter", timeout=7, memory_size=256)
    result = pool.invoke({"a": [1, 2]})
    assert result.status == "success" and not result.function_error
    body = result.response
    assert body["echo"] == {"a": [1, 2]}
    assert body["function"] == "counter"
    assert body["arn"].endswith(":function:counter")
    assert 6000 < body["remaining_ms"] <= 7000
    lines = result.logs.splitlines()
    request_id = result.request_id
    assert lines.pop(0).startswith("INIT_START Runtime Version: python:3.12.v")
    assert lines[0] == "Loading function"
    assert lines[1] == f"START RequestId: {request_id} Version: $LATEST"
    assert lines[2] == f"call 1 for {request_id}"
    assert lines[3] == f"END RequestId: {request_id}"
    report = re.fullmatch(
        rf"REPORT RequestId: {request_id}\tDuration: (\S+) ms\tBilled Duration: (\d+) ms\t"
        r"Memory Size: 256 MB\tMax Memory Used: (\d+) MB\tInit Duration: (\S+) ms\t",
        lines[4],
    )
    assert report, lines[4]
    assert 5 < int(report.group(3)) < 256
    assert result.init_duration_ms is not None and result.init_duration_ms > 0


def test_warm_environment_keeps_module_state_and_loads_once(make_pool):
    pool = make_pool(COUNTER)
    first, second, third = (pool.invoke({}) for _ in range(3))
    assert [r.response["calls"] for r in (first, second, third)] == [1, 2, 3]
    assert "Loading function" in first.logs
    assert "Loading function" not in second.logs + third.logs
    assert second.init_duration_ms is None and "Init Duration" not in second.logs
    assert pool.environments == 1


def test_payload_over_6_mb_is_refused(make_pool):
    pool = make_pool(COUNTER)
    with pytest.raises(PayloadTooLargeError, match="Request must be smaller than 6291456 bytes"):
        pool.invoke({"blob": "x" * 6_291_456})
    assert pool.environments == 0  # refused before any environment started


def test_response_over_6_mb_is_a_function_error(make_pool):
    pool = make_pool("def lambda_handler(event, context):\n    return 'x' * 6_300_000\n")
    result = pool.invoke({})
    assert result.error["errorType"] == "Function.ResponseSizeTooLarge"


def test_raw_payload_and_client_context(make_pool):
    source = """
        def lambda_handler(event, context):
            return {"event": event, "custom": context.client_context.custom}
    """
    pool = make_pool(source)
    result = pool.invoke(payload=b'"plain string"', client_context={"custom": {"k": "v"}, "env": {}, "client": {}})
    assert result.response == {"event": "plain string", "custom": {"k": "v"}}
