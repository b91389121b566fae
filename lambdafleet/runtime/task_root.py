"""Unpack a function's zip into a read-only directory, as Lambda does into /var/task."""

import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

from lambdafleet.build.paths import RUNTIMES_CACHE
from lambdafleet.errors import UserError

_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def unpack(zip_path: Path, name: str, cache_dir: Path) -> Path:
    """A fresh directory under `cache_dir` holding the zip's contents with every write permission removed.

    Not in the system's temp folder: the sandbox would have to re-attach it inside the function's private
    /tmp, which Lambda starts empty. Raises UserError when the zip is missing or not a zip.
    """
    parent = cache_dir / RUNTIMES_CACHE / "tasks"
    parent.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=parent))
    try:
        with zipfile.ZipFile(zip_path) as archive:
            for member in archive.infolist():
                _extract(archive, member, root)
    except (OSError, zipfile.BadZipFile) as error:
        remove(root)
        raise UserError(f"{zip_path}: cannot unpack the function's zip ({error})") from None
    _freeze(root)
    return root


def _extract(archive: zipfile.ZipFile, member: zipfile.ZipInfo, root: Path) -> None:
    path = Path(archive.extract(member, root))
    mode = member.external_attr >> 16
    if mode and not member.is_dir():
        os.chmod(path, stat.S_IMODE(mode) | stat.S_IRUSR)  # keep executables executable


def _freeze(root: Path) -> None:
    for directory, _, files in os.walk(root):
        for entry in [directory, *(os.path.join(directory, file) for file in files)]:
            os.chmod(entry, stat.S_IMODE(os.stat(entry).st_mode) & ~_WRITE_BITS)


def remove(root: Path) -> None:
    """Delete an unpacked task root (write permission is given back first so unprivileged users can)."""
    for directory, _, _ in os.walk(root):
        os.chmod(directory, stat.S_IRWXU)
    shutil.rmtree(root, ignore_errors=True)
