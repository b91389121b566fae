"""The sandbox against hostile functions: what a function sees of the host, what it can write, whether its
descendants outlive it or escape its memory limit, and whether it can reach another environment's Runtime
API. Linux with unprivileged user namespaces (what CI has); elsewhere the sandbox is documented as absent."""

import http.client
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdafleet.runtime.interpreter import Interpreter
from lambdafleet.runtime.provision import runtime_dir
from tests.runtime.conftest import CACHE_DIR, REPO_ROOT, needs_sandbox

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox needs Linux namespaces")
BOTH = pytest.mark.parametrize("fork_server", [True, False], ids=["fork-server", "new-interpreter"])

PROBE = """
    import os, sys
    def lambda_handler(event, context):
        def writable(path):
            try:
                with open(os.path.join(path, ".lambdafleet-probe"), "w"):
                    pass
                return True
            except OSError:
                return False
        return {
            "root": sorted(os.listdir("/")),
            "var": sorted(os.listdir("/var")),
            "opt": os.listdir("/opt"),
            "tmp": os.listdir("/tmp"),
            "dev": sorted(os.listdir("/dev")),
            "processes": sorted(int(entry) for entry in os.listdir("/proc") if entry.isdigit()),
            "pid": os.getpid(),
            "cwd": os.getcwd(),
            "file": __file__,
            "environment": {key: os.environ[key] for key in ("LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR")},
            "path": sys.path[:2],
            "visible": [path for path in event["hidden"] if os.path.exists(path)],
            "home": sorted(os.listdir(event["home"])) if os.path.exists(event["home"]) else None,
            "writable": [path for path in event["candidates"] if writable(path)],
        }
"""


@pytest.fixture
def host_secrets() -> Iterator[list[str]]:
    """A fake ~/.aws/credentials, ~/.ssh/id_rsa and a file in /var/tmp: the developer's, on the host."""
    made = [Path(tempfile.mkdtemp(dir=Path.home())), Path(tempfile.mkdtemp(dir="/var/tmp"))]
    files = [made[0] / ".aws" / "credentials", made[0] / ".ssh" / "id_rsa", made[1] / "other-user-file"]
    for file in files:
        file.parent.mkdir(exist_ok=True)
        file.write_text("secret\n")
    yield [str(file) for file in files]
    for directory in made:
        shutil.rmtree(directory)


@needs_sandbox
@BOTH
def test_the_function_sees_lambda_filesystem_and_nothing_of_the_host(make_pool, fork_server, host_secrets, tmp_path):
    hidden = [*host_secrets, str(REPO_ROOT), str(CACHE_DIR), str(tmp_path), "/var/tmp", "/dev/shm"]
    candidates = ["/", "/tmp", "/var", "/var/task", "/var/runtime", "/opt", "/etc", "/usr", "/dev", sys.base_prefix]
    pool = make_pool(PROBE, fork_server=fork_server)
    assert pool.wait_ready()
    seen = pool.invoke({"hidden": hidden, "candidates": candidates, "home": str(Path.home())}).response
    assert seen["var"] == ["runtime", "task"] and seen["opt"] == [] and seen["tmp"] == []
    assert not {"home", "mnt", "srv", "run", "media", "work"} & set(seen["root"])
    assert seen["dev"] == ["fd", "full", "null", "random", "stderr", "stdin", "stdout", "tty", "urandom", "zero"]
    assert seen["cwd"] == "/var/task" and seen["file"] == "/var/task/lambda_function.py"
    assert seen["environment"] == {"LAMBDA_TASK_ROOT": "/var/task", "LAMBDA_RUNTIME_DIR": "/var/runtime"}
    assert seen["path"] == ["/var/task", "/opt/python/lib/python3.12/site-packages"]
    assert seen["visible"] == []
    # Of the home folder, only the way to the function's interpreter when it lives there (pyenv, uv).
    interpreter = Path(sys.base_prefix).resolve()
    inside = interpreter.is_relative_to(Path.home())
    assert seen["home"] == ([interpreter.relative_to(Path.home()).parts[0]] if inside else None)
    assert seen["writable"] == ["/tmp"]
    assert seen["processes"] == [1, 2] and seen["pid"] == 2  # the environment's init and its runtime


