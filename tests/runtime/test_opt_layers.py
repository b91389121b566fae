"""Layers at run time, as Lambda attaches them: the function's layer zips merged in order (a later layer's file
replaces an earlier one's) into one read-only /opt, with /opt/python/lib/python3.X/site-packages and /opt/python
on sys.path after the task root; and the content-addressed cache of unpacked zips that pools share."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import zipfile
from pathlib import Path

import pytest

from lambdafleet.runtime import FunctionPool, FunctionSpec, task_root
from lambdafleet.runtime.task_root import Archive
from tests.runtime.conftest import CACHE_DIR, REPO_ROOT, needs_sandbox

BOTH = pytest.mark.parametrize("fork_server", [True, False], ids=["fork-server", "new-interpreter"])
SITE = "python/lib/python3.12/site-packages"

PROBE = """
    import os, sys
    import first_only, from_site, shared
    def lambda_handler(event, context):
        try:
            open("/opt/python/shared.py", "a").close()
            writable = True
        except OSError:
            writable = False
        return {
            "path": sys.path[:4],
            "shared": shared.WHO,
            "first_only": first_only.__file__,
            "from_site": from_site.__file__,
            "opt": sorted(os.listdir("/opt")),
            "python": sorted(os.listdir("/opt/python")),
            "tool": os.path.exists("/opt/bin/tool"),
            "writable": writable,
            "environment": {key: os.environ[key] for key in ("PATH", "LD_LIBRARY_PATH")},
        }
"""


def _layer(path: Path, files: dict[str, str]) -> Archive:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return Archive(path)


@pytest.fixture
def two_layers(tmp_path: Path) -> list[Archive]:
    """An earlier layer and a later one that replaces its `shared` module."""
    first = _layer(
        tmp_path / "first.zip",
        {
            "python/shared.py": "WHO = 'first'\n",
            "python/first_only.py": "",
            f"{SITE}/from_site.py": "",
            "bin/tool": "#!/bin/sh\n",
        },
    )
    second = _layer(tmp_path / "second.zip", {"python/shared.py": "WHO = 'second'\n"})
    return [first, second]


@needs_sandbox
@BOTH
def test_layers_are_merged_at_opt_in_order_and_on_the_path_after_the_task_root(make_zip, two_layers, fork_server):
    zip_path = make_zip({"lambda_function.py": textwrap.dedent(PROBE)})
    spec = FunctionSpec(name="layered")
    with FunctionPool(spec, zip_path, cache_dir=CACHE_DIR, layers=two_layers, fork_server=fork_server) as pool:
        assert pool.wait_ready()
        seen = pool.invoke({}).response
    assert seen["path"] == ["/var/task", f"/opt/{SITE}", "/opt/python", "/var/runtime"]
    assert seen["shared"] == "second"  # the later layer's file replaced the earlier one's
    assert seen["first_only"] == "/opt/python/first_only.py"
    assert seen["from_site"] == f"/opt/{SITE}/from_site.py"
    assert seen["opt"] == ["bin", "python"] and seen["python"] == ["first_only.py", "lib", "shared.py"]
    assert seen["tool"] and not seen["writable"]
    assert seen["environment"]["PATH"].endswith(":/opt/bin")
    assert seen["environment"]["LD_LIBRARY_PATH"].endswith(":/var/task/lib:/opt/lib")


@needs_sandbox
def test_a_function_without_layers_sees_an_empty_opt(make_pool):
    source = "import os, sys\ndef lambda_handler(event, context):\n    return [os.listdir('/opt'), sys.path[:4]]\n"
    listing, path = make_pool(source).invoke({}).response
    assert listing == []
    assert path == ["/var/task", f"/opt/{SITE}", "/opt/python", "/var/runtime"]


@BOTH
def test_a_layer_module_shadows_the_runtime_own_even_after_the_fork_servers_preload(make_zip, tmp_path, fork_server):
    """As with the task root: a layer's copy of a module awslambdaric imports comes first on the path."""
    layer = _layer(tmp_path / "json.zip", {"python/simplejson/__init__.py": "raise ImportError('the layer one')\n"})
    zip_path = make_zip({"lambda_function.py": "def lambda_handler(event, context):\n    return 1\n"})
    spec = FunctionSpec(name="shadow")
    with FunctionPool(spec, zip_path, cache_dir=CACHE_DIR, layers=[layer], fork_server=fork_server) as pool:
        assert pool.wait_ready()
        result = pool.invoke({})
    assert result.error["errorType"] == "Runtime.ExitError"
    assert "ImportError: the layer one" in result.logs


