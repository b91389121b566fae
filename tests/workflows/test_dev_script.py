"""scripts/dev (the README's two commands) on a fresh `git clone`: what is missing is one line before anything is
installed; and `build.py up` itself (stack test): the stack answers, a saved handler is live on the next request,
Ctrl-C leaves no process behind."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

from lambdafleet.build.paths import cache_root
from lambdafleet.errors import UserError
from lambdafleet.runtime.interpreter import find_interpreter
from lambdafleet.testing.endpoint import free_port
from tests.conftest import PROVIDER_MIRROR, REPO_ROOT, copy_repository, one_line_error
from tests.runtime.dap_client import DapClient
from tests.runtime.dap_client import debug_port as dap_port


def _commit_of_the_work_tree(tmp_path: Path) -> Path:
    """A fresh clone holding the work tree as it is now (committed or not): what a user would clone."""
    source = tmp_path / "source"
    copy_repository(source)
    for name in ("scripts", "requirements-pip.txt", "requirements-dev.txt", "requirements-dev.in", "README.md"):
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, symlinks=True)
        else:
            shutil.copy2(path, source / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q", str(source)], check=True)
    subprocess.run([*git, "-C", str(source), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(source), "commit", "-qm", "snapshot"], check=True)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(source), str(clone)], check=True)
    return clone


def _bin_with(tmp_path: Path, **tools: str) -> str:
    """A PATH of only bash basics plus `tools` (name -> executable), so anything else is missing."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    for name in ("bash", "cat", "dirname", "env"):
        (folder / name).symlink_to(shutil.which(name) or f"/bin/{name}")
    for name, target in tools.items():
        (folder / name).symlink_to(target)
    return str(folder)


