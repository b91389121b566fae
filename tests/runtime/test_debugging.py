"""`build.py invoke --debug`: a real DAP client (what VS Code sends) attaches to debugpy in the function's
environment, stops at a breakpoint in the handler and continues; without --debug the function sees no debugger."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from lambdafleet.build.paths import BUILD_ENV
from lambdafleet.errors import UserError
from lambdafleet.runtime import FunctionPool, FunctionSpec, InvokeResult
from lambdafleet.runtime.debug import Debugger
from lambdafleet.runtime.interpreter import find_interpreter, lambda_architecture
from tests.runtime.conftest import CACHE_DIR, REPO_ROOT
from tests.runtime.dap_client import DapClient, debug_port

pytestmark = pytest.mark.stack  # slow end to end: debugpy sessions under four interpreters

# The breakpoint goes on the return line. The timeout (1 s) is shorter than the pause at the breakpoint.
HANDLER = 'def lambda_handler(event, context):\n    answer = event["key1"]\n    return answer\n'
BREAKPOINT_LINE = 3
TIMEOUT_CONFIG = "timeout = 1\n"
PAUSE_S = 1.3
EVENT = '{"key1": "value1"}'
BREAKPOINT_CALL = "def lambda_handler(event, context):\n    breakpoint()\n    return 42\n"
# Which runtimes' debugpy works here: every supported one whose interpreter this machine has.
RUNTIMES = ("python3.10", "python3.11", "python3.12", "python3.13")
HOST = lambda_architecture(os.uname().machine)

# What a function sees of a debugger: sys.modules, an import, the sandbox's folder, processes in its environment.
PROBE = """\
import importlib.util, os, sys


def lambda_handler(event, context):
    commands = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as stream:
                commands.append(stream.read().replace(b"\\0", b" ").decode())
        except OSError:
            pass
    return {
        "loaded": sorted(name for name in sys.modules if "debugpy" in name or "pydevd" in name),
        "importable": importlib.util.find_spec("debugpy") is not None,
        "folder": os.path.exists("/var/lambdafleet"),
        "adapter": [command for command in commands if "debugpy" in command],
    }
"""


def _has_interpreter(runtime: str) -> bool:
    try:
        find_interpreter(runtime, HOST, source="test")
    except UserError:
        return False
    return True


def _environment(workspace) -> dict[str, str]:
    inherited = {key: value for key, value in os.environ.items() if key != BUILD_ENV}
    return {**inherited, "LAMBDAFLEET_CACHE_DIR": str(workspace.cache_dir)}


def _start_invoke(
    workspace, name: str, *options: str, sigint_ignored: bool = False
) -> tuple[subprocess.Popen[str], str]:
    """`build.py invoke NAME OPTIONS` in the background; returns it and its first line on stderr. With
    `sigint_ignored`, it inherits SIGINT ignored, as everything started from a shell's background job (`cmd &`:
    a test run beside CPU burners) does, and then Python installs no Ctrl-C handler of its own."""
    process = subprocess.Popen(
        [sys.executable, str(workspace.root / "build.py"), "invoke", name, "--payload", EVENT, *options],
        cwd=workspace.root,
        env=_environment(workspace),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None,
    )
    assert process.stderr is not None
    return process, process.stderr.readline()


def _stop(process: subprocess.Popen[str]) -> None:
    """Ctrl-C, as a developer would (its environment ends with it; so it would after a SIGKILL, see lifeline.py)."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _attach(port: int, source: str, line: int) -> DapClient:
    """What VS Code's "attach" configuration does: initialize, attach, set breakpoints, configurationDone."""
    client = DapClient(port, timeout_s=30)
    client.request("initialize", clientID="test", adapterID="debugpy", pathFormat="path", linesStartAt1=True)
    client.send("attach", justMyCode=True)
    client.wait_for_event("initialized")
    breakpoints = client.request("setBreakpoints", source={"path": source}, breakpoints=[{"line": line}])
    assert breakpoints["breakpoints"][0]["verified"], breakpoints
    client.request("configurationDone")
    return client


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_invoke_debug_stops_at_a_breakpoint_then_returns_the_result(workspace, runtime):
    if not _has_interpreter(runtime):
        pytest.skip(f"no {runtime} interpreter on this machine")
    config = f'runtime = "{runtime}"\n' + TIMEOUT_CONFIG
    workspace.add_function("echo", config, {"lambda_function.py": HANDLER})
    workspace.run("build", "echo")  # the build's own time stays out of the debugger's connect timeout
    port = debug_port()
    process, debug_line = _start_invoke(workspace, "echo", "--debug", "--debug-port", str(port))
    try:
        assert debug_line.startswith(f"debug: echo listens on 127.0.0.1:{port} and waits for a debugger"), debug_line
        remote_root = debug_line.split(" -> ")[1].split(";")[0]  # /var/task in the sandbox
        client = _attach(port, f"{remote_root}/lambda_function.py", BREAKPOINT_LINE)
        stopped = client.wait_for_event("stopped")
        assert stopped["reason"] == "breakpoint"
        frame = client.request("stackTrace", threadId=stopped["threadId"])["stackFrames"][0]
        assert (frame["name"], frame["line"]) == ("lambda_handler", BREAKPOINT_LINE)
        scopes = client.request("scopes", frameId=frame["id"])["scopes"]
        variables = client.request("variables", variablesReference=scopes[0]["variablesReference"])["variables"]
        assert {"name": "answer", "value": "'value1'"}.items() <= next(
            v for v in variables if v["name"] == "answer"
        ).items()
        if runtime == "python3.12":
            time.sleep(PAUSE_S)  # longer than the function's timeout: lifted under the debugger
        client.send("continue", threadId=stopped["threadId"])
        out, logs = process.communicate(timeout=30)
        client.close()
    except (OSError, AssertionError, subprocess.TimeoutExpired) as error:
        _stop(process)  # Ctrl-C: the environment ends too, and the logs say what it did
        raise AssertionError(f"{error!r}; invoke's output:\n{process.communicate()[1]}") from error
    assert process.returncode == 0, logs
    assert json.loads(out) == "value1"
    assert f"lambdafleet: debugpy listening on 127.0.0.1:{port}, waiting for a client to attach" in logs
    assert "Status: timeout" not in logs and "Task timed out" not in logs
    if runtime == "python3.12":
        duration_ms = float(logs.split("\tDuration: ")[1].split(" ms")[0])
        assert duration_ms > PAUSE_S * 1000