@needs_sandbox
def test_tmp_is_empty_when_the_cache_and_the_zip_live_under_tmp(make_zip, tmp_path):
    """A checkout or cache under /tmp used to show its top folder in the function's /tmp."""
    from lambdafleet.runtime import FunctionPool, FunctionSpec

    cache = tmp_path / "checkout" / ".cache" / "lambdafleet"
    source = runtime_dir(_interpreter("3.12"), CACHE_DIR.resolve())
    shutil.copytree(source, cache / "runtime" / source.name, copy_function=os.link)  # no second install
    zip_path = make_zip({"lambda_function.py": "import os\ndef lambda_handler(e, c):\n    return os.listdir('/tmp')\n"})
    with FunctionPool(FunctionSpec(name="probe"), zip_path, cache_dir=cache) as pool:
        result = pool.invoke({})
    assert result.response == []


@needs_sandbox
def test_the_function_cannot_undo_its_mounts(make_pool):
    """Capabilities are dropped: no unmount, no remount, not even from a user namespace of its own."""
    source = """
        import ctypes, subprocess
        def lambda_handler(event, context):
            libc = ctypes.CDLL(None, use_errno=True)
            umount = libc.umount2(b"/var/task", 2) == 0
            nested = subprocess.run(
                ["unshare", "-Urm", "sh", "-c", "mount -o remount,bind,rw /var/task && touch /var/task/x"],
                capture_output=True,
            )
            return {"umount": umount, "nested": nested.returncode}
    """
    outcome = make_pool(source).invoke({}).response
    assert outcome["umount"] is False and outcome["nested"] != 0


DAEMON = """
    import os, subprocess, sys, time
    def lambda_handler(event, context):
        code = "import os, sys, time\\n"
        code += "os.setsid()\\n"
        code += "if os.fork(): os._exit(0)\\n"  # double fork: the grandchild is nobody's child
        code += "hog = b'x' * (%d << 20)\\n" % event["mb"]
        code += "time.sleep(300)\\n"
        subprocess.run([sys.executable, "-c", code, event["marker"]], check=True)
        time.sleep(event["wait"])
        return "returned"
"""


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if marker.encode() in Path(entry.path, "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def _gone(marker: str, within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _processes_with(marker)


@BOTH
def test_a_setsid_double_forked_child_dies_with_its_environment(make_pool, fork_server):
    marker = f"lambdafleet-daemon-{uuid.uuid4().hex}"
    pool = make_pool(DAEMON, fork_server=fork_server)
    assert pool.wait_ready()
    assert pool.invoke({"marker": marker, "mb": 1, "wait": 0}).response == "returned"
    assert _processes_with(marker), "the daemon should live as long as its environment"
    pool.recycle()
    assert _gone(marker)


@pytest.mark.stack  # slow end to end: a long wait: the function times out
def test_a_setsid_child_dies_when_its_environment_times_out(make_pool):
    marker = f"lambdafleet-daemon-{uuid.uuid4().hex}"
    result = make_pool(DAEMON, timeout=2).invoke({"marker": marker, "mb": 1, "wait": 10})
    assert result.status == "timeout"
    assert _gone(marker)


def test_a_setsid_child_counts_against_memory(make_pool):
    marker = f"lambdafleet-daemon-{uuid.uuid4().hex}"
    result = make_pool(DAEMON, memory_size=128, timeout=20).invoke({"marker": marker, "mb": 300, "wait": 10})
    assert result.error["errorType"] == "Runtime.OutOfMemory"
    assert result.max_memory_used_mb >= 128
    assert _gone(marker)


VICTIM = """
    import os
    def lambda_handler(event, context):
        return {"api": os.environ["AWS_LAMBDA_RUNTIME_API"], "event": event}
"""
THIEF = """
    import http.client
    def lambda_handler(event, context):
        connection = http.client.HTTPConnection(event["api"], timeout=3)
        try:
            connection.request("GET", "/2018-06-01/runtime/invocation/next")
            response = connection.getresponse()
            return {"stole": response.read().decode(), "status": response.status}
        except (OSError, http.client.HTTPException) as error:
            return {"refused": type(error).__name__}
"""


@BOTH
def test_a_function_cannot_take_another_environment_events(make_pool, fork_server):
    victim = make_pool(VICTIM, name="lf-victim", fork_server=fork_server)
    thief = make_pool(THIEF, name="lf-thief", fork_server=fork_server)
    assert victim.wait_ready() and thief.wait_ready()
    api = victim.invoke({"n": 1}).response["api"]  # its runtime now waits on /next for the next event
    attempt = thief.invoke({"api": api}).response
    assert "refused" in attempt, attempt
    assert victim.invoke({"n": 2}).response == {"api": api, "event": {"n": 2}}
    host = http.client.HTTPConnection(api, timeout=3)  # nor this process, which is not the environment
    with pytest.raises((OSError, http.client.HTTPException)):
        host.request("GET", "/2018-06-01/runtime/invocation/next")
        host.getresponse()


UNPRIVILEGED_CHECK = """
    import json, os, sys
    from pathlib import Path
    from lambdafleet.runtime import FunctionPool, FunctionSpec
    cache, zip_path, secret = sys.argv[1:]
    with FunctionPool(FunctionSpec(name="probe", runtime="python3.11"), Path(zip_path), cache_dir=Path(cache)) as pool:
        pool.wait_ready()
        event = {"hidden": [secret, "/var/tmp", "/root"], "candidates": ["/", "/tmp", "/var/task"], "home": "/root"}
        result = pool.invoke(event)
    print(json.dumps([os.getuid(), result.response]))
"""


@pytest.mark.stack  # slow end to end: an invocation as another user
@needs_sandbox
@pytest.mark.skipif(os.getuid() != 0 or not shutil.which("setpriv"), reason="needs root to become nobody")
@pytest.mark.skipif(not os.access("/usr/bin/python3.11", os.X_OK), reason="needs a python3.11 nobody can run")
def test_the_sandbox_works_for_an_unprivileged_user(make_zip, host_secrets):
    """Users are not root: run a whole pool as `nobody`, with the system's python3.11."""
    interpreter = Interpreter(Path("/usr/bin/python3.11"), "3.11", "x86_64")
    base = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        cache = base / "cache"
        runtime_dir(interpreter, cache)
        # The package too: a checkout under a home folder is out of nobody's reach.
        shutil.copytree(REPO_ROOT / "lambdafleet", base / "src" / "lambdafleet", ignore=shutil.ignore_patterns("*.pyc"))
        zip_path = base / "function.zip"
        shutil.copy(make_zip({"lambda_function.py": textwrap.dedent(PROBE)}), zip_path)
        for path in [base, *base.rglob("*")]:
            os.chmod(path, stat.S_IMODE(path.lstat().st_mode) | stat.S_IRGRP | stat.S_IROTH | _search(path))
        os.chown(base, 65534, 65534)
        os.chown(cache / "runtime", 65534, 65534)
        environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(base / "src"), "HOME": "/nonexistent"}
        command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3.11", "-c"]
        command += [textwrap.dedent(UNPRIVILEGED_CHECK), str(cache), str(zip_path), host_secrets[2]]
        done = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=base, timeout=120)
        assert done.returncode == 0, done.stderr
        uid, seen = json.loads(done.stdout.splitlines()[-1])
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert uid == 65534
    assert seen["var"] == ["runtime", "task"] and seen["tmp"] == [] and seen["visible"] == []
    assert seen["writable"] == ["/tmp"] and seen["processes"] == [1, 2] and seen["home"] is None


