"""Write files so that a reader never sees a half-written one."""

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lambdafleet.errors import UserError

# Where a write fails because of the tree's permissions or mount, not because of a fault.
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temp path beside `path`; it replaces `path` only if the block finishes without error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        if exc.errno not in _READ_ONLY:
            raise
        raise UserError(f"{path.parent}/: cannot write {path.name} ({exc.strerror}); is the tree read-only?") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    """Atomically replace `path` with `text` (UTF-8)."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
