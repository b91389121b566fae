"""Unpack a function's zip (Lambda's /var/task) and its layers (Lambda's /opt) into read-only directories.

The directories are content-addressed: `.cache/lambdafleet/runtime/unpacked/<sha256>/`, named by the zip's
SHA-256 (for layers, by the ordered SHA-256s of their zips). An environment that finds its directory uses it as it
is, so a warm `build.py invoke` or a new pool of the endpoint skips the unzip; a missing one is unpacked into a
temporary sibling and renamed into place, so concurrent environments (pools, endpoints, `invoke` runs) never see a
half-written tree and share the first complete one. Nothing ever writes to a directory once it is in place, so
no environment's files change under it. Each use (a pool opening it) touches it; unpacking a new one removes those
no pool opened for UNUSED_FOR_S (a week), so edits and test runs do not fill the disk; `python build.py clean
--cache` removes them all.
"""

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lambdafleet.build.paths import RUNTIMES_CACHE
from lambdafleet.errors import UserError

_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
UNPACKED = "unpacked"
UNUSED_FOR_S = 7 * 24 * 3600.0
_ABANDONED_S = 3600.0  # a staging folder this old belongs to a process that was killed mid-unpack


@dataclass(frozen=True)
class Archive:
    """A zip to unpack, and its SHA-256 in hex when the caller already knows it (the manifest, Lambda's
    CodeSha256); hashing a large zip on every warm start would cost more than the rest of it."""

    path: Path
    sha256: str | None = None

    def digest(self) -> str:
        if self.sha256 is not None:
            return self.sha256
        hasher = hashlib.sha256()
        try:
            with open(self.path, "rb") as stream:
                while chunk := stream.read(1 << 20):
                    hasher.update(chunk)
        except OSError as error:
            raise UserError(f"{self.path}: cannot read the zip ({error.strerror or error})") from None
        return hasher.hexdigest()


def unpack(zip_path: Path, cache_dir: Path, sha256: str | None = None) -> Path:
    """The read-only task root of the function zip `zip_path` (unpacked once per content).

    Raises UserError when the zip is missing or not a zip.
    """
    archive = Archive(zip_path, sha256)
    return _unpacked([archive], archive.digest(), cache_dir)


def unpack_layers(layers: Sequence[Archive], cache_dir: Path) -> Path:
    """The read-only /opt of a function whose layers are `layers`, in the order Lambda extracts them: each
    layer's files over the previous ones' (a later layer's file replaces an earlier layer's). No layers: an
    empty directory, which is what /opt is on Lambda then."""
    return _unpacked(list(layers), layers_key([layer.digest() for layer in layers]), cache_dir)


def layers_key(digests: Sequence[str]) -> str:
    """The name of the merged /opt of layers with these SHA-256s (hex), in this order."""
    digest = hashlib.sha256(b"layers")
    for layer in digests:
        digest.update(b"\0" + layer.encode())
    return digest.hexdigest()


def cached(key: str, cache_dir: Path) -> Path | None:
    """The unpacked directory for content `key` when it is already in place."""
    target = cache_dir / RUNTIMES_CACHE / UNPACKED / key
    return target if target.is_dir() else None


def _unpacked(archives: list[Archive], key: str, cache_dir: Path) -> Path:
    target = cache_dir / RUNTIMES_CACHE / UNPACKED / key
    if target.is_dir():
        with contextlib.suppress(OSError):
            os.utime(target)  # in use: not pruned
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    _prune(target.parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{key[:16]}.", dir=target.parent))
    try:
        for archive in archives:
            _extract_all(archive.path, staging)
        _freeze(staging)
        os.rename(staging, target)
    except OSError:
        if not target.is_dir():  # not another process's rename winning the race
            raise
    finally:
        if staging.exists():
            remove(staging)
    return target


def _prune(parent: Path) -> None:
    """Remove what no pool opened for UNUSED_FOR_S, and staging folders of killed processes."""
    now = time.time()
    for entry in parent.iterdir():
        try:
            age = now - entry.lstat().st_mtime
        except OSError:
            continue  # another process removed it
        if age > (_ABANDONED_S if entry.name.startswith(".") else UNUSED_FOR_S):
            remove(entry)


def _extract_all(zip_path: Path, root: Path) -> None:
    try:
        with zipfile.ZipFile(zip_path) as archive:
            for member in archive.infolist():
                _extract(archive, member, root)
    except (OSError, zipfile.BadZipFile) as error:
        raise UserError(f"{zip_path}: cannot unpack the zip ({error})") from None


def _extract(archive: zipfile.ZipFile, member: zipfile.ZipInfo, root: Path) -> None:
    path = Path(archive.extract(member, root))  # a later layer's file overwrites an earlier layer's
    mode = member.external_attr >> 16
    if mode and not member.is_dir():
        os.chmod(path, stat.S_IMODE(mode) | stat.S_IRUSR | stat.S_IWUSR)  # executables stay executable


def _freeze(root: Path) -> None:
    for directory, _, files in os.walk(root):
        for entry in [directory, *(os.path.join(directory, file) for file in files)]:
            os.chmod(entry, stat.S_IMODE(os.stat(entry).st_mode) & ~_WRITE_BITS)


def remove(root: Path) -> None:
    """Delete an unpacked directory (write permission is given back first so unprivileged users can)."""
    for directory, _, _ in os.walk(root):
        os.chmod(directory, stat.S_IRWXU)
    shutil.rmtree(root, ignore_errors=True)
