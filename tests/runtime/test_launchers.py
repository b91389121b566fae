"""The same behaviour whether environments are forked from a fork server or started as new interpreters."""

import os
import time

import pytest

from lambdafleet.runtime import launcher
from tests.runtime.conftest import SANDBOX_MISSING

BOTH = pytest.mark.parametrize("fork_server", [True, False], ids=["fork-server", "new-interpreter"])
SOURCE = """
    import os, sys, time
    print("Loading function")
    def lambda_handler(event, context):
        if event.get("exit") is not None:
            os._exit(event["exit"])
        time.sleep(event.get("sleep", 0))
        return {"id": os.environ["AWS_LAMBDA_LOG_STREAM_NAME"], "env": sorted(os.environ), "path": sys.path[:4]}
"""


@BOTH
def test_response_warm_reuse_and_environment(make_pool, fork_server):
    pool = make_pool(SOURCE, fork_server=fork_server, environment={"MINE": "1"})
    assert pool.wait_ready()
    first, second = pool.invoke({}), pool.invoke({})
    assert first.response["id"] == second.response["id"]
    assert "Loading function" in first.logs and "Loading function" not in second.logs
    assert "MINE" in first.response["env"] and "LC_CTYPE" not in first.response["env"]
    if SANDBOX_MISSING is None:
        # Lambda's, wherever the cache is: the task root, the layers' two folders, the runtime.
        layers = ["/opt/python/lib/python3.12/site-packages", "/opt/python"]
        assert first.response["path"] == ["/var/task", *layers, "/var/runtime"]


@BOTH
def test_exit_code_and_replacement(make_pool, fork_server):
    pool = make_pool(SOURCE, fork_server=fork_server)
    assert pool.wait_ready()
    assert pool.invoke({"exit": 7}).error["errorMessage"].endswith("Runtime exited with error: exit status 7")
    assert pool.invoke({}).init_duration_ms is not None


@BOTH
def test_timeout(make_pool, fork_server):
    pool = make_pool(SOURCE, fork_server=fork_server, timeout=1)
    assert pool.wait_ready()
    assert pool.invoke({"sleep": 10}).error["errorType"] == "Sandbox.Timedout"


def test_first_environment_does_not_wait_for_the_fork_server_then_forks(make_pool, monkeypatch):
    """A fork's command line is the fork server's (`serve`); a new interpreter's is its own (`run`)."""
    monkeypatch.setattr(launcher, "SHARED_SERVERS", launcher.SharedForkServers())  # none started yet
    pool = make_pool(COMMAND, fork_server=True, max_environments=1)
    assert pool.invoke({}).response == "run"  # the server was still importing: started afresh
    assert pool.wait_ready()
    pool.recycle()
    assert pool.invoke({}).response == "serve"


COMMAND = "def lambda_handler(e, c):\n    return open('/proc/self/cmdline', 'rb').read().split(b'\\0')[3].decode()\n"
LISTING = "import os\n\ndef lambda_handler(e, c):\n    return sorted(os.listdir(os.environ['LAMBDA_TASK_ROOT']))\n"


def test_functions_of_one_interpreter_share_one_fork_server_yet_each_sees_only_its_zip(make_pool, monkeypatch):
    """One server per interpreter and runtime dir, whatever the number of functions; stopped with the last."""
    servers = launcher.SharedForkServers()
    monkeypatch.setattr(launcher, "SHARED_SERVERS", servers)
    first = make_pool({"lambda_function.py": LISTING, "first.txt": "1"}, name="first", fork_server=True)
    second = make_pool({"lambda_function.py": LISTING, "second.txt": "2"}, name="second", fork_server=True)
    assert first.wait_ready() and second.wait_ready()
    assert len(servers._servers) == 1
    server = next(iter(servers._servers.values()))
    assert first.invoke({}).response == ["first.txt", "lambda_function.py"]
    assert second.invoke({}).response == ["lambda_function.py", "second.txt"]
    for pool in (first, second):
        pool.recycle()
        assert pool.wait_ready()
    third = make_pool(COMMAND, name="third", fork_server=True)
    assert third.wait_ready()
    assert third.invoke({}).response == "serve"  # a fork of the same server
    assert list(servers._servers.values()) == [server]
    assert _until(lambda: len(_children(server.pid)) == 4)  # third's environment, and a spare for each function
    first.close()  # its spare goes; the server stays for the others
    assert _until(lambda: len(_children(server.pid)) == 3)
    for pool in (second, third):
        pool.close()
    assert servers._servers == {}
    assert not os.path.exists(f"/proc/{server.pid}")  # stopped and reaped


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stream:
                if entry.isdigit() and int(stream.read().rpartition(")")[2].split()[1]) == pid:
                    found.append(int(entry))
        except (OSError, ValueError):
            continue
    return found


def _until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@BOTH
def test_a_module_bundled_in_the_zip_shadows_the_runtime_own(make_pool, fork_server):
    """As in Lambda, the task root comes first even for awslambdaric's dependencies."""
    files = {
        "lambda_function.py": "def lambda_handler(e, c):\n    return 1\n",
        "simplejson/__init__.py": "raise ImportError('the bundled simplejson was loaded')\n",
    }
    pool = make_pool(files, fork_server=fork_server)
    assert pool.wait_ready()
    result = pool.invoke({})
    assert result.error["errorType"] == "Runtime.ExitError"
    assert "ImportError: the bundled simplejson was loaded" in result.logs


@BOTH
def test_tmp_is_empty_at_a_cold_start(make_pool, fork_server):
    pool = make_pool("import os\n\ndef lambda_handler(e, c):\n    return os.listdir('/tmp')\n", fork_server=fork_server)
    assert pool.wait_ready()
    assert pool.invoke({}).response == []


@BOTH
def test_exit_and_quit_exist_as_in_lambda(make_pool, fork_server):
    source = "def lambda_handler(e, c):\n    exit(4) if e else quit(5)\n"
    pool = make_pool(source, fork_server=fork_server)
    assert pool.wait_ready()
    assert pool.invoke({"exit": 1}).error["errorMessage"].endswith("Runtime exited with error: exit status 4")
    assert pool.invoke({}).error["errorMessage"].endswith("Runtime exited with error: exit status 5")


@BOTH
def test_the_shared_runtime_directory_is_read_only(make_pool, fork_server):
    source = """
        import os
        def lambda_handler(event, context):
            try:
                open(os.path.join(os.environ["LAMBDA_RUNTIME_DIR"], "awslambdaric", "pwned.txt"), "w").close()
                return "writable"
            except OSError as error:
                return error.strerror
    """
    pool = make_pool(source, fork_server=fork_server)
    assert pool.wait_ready()
    assert pool.invoke({}).response == "Read-only file system"
