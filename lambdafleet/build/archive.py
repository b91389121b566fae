"""Byte-for-byte reproducible zip files.

Every entry gets the same timestamp, a normalised mode (0644, or 0755 when executable), no extra
fields and the same compression settings, in sorted order. Dependencies are compressed once into
their own archive; a function's zip starts as a copy of it and gets the function's sources appended,
so editing a handler never recompresses numpy. Members are deflated on every core and written as zipfile's own
writer would write them, byte for byte.
"""

import os
import shutil
import stat
import zipfile
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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


def _info(entry: Entry) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(entry.name, date_time=FIXED_DATE)
    info.create_system = 3  # Unix, so that the mode bits below are honoured when unpacked
    info.external_attr = (stat.S_IFREG | (0o755 if entry.executable else 0o644)) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


@dataclass(frozen=True)
class _Compressed:
    """One member's bytes deflated as zipfile would deflate them (raw deflate, COMPRESS_LEVEL, one call)."""

    info: zipfile.ZipInfo
    size: int
    crc: int
    data: bytes


def _compress(entry: Entry) -> _Compressed:
    """Read and deflate one member; zlib lets go of the GIL meanwhile, so members compress on every core."""
    data = entry.path.read_bytes()
    compressor = zlib.compressobj(COMPRESS_LEVEL, zlib.DEFLATED, -15)
    return _Compressed(_info(entry), len(data), zlib.crc32(data), compressor.compress(data) + compressor.flush())


def _write_compressed(archive: zipfile.ZipFile, member: _Compressed) -> None:
    """Append a member deflated beforehand, writing exactly the bytes `archive.writestr` would have written.

    zipfile has no public call for this: these are the steps of its own writer (ZipFile._open_to_write and
    _ZipWriteFile.close), with the header written once, its sizes and CRC already known. A member too big
    for a plain header (zip64) goes through writestr instead.
    """
    info = member.info
    info.file_size, info.CRC, info.compress_size = member.size, member.crc, len(member.data)
    archive.fp.seek(archive.start_dir)  # type: ignore[union-attr]  # an archive open for writing has fp
    info.header_offset = archive.fp.tell()  # type: ignore[union-attr]
    archive._writecheck(info)  # type: ignore[attr-defined]
    archive._didModify = True  # type: ignore[attr-defined]
    archive.fp.write(info.FileHeader(False))  # type: ignore[union-attr]
    archive.fp.write(member.data)  # type: ignore[union-attr]
    archive.start_dir = archive.fp.tell()  # type: ignore[union-attr]
    archive.filelist.append(info)
    archive.NameToInfo[info.filename] = info


def _add_all(archive: zipfile.ZipFile, entries: list[Entry]) -> int:
    """Add `entries` in order, deflated a batch at a time by a pool of threads; returns their total size."""
    size = 0
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for start in range(0, len(entries), _BATCH):  # a batch in memory at a time, not the whole archive
            for entry, member in zip(
                entries[start : start + _BATCH], pool.map(_compress, entries[start : start + _BATCH]), strict=True
            ):
                size += member.size
                if member.size * 1.05 > zipfile.ZIP64_LIMIT or len(member.data) > zipfile.ZIP64_LIMIT:
                    archive.writestr(_info(entry), entry.path.read_bytes(), compresslevel=COMPRESS_LEVEL)
                else:
                    _write_compressed(archive, member)
    return size


_BATCH = 64


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
            ordered = sorted(entries, key=lambda e: e.name)
            for entry in ordered:
                if entry.name in existing:
                    raise UserError(f"{label}{entry.name}: clashes with '{entry.name}' installed from requirements.txt")
            return _add_all(archive, ordered)
