"""Compressed dependency archives, built once per (lock, target, builder) and reused by every build.

A function whose lock did not change never runs pip again, and its dependencies are never
recompressed: `archive.write_archive` extends a copy of the cached archive with the sources.
"""

import hashlib
import json
import shutil
import tempfile
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

from lambdafleet import BUILDER_VERSION
from lambdafleet.build import atomic
from lambdafleet.build.archive import entries_under, write_archive
from lambdafleet.build.lockfile import Lock
from lambdafleet.build.paths import DEPS_CACHE
from lambdafleet.build.platforms import Target


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
        # pip's and zlib's versions count: a pure-Python sdist built by another pip, or another zlib's
        # deflate, can give other bytes from the same lock.
        import importlib.metadata  # ~15 ms, and only a build that misses the cache gets here

        tools = f"pip {importlib.metadata.version('pip')}\0zlib {zlib.ZLIB_RUNTIME_VERSION}"
        digest = hashlib.sha256(f"{BUILDER_VERSION}\0{target}\0{tools}\0{prefix}\0".encode())
        digest.update(lock.path.read_bytes())
        return digest.hexdigest()

    def _lock_for(self, key: str) -> threading.Lock:
        with self._guard:
            return self._mutexes.setdefault(key, threading.Lock())

    def get(self, lock: Lock, target: Target, prefix: str = "") -> Deps:
        """The dependency archive for `lock` on `target`, installing and compressing it if missing.

        `prefix` (a folder, e.g. a layer's `python`) roots every installed file under it.
        """
        key = self.key(lock, target, prefix)
        archive, sizes_file = self.root / f"{key}.zip", self.root / f"{key}.json"
        with self._lock_for(key):
            if not (archive.is_file() and sizes_file.is_file()):
                self._build(lock, target, archive, sizes_file, prefix)
            return Deps(archive, json.loads(sizes_file.read_text()))

    def _build(self, lock: Lock, target: Target, archive: Path, sizes_file: Path, prefix: str = "") -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="install-", dir=self.root))
        try:
            from lambdafleet.build.install import install_dependencies  # only a cache miss needs pip's machinery

            install_dependencies(lock, target, staging / prefix if prefix else staging)
            entries = entries_under(staging)
            sizes: dict[str, int] = {}
            for entry in entries:
                top = entry.name.split("/", 1)[0]
                sizes[top] = sizes.get(top, 0) + entry.path.stat().st_size
            write_archive(archive, entries)
            # The sizes file is written last: its presence marks a complete cache entry.
            atomic.write_text(sizes_file, json.dumps(dict(sorted(sizes.items())), indent=1))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
