"""Compressed dependency archives, built once per (lock, target, builder) and reused by every build.

A function whose lock did not change never runs pip again, and its dependencies are never
recompressed: `archive.write_archive` extends a copy of the cached archive with the sources.
"""

import fcntl
import hashlib
import os
import shutil
import tempfile
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lambdafleet import BUILDER_VERSION
from lambdafleet.build.archive import entries_under, write_archive
from lambdafleet.build.installer import installer_version
from lambdafleet.build.integrity import discard, file_digest, read_sealed, write_sealed
from lambdafleet.build.lockfile import Lock
from lambdafleet.build.paths import DEPS_CACHE
from lambdafleet.build.platforms import Target
from lambdafleet.errors import BuildError

_STAGING_PREFIX = "install-"


@dataclass(frozen=True)
class Deps:
    """A cached dependency archive and the uncompressed size of each top-level package in it."""

    archive: Path
    sizes: dict[str, int]

    @property
    def unzipped_size(self) -> int:
        return sum(self.sizes.values())


class DepsCache:
    """Builds dependency archives on demand; safe to share between threads and processes."""

    def __init__(self, root: Path) -> None:
        self.root = root / DEPS_CACHE
        self._mutexes: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @staticmethod
    def key(lock: Lock, target: Target, prefix: str = "") -> str:
        # The installer's and zlib's versions count: another uv may lay out the same lock (or build a pure-Python
        # sdist) as other bytes, and another zlib's deflate gives other bytes.
        tools = f"{installer_version()}\0zlib {zlib.ZLIB_RUNTIME_VERSION}"
        digest = hashlib.sha256(f"{BUILDER_VERSION}\0{target}\0{tools}\0{prefix}\0".encode())
        digest.update(lock.path.read_bytes())
        return digest.hexdigest()

    def _lock_for(self, key: str) -> threading.Lock:
        with self._guard:
            return self._mutexes.setdefault(key, threading.Lock())

    def get(self, lock: Lock, target: Target, prefix: str = "") -> Deps:
        """The dependency archive for `lock` on `target`, installing and compressing it if missing or damaged.

        `prefix` (a folder, e.g. a layer's `python`) roots every installed file under it.
        """
        key = self.key(lock, target, prefix)
        archive, record_file = self.root / f"{key}.zip", self.root / f"{key}.json"
        with self._lock_for(key):
            deps = _verified(archive, record_file)
            if deps is None:
                self._build(lock, target, archive, record_file, prefix)
                deps = _verified(archive, record_file)
            if deps is None:  # written a moment ago, so the disk itself is failing
                raise BuildError(f"{archive}: dependency cache entry damaged as soon as written; check the disk")
            return deps

    def sweep(self) -> None:
        """Remove install folders left by a build that was killed; a live build's folder (locked) stays."""
        try:
            leftovers = [entry.path for entry in os.scandir(self.root) if entry.name.startswith(_STAGING_PREFIX)]
        except FileNotFoundError:
            return
        if not leftovers:
            return
        try:
            with self._sweep_guard():
                for leftover in leftovers:
                    _remove_unless_locked(leftover)
        except OSError:
            pass  # a read-only cache: the leftovers wait for a build that can write

    @contextmanager
    def _sweep_guard(self) -> Iterator[None]:
        fd = os.open(self.root / ".sweep.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _build(self, lock: Lock, target: Target, archive: Path, record_file: Path, prefix: str = "") -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with self._sweep_guard():  # no sweep() between making the folder and locking it
            staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=self.root))
            # Held while installing, so that sweep() in another build knows the folder is in use; a killed
            # build's lock dies with it.
            held = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
            fcntl.flock(held, fcntl.LOCK_EX)
        try:
            from lambdafleet.build.install import install_dependencies  # only a cache miss needs pip's machinery

            install_dependencies(lock, target, staging / prefix if prefix else staging)
            entries = entries_under(staging)
            sizes: dict[str, int] = {}
            for entry in entries:
                top = entry.name.split("/", 1)[0]
                sizes[top] = sizes.get(top, 0) + entry.path.stat().st_size
            write_archive(archive, entries)
            # The record is written last: its presence, with the archive's hash, marks a complete cache entry.
            record = {"archive_sha256": file_digest(archive), "archive_size": archive.stat().st_size, "sizes": sizes}
            write_sealed(record_file, record)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            os.close(held)


def _remove_unless_locked(leftover: str) -> None:
    try:
        fd = os.open(leftover, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # its build is still running
    else:
        shutil.rmtree(leftover, ignore_errors=True)
    finally:
        os.close(fd)


def _verified(archive: Path, record_file: Path) -> Deps | None:
    """The cache entry if its record is whole and the archive has the recorded size and hash; else None.

    A damaged part is discarded (with a one-line warning), so the caller rebuilds the entry.
    """
    record = read_sealed(record_file, "dependency cache record")
    if record is None:
        if archive.exists():  # an archive without its record: unfinished or its record was damaged
            archive.unlink(missing_ok=True)
        return None
    sizes = record.get("sizes")
    if not isinstance(sizes, dict) or not all(isinstance(v, int) for v in sizes.values()):
        discard(record_file, "dependency cache record", "no package sizes")
        archive.unlink(missing_ok=True)
        return None
    try:
        whole = archive.stat().st_size == record.get("archive_size") and file_digest(archive) == record.get(
            "archive_sha256"
        )
    except FileNotFoundError:
        whole = False
    if not whole:
        discard(archive, "dependency cache archive", "its size or sha256 differs from the one recorded")
        record_file.unlink(missing_ok=True)
        return None
    return Deps(archive, sizes)
