"""`build.py local` and `build.py logs` as a user runs them: one-line errors with exit code 2, and --follow."""

import json
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from lambdafleet.testing import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


def _build_py(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "build.py", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout
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
