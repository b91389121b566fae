"""The everyday commands besides building: new, list, check, lock, clean, help."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lambdafleet.cli import _parser

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_new_function_builds_and_passes_its_own_test(workspace):
    result = workspace.run("new", "hello-world")
    assert result.returncode == 0, result.stderr
    assert "functions/hello-world/" in result.stdout
    build = workspace.run("hello-world")
    assert build.returncode == 0, build.stderr
    assert workspace.zip_names("hello-world") == ["lambda_function.py"]
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "functions/hello-world"],
        cwd=workspace.root,
        capture_output=True,
        text=True,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "1 passed" in tests.stdout


def test_new_refuses_an_existing_function(workspace):
    workspace.add_function("taken")
    result = workspace.cli("new", "taken")
    assert result.returncode == 2
    assert "functions/taken: already exists" in result.stderr


def test_list_shows_resolved_settings(workspace):
    workspace.add_function("api", config='routes = ["GET /health"]\nmemory_size = 512\n')
    text = workspace.run("list")
    assert text.returncode == 0
    assert text.stdout.split()[:5] == ["api", "python3.12", "x86_64", "512", "MB"]
    assert "GET /health" in text.stdout
    as_json = json.loads(workspace.run("list", "--json").stdout)
    assert as_json[0]["memory_size"] == 512
    assert as_json[0]["timeout"] == 3


def test_check_validates_without_building(workspace):
    workspace.add_locked_function("numeric", "numpy-python3.12-x86_64.txt")
    result = workspace.cli("check")
    assert result.returncode == 0, result.stderr
    assert "ok: 1 function(s)" in result.stdout
    assert not (workspace.root / "build").exists()
    (workspace.root / "functions/numeric/function.toml").write_text('architecture = "arm64"\n')
    stale = workspace.cli("check", "numeric")
    assert stale.returncode == 2
    assert "locked for python3.12 x86_64 but function.toml targets python3.12 arm64" in stale.stderr


def test_lock_resolves_for_the_lambda_target_with_hashes(workspace):
    folder = workspace.add_function("fn", config='runtime = "python3.11"\narchitecture = "arm64"\n')
    # The marker is false on the host (3.11 here would be true for the first one, so use the machine).
    (folder / "requirements.in").write_text(
        "six==1.16.0\ncolorama==0.4.6 ; platform_machine == 'aarch64'\ntomli==2.0.1 ; platform_machine == 'x86_64'\n"
    )
    result = workspace.run("lock", "fn")
    assert result.returncode == 0, result.stderr
    lock = (folder / "requirements.txt").read_text()
    assert lock.splitlines()[0] == "# lambdafleet-lock: python3.11 arm64"
    assert "colorama==0.4.6" in lock  # chosen by Lambda's machine, arm64 ...
    assert "tomli" not in lock  # ... not by this x86_64 host
    assert "six==1.16.0 \\\n    --hash=sha256:" in lock
    assert workspace.run("check", "fn").returncode == 0
    build = workspace.run("fn")
    assert build.returncode == 0, build.stderr
    assert "six.py" in workspace.zip_names("fn")


@pytest.mark.stack  # slow: real resolver or terraform runs
def test_lock_reports_unresolvable_requirements(workspace):
    folder = workspace.add_function("fn")
    (folder / "requirements.in").write_text("six==0.0.0.999\n")
    result = workspace.cli("lock", "fn")
    assert result.returncode == 2
    assert result.stderr.startswith("error: functions/fn/requirements.in: cannot be resolved for python3.12 x86_64")
    assert not (folder / "requirements.txt").exists()


def test_clean_removes_build_outputs_and_optionally_the_cache(workspace):
    workspace.add_locked_function("tiny", "six-python3.12-x86_64.txt")
    workspace.cache_dir = workspace.root / "own-cache"
    assert workspace.run("all").returncode == 0
    assert workspace.run("clean").returncode == 0
    assert not (workspace.root / "build").exists()
    assert workspace.cache_dir.exists()
    assert workspace.run("clean", "--cache").returncode == 0
    assert not workspace.cache_dir.exists()


def test_help_lists_every_command(workspace):
    result = workspace.run("--help")
    assert result.returncode == 0
    for command in ("all", "build", "list", "check", "lock", "clean", "new"):
        assert command in result.stdout


def _commands() -> dict[str, argparse.ArgumentParser]:
    """build.py's real subcommand parsers, by name."""
    parser, _ = _parser()
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(subparsers.choices)


@pytest.mark.parametrize("command", sorted(_commands()))
def test_every_command_and_argument_explains_itself_in_help(command):
    parser = _commands()[command]
    assert parser.description, f"build.py {command} --help has no description"
    silent = [a.dest for a in parser._actions if not a.help or a.help == argparse.SUPPRESS]
    assert not silent, f"build.py {command} --help: no help text for {silent}"


def test_build_py_does_not_import_aws_sdks_or_the_emulator_for_a_build(workspace):
    # A no-op build must stay around 0.1 s; boto3 alone costs ~0.3 s to import, moto more, jsonschema (checking a
    # manifest the build did not write itself) as much.
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['build.py', 'all', '--quiet']\n"
        "try:\n    runpy.run_path('build.py', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = ('boto3', 'botocore', 'moto', 'jsonschema', 'lambdafleet.runtime.pool')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    workspace.add_function("plain")
    assert workspace.run("all").returncode == 0  # the probe's build is a no-op that reads this manifest
    result = subprocess.run([sys.executable, "-c", probe], cwd=workspace.root, capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
