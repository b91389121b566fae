"""The same behaviour whether environments are forked from a fork server or started as new interpreters."""

import pytest

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


def test_first_environment_does_not_wait_for_the_fork_server_then_forks(make_pool):
    """A fork's command line is the fork server's (`serve`); a new interpreter's is its own (`run`)."""
    source = "def lambda_handler(e, c):\n    return open('/proc/self/cmdline', 'rb').read().split(b'\\0')[3].decode()\n"
    pool = make_pool(source, fork_server=True, max_environments=1)
    assert pool.invoke({}).response == "run"  # the server was still importing: started afresh
    assert pool.wait_ready()
    pool.recycle()
    assert pool.invoke({}).response == "serve"


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
