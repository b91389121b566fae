"""Choose which files of a function folder ship in its zip."""

import fnmatch
import os
from pathlib import Path, PurePosixPath

from lambdafleet.build.archive import Entry, entries_under
from lambdafleet.build.config import CONFIG_FILE
from lambdafleet.build.lockfile import INPUT_FILE, LOCK_FILE
from lambdafleet.errors import UserError

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


def _check_link(path: Path, label: str, root: Path) -> None:
    try:
        target = path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        target = None
    if target is None or not target.exists():
        raise UserError(f"{label}: broken symlink (points to {os.readlink(path)})")
    # A link out of the project would ship host files (/etc/passwd, ~/.aws) in the zip.
    if not target.is_relative_to(root):
        raise UserError(f"{label}: symlink points outside the project (to {target}); copy the file in instead")


def _check_links(folder: Path, entries: list[Entry], root: Path) -> None:
    """Raise UserError for a link (to a file or a folder) on the way to any entry that is broken or leaves `root`."""
    checked: set[str] = set()
    for entry in entries:
        parts = PurePosixPath(entry.name).parts
        for depth in range(1, len(parts) + 1):
            relative = "/".join(parts[:depth])
            if relative not in checked:
                checked.add(relative)
                path = folder / relative
                if path.is_symlink():
                    _check_link(path, f"{folder.parent.name}/{folder.name}/{relative}", root)


def _shipped(folder: Path, exclude: tuple[str, ...], root: Path) -> list[Entry]:
    entries = entries_under(folder, keep=lambda name: not _excluded(name, exclude))
    _check_links(folder, entries, root)
    return entries


def source_entries(function_dir: Path, exclude: tuple[str, ...], shared: dict[str, Path]) -> list[Entry]:
    """The files that go into a function's zip, sorted: its folder's, with `exclude` globs applied, plus
    each shared library folder (`shared` maps a name to its folder) under that name at the zip root.
    A symlink that is broken or leads out of the project is a UserError.
    """
    # The project root holds functions/ and lib/; links may point anywhere below it.
    root = function_dir.absolute().parent.parent.resolve()
    entries = _shipped(function_dir, exclude, root)
    own = {entry.name for entry in entries}
    for name, folder in shared.items():
        for library_entry in _shipped(folder, exclude, root):
            arcname = f"{name}/{library_entry.name}"
            if arcname in own:
                raise UserError(f"functions/{function_dir.name}/{arcname}: clashes with lib/{name}/ (key 'shared')")
            entries.append(Entry(arcname, library_entry.path))
    return sorted(entries, key=lambda e: e.name)
