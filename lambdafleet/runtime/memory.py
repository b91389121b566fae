"""Memory figures of a running process, read from Linux's /proc (None elsewhere or once it is gone)."""

import contextlib
import os

_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_MIB = 1024 * 1024
# Indexes in /proc/PID/stat after the command name (fields 6 and 24 of proc(5)).
_SESSION, _RSS = 3, 21


def resident_mib(pid: int) -> float | None:
    """Current resident set size in MiB."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as stream:
            return int(stream.read().split()[1]) * _PAGE_BYTES / _MIB
    except (OSError, IndexError, ValueError):
        return None


def session_resident_mib(session: int) -> float:
    """Resident memory of every process in `session` together, in MiB (0 when none is left).

    An environment leads its own session, so its child processes count against its memory as in
    Lambda's cgroup. Reads the stat file of every process on the machine: poll it sparingly.
    """
    pages = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                pages += _session_pages(entry.name, session)
    return pages * _PAGE_BYTES / _MIB


def _session_pages(pid: str, session: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            # After the command name (which may hold spaces and parentheses): state, ppid, pgrp, session...
            fields = stream.read().rpartition(b")")[2].split()
        return int(fields[_RSS]) if int(fields[_SESSION]) == session else 0
    except (OSError, IndexError, ValueError):
        return 0  # gone since the directory was listed


def peak_mib(pid: int) -> int | None:
    """Peak resident set size (VmHWM) in whole MiB, rounded up as Lambda's "Max Memory Used" is."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as stream:
            for line in stream:
                if line.startswith("VmHWM:"):
                    return -(-int(line.split()[1]) // 1024)
    except (OSError, ValueError):
        return None
    return None
