"""`build.py local` and `build.py logs` as a user runs them: one-line errors with exit code 2, and --follow."""

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from lambdafleet.testing.endpoint import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


# No keys and no files to find them in: boto3's credential chain comes up empty.
NO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "",
    "AWS_SECRET_ACCESS_KEY": "",
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _build_py(*args: str, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    variables = {key: value for key, value in os.environ.items() if key != "AWS_ENDPOINT_URL"} | (env or {})
    return subprocess.run(
        [sys.executable, "build.py", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={key: value for key, value in variables.items() if value},
    )


def _one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert all(fragment in lines[0] for fragment in fragments), lines[0]


def test_local_refuses_a_busy_port() -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        _one_line_error(_build_py("local", "--port", str(port)), f"--port {port}", "cannot listen")


def test_local_refuses_a_port_out_of_range() -> None:
    _one_line_error(_build_py("local", "--port", "70000"), "--port 70000", "not a port number")


def test_local_refuses_a_negative_retry_delay() -> None:
    _one_line_error(_build_py("local", "--retry-delay", "-1"), "--retry-delay", "negative")


def test_logs_of_an_unknown_function(embedded) -> None:
    _one_line_error(_build_py("logs", "nosuch", "--endpoint-url", embedded.url), "nosuch", "no deployed function")


def test_logs_without_an_endpoint() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    _one_line_error(_build_py("logs", "math", "--endpoint-url", url), url, "nothing answers")


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
def test_logs_refuses_bad_input_in_one_line(args: list[str], env: dict, fragments: list[str]) -> None:
    _one_line_error(_build_py("logs", *args, env=env), *fragments)


def test_logs_answers_an_endpoint_error_in_one_line(embedded) -> None:
    # A name Lambda allows that moto's routes do not: moto answers an HTML page.
    _one_line_error(_build_py("logs", "a.b", "--endpoint-url", embedded.url), "a.b", "404")


@pytest.mark.parametrize(("command", "summary"), [("logs", "Print a deployed function's"), ("local", "Serve every")])
def test_help_says_what_the_command_does(command: str, summary: str) -> None:
    assert summary in _build_py(command, "--help").stdout


def test_logs_of_a_function_that_never_ran(embedded, deploy_function) -> None:
    name = deploy_function("def lambda_handler(event, context):\n    return 1\n")["FunctionName"]
    _one_line_error(_build_py("logs", name, "--endpoint-url", embedded.url), f"/aws/lambda/{name}", "no log group yet")


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