def _dev(clone: Path, path: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": path, "HOME": str(clone.parent), "PYENV_ROOT": str(clone.parent / "no-pyenv")}
    return subprocess.run(
        ["bash", "scripts/dev", *args], cwd=clone, env=environment, capture_output=True, text=True, timeout=60
    )


def test_usage_is_one_line(tmp_path: Path) -> None:
    clone = _commit_of_the_work_tree(tmp_path)
    one_line_error(_dev(clone, _bin_with(tmp_path), "deploy"), "usage: scripts/dev up")


def test_missing_python_is_one_line(tmp_path: Path) -> None:
    clone = _commit_of_the_work_tree(tmp_path)
    result = _dev(clone, _bin_with(tmp_path), "up")
    one_line_error(result, "missing: python3 >= 3.11")
    assert not (clone / ".venv").exists()


@pytest.mark.parametrize("action", ["up", "test"])
def test_missing_terraform_and_runtimes_are_one_line_before_any_install(tmp_path: Path, action: str) -> None:
    clone = _commit_of_the_work_tree(tmp_path)
    result = _dev(clone, _bin_with(tmp_path, python3=sys.executable), action)
    one_line_error(result, "missing: terraform", "python3.12 (runtime of ", "echo, items, math, notify, predict")
    assert not (clone / ".venv").exists()


def test_with_everything_present_the_check_passes(tmp_path: Path) -> None:
    terraform = shutil.which("terraform")
    try:  # the real binary: a pyenv shim needs pyenv, which this PATH leaves out
        runtime = str(find_interpreter("python3.12", "x86_64", source="test").path)
    except UserError:
        runtime = ""
    if not (terraform and runtime):
        pytest.skip("needs terraform and python3.12")
    clone = _commit_of_the_work_tree(tmp_path)
    path = _bin_with(tmp_path, python3=sys.executable, terraform=terraform, **{"python3.12": runtime})
    environment = {"PATH": path, "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "no-pyenv")}
    result = subprocess.run(
        [sys.executable, "build.py", "up", "--check"], cwd=clone, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ready:")


def _wait_for_line(log: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        output = log.read_text()
        if text in output:
            return output
        if process.poll() is not None:
            pytest.fail(f"build.py up exited {process.returncode}:\n{output[-4000:]}")
        time.sleep(0.2)
    pytest.fail(f"build.py up never printed {text!r}:\n{log.read_text()[-4000:]}")


def _processes_of(root: Path) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(root) in text:
            found.append(text)
    return found


# What the `up` test deploys: the functions it drives (echo is edited, math debugged, predict's model uploaded) and
# predict's on-success destination, with the one table and bucket they use, set as a user overrides a variable of
# infra/envs/local (TF_VAR_<name>). The whole example stack's apply is the session's `local_stack`.
UP_FUNCTIONS = {"echo", "math", "predict", "notify"}
UP_VARIABLES = {
    "TF_VAR_tables": json.dumps({"predictions": {"hash_key": "id"}}),
    "TF_VAR_buckets": json.dumps({"models": {}}),
    "TF_VAR_secrets": "{}",
}


def _repository_of(tmp_path: Path, functions: set[str]) -> Path:
    """A copy of the repository holding only `functions` (and the chains between them), with no queues and only the
    HTTP API's shared settings: a user's smaller project. The provider waits ~25 s for each SQS queue it creates
    (twice with a dead-letter queue) whatever the endpoint, so the example's queues would cost that on every run."""
    root = copy_repository(tmp_path / "repo")
    for folder in (root / "functions").iterdir():
        if (folder / "function.toml").is_file() and folder.name not in functions:
            shutil.rmtree(folder)
    (root / "functions" / "resources.toml").write_text("# No queues, topics, streams or buses.\n")
    api = root / "functions" / "api.toml"  # the routes and authorizer of the functions left out go too
    api.write_text(api.read_text().split("[authorizers.")[0])
    return root


@pytest.mark.stack
def test_up_serves_the_stack_makes_a_saved_handler_live_and_ctrl_c_leaves_nothing(tmp_path: Path) -> None:
    if shutil.which("terraform") is None:
        pytest.skip("no `terraform` on PATH")
    root = _repository_of(tmp_path, UP_FUNCTIONS)
    port, debug_port = free_port(), dap_port()
    command = [sys.executable, "build.py", "up", "--port", str(port), "--prefix", "up-"]
    command += ["--debug=math", "--debug-port", str(debug_port)]  # math waits for a debugger at its first invocation
    if PROVIDER_MIRROR.is_dir():
        command += ["--plugin-dir", str(PROVIDER_MIRROR)]
    environment = {**os.environ, "LAMBDAFLEET_CACHE_DIR": str(cache_root(REPO_ROOT)), **UP_VARIABLES}
    environment.pop("AWS_ENDPOINT_URL", None)
    log = tmp_path / "up.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=root, env=environment, stdout=sink, stderr=subprocess.STDOUT)
    try:
        output = _wait_for_line(log, "watching functions/", process, timeout=600)
        api = next(line.split()[-1] for line in output.splitlines() if line.startswith("HTTP API"))
        assert api.startswith(f"http://127.0.0.1:{port}/_api/")
        with urllib.request.urlopen(f"{api}/health", timeout=30) as response:
            assert json.loads(response.read())["status"] == "ok"
        deployed = ", ".join(f"{name} (up-{name})" for name in sorted(UP_FUNCTIONS))
        assert f"functions     {deployed}\n" in output
        assert "model         s3://up-models-123456789012/iris.npz" in output
        assert f"  curl -X POST {api}/predict -d" in output  # the next commands
        assert f"  python build.py logs echo --follow --endpoint-url http://127.0.0.1:{port}" in output
        assert f"debug         math (up-math) on 127.0.0.1:{debug_port}: waits for a debugger" in output
        _debug_math(port, debug_port)

        handler = root / "functions" / "echo" / "lambda_function.py"
        handler.write_text("def lambda_handler(event, context):\n    return 'edited'\n")
        output = _wait_for_line(log, "echo: live", process, timeout=60)
        invoked = subprocess.run(
            [sys.executable, "-c", _INVOKE, f"http://127.0.0.1:{port}", "up-echo"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert invoked.stdout.split() == ['"edited"'] * 3, invoked.stderr
        assert "applying" not in output  # a code change is no terraform apply
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=120)
    output = log.read_text()
    assert code == 0, output[-4000:]
    assert "Traceback" not in output, output[-4000:]
    assert _processes_of(root) == []


def _debug_math(port: int, debug_port: int) -> None:
    """Invoke the deployed math, which waits for a debugger: attach one (as VS Code does), let it run, get 9."""
    answers: list[bytes] = []

    def invoke() -> None:
        client = boto3.client(
            "lambda", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
        )  # fmt: skip
        answers.append(
            client.invoke(FunctionName="up-math", Payload=b'{"action": "square", "number": 3}')["Payload"].read()
        )

    caller = threading.Thread(target=invoke)
    caller.start()
    debugger = DapClient(debug_port, timeout_s=60)
    debugger.request("initialize", clientID="test", adapterID="debugpy", pathFormat="path", linesStartAt1=True)
    debugger.send("attach", justMyCode=True)
    debugger.wait_for_event("initialized")
    debugger.request("configurationDone")
    caller.join(timeout=60)
    debugger.close()
    assert answers == [b"9"]


_INVOKE = """
import sys, boto3
client = boto3.client("lambda", endpoint_url=sys.argv[1], region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
for _ in range(3):  # the new code, then warm
    print(client.invoke(FunctionName=sys.argv[2], Payload=b"{}")["Payload"].read().decode())
"""
