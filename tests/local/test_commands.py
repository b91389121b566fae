"""`build.py local` and `build.py logs` as a user runs them: one-line errors with exit code 2, and --follow."""

import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from lambdafleet.testing.endpoint import free_port
from tests.conftest import CliResult, one_line_error

REPO_ROOT = Path(__file__).resolve().parents[2]


# No keys and no files to find them in: boto3's credential chain comes up empty.
NO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "",
    "AWS_SECRET_ACCESS_KEY": "",
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture
def build_py(run_cli, monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliResult]:
    """`build_py(*args, env={})`: `python build.py ARGS` in-process, without AWS_ENDPOINT_URL and with `env` applied
    (an empty value unsets)."""

    def run(*args: str, env: dict[str, str] | None = None) -> CliResult:
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        for key, value in (env or {}).items():
            if value:
                monkeypatch.setenv(key, value)
            else:
                monkeypatch.delenv(key, raising=False)
        return run_cli(*args)

    return run


@pytest.mark.stack  # slow end to end: its own build.py local
def test_local_refuses_a_busy_port() -> None:
    # A child process: binding happens after the endpoint patched moto's classes, which must not leak into this one.
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "build.py", "local", "--port", str(port)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        one_line_error(result, f"--port {port}", "cannot listen")


def test_local_refuses_a_port_out_of_range(build_py) -> None:
    one_line_error(build_py("local", "--port", "70000"), "--port 70000", "not a port number")


def test_local_refuses_a_negative_retry_delay(build_py) -> None:
    one_line_error(build_py("local", "--retry-delay", "-1"), "--retry-delay", "negative")


def test_logs_of_an_unknown_function(build_py, embedded) -> None:
    one_line_error(build_py("logs", "nosuch", "--endpoint-url", embedded.url), "nosuch", "no deployed function")


def test_logs_without_an_endpoint(build_py) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    one_line_error(build_py("logs", "math", "--endpoint-url", url), url, "nothing answers")


@pytest.mark.parametrize(
    ("args", "env", "fragments"),
    [
        (["echo", "--endpoint-url", "notaurl"], {}, ["--endpoint-url 'notaurl'", "AWS_ENDPOINT_URL"]),
        (["echo"], {"AWS_ENDPOINT_URL": "notaurl"}, ["--endpoint-url 'notaurl'", "AWS_ENDPOINT_URL"]),
        (["bad name!"], {}, ["NAME 'bad name!'", "not a Lambda function name"]),
        (["predict", "--region", "eu-west-1"], {"AWS_PROFILE": "nosuchprofile"}, ["AWS_PROFILE", "nosuchprofile"]),
        (["predict", "--aws"], {"AWS_PROFILE": "nosuchprofile"}, ["AWS_PROFILE", "nosuchprofile"]),
        (["predict", "--aws"], NO_CREDENTIALS, ["--aws", "no AWS credentials"]),
    ],
)
def test_logs_refuses_bad_input_in_one_line(build_py, args: list[str], env: dict, fragments: list[str]) -> None:
    one_line_error(build_py("logs", *args, env=env), *fragments)


def test_logs_answers_an_endpoint_error_in_one_line(build_py, embedded) -> None:
    # A name Lambda allows that moto's routes do not: moto answers an HTML page.
    one_line_error(build_py("logs", "a.b", "--endpoint-url", embedded.url), "a.b", "404")


@pytest.mark.parametrize(("command", "summary"), [("logs", "Print a deployed function's"), ("local", "Serve every")])
def test_help_says_what_the_command_does(build_py, command: str, summary: str) -> None:
    assert summary in build_py(command, "--help").stdout


def test_logs_of_a_function_that_never_ran(build_py, embedded, deploy_function) -> None:
    name = deploy_function("def lambda_handler(event, context):\n    return 1\n")["FunctionName"]
    one_line_error(build_py("logs", name, "--endpoint-url", embedded.url), f"/aws/lambda/{name}", "no log group yet")


@pytest.mark.stack  # slow end to end: a long wait: follows the logs for seconds
def test_logs_follow_prints_new_invocations(endpoint, deploy_function) -> None:
    name = deploy_function("def lambda_handler(event, context):\n    print(event['say'])\n")["FunctionName"]
    follower = subprocess.Popen(
        [sys.executable, "build.py", "logs", name, "--follow", "--endpoint-url", endpoint.url],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Let the follower poll before the first invocation creates the log group: it must keep waiting.
        time.sleep(2.5)
        assert follower.poll() is None, follower.stderr.read()
        marker = uuid.uuid4().hex
        endpoint.client("lambda").invoke(FunctionName=name, Payload=json.dumps({"say": marker}))
        lines = iter(follower.stdout.readline, "")
        assert any(marker in line for line in lines), follower.stderr.read()
    finally:
        follower.terminate()
        follower.wait(timeout=10)
