"""Exactly Lambda's environment variables, parallel environments, and the JSON log format."""

import json
import threading
from datetime import datetime

import pytest

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
    start, app, report = records
    assert start["type"] == "platform.start" and start["record"]["requestId"] == result.request_id
    assert app["level"] == "INFO" and app["message"] == "handling 7" and app["requestId"] == result.request_id
    assert report["type"] == "platform.report" and report["record"]["status"] == "success"
    metrics = report["record"]["metrics"]
    assert set(metrics) == {"durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB", "initDurationMs"}


def test_json_platform_start_is_stamped_when_the_invocation_starts(make_pool):
    source = "import time\n\ndef lambda_handler(e, c):\n    time.sleep(0.3)\n"
    result = make_pool(source, logging_format="JSON").invoke({})
    start, report = (json.loads(line) for line in result.logs.splitlines())
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
