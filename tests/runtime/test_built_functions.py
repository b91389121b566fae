"""The repository's real functions, built by build.py and run through the fixture and the CLI."""

import json
import subprocess
import sys

import pytest

from lambdafleet.build.paths import BUILD_ENV
from tests.runtime.conftest import REPO_ROOT

BUILD_PY = [sys.executable, str(REPO_ROOT / "build.py")]


@pytest.fixture(autouse=True)
def _build_outside_the_checkout(monkeypatch: pytest.MonkeyPatch, lambda_build_dir) -> None:
    """`build.py invoke` rebuilds stale zips: into the session's folder, not the checkout's build/."""
    monkeypatch.setenv(BUILD_ENV, str(lambda_build_dir))


def test_fixture_invokes_the_built_math_zip(invoke_lambda):
    assert invoke_lambda("math", {"action": "square", "number": 3}).response == 9
    failed = invoke_lambda("math", {"action": "cube", "number": 3})
    assert failed.error["errorType"] == "ValueError"


def test_fixture_reuses_a_warm_environment(invoke_lambda):
    invoke_lambda("echo", {"key1": "a", "key2": "b", "key3": "c"})
    warm = invoke_lambda("echo", {"key1": "x", "key2": "y", "key3": "z"})
    assert warm.response == "x" and warm.init_duration_ms is None
    assert "value2 = y" in warm.logs


def _invoke(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BUILD_PY, "invoke", *args], input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


def test_cli_prints_the_response_and_the_logs():
    done = _invoke("math", "--payload", '{"action": "square", "number": 3}')
    assert (done.returncode, done.stdout) == (0, "9\n")
    assert "START RequestId: " in done.stderr and "END RequestId: " in done.stderr
    assert "REPORT RequestId: " in done.stderr and "Init Duration: " in done.stderr


def test_cli_reads_the_event_from_stdin_or_a_file(tmp_path):
    assert _invoke("math", "--event", "-", stdin='{"action": "double", "number": 4}').stdout == "8\n"
    event = tmp_path / "event.json"
    event.write_text('{"action": "negate", "number": 4}')
    assert _invoke("math", "--event", str(event)).stdout == "-4\n"


def test_cli_exits_1_with_the_error_payload_when_the_function_fails():
    done = _invoke("math", "--payload", '{"action": "cube", "number": 3}')
    assert done.returncode == 1
    error = json.loads(done.stdout)
    assert error["errorType"] == "ValueError" and "unknown action 'cube'" in error["errorMessage"]
    assert "[ERROR] ValueError: unknown action 'cube'" in done.stderr


def test_cli_user_errors_are_one_line_and_exit_2(tmp_path, run_cli):
    cases = [
        (["nope"], "functions/nope: no such function"),
        (["math", "--payload", "{"], "--payload: the event is not valid JSON"),
        (["math", "--event", str(tmp_path / "no.json")], f"{tmp_path}/no.json: cannot read the event (No such file"),
        (["math", "--env", "NOEQUALS"], "--env 'NOEQUALS': expected KEY=VALUE"),
    ]
    for args, message in cases:
        done = run_cli("invoke", *args)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.startswith(f"error: {message}") and done.stderr.count("\n") == 1
        assert done.stdout == ""