def _search(path: Path) -> int:
    return stat.S_IXGRP | stat.S_IXOTH if path.is_dir() or os.access(path, os.X_OK) else 0


def _interpreter(version: str) -> Interpreter:
    from lambdafleet.runtime.interpreter import find_interpreter

    return find_interpreter(f"python{version}", "x86_64", source="test")


FALLBACK_CHECK = """
    import json, sys
    from pathlib import Path
    from lambdafleet.runtime import FunctionPool, FunctionSpec
    from tests.runtime.test_sandbox import _gone, _processes_with
    cache, zip_path = sys.argv[1:]
    marker = sys.stdin.read()  # not an argument: this process must not match it
    with FunctionPool(FunctionSpec(name="probe"), Path(zip_path), cache_dir=Path(cache)) as pool:
        pool.wait_ready()
        result = pool.invoke({"marker": marker, "mb": 1, "wait": 0})
        alive = bool(_processes_with(marker))
        pool.recycle()
        print(json.dumps([result.logs, alive, _gone(marker)]))
"""


@pytest.mark.skipif(not shutil.which("unshare"), reason="needs util-linux's unshare")
def test_without_user_namespaces_the_logs_say_so_and_descendants_are_still_killed(make_zip):
    """A kernel that refuses user namespaces: one line in each cold start's logs; the runtime still adopts
    (as a child subreaper), counts and kills whatever the function started."""
    zip_path = make_zip({"lambda_function.py": textwrap.dedent(DAEMON)})
    marker = f"lambdafleet-daemon-{uuid.uuid4().hex}"
    script = textwrap.dedent(FALLBACK_CHECK)
    command = ["unshare", "-Ur", "sh", "-c", 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"', "-"]
    command += [sys.executable, "-c", script, str(CACHE_DIR), str(zip_path)]
    done = subprocess.run(command, input=marker, capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    logs, alive, gone = json.loads(done.stdout.splitlines()[-1])
    assert "lambdafleet: no sandbox (user namespaces unavailable: [Errno 28]" in logs
    assert alive and gone
