"""Memory figures of a running process, read from Linux's /proc (None elsewhere or once it is gone)."""

import os

_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_MIB = 1024 * 1024


def resident_mib(pid: int) -> float | None:
    """Current resident set size in MiB."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as stream:
            return int(stream.read().split()[1]) * _PAGE_BYTES / _MIB
    except (OSError, IndexError, ValueError):
        return None


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
