"""Errors that used to mislead or flood (#12.11): each is one line, with the right exit code."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE_LOCK = "six-python3.12-x86_64.txt"


def _one_line(result, code: int = 2) -> str:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_an_unreachable_index_says_so_with_exit_1(workspace, tmp_path):
    folder = workspace.add_function("fn")
    # A package no cache holds, on an index nothing listens on.
    pin = "lf-unreachable-probe==1.0 --hash=sha256:" + "a" * 64
    (folder / "requirements.txt").write_text(
        f"# lambdafleet-lock: python3.12 x86_64\n--index-url http://127.0.0.1:9/simple\n{pin}\n"
    )
    result = workspace.run("fn", env={"LAMBDAFLEET_CACHE_DIR": str(tmp_path / "cache"), "UV_HTTP_RETRIES": "0"})
    line = _one_line(result, 1)
    assert "cannot reach the package index" in line and "127.0.0.1:9" in line, line


def test_a_very_long_error_is_cut_and_the_rest_goes_to_a_log_file(workspace):
    folder = workspace.add_function("fn")
    (folder / "requirements.txt").write_text("six==1.0 " + "x" * 50_000 + " --hash=sha256:" + "a" * 64 + "\n")
    result = workspace.cli("fn")
    line = _one_line(result)
    assert len(line) < 1000, len(line)
    assert "functions/fn/requirements.txt:1" in line
    log = Path(line.rsplit("full message in ", 1)[1].rstrip(")"))
    assert "x" * 50_000 in log.read_text()
    log.unlink()


def test_requirements_txt_that_is_a_folder_is_an_error(workspace):
    folder = workspace.add_function("fn")
    (folder / "requirements.txt").mkdir()
    line = _one_line(workspace.cli("fn"))
    assert "functions/fn/requirements.txt: not a file" in line


def test_requirements_in_that_is_a_folder_is_an_error(workspace):
    folder = workspace.add_function("fn")
    (folder / "requirements.in").mkdir()
    line = _one_line(workspace.cli("fn"))
    assert "functions/fn/requirements.in: not a file" in line


def test_deeply_nested_toml_is_one_line(workspace):
    workspace.add_function("fn", config="x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    line = _one_line(workspace.cli("fn"))
    assert "functions/fn/function.toml: " in line and "nested too deeply" in line


@pytest.mark.parametrize(
    "text",
    [
        "[]\n",
        '{"schema_version": 1, "functions": []}\n',
        '{"schema_version": 1, "functions": {"fn": 3}}\n',
        "[" * 100_000,
    ],
)
def test_a_manifest_of_the_wrong_shape_is_one_line(workspace, text):
    workspace.add_function("fn")
    (workspace.root / "build").mkdir()
    (workspace.root / "build" / "manifest.json").write_text(text)
    line = _one_line(workspace.run("fn"))
    assert "build/manifest.json: " in line and "python build.py clean" in line


def test_a_manifest_entry_missing_keys_is_one_line_naming_the_key(workspace):
    """The manifest is validated against its schema when read (not this tool's own last write): say what is off."""
    workspace.add_function("fn")
    (workspace.root / "build").mkdir()
    (workspace.root / "build" / "manifest.json").write_text('{"schema_version": 1, "functions": {"fn": {}}}\n')
    line = _one_line(workspace.run("fn"))
    assert "build/manifest.json: key '" in line and "python build.py clean" in line


def test_a_file_name_that_is_not_utf8_is_one_line(workspace):
    folder = workspace.add_function("fn")
    with open(os.path.join(os.fsencode(folder), b"data-\xff.bin"), "wb") as stream:
        stream.write(b"x")
    line = _one_line(workspace.run("fn"))
    assert "functions/fn/data-" in line and "not UTF-8" in line


def test_leftover_install_folders_from_a_killed_build_are_removed(workspace, tmp_path):
    cache = tmp_path / "cache"
    leftover = cache / "deps" / "install-killed"
    (leftover / "numpy").mkdir(parents=True)
    (leftover / "numpy" / "core.so").write_bytes(b"\0" * 1024)
    workspace.add_function("fn")
    result = workspace.run("fn", env={"LAMBDAFLEET_CACHE_DIR": str(cache)})
    assert result.returncode == 0, result.stderr
    assert not leftover.exists()


def test_a_live_builds_install_folder_is_left_alone(workspace, tmp_path):
    """A folder another build is installing into (it holds the folder's lock) is not removed."""
    import fcntl

    cache = tmp_path / "cache"
    busy = cache / "deps" / "install-busy"
    busy.mkdir(parents=True)
    fd = os.open(busy, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        workspace.add_function("fn")
        result = workspace.run("fn", env={"LAMBDAFLEET_CACHE_DIR": str(cache)})
        assert result.returncode == 0, result.stderr
        assert busy.exists()
    finally:
        os.close(fd)


def _can_mount_read_only() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -o remount,ro,bind / / 2>/dev/null; true"])
    return probe.returncode == 0 and os.geteuid() == 0


READ_ONLY = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" && cd "$1" && shift && exec "$@"'


def _run_read_only(workspace, *args: str):
    """build.py ARGS with the checkout mounted read-only (in a private mount namespace; the cache stays writable)."""
    if not _can_mount_read_only():
        pytest.skip("needs root and unshare to mount the checkout read-only")
    env = {**os.environ, "LAMBDAFLEET_CACHE_DIR": str(workspace.cache_dir)}
    command = ["unshare", "-m", "sh", "-c", READ_ONLY, "sh", str(workspace.root), sys.executable, "build.py", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def test_a_no_op_build_of_a_read_only_checkout_succeeds(workspace):
    workspace.add_function("fn")
    assert workspace.run("all").returncode == 0
    result = _run_read_only(workspace, "all")
    assert result.returncode == 0, result.stderr


def test_a_build_that_must_write_to_a_read_only_checkout_is_one_line(workspace):
    workspace.add_function("fn")
    assert workspace.run("all").returncode == 0
    (workspace.root / "functions" / "fn" / "lambda_function.py").write_text("def lambda_handler(e, c):\n    return 2\n")
    line = _one_line(_run_read_only(workspace, "all"))
    assert "build/" in line and "read-only" in line, line


def test_clean_of_a_read_only_tree_is_an_error(workspace):
    workspace.add_function("fn")
    assert workspace.run("all").returncode == 0
    line = _one_line(_run_read_only(workspace, "clean"))
    assert "build/" in line and "cannot delete" in line, line
    assert (workspace.root / "build" / "fn.zip").exists()
