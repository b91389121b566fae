"""Which functions' inputs changed since a git ref (`--changed-since`), for pipelines that deploy deltas."""

import subprocess
from pathlib import Path

from lambdafleet.build.project import FUNCTIONS_DIR, SHARED_DIR, Project
from lambdafleet.build.sources import source_entries
from lambdafleet.errors import BuildError, UserError

# A change to the build tooling can change every zip.
TOOLING = ("build.py", "lambdafleet/")


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise UserError("--changed-since: git is not installed") from None


def changed_paths(root: Path, ref: str) -> set[str]:
    """Paths (relative to `root`) changed since `ref`: committed, staged, unstaged or untracked."""
    if _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode != 0:
        raise UserError(f"--changed-since: {ref!r} is not a commit in the git checkout at {root}")
    # --no-renames: a moved file must count as removed from its old function as well as added to the new one.
    diff = _git(root, "diff", "--name-only", "--no-renames", "--relative", ref)
    untracked = _git(root, "ls-files", "--others", "--exclude-standard")
    for result in (diff, untracked):
        if result.returncode != 0:
            raise BuildError(f"--changed-since: git failed: {result.stderr.strip()}")
    return {line for line in (diff.stdout + untracked.stdout).splitlines() if line}


def _shipped_files(project: Project, name: str) -> set[str]:
    """Repository paths of the files a function ships, symlinks resolved (a link to another function's
    module makes that module an input too)."""
    config = project.functions[name]
    shared = {lib: project.shared_dir(lib) for lib in config.shared}
    root = project.root.resolve()
    files = set()
    for entry in source_entries(
        project.function_dir(name), config.exclude, shared, config.include, project.git_ignored
    ):
        target = entry.path.resolve()
        if target.is_relative_to(root):
            files.add(target.relative_to(root).as_posix())
    return files


def affected_functions(project: Project, paths: set[str]) -> set[str]:
    """Functions whose zip may differ given the changed `paths`: anything in their folder (deleted files
    included), a file they ship through a symlink or a shared library, or the build tooling itself."""
    if any(path.startswith(TOOLING) for path in paths):
        return set(project.functions)
    affected = set()
    for name, config in project.functions.items():
        # Folder prefixes catch deleted files too, which _shipped_files can no longer list.
        folders = (f"{FUNCTIONS_DIR}/{name}/", *(f"{SHARED_DIR}/{lib}/" for lib in config.shared))
        if any(path.startswith(folders) for path in paths) or paths & _shipped_files(project, name):
            affected.add(name)
    return affected
