"""The sandbox from the outside: every process of one execution environment, their memory, their end, and
whether a connection to the environment's Runtime API comes from one of them.

An environment's processes are the descendants of the process its launcher started, found in /proc by
walking its threads' children lists down from it (not by reading every process on the machine): inside the
sandbox (sandbox_child.py) that process waits for a PID namespace whose init adopts every orphan, so a child that
calls `setsid` or double-forks stays a descendant; without namespaces the runtime is a child subreaper and adopts
them itself. On systems without /proc (macOS) only the started process is known, and nothing here restricts the
Runtime API.
"""

import contextlib
import functools
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_MIB = 1024 * 1024
# Indexes in /proc/PID/stat after the command name (fields 4, 22 and 24 of proc(5)).
_PPID, _START, _RSS = 1, 19, 21
HAS_PROC = os.path.isdir("/proc/self/fd")
_KILL_WAIT_S = 1.0  # how long a kill waits for the killed processes to have ended
_NEAR = 64  # how many process ids after a parent's are read to find its children without a full scan
_CHILD_MODULE = Path(__file__).with_name("sandbox_child.py")
TASK_ROOT = "/var/task"  # sandbox_child.TASK_ROOT, which the host's code may not import
_PROBE = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("_lambdafleet_sandbox", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(module.enter_root(sys.argv[2], sys.argv[2], sys.argv[2]) or "")
"""


@functools.cache
def unavailable(python: str = sys.executable) -> str | None:
    """Why functions run unsandboxed on this machine (None: they are sandboxed); asks a child process of
    `python` to enter the sandbox's root, as every environment does."""
    if sys.platform != "linux":
        return f"not available on {sys.platform}"
    with tempfile.TemporaryDirectory() as empty:
        done = subprocess.run(
            [python, "-S", "-c", _PROBE, str(_CHILD_MODULE), empty], capture_output=True, text=True, check=False
        )
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
    return done.stdout.strip() or None


class _Process:
    __slots__ = ("pages", "parent", "pid", "start")

    def __init__(self, pid: int, parent: int, start: int, pages: int) -> None:
        self.pid, self.parent, self.start, self.pages = pid, parent, start, pages


def _has_children_lists() -> bool:
    """Whether this kernel lists each thread's children (/proc/PID/task/TID/children, CONFIG_PROC_CHILDREN)."""
    return HAS_PROC and os.path.exists(f"/proc/self/task/{os.getpid()}/children")


_CHILDREN_LISTS = _has_children_lists()


def _tree(root: int) -> list[_Process]:
    """`root` (when alive) and everything below it, parents before children, read from the tree alone: one stat
    and one children list per thread of each of its processes, whatever else runs on the machine (a scan of every
    process took ~9 ms on a busy one). Without children lists, that full scan."""
    if not _CHILDREN_LISTS:
        return _descendants(root, _all_processes())
    top = _read_stat(root)
    found = [top] if top is not None else []
    seen = {root}  # an orphan adopted during the walk may be listed under its old parent and its new one
    for process in found:  # grows while it is walked
        children = [_read_stat(pid) for pid in _children(process.pid) if pid not in seen]
        alive = sorted((child for child in children if child), key=lambda child: child.start)
        seen.update(child.pid for child in alive)
        found.extend(alive)
    return found


def _children(pid: int) -> list[int]:
    """The children of every thread of `pid` (none once it is gone)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children", "rb") as stream:
                found += map(int, stream.read().split())
    return found


def _all_processes() -> dict[int, _Process]:
    """Every process on the machine. Reads one stat file per process: call it sparingly."""
    processes = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                process = _read_stat(int(entry.name))
                if process is not None:
                    processes[process.pid] = process
    return processes


def _read_stat(pid: int) -> _Process | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            # After the command name (which may hold spaces and parentheses): state, ppid, pgrp...
            fields = stream.read().rpartition(b")")[2].split()
        return _Process(pid, int(fields[_PPID]), int(fields[_START]), int(fields[_RSS]))
    except (OSError, IndexError, ValueError):
        return None  # gone since the directory was listed


def _descendants(root: int, processes: dict[int, _Process]) -> list[_Process]:
    """`root` (when alive) and everything below it, parents before children."""
    children: dict[int, list[_Process]] = {}
    for process in processes.values():
        children.setdefault(process.parent, []).append(process)
    found = [processes[root]] if root in processes else []
    for process in found:  # grows while it is walked
        found.extend(sorted(children.get(process.pid, []), key=lambda child: child.start))
    return found


def _first_child(parent: int) -> int | None:
    """The oldest child of `parent` among the few process ids right after its own (ids are handed out in
    increasing order): cheap enough for every poll; a full scan (`_find_runtime`) settles the rare miss."""
    near = (process for process in map(_read_stat, range(parent + 1, parent + _NEAR)) if process)
    children = [process for process in near if process.parent == parent]
    return min(children, key=lambda process: process.start).pid if children else None


def _starts_namespace(pid: int) -> bool:
    """Whether `pid` made a PID namespace for its children: the sandbox's handle on an environment."""
    try:
        return os.readlink(f"/proc/{pid}/ns/pid") != os.readlink(f"/proc/{pid}/ns/pid_for_children")
    except OSError:
        return False


class EnvironmentProcesses:
    """The processes of the environment whose launcher started `root`."""

    def __init__(self, root: int) -> None:
        self.root = root
        self._runtime: int | None = None
        self._plumbing = {root}

    def runtime(self) -> int:
        """The runtime's process (awslambdaric), once it exists; until then the started process."""
        if self._runtime is None and HAS_PROC and _starts_namespace(self.root):
            init = _first_child(self.root)
            runtime = _first_child(init) if init is not None else None
            if init is not None:
                self._plumbing = {self.root, init}
                self._runtime = runtime
        return self._runtime or self.root

    def _find_runtime(self, tree: list[_Process]) -> None:
        """Settle which process is the runtime from the environment's processes; undecided until bootstrap.py
        chose."""
        if not _starts_namespace(self.root):
            return  # unsandboxed, or not yet: the started process stands for the runtime meanwhile
        init = next((process for process in tree if process.parent == self.root), None)
        if init is not None:
            self._plumbing = {self.root, init.pid}
            runtime = next((process for process in tree if process.parent == init.pid), None)
            self._runtime = runtime.pid if runtime is not None else None

    def members(self) -> list[int]:
        """Every live process of the environment (empty once it is gone, or without /proc)."""
        if not HAS_PROC:
            return []
        return [process.pid for process in _tree(self.root)]

    def resident_mib(self) -> float:
        """Resident memory of the runtime and everything the function started, in MiB.

        The sandbox's own waiting processes are left out: they are forks that share the runtime's
        pages, which would otherwise count twice.
        """
        tree = _tree(self.root)
        if self._runtime is None:
            self._find_runtime(tree)
        pages = sum(process.pages for process in tree if process.pid not in self._plumbing)
        return pages * _PAGE_BYTES / _MIB

    def kill(self) -> None:
        """SIGKILL every process of the environment, stopping them first so none can fork away."""
        for kill in (os.killpg, os.kill):  # the session and the started process, even without /proc
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill(self.root, signal.SIGSTOP if HAS_PROC else signal.SIGKILL)
        if not HAS_PROC:
            return
        stopped: set[int] = set()
        for _ in range(100):  # until a pass finds nothing new: a fork in flight shows up in the next
            new = [pid for pid in self.members() if pid not in stopped]
            if not new:
                break
            _signal(new, signal.SIGSTOP)
            stopped.update(new)
        _signal(stopped | {self.root}, signal.SIGKILL)
        _wait_ended(stopped, _KILL_WAIT_S)

    def holds_connection(self, client_port: int, server_port: int) -> bool:
        """Whether the loopback TCP connection from `client_port` to `server_port` was opened by one of the
        environment's processes (its socket is among their open files)."""
        inode = _socket_inode(client_port, server_port)
        if inode is None:
            return False
        target = f"socket:[{inode}]"
        # The runtime first: it is nearly always the one connecting, and then no scan of /proc is needed.
        runtime = self.runtime()
        return _holds(runtime, target) or any(_holds(pid, target) for pid in self.members() if pid != runtime)


def _wait_ended(pids: set[int], timeout_s: float) -> None:
    """Return once every process of `pids` has ended (a zombie has: its files are closed), `timeout_s` at most.
    What the function held (a port, a file) is free when the environment's end is reported: a debugger's port
    is taken again by the next invocation at once."""
    deadline = time.monotonic() + timeout_s
    while (pids := {pid for pid in pids if _running(pid)}) and time.monotonic() < deadline:
        time.sleep(0.001)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            return stream.read().rpartition(b")")[2].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return False


def _holds(pid: int, target: str) -> bool:
    """Whether process `pid` has the file `target` (a readlink of /proc/PID/fd/N) open."""
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return True
    return False


def _signal(pids: Iterable[int], number: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, number)


def _socket_inode(local_port: int, remote_port: int) -> int | None:
    """The inode of the IPv4 loopback socket 127.0.0.1:local_port -> 127.0.0.1:remote_port."""
    try:
        return _diag_inode(local_port, remote_port)
    except OSError:
        return _table_inode(local_port, remote_port)


# Linux's sock_diag (what `ss` uses): one socket looked up by its address, where /proc/net/tcp lists all of
# them (milliseconds on a machine with thousands of connections).
_NETLINK_SOCK_DIAG, _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, _NLMSG_ERROR = 4, 20, 1, 2
_LOOPBACK = socket.inet_aton("127.0.0.1") + bytes(12)
_NO_COOKIE = b"\xff" * 8


def _diag_inode(local_port: int, remote_port: int) -> int | None:
    socket_id = struct.pack("!HH", local_port, remote_port) + _LOOPBACK + _LOOPBACK + bytes(4) + _NO_COOKIE
    request = struct.pack("=BBBxI", socket.AF_INET, socket.IPPROTO_TCP, 0, 0xFFFFFFFF) + socket_id
    header = struct.pack("=IHHII", 16 + len(request), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST, 1, 0)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_SOCK_DIAG) as netlink:
        netlink.settimeout(1.0)
        netlink.send(header + request)
        reply = netlink.recv(65536)
    length, kind = struct.unpack_from("=IH", reply)
    if kind == _NLMSG_ERROR or length < 16 + 72:
        return None  # no such socket
    return int(struct.unpack_from("=I", reply, 16 + 68)[0])  # inet_diag_msg.idiag_inode


def _table_inode(local_port: int, remote_port: int) -> int | None:
    local, remote = f"0100007F:{local_port:04X}", f"0100007F:{remote_port:04X}"
    with contextlib.suppress(OSError), open("/proc/net/tcp", encoding="ascii") as table:
        next(table)  # the header
        for line in table:
            fields = line.split()
            if fields[1] == local and fields[2] == remote:
                return int(fields[9])
    return None