UNSANDBOXED = """
    import json, sys
    from pathlib import Path
    from lambdafleet.runtime import FunctionPool, FunctionSpec
    from lambdafleet.runtime.task_root import Archive
    cache, zip_path, *layers = sys.argv[1:]
    archives = [Archive(Path(layer)) for layer in layers]
    with FunctionPool(FunctionSpec(name="layered"), Path(zip_path), cache_dir=Path(cache), layers=archives) as pool:
        result = pool.invoke({})
        print(json.dumps([result.logs, result.response]))
"""


@pytest.mark.skipif(not shutil.which("unshare") or sys.platform != "linux", reason="needs util-linux's unshare")
def test_without_the_sandbox_layers_are_on_the_path_at_their_host_folder(make_zip, two_layers):
    source = "import shared, sys\ndef lambda_handler(e, c):\n    return [shared.WHO, shared.__file__, sys.path[:3]]\n"
    zip_path = make_zip({"lambda_function.py": source})
    command = ["unshare", "-Ur", "sh", "-c", 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"', "-"]
    command += [sys.executable, "-c", textwrap.dedent(UNSANDBOXED), str(CACHE_DIR), str(zip_path)]
    command += [str(layer.path) for layer in two_layers]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    logs, (who, file, path) = json.loads(done.stdout.splitlines()[-1])
    assert "lambdafleet: no sandbox" in logs and who == "second"
    opt = task_root.unpack_layers(two_layers, CACHE_DIR.resolve())
    assert file == f"{opt}/python/shared.py"
    assert path == [path[0], f"{opt}/{SITE}", f"{opt}/python"]


def test_unpacked_zips_are_shared_by_content_and_read_only(make_zip, tmp_path):
    cache = tmp_path / "cache"
    zip_path = make_zip({"lambda_function.py": "X = 1\n", "lib/data.txt": "data"})
    copy = tmp_path / "copy.zip"
    shutil.copy(zip_path, copy)
    roots: list[Path] = []
    threads = [
        threading.Thread(target=lambda path=path: roots.append(task_root.unpack(path, cache)))
        for path in [zip_path, copy] * 4
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(roots)) == 1  # one directory, whoever unpacked it
    root = roots[0]
    assert root.name == Archive(zip_path).digest()
    assert (root / "lib" / "data.txt").read_text() == "data"
    assert not os.access(root / "lambda_function.py", os.W_OK) or os.geteuid() == 0
    assert not os.stat(root).st_mode & 0o222
    assert [p.name for p in root.parent.iterdir()] == [root.name]  # no staging folder left behind
    # A known digest is trusted: no hashing, no unpacking when the directory is already there.
    assert task_root.unpack(tmp_path / "absent.zip", cache, sha256=root.name) == root
    assert task_root.unpack_layers([], cache) == task_root.unpack_layers([], cache)
    assert list(task_root.unpack_layers([], cache).iterdir()) == []


def test_unpacked_zips_unused_for_a_week_are_pruned_when_another_is_unpacked(make_zip, tmp_path):
    cache = tmp_path / "cache"
    old = task_root.unpack(make_zip({"a.py": "A = 1\n"}, "old.zip"), cache)
    used_zip = make_zip({"b.py": "B = 1\n"}, "used.zip")
    used = task_root.unpack(used_zip, cache)
    week_ago = old.stat().st_mtime - task_root.UNUSED_FOR_S - 60
    for path in (old, used):
        os.utime(path, (week_ago, week_ago))
    assert task_root.unpack(used_zip, cache) == used  # a use: touched
    fresh = task_root.unpack(make_zip({"c.py": "C = 1\n"}, "fresh.zip"), cache)
    assert sorted(path.name for path in fresh.parent.iterdir()) == sorted([used.name, fresh.name])
