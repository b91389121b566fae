"""Error types that the command line turns into exit codes, and how a message is kept to one readable line."""

import os
import tempfile

# An error line longer than this is cut, the whole message going to a log file (a full disk once gave 170,000).
MESSAGE_LIMIT = 500


class UserError(Exception):
    """A mistake in the user's input: printed as one line, exit code 2, never a traceback."""


class BuildError(Exception):
    """A build failed for a reason outside the user's files (network, tool crash): exit code 1."""


def one_line(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """`message` on one line, cut to about `limit` characters with the full text saved to a log file."""
    flat = " | ".join(part.strip() for part in message.splitlines() if part.strip()) or message
    if len(flat) <= limit:
        return flat
    try:
        fd, path = tempfile.mkstemp(prefix="lambdafleet-error-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as log:
            log.write(message + "\n")
        where = f"full message in {path}"
    except OSError as exc:
        where = f"the full message could not be saved: {exc.strerror}"
    return f"{flat[:limit]}... (cut at {limit} of {len(flat)} characters; {where})"
