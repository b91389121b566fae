"""Shared library folders (`shared` in function.toml) and `--changed-since` for delta deployments."""

import subprocess

import pytest


def _git(workspace, *args):
    subprocess.run(["git", "-C", str(workspace.root), *args], check=True, capture_output=True)


def _commit_all(workspace):
    _git(workspace, "add", "-A")
    _git(workspace, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "state")


def _built(result):
    return {line.split()[1] for line in result.stderr.splitlines() if line.startswith("built")}


def _project(workspace):
    (workspace.root / "lib/common").mkdir(parents=True)
    (workspace.root / "lib/common/__init__.py").write_text("GREETING = 'hi'\n")
    (workspace.root / "lib/common/tests").mkdir()
    (workspace.root / "lib/common/tests/test_common.py").write_text("")
    workspace.add_function("uses_lib", config='shared = ["common"]\n')
    workspace.add_function("alone")
    workspace.add_function("other")
    (workspace.root / "models").mkdir()
    (workspace.root / "models/weights.bin").write_text("v1")
    linked = workspace.add_function("linked")
    (linked / "weights.bin").symlink_to(workspace.root / "models/weights.bin")
    _git(workspace, "init", "-q")
    _commit_all(workspace)


def test_shared_library_ships_at_the_zip_root_without_its_tests(workspace):
    _project(workspace)
    assert workspace.run("all").returncode == 0
    assert workspace.zip_names("uses_lib") == ["common/__init__.py", "lambda_function.py"]
    assert workspace.manifest()["functions"]["uses_lib"]["shared"] == ["common"]


def test_missing_shared_library_is_a_user_error(workspace):
    workspace.add_function("fn", config='shared = ["nope"]\n')
    result = workspace.cli("all")
    assert result.returncode == 2
    assert "functions/fn/function.toml: key 'shared': no folder lib/nope/" in result.stderr


@pytest.mark.stack  # slow end to end: git commits and several builds
def test_changed_since_builds_only_what_changed_and_what_is_missing(workspace):
    _project(workspace)
    first = workspace.run("all", "--changed-since", "HEAD")
    assert _built(first) == {"uses_lib", "alone", "other", "linked"}  # nothing in the manifest yet

    (workspace.root / "functions/alone/lambda_function.py").write_text("def lambda_handler(e, c):\n    return 2\n")
    only_alone = workspace.run("all", "--changed-since", "HEAD", "--force")
    assert only_alone.returncode == 0, only_alone.stderr
    assert _built(only_alone) == {"alone"}
    assert set(workspace.manifest()["functions"]) == {"uses_lib", "alone", "other", "linked"}
    _commit_all(workspace)

    (workspace.root / "lib/common/__init__.py").write_text("GREETING = 'hello'\n")
    via_library = workspace.run("all", "--changed-since", "HEAD", "--force")
    assert _built(via_library) == {"uses_lib"}
    _commit_all(workspace)

    (workspace.root / "models/weights.bin").write_text("v2")
    via_symlink = workspace.run("all", "--changed-since", "HEAD", "--force")
    assert _built(via_symlink) == {"linked"}
    _commit_all(workspace)

    nothing = workspace.run("all", "--changed-since", "HEAD", "--force")
    assert nothing.returncode == 0
    assert "nothing to build: no function changed since HEAD" in nothing.stderr

    (workspace.root / "lambdafleet/__init__.py").write_text(
        (workspace.root / "lambdafleet/__init__.py").read_text() + "\n"
    )
    tooling = workspace.run("all", "--changed-since", "HEAD", "--force")
    assert _built(tooling) == {"uses_lib", "alone", "other", "linked"}


def test_changed_since_an_unknown_ref_is_a_user_error(workspace):
    _project(workspace)
    result = workspace.cli("all", "--changed-since", "no-such-ref")
    assert result.returncode == 2
    assert "--changed-since: 'no-such-ref' is not a commit" in result.stderr


def test_moved_and_deleted_files_rebuild_the_functions_they_left(workspace):
    _project(workspace)
    (workspace.root / "functions/alone/helper.py").write_text("X = 1\n")
    (workspace.root / "lib/common/extra.py").write_text("Y = 2\n")
    _commit_all(workspace)
    assert workspace.run("all").returncode == 0

    _git(workspace, "mv", "functions/alone/helper.py", "functions/other/helper.py")
    moved = workspace.run("all", "--changed-since", "HEAD")
    assert _built(moved) == {"alone", "other"}
    assert "helper.py" not in workspace.zip_names("alone")
    _commit_all(workspace)

    _git(workspace, "rm", "-q", "lib/common/extra.py")
    deleted = workspace.run("all", "--changed-since", "HEAD")
    assert _built(deleted) == {"uses_lib"}
    assert "common/extra.py" not in workspace.zip_names("uses_lib")
