"""Process trees for tests of what outlives whom: every descendant of a process, and which of them still run.

Read from /proc by parent id (a scan of every process: the tests' oracle, independent of the runtime's own walk of
/proc/PID/task/*/children). A process is named by (pid, start time), so a reused id is not mistaken for it.
"""

import os
import time

Process = tuple[int, int]  # pid, start time in clock ticks after boot


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of `pid`, None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            fields = stream.read().rpartition(b")")[2].split()
    except OSError:
        return None
    return fields[0].decode(), int(fields[1]), int(fields[19])


def descendants(root: int) -> set[Process]:
    """Every live process below `root` (not `root` itself)."""
    children: dict[int, list[Process]] = {}
    for entry in os.listdir("/proc"):
        stat = _stat(int(entry)) if entry.isdigit() else None
        if stat is not None and stat[0] != "Z":
            children.setdefault(stat[1], []).append((int(entry), stat[2]))
    found: list[Process] = []
    parents = [root]
    while parents:
        below = [child for parent in parents for child in children.get(parent, [])]
        found += below
        parents = [pid for pid, _ in below]
    return set(found)


def running(processes: set[Process]) -> set[Process]:
    """Those of `processes` still running (a zombie has ended: only its parent's wait is missing)."""
    alive = set()
    for pid, start in processes:
        stat = _stat(pid)
        if stat is not None and stat[2] == start and stat[0] != "Z":
            alive.add((pid, start))
    return alive


def survivors(processes: set[Process], timeout: float) -> set[Process]:
    """Those of `processes` still running after up to `timeout` seconds (empty as soon as all ended)."""
    deadline = time.monotonic() + timeout
    while (alive := running(processes)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def describe(processes: set[Process]) -> list[str]:
    """Their command lines, for a failure message."""
    lines = []
    for pid, _ in sorted(processes):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as stream:
                command = stream.read().replace(b"\0", b" ").decode(errors="replace")
            lines.append(f"{pid}: {command[:160]}")
        except OSError:
            lines.append(f"{pid}: (gone)")
    return lines
