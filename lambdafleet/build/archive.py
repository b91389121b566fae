"""Byte-for-byte reproducible zip files.

Every entry gets the same timestamp, a normalised mode (0644, or 0755 when executable), no extra
fields and the same compression settings, in sorted order. Dependencies are compressed once into
their own archive; a function's zip starts as a copy of it and gets the function's sources appended,
so editing a handler never recompresses numpy.
"""

import os
import shutil
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lambdafleet.build.atomic import replacing
from lambdafleet.errors import UserError

FIXED_DATE = (1980, 1, 1, 0, 0, 0)
COMPRESS_LEVEL = 6


@dataclass(frozen=True)
class Entry:
    """A file to put into an archive under `name` (a POSIX path)."""

    name: str
    path: Path

    @property
    def executable(self) -> bool:
        return bool(self.path.stat().st_mode & 0o111)


def _add(archive: zipfile.ZipFile, entry: Entry) -> int:
    info = zipfile.ZipInfo(entry.name, date_time=FIXED_DATE)
    info.create_system = 3  # Unix, so that the mode bits below are honoured when unpacked
    info.external_attr = (stat.S_IFREG | (0o755 if entry.executable else 0o644)) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    data = entry.path.read_bytes()
    archive.writestr(info, data, compresslevel=COMPRESS_LEVEL)
    return len(data)


def entries_under(folder: Path, keep: Callable[[str], bool] = lambda name: True) -> list[Entry]:
    """Every file below `folder` whose path (and every folder above it) `keep` accepts, sorted by name.

    Symlinked folders are followed (their files ship as if they were here); a link back to a folder
    already being walked would never end, so each real folder is walked once.
    """
    entries = []
    walked = {os.path.realpath(folder)}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        relative = Path(dirpath).relative_to(folder)
        dirnames[:] = [d for d in dirnames if keep((relative / d).as_posix())]
        for d in list(dirnames):
            real = os.path.realpath(Path(dirpath, d))
            if real in walked:
                dirnames.remove(d)
            walked.add(real)
        for filename in filenames:
            name = (relative / filename).as_posix()
            if keep(name):
                entries.append(Entry(name, Path(dirpath, filename)))
    return sorted(entries, key=lambda e: e.name)


def write_archive(dest: Path, entries: list[Entry], base: Path | None = None, label: str = "") -> int:
    """Atomically write `dest` from `base` (an archive to extend, copied as-is) plus `entries`.

    Returns the uncompressed size of `entries`. Raises UserError when an entry would shadow a
    file that `base` already holds; `label` prefixes the entry's name in that message.
    """
    with replacing(dest) as tmp:
        if base is not None:
            shutil.copyfile(base, tmp)
        with zipfile.ZipFile(tmp, "a" if base is not None else "w") as archive:
            existing = set(archive.namelist())
            size = 0
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.name in existing:
                    raise UserError(f"{label}{entry.name}: clashes with '{entry.name}' installed from requirements.txt")
                size += _add(archive, entry)
    return size
