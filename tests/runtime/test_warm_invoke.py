"""The warm path of a repeated `build.py invoke` (lambdafleet/runtime/warm.py): it imports none of the build's
machinery, and its server still runs the code on disk: a change to the handler, a shared library, function.toml,
the requirements, a layer, the tool itself or the environment gets a fresh build and a new environment."""

import json
import os
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.stack  # slow end to end: warm invoke servers, restarted after each kind of change

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# Counts its invocations (module state survives in a warm environment) and reports what it was built with.
COUNTER = """\
import os

COUNT = 0


def lambda_handler(event, context):
    global COUNT
    COUNT += 1
    try:
        import six
    except ImportError:
        six = None  # Lambda's runtime has one (botocore's); the function's requirements may pin another
    from layer_value import VALUE
    from tools.extra import EXTRA

    return [COUNT, VALUE, EXTRA, os.environ.get("COLOR"), six and six.__version__]
"""
# Never imported by a repeated, warm `build.py invoke`: the build, the command line, the pool, the endpoint, AWS
# SDKs, nor the standard library's heavier modules (the warm server imports them all, once).
HEAVY = ("lambdafleet.build", "lambdafleet.api", "lambdafleet.cli", "lambdafleet.runtime.pool", "lambdafleet.endpoint")
HEAVY += ("lambdafleet.runtime.from_repo", "boto3", "botocore", "moto", "tomllib", "subprocess", "dataclasses")
HEAVY += ("argparse", "pathlib", "typing", "json", "hashlib")


def _counter(workspace) -> Path:
    """functions/counter, with layer `values` and shared library `tools`."""
    layer = workspace.root / "layers" / "values" / "python"
    layer.mkdir(parents=True)
    (layer / "layer_value.py").write_text("VALUE = 'layer-1'\n")
    tools = workspace.root / "lib" / "tools"
    tools.mkdir(parents=True)
    (tools / "__init__.py").write_text("")
    (tools / "extra.py").write_text("EXTRA = 'lib-1'\n")
    config = 'layers = ["values"]\nshared = ["tools"]\n\n[environment]\nCOLOR = "red"\n'
    return workspace.add_function("counter", config, files={"lambda_function.py": COUNTER})


