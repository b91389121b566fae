"""Cache entries that prove they are whole: each carries a content hash recorded when it was written.

A cache entry damaged on disk (a flipped byte, a truncated or emptied file) must never turn into a wrong
zip reported as built. Readers verify the hash before trusting an entry; a bad entry is discarded with a
one-line warning and the caller rebuilds it.
"""

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from lambdafleet.build import atomic


def _digest(record: Any) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def write_sealed(path: Path, record: dict[str, Any]) -> None:
    """Atomically write `record` as JSON together with the SHA-256 of its canonical form."""
    atomic.write_text(path, json.dumps({"record": record, "sha256": _digest(record)}, indent=1, sort_keys=True))


def read_sealed(path: Path, what: str) -> dict[str, Any] | None:
    """The record at `path` if it is whole; None when missing, or when damaged (then it is removed, with a warning)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        discard(path, what, f"unreadable: {exc}")
        return None
    try:
        data = json.loads(text)
        record, recorded = data["record"], data["sha256"]
    except (ValueError, TypeError, KeyError):
        record, recorded = None, None
    if not isinstance(record, dict) or recorded != _digest(record):
        discard(path, what, "its content hash does not match")
        return None
    return record


def file_digest(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def discard(path: Path, what: str, why: str) -> None:
    """Remove a damaged cache entry and say so in one line; the caller rebuilds it."""
    print(f"warning: {what} {path} is damaged ({why}); discarded, rebuilding it", file=sys.stderr)
    path.unlink(missing_ok=True)
