"""Choose which files of a function folder ship in its zip."""

import fnmatch
from pathlib import Path, PurePosixPath

from lambdafleet.archive import Entry, entries_under
from lambdafleet.config import CONFIG_FILE
from lambdafleet.errors import UserError
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


def source_entries(function_dir: Path, exclude: tuple[str, ...], shared: dict[str, Path]) -> list[Entry]:
    """The files that go into a function's zip, sorted: its folder's, with `exclude` globs applied, plus
    each shared library folder (`shared` maps a name to its folder) under that name at the zip root.
    """
    entries = entries_under(function_dir, keep=lambda name: not _excluded(name, exclude))
    own = {entry.name for entry in entries}
    for name, folder in shared.items():
        for library_entry in entries_under(folder, keep=lambda path: not _excluded(path, exclude)):
            arcname = f"{name}/{library_entry.name}"
            if arcname in own:
                raise UserError(f"functions/{function_dir.name}/{arcname}: clashes with lib/{name}/ (key 'shared')")
            entries.append(Entry(arcname, library_entry.path))
    return sorted(entries, key=lambda e: e.name)
