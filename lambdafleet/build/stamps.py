"""Stamps: which bytes a file under build/ holds (a digest, or just "this tool wrote it"), tied to its size and mtime.

A no-op build trusts a stamped file without reading it, yet notices one that changed behind the tool's back (a
file copied over it, a build that replaced it while another failed). Kept in `.stamps/` beside the file.
"""

import json
from pathlib import Path

from lambdafleet.build import atomic


def stamp_path(path: Path) -> Path:
    return path.parent / ".stamps" / f"{path.name}.json"


def record(path: Path, **facts: str) -> None:
    """Stamp `path` as it is now, with `facts` (e.g. its sha256)."""
    info = path.stat()
    atomic.write_text(stamp_path(path), json.dumps({**facts, "size": info.st_size, "mtime_ns": info.st_mtime_ns}))


def matches(path: Path, **facts: str) -> bool:
    """Whether `path` is unchanged since it was stamped with `facts`."""
    try:
        stamp: object = json.loads(stamp_path(path).read_text())
        info = path.stat()
    except (OSError, ValueError):
        return False
    return stamp == {**facts, "size": info.st_size, "mtime_ns": info.st_mtime_ns}
