"""A bug is never mistaken for a user error: inside a build worker or anywhere in the command line, it prints its
traceback and asks to be reported, exit 1; user errors stay one line, exit 2."""

from pathlib import Path
from typing import Any

import pytest

from lambdafleet import cli
from lambdafleet.build.plan import FunctionBuilder, Plan
from lambdafleet.build.project import load_project
from lambdafleet.errors import UserError


def _bug_in_building(monkeypatch: pytest.MonkeyPatch, victim: str) -> None:
    """FunctionBuilder.build hits a real KeyError for `victim` (a bug, as a missing manifest key would be)."""
    build = FunctionBuilder.build

    def buggy(self: FunctionBuilder, plan: Plan) -> Any:
        if plan.name == victim:
            return {}["zip"]
        return build(self, plan)

    monkeypatch.setattr(FunctionBuilder, "build", buggy)


@pytest.mark.parametrize("jobs", ["1", "2"], ids=["each", "parallel"])
def test_a_bug_in_a_build_worker_prints_its_traceback_and_exits_1(
    workspace: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], jobs: str
) -> None:
    workspace.add_function("fine")
    workspace.add_function("broken")
    monkeypatch.setenv("LAMBDAFLEET_CACHE_DIR", str(workspace.cache_dir))
    _bug_in_building(monkeypatch, "broken")

    code = cli.main(["all", "-j", jobs], workspace.root)

    stderr = capsys.readouterr().err
    assert code == cli.EXIT_FAULT
    assert "failed  broken                   internal error: KeyError: 'zip'\n" in stderr
    assert "Traceback (most recent call last):" in stderr and 'return {}["zip"]' in stderr
    assert "\ninternal error: please report it with the traceback above\n" in stderr
    assert (workspace.root / "build" / "fine.zip").is_file()  # the other function still built


def test_a_bug_outside_the_workers_prints_its_traceback_and_exits_1(
    workspace: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace.add_function("fine")
    monkeypatch.setenv("LAMBDAFLEET_CACHE_DIR", str(workspace.cache_dir))
    # `list` reads every function.toml; a project that loads into a wrong shape is a bug, not the user's.
    monkeypatch.setattr("lambdafleet.cli.project.load_project", lambda root: load_project(Path(root)).functions["x"])

    code = cli.main(["list"], workspace.root)

    stderr = capsys.readouterr().err
    assert code == cli.EXIT_FAULT
    assert "Traceback (most recent call last):" in stderr and "KeyError: 'x'" in stderr
    assert stderr.rstrip().endswith("internal error: please report it with the traceback above")


def test_a_user_error_in_a_build_worker_stays_one_line_and_exits_2(
    workspace: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace.add_function("fine")
    workspace.add_function("big")
    monkeypatch.setenv("LAMBDAFLEET_CACHE_DIR", str(workspace.cache_dir))
    build = FunctionBuilder.build
    message = "functions/big/: unzipped size 300.0 MB exceeds Lambda's 262,144,000 byte limit"

    def too_big(self: FunctionBuilder, plan: Plan) -> Any:
        if plan.name == "big":  # what _check_size raises for a zip over Lambda's limit
            raise UserError(message)
        return build(self, plan)

    monkeypatch.setattr(FunctionBuilder, "build", too_big)

    code = cli.main(["all", "-j", "2", "--quiet"], workspace.root)

    assert code == cli.EXIT_USER_ERROR
    assert capsys.readouterr().err == f"failed  {'big':<24} {message}\n"
