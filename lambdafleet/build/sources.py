"""Choose which files of a function folder ship in its zip.

Secrets stay out by default: hidden files, private keys, credentials, Terraform state, virtualenvs and
whatever git ignores. An explicit `include` ships such a file on purpose; a symlink to a file that would be
kept out is refused, so a link cannot smuggle `../../.env` into a zip.
"""

import fnmatch
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from lambdafleet.build.archive import Entry, entries_under
from lambdafleet.build.config import CONFIG_FILE
from lambdafleet.build.lockfile import INPUT_FILE, LOCK_FILE
from lambdafleet.errors import UserError

# Never shipped: the function's own tests, build inputs, caches and editor droppings.
DEFAULT_EXCLUDES = (
    "tests", "test_*.py", "*_test.py", "conftest.py",
    "__pycache__", "*.pyc", "*.pyo", "*.swp", "*.swo", "*~", "*.orig", "*.rej",
    CONFIG_FILE, INPUT_FILE, LOCK_FILE,
)  # fmt: skip
# Never shipped, nor reached through a symlink: secrets and environments. Hidden names (.env, .env.local, .git,
# .aws, .venv, ...) are kept out by the dot rule.
SECRET_EXCLUDES = (
    "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "*.pem", "*.key", "secrets.json", "credentials.json",
    "terraform.tfstate*", "*.tfstate", "venv", "node_modules",
)  # fmt: skip


@dataclass(frozen=True)
class Rules:
    """What to keep out of one folder's files (`prefix` is the folder's path in the repository)."""

    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    ignored: frozenset[str] = frozenset()  # repository paths git ignores (folders end in '/')
    prefix: str = ""

    def keep(self, name: str) -> bool:
        """Whether the file or folder `name` (relative to the folder) ships."""
        if any(self._included(part) for part in _ancestry(name)):
            return True
        if any(p.startswith(name + "/") for p in self.include):
            return True  # a folder on the way to something included
        return not any(self._excluded(part) for part in _ancestry(name)) and not self.git_ignores(name)

    def _included(self, name: str) -> bool:
        return _matches(name, self.include)

    def _excluded(self, name: str) -> bool:
        last = PurePosixPath(name).name
        if is_secret(last) or any(fnmatch.fnmatchcase(last, p) for p in DEFAULT_EXCLUDES):
            return True
        return _matches(name, self.exclude)

    def git_ignores(self, name: str) -> bool:
        """Whether git ignores `name` (relative to the folder)."""
        if not self.ignored:
            return False
        full = f"{self.prefix}/{name}" if self.prefix else name
        return full in self.ignored or any(f"{part}/" in self.ignored for part in _ancestry(full))


def _ancestry(name: str) -> Iterator[str]:
    """'a/b/c' -> 'a', 'a/b', 'a/b/c'."""
    parts = name.split("/")
    for depth in range(1, len(parts) + 1):
        yield "/".join(parts[:depth])


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    last = PurePosixPath(name).name
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(last, p) for p in patterns)


def is_secret(name: str) -> bool:
    """Whether a file or folder name is one that never ships by default (hidden, a key, credentials, state...)."""
    return name.startswith(".") or any(fnmatch.fnmatchcase(name, p) for p in SECRET_EXCLUDES)


def git_ignored(root: Path) -> frozenset[str]:
    """Paths under `root` that git ignores (untracked; folders end in '/'); empty outside a git checkout.

    One `git ls-files` for the whole build: it honours every .gitignore, .git/info/exclude and the user's
    global excludes, as git itself does.
    """
    if not any((folder / ".git").exists() for folder in (root, *root.parents)):
        return frozenset()
    command = ["git", "ls-files", "--others", "--ignored", "--exclude-standard", "--directory", "-z"]
    try:
        result = subprocess.run(command, cwd=root, capture_output=True, check=False)
    except OSError:
        return frozenset()
    if result.returncode != 0:
        return frozenset()
    return frozenset(os.fsdecode(path) for path in result.stdout.split(b"\0") if path)


def _check_link(path: Path, label: str, root: Path, rules: Rules, name: str) -> None:
    try:
        target = path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        target = None
    if target is None or not target.exists():
        raise UserError(f"{label}: broken symlink (points to {os.readlink(path)})")
    # A link out of the project would ship host files (/etc/passwd, ~/.aws) in the zip.
    if not target.is_relative_to(root):
        raise UserError(f"{label}: symlink points outside the project (to {target}); copy the file in instead")
    relative = target.relative_to(root).as_posix()
    if relative == "." or any(rules._included(part) for part in _ancestry(name)):
        return
    hidden = any(is_secret(part) for part in relative.split("/"))
    if hidden or Rules(ignored=rules.ignored).git_ignores(relative):
        raise UserError(
            f"{label}: symlink to {relative}, which is never shipped (a hidden, secret or git-ignored file); "
            "copy in what should ship, or list the link in key 'include'"
        )


def _check_links(folder: Path, entries: list[Entry], root: Path, rules: Rules, label: str) -> None:
    """Raise UserError for a link on the way to any entry that is broken, leaves `root`, or reaches a secret."""
    checked: set[str] = set()
    for entry in entries:
        for relative in _ancestry(entry.name):
            if relative not in checked:
                checked.add(relative)
                path = folder / relative
                if path.is_symlink():
                    _check_link(path, f"{label}{relative}", root, rules, relative)


def _check_names(entries: list[Entry], label: str) -> None:
    for entry in entries:
        try:
            entry.name.encode("utf-8")
        except UnicodeEncodeError:
            printable = os.fsencode(entry.name).decode("utf-8", "backslashreplace")
            raise UserError(
                f"{label}{printable}: file name is not UTF-8; Lambda's zip needs UTF-8 names: rename it, or exclude it"
            ) from None


def _shipped(folder: Path, rules: Rules, root: Path, label: str) -> list[Entry]:
    entries = entries_under(folder, keep=rules.keep)
    _check_names(entries, label)
    _check_links(folder, entries, root, rules, label)
    return entries


def source_entries(
    function_dir: Path,
    exclude: tuple[str, ...],
    shared: dict[str, Path],
    include: tuple[str, ...] = (),
    ignored: frozenset[str] = frozenset(),
) -> list[Entry]:
    """The files that go into a function's zip, sorted: its folder's, with `exclude` globs applied (and `include`
    globs shipped whatever the defaults say), plus each shared library folder (`shared` maps a name to its folder)
    under that name at the zip root. `ignored` holds the repository paths git ignores. A symlink that is broken,
    leads out of the project or reaches a file kept out is a UserError.
    """
    # The project root holds functions/ and lib/; links may point anywhere below it.
    root = function_dir.absolute().parent.parent.resolve()
    label = f"{function_dir.parent.name}/{function_dir.name}/"
    own_rules = Rules(exclude, include, ignored, f"{function_dir.parent.name}/{function_dir.name}")
    entries = _shipped(function_dir, own_rules, root, label)
    own = {entry.name for entry in entries}
    for name, folder in shared.items():
        rules = Rules(exclude, include, ignored, f"{folder.parent.name}/{folder.name}")
        for library_entry in _shipped(folder, rules, root, f"{folder.parent.name}/{folder.name}/"):
            arcname = f"{name}/{library_entry.name}"
            if arcname in own:
                raise UserError(f"functions/{function_dir.name}/{arcname}: clashes with lib/{name}/ (key 'shared')")
            entries.append(Entry(arcname, library_entry.path))
    return sorted(entries, key=lambda e: e.name)