def test_without_debug_the_function_sees_no_debugger(workspace):
    workspace.add_function("probe", None, {"lambda_function.py": PROBE})
    # debugpy is installed for this runtime (by the --debug run), yet nothing of it reaches a plain invoke.
    port = debug_port()
    process, _ = _start_invoke(workspace, "probe", "--debug", "--debug-port", str(port), "--no-debug-wait")
    out, logs = process.communicate(timeout=60)
    assert process.returncode == 0, logs
    debugged = json.loads(out)
    assert debugged["loaded"] and debugged["adapter"], debugged  # the probe does see a debugger when there is one
    done = workspace.run("invoke", "probe", "--payload", EVENT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"loaded": [], "importable": False, "folder": False, "adapter": []}
    assert "debugpy" not in done.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["invoke", "echo", "--debug-port", "5678"], "error: --debug-port and --no-debug-wait need --debug"),
        (["invoke", "echo", "--debug", "--debug-port", "0"], "error: --debug-port 0: not a port number (1-65535)"),
        (["invoke", "echo", "--debug", "--debug-port", "70000"], "error: --debug-port 70000: not a port number"),
        (["up", "--no-debug-wait"], "error: --debug-port and --no-debug-wait need --debug"),
        (["up", "--debug", "echo,nosuch"], "error: --debug echo,nosuch: no function nosuch (known: echo, math)"),
        (["up", "--debug", "--debug-port", "65535"], "error: --debug-port 65535: 2 functions need ports up to 65536"),
        (["up", "--debug=echo", "--endpoint-url", "http://127.0.0.1:1"], "error: --debug runs functions on the"),
        (["local", "--debug", ",", "--port", "0"], "error: --debug ',': expected NAME[,NAME...]"),
    ],
)
def test_debug_options_are_checked_in_one_line(workspace, arguments, message):
    workspace.add_function("echo")
    workspace.add_function("math")
    done = workspace.cli(*arguments)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1, done.stderr


