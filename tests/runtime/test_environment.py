"""Exactly Lambda's environment variables, parallel environments, and the JSON log format."""

import json
import os
import select
import threading
from datetime import datetime

import pytest

from lambdafleet.runtime.environment import ExecutionEnvironment
from lambdafleet.runtime.server import Invocation

ENV_DUMP = "import os\n\ndef lambda_handler(e, c):\n    return dict(os.environ)\n"
LAMBDA_VARIABLES = {
    "_HANDLER", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR", "TZ", "LANG", "PATH", "LD_LIBRARY_PATH", "PYTHONPATH", "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "_X_AMZN_TRACE_ID",
}  # fmt: skip


def test_only_lambda_variables_and_the_configured_ones(make_pool, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DEVELOPER_SHELL_SECRET", "must not leak")
    pool = make_pool(
        ENV_DUMP,
        name="envdump",
        memory_size=256,
        environment={"TABLE_ITEMS": "items-table"},
        extra_env={"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"},
    )
    env = pool.invoke({}).response
    assert set(env) == LAMBDA_VARIABLES | {"TABLE_ITEMS", "AWS_ENDPOINT_URL"}
    assert env["TABLE_ITEMS"] == "items-table"
    assert env["_HANDLER"] == "lambda_function.lambda_handler"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "envdump"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/envdump"
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert env["TZ"] == ":UTC"
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-")


def test_configured_variables_cannot_override_reserved_ones(make_pool):
    env = make_pool(ENV_DUMP, environment={"AWS_REGION": "mars-1", "_HANDLER": "x.y"}).invoke({}).response
    assert env["AWS_REGION"] == "us-east-1" and env["_HANDLER"] == "lambda_function.lambda_handler"


def test_concurrent_invocations_get_separate_environments(make_pool):
    source = """
        import os, time
        def lambda_handler(event, context):
            time.sleep(0.3)
            return os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]  # one per environment (all are PID 2 inside)
    """
    pool = make_pool(source, max_environments=2)
    results = []
    threads = [threading.Thread(target=lambda: results.append(pool.invoke({}))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    environments = {result.response for result in results}
    assert len(results) == 3 and len(environments) == 2  # two in parallel, the third reused a warm one
    assert pool.environments == 2
    assert len({result.request_id for result in results}) == 3


def test_json_log_format(make_pool):
    source = """
        import logging
        logger = logging.getLogger()
        def lambda_handler(event, context):
            logger.info("handling %s", event["id"])
            return "done"
    """
    result = make_pool(source, logging_format="JSON").invoke({"id": 7})
    records = [json.loads(line) for line in result.logs.splitlines()]
    init, start, app, report = records
    assert init["type"] == "platform.initStart"
    assert start["type"] == "platform.start" and start["record"]["requestId"] == result.request_id
    assert app["level"] == "INFO" and app["message"] == "handling 7" and app["requestId"] == result.request_id
    assert report["type"] == "platform.report" and report["record"]["status"] == "success"
    metrics = report["record"]["metrics"]
    assert set(metrics) == {"durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB", "initDurationMs"}


def test_json_platform_start_is_stamped_when_the_invocation_starts(make_pool):
    source = "import time\n\ndef lambda_handler(e, c):\n    time.sleep(0.3)\n"
    result = make_pool(source, logging_format="JSON").invoke({})
    _, start, report = (json.loads(line) for line in result.logs.splitlines())
    elapsed = datetime.fromisoformat(report["time"]) - datetime.fromisoformat(start["time"])
    assert start["type"] == "platform.start" and 0.3 <= elapsed.total_seconds() < 2


def test_text_format_logger_lines(make_pool):
    source = """
        import logging
        logging.getLogger().setLevel(logging.INFO)
        def lambda_handler(event, context):
            logging.getLogger().info("hello")
    """
    result = make_pool(source).invoke({})
    assert "[INFO]\t" in result.logs and f"Z\t{result.request_id}\thello" in result.logs
    assert result.response is None


HELLO = "def lambda_handler(event, context):\n    return 'hello'\n"


def _sentinel_pipes() -> list[int]:
    """Descriptors opened now: they take the numbers just released (the lowest free ones go first)."""
    return [fd for _ in range(4) for fd in os.pipe()]


def _still_open(fds: list[int]) -> list[int]:
    for fd in fds:
        os.fstat(fd)  # EBADF if something closed it
    return fds


def test_closing_an_environment_twice_closes_nothing_else(make_pool):
    pool = make_pool(HELLO)
    environment = ExecutionEnvironment(pool._launch, pool._launcher)
    environment.close()
    sentinels = _sentinel_pipes()
    try:
        environment.close()
        _still_open(sentinels)
    finally:
        for fd in sentinels:
            os.close(fd)


def test_a_late_wake_up_writes_nowhere_once_the_environment_is_closed(make_pool):
    """A Runtime API thread that reports after the environment was closed must not write into a file that took the
    wake-up pipe's number."""
    pool = make_pool(HELLO)
    environment = ExecutionEnvironment(pool._launch, pool._launcher)
    environment.close()
    sentinels = _sentinel_pipes()
    try:
        environment.server.report_init_error(b"{}")  # calls the environment's wake-up, as a late request would
        assert select.select(_still_open(sentinels), [], [], 0)[0] == []
    finally:
        for fd in sentinels:
            os.close(fd)


def test_output_at_end_of_file_is_closed_once(make_pool):
    """The runtime exits (its output reaches end of file and the reader closes it), then the environment is closed:
    its output pipe is not closed a second time."""
    pool = make_pool("import os\n\ndef lambda_handler(event, context):\n    os._exit(3)\n")
    environment = ExecutionEnvironment(pool._launch, pool._launcher)
    outcome = environment.invoke(Invocation(request_id="r-1", payload=b"{}", timeout_s=3, function_arn="arn"))
    assert outcome.fault is not None  # exited: the reader saw end of file
    sentinels = _sentinel_pipes()
    try:
        environment.close()
        _still_open(sentinels)
    finally:
        for fd in sentinels:
            os.close(fd)


def test_closing_from_many_threads_at_once_closes_once(make_pool):
    pool = make_pool(HELLO)
    environment = ExecutionEnvironment(pool._launch, pool._launcher)
    environment.invoke(Invocation(request_id="r-1", payload=b"{}", timeout_s=3, function_arn="arn"))
    threads = [threading.Thread(target=environment.close) for _ in range(8)]
    for thread in threads:
        thread.start()
    sentinels = _sentinel_pipes()
    try:
        for thread in threads:
            thread.join()
        _still_open(sentinels)
    finally:
        for fd in sentinels:
            os.close(fd)
