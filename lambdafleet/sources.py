"""Choose which files of a function folder ship in its zip."""

import fnmatch
from pathlib import Path, PurePosixPath

from lambdafleet.archive import Entry, entries_under
from lambdafleet.config import CONFIG_FILE
from lambdafleet.lockfile import INPUT_FILE, LOCK_FILE

# Never shipped: the function's own tests, build inputs, caches, secrets and editor droppings.
# Hidden names (.env, .env.local, .git, .vscode, .DS_Store, ...) are dropped by the dot rule.
DEFAULT_EXCLUDES = (
    "tests", "test_*.py", "*_test.py", "conftest.py",
    "__pycache__", "*.pyc", "*.pyo", "*.swp", "*.swo", "*~", "*.orig", "*.rej",
    CONFIG_FILE, INPUT_FILE, LOCK_FILE,
)  # fmt: skip


def _excluded(name: str, patterns: tuple[str, ...]) -> bool:
    # Called for every folder on the way down, so only the last part of `name` needs testing.
    last = PurePosixPath(name).name
    if last.startswith(".") or any(fnmatch.fnmatchcase(last, p) for p in DEFAULT_EXCLUDES):
        return True
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(last, p) for p in patterns)


def source_entries(function_dir: Path, exclude: tuple[str, ...]) -> list[Entry]:
    """The files of `function_dir` that go into its zip, sorted, with `exclude` globs applied."""
    return entries_under(function_dir, keep=lambda name: not _excluded(name, exclude))