def test_closing_a_debugged_pool_ends_an_environment_still_waiting_and_frees_its_port(make_zip):
    port = debug_port()
    spec = FunctionSpec(name="paused")
    pool = FunctionPool(spec, make_zip({"lambda_function.py": HANDLER}), cache_dir=CACHE_DIR, debugger=Debugger(port))
    results: list[InvokeResult] = []
    invoking = threading.Thread(target=lambda: results.append(pool.invoke({"key1": "x"})))
    invoking.start()
    deadline = time.monotonic() + 20
    while not _listening(port):  # the environment started and waits for a debugger that never comes
        assert time.monotonic() < deadline, "debugpy never listened"
        time.sleep(0.05)
    pool.close()  # as `up` does on Ctrl-C or a redeploy
    invoking.join(timeout=10)
    assert results and results[0].function_error, "the waiting invocation did not end"
    assert json.loads(results[0].payload)["errorType"] == "Runtime.ExitError"
    assert not _listening(port)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_stopping_invoke_while_it_waits_for_the_debugger_leaves_nothing_behind(workspace):
    workspace.add_function("echo", None, {"lambda_function.py": HANDLER})
    workspace.run("build", "echo")
    port = debug_port()
    for stop in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C (or an IDE's stop), kill
        process, _ = _start_invoke(
            workspace, "echo", "--debug", "--debug-port", str(port), sigint_ignored=stop == signal.SIGINT
        )
        deadline = time.monotonic() + 20
        while not _listening(port):
            assert time.monotonic() < deadline and process.poll() is None, "debugpy never listened"
            time.sleep(0.05)
        process.send_signal(stop)
        try:
            assert process.wait(timeout=10) == 130  # "interrupted"
        finally:
            process.kill()  # when it did not stop: its environment goes with it (lifeline.py)
            process.wait()
        assert not _listening(port), f"the environment outlived invoke after {stop.name}"


def test_breakpoint_in_the_code_stops_in_an_attached_debugger_without_path_mappings(make_zip):
    handler = BREAKPOINT_CALL
    port = debug_port()
    zip_path = make_zip({"lambda_function.py": handler})
    pool = FunctionPool(FunctionSpec(name="stops"), zip_path, cache_dir=CACHE_DIR, debugger=Debugger(port))
    results: list[InvokeResult] = []
    invoking = threading.Thread(target=lambda: results.append(pool.invoke({})))
    invoking.start()
    try:
        client = DapClient(port, timeout_s=30)
        client.request("initialize", clientID="test", adapterID="debugpy", pathFormat="path", linesStartAt1=True)
        client.send("attach", justMyCode=True)
        client.wait_for_event("initialized")
        client.request("configurationDone")  # no breakpoints set: the call in the code is the breakpoint
        stopped = client.wait_for_event("stopped")
        frame = client.request("stackTrace", threadId=stopped["threadId"])["stackFrames"][0]
        assert (frame["name"], frame["line"]) == ("lambda_handler", 3)  # stopped right after breakpoint() returns
        client.send("continue", threadId=stopped["threadId"])
        invoking.join(timeout=30)
        client.close()
    except (OSError, AssertionError) as error:
        pool.close()  # ends the environment: its logs say what it did
        invoking.join(timeout=30)
        raise AssertionError(f"{error!r}; the function's logs:\n{results[0].logs if results else 'none'}") from error
    pool.close()
    assert results and json.loads(results[0].payload) == 42


def test_a_debug_port_already_taken_is_a_one_line_error_before_anything_starts(workspace):
    workspace.add_function("echo")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for arguments in (["invoke", "echo", "--debug"], ["up", "--debug=echo", "--no-watch"]):
            done = workspace.cli(*arguments, "--debug-port", str(port))
            assert done.returncode == 2, done.stderr
            expected = f"error: --debug-port {port}: cannot listen on 127.0.0.1:{port} (Address already in use)\n"
            assert done.stderr == expected


UNSANDBOXED_CHECK = """
import json, sys, threading
from pathlib import Path
from lambdafleet.runtime import FunctionPool, FunctionSpec
from lambdafleet.runtime.debug import Debugger
from tests.runtime.dap_client import DapClient
cache, zip_path, port = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
with FunctionPool(FunctionSpec(name="bare"), zip_path, cache_dir=cache, debugger=Debugger(port)) as pool:
    results = []
    invoking = threading.Thread(target=lambda: results.append(pool.invoke({})))
    invoking.start()
    client = DapClient(port, timeout_s=30)
    client.request("initialize", clientID="test", adapterID="debugpy", pathFormat="path", linesStartAt1=True)
    client.send("attach", justMyCode=True)
    client.wait_for_event("initialized")
    client.request("configurationDone")
    stopped = client.wait_for_event("stopped")
    frame = client.request("stackTrace", threadId=stopped["threadId"])["stackFrames"][0]
    client.send("continue", threadId=stopped["threadId"])
    invoking.join(timeout=30)
    print(json.dumps([results[0].logs, results[0].payload.decode(), frame["source"]["path"], pool.remote_task_root()]))
"""


@pytest.mark.skipif(not shutil.which("unshare"), reason="needs util-linux's unshare")
def test_without_the_sandbox_the_debugger_sees_the_host_path_that_invoke_prints(make_zip):
    """Where user namespaces are refused (or on macOS) the code runs from its host path: remote_task_root() (what
    invoke's `debug:` line names as the path mapping's remote root) is where the debugger finds it."""
    zip_path = make_zip({"lambda_function.py": BREAKPOINT_CALL})
    command = ["unshare", "-Ur", "sh", "-c", 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"', "-"]
    command += [sys.executable, "-c", UNSANDBOXED_CHECK, str(CACHE_DIR), str(zip_path), str(debug_port())]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    logs, payload, source, remote_root = json.loads(done.stdout.splitlines()[-1])
    assert "lambdafleet: no sandbox (user namespaces unavailable" in logs and payload == "42"
    assert remote_root != "/var/task" and source == f"{remote_root}/lambda_function.py"