def _invoke(workspace, *options: str, env: dict[str, str] | None = None, input: str | None = None) -> list:
    result = workspace.run("invoke", "counter", *options, env=env, input=input)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_warm_invoke_imports_nothing_heavy(workspace):
    _counter(workspace)
    assert _invoke(workspace)[0] == 1  # builds, and leaves the warm server
    result = workspace.run("invoke", "counter", python_options=("-X", "importtime"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0] == 2 and "Init Duration" not in result.stderr  # the warm environment
    imported = [line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")]
    assert "lambdafleet.runtime.warm" in imported, result.stderr
    heavy = [name for name in imported if any(name == m or name.startswith(f"{m}.") for m in HEAVY)]
    assert not heavy, heavy


def test_the_warm_server_runs_what_is_on_disk(workspace):
    folder = _counter(workspace)
    first = _invoke(workspace)
    assert first[:4] == [1, "layer-1", "lib-1", "red"] and first[4] != "1.16.0"  # the runtime's own six, if any
    assert _invoke(workspace)[0] == 2
    edits = [
        (folder / "function.toml", 'layers = ["values"]\nshared = ["tools"]\n\n[environment]\nCOLOR = "blue"\n'),
        (workspace.root / "layers" / "values" / "python" / "layer_value.py", "VALUE = 'layer-2'\n"),
        (workspace.root / "lib" / "tools" / "extra.py", "EXTRA = 'lib-2'\n"),
    ]
    for path, text in edits:
        path.write_text(text)
        assert _invoke(workspace)[0] == 1, path  # a new build, a new environment
    assert _invoke(workspace)[:4] == [2, "layer-2", "lib-2", "blue"]
    shutil.copy(FIXTURES / "six-python3.12-x86_64.txt", folder / "requirements.txt")
    assert _invoke(workspace)[::4] == [1, "1.16.0"]
    # The tool's own code, or the environment the server runs the build in: another server.
    tool = workspace.root / "lambdafleet" / "build" / "plan.py"
    tool.write_text(tool.read_text() + "\n")
    assert _invoke(workspace)[0] == 1
    assert _invoke(workspace, env={"SOME_SETTING": "x"})[0] == 1
    assert _invoke(workspace)[0] == 2


def test_user_errors_on_the_warm_path_stay_one_line(workspace):
    folder = _counter(workspace)
    assert _invoke(workspace)[0] == 1
    (folder / "function.toml").write_text("timeout = 'soon'\n")
    result = workspace.run("invoke", "counter")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "functions/counter/function.toml" in result.stderr and "timeout" in result.stderr
    os.remove(folder / "function.toml")
    result = workspace.run("invoke", "nothing")
    assert result.returncode == 2 and "functions/nothing: no such function" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    (folder / "lambda_function.py").write_text("def lambda_handler(event, context):\n    return (\n")
    result = workspace.run("invoke", "counter")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_the_warm_path_reads_events_from_stdin_and_files(workspace, tmp_path):
    folder = _counter(workspace)
    assert _invoke(workspace, "--event", "-", input='{"a": 1}')[0] == 1
    assert _invoke(workspace, "--event", "-", input='{"a": 1}')[0] == 2  # warm, its event from stdin
    event = tmp_path / "event.json"
    event.write_text('{"b": 2}')
    assert _invoke(workspace, "--event", str(event))[0] == 3
    event.write_text(json.dumps({"big": "x" * 6_300_000}))  # over Lambda's 6 MB: refused there, in one line
    result = workspace.run("invoke", "counter", "--event", str(event))
    assert result.returncode == 2 and "Request must be smaller than 6291456 bytes" in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) == 1
    result = workspace.run("invoke", "counter", "--event", "-", input="not json")
    assert result.returncode == 2 and result.stderr.startswith("error: --event - (stdin): the event is not valid JSON")
    assert len(result.stderr.splitlines()) == 1
    # The server's build check fails: the command line runs it and still has the event from stdin.
    (folder / "function.toml").write_text("timeout = 'soon'\n")
    result = workspace.run("invoke", "counter", "--event", "-", input='{"a": 1}')
    assert result.returncode == 2 and "functions/counter/function.toml: key 'timeout'" in result.stderr, result.stderr


EXCLUSIVE = "not allowed with argument --payload"


def test_usage_errors_and_help_on_the_warm_path(workspace):
    _counter(workspace)
    assert _invoke(workspace)[0] == 1
    for args, message in [  # as lambdafleet.cli prints them
        (("--bogus",), "build.py: error: unrecognized arguments: --bogus (see --help)"),
        (("--env", "X"), "error: --env 'X': expected KEY=VALUE"),
        (("--payload", "{", "--event", "-"), f"build.py invoke: error: argument --event: {EXCLUSIVE} (see --help)"),
        (("--debug-port", "5000"), "error: --debug-port and --no-debug-wait need --debug"),
    ]:
        result = workspace.run("invoke", "counter", *args)
        assert result.returncode == 2 and result.stderr.strip() == message, (args, result.stderr)
        in_process = workspace.cli("invoke", "counter", *args)  # lambdafleet.cli.main, no server in between
        assert (in_process.returncode, in_process.stderr) == (2, result.stderr), args
    help_ = workspace.run("invoke", "--help")
    assert help_.returncode == 0 and help_.stdout.startswith("usage: build.py invoke") and "--cold" in help_.stdout
    assert _invoke(workspace)[0] == 2


def _servers(root: Path) -> list[int]:
    """The warm servers started from `root` (their working folder)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if b"warm_server" in (proc / "cmdline").read_bytes() and (proc / "cwd").resolve() == root.resolve():
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="finds servers through /proc")
def test_cold_debug_and_help_never_wait_for_a_server(workspace):
    """What the command line runs itself does not start (and wait for) a warm server first."""
    _counter(workspace)
    assert _invoke(workspace, "--cold")[0] == 1
    assert workspace.run("invoke", "--help").returncode == 0
    result = workspace.run("invoke", "counter", "--debug-port", "1")
    assert result.returncode == 2 and "need --debug" in result.stderr
    assert not _servers(workspace.root)
    assert _invoke(workspace)[0] == 1  # the first warm invoke starts one
    assert len(_servers(workspace.root)) == 1


def test_concurrent_invokes_share_the_server(workspace):
    """Checks run one at a time; invocations run side by side, each in an environment of the function's pool."""
    from concurrent.futures import ThreadPoolExecutor

    _counter(workspace)
    assert _invoke(workspace)[0] == 1
    with ThreadPoolExecutor(4) as threads:
        results = list(threads.map(lambda _: workspace.run("invoke", "counter"), range(4)))
    assert all(result.returncode == 0 for result in results), [result.stderr for result in results]
    assert all(json.loads(result.stdout)[1] == "layer-1" for result in results)


LOUD = """\
import socket


def lambda_handler(event, context):
    socket.create_connection(("127.0.0.1", {port})).close()  # counted by the test
    print("x" * 17_000_000 + "end-of-logs")
    return "done"
"""


def _runs(listener) -> int:
    """The connections waiting on `listener`: one per run of the function."""
    count = 0
    while True:
        try:
            listener.accept()[0].close()
        except BlockingIOError:
            return count
        count += 1


def test_an_invocation_with_logs_over_the_message_limit_runs_once(workspace):
    """The warm server's reply is bounded (MAX_MESSAGE); logs bigger than that are cut, not a reason to run the
    invocation again in the command line (each run of a function is a run of its side effects)."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        source = LOUD.format(port=listener.getsockname()[1])
        workspace.add_function("loud", files={"lambda_function.py": source})
        for _ in range(2):  # the first starts the server, the second finds it
            result = workspace.run("invoke", "loud")
            assert result.returncode == 0 and result.stdout == '"done"\n', (result.stdout, result.stderr[:3000])
            assert _runs(listener) == 1
            assert "end-of-logs" in result.stderr and "REPORT RequestId" in result.stderr  # the logs' end is kept


SLOW = """\
import socket
import time


def lambda_handler(event, context):
    socket.create_connection(("127.0.0.1", {port})).close()  # counted by the test
    time.sleep(event.get("sleep", 0))
    return "done"
"""


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="finds servers through /proc")
def test_a_server_that_dies_during_an_invocation_is_not_taken_for_no_server(workspace):
    """The event reached the function: running it again in the command line would run its side effects twice.
    One line says so, exit code 1; the next invoke starts another server."""
    import signal
    import socket
    from concurrent.futures import ThreadPoolExecutor

    with socket.create_server(("127.0.0.1", 0)) as listener:
        source = SLOW.format(port=listener.getsockname()[1])
        workspace.add_function("slow", files={"lambda_function.py": source})
        assert workspace.run("invoke", "slow").returncode == 0  # builds, and leaves the warm server
        listener.settimeout(30)
        listener.accept()[0].close()
        with ThreadPoolExecutor(1) as thread:
            running = thread.submit(workspace.run, "invoke", "slow", "--payload", '{"sleep": 2}')
            listener.accept()[0].close()  # the function runs
            (server,) = _servers(workspace.root)
            os.kill(server, signal.SIGKILL)
            result = running.result(timeout=60)
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith("error: the warm server stopped during the invocation"), result.stderr
        assert len(result.stderr.splitlines()) == 1, result.stderr
        listener.setblocking(False)
        assert _runs(listener) == 0  # not run again
        assert workspace.run("invoke", "slow").returncode == 0
        assert _runs(listener) == 1
