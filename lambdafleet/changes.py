"""Which functions' inputs changed since a git ref (`--changed-since`), for pipelines that deploy deltas."""

import subprocess
from pathlib import Path

from lambdafleet.errors import UserError
from lambdafleet.project import FUNCTIONS_DIR, SHARED_DIR, Project

# A change to the build tooling can change every zip.
TOOLING = ("build.py", "lambdafleet/")


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise UserError("--changed-since: git is not installed") from None


def changed_paths(root: Path, ref: str) -> set[str]:
    """Paths (relative to `root`) changed since `ref`: committed, staged, unstaged or untracked."""
    if _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode != 0:
        raise UserError(f"--changed-since: {ref!r} is not a commit in the git checkout at {root}")
    diff = _git(root, "diff", "--name-only", "--relative", ref)
    untracked = _git(root, "ls-files", "--others", "--exclude-standard")
    return {line for line in (diff.stdout + untracked.stdout).splitlines() if line}


def affected_functions(project: Project, paths: set[str]) -> set[str]:
    """Functions whose zip may differ given the changed `paths`: their folder, a shared library they
    list in `shared`, or the build tooling itself."""
    if any(path.startswith(TOOLING) for path in paths):
        return set(project.functions)
    affected = set()
    for name, config in project.functions.items():
        prefixes = (f"{FUNCTIONS_DIR}/{name}/", *(f"{SHARED_DIR}/{lib}/" for lib in config.shared))
        if any(path.startswith(prefixes) for path in paths):
            affected.add(name)
    return affected
