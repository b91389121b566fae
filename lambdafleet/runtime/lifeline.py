"""Parent death: processes that must not outlive the process that started them (Linux; elsewhere nothing).

Two kernel tools, for two kinds of parent:
- PR_SET_PDEATHSIG (`die_with_parent`, `preexec`): the kernel kills the child when the *thread* that started it
  ends, even by SIGKILL. A thread, not a process: only for children started by a thread that lives as long as its
  process (a main thread, a single-threaded process) or as the child does (one blocked in subprocess.run). Set
  between fork and exec (`preexec`), no moment exists in
  which the parent's death goes unnoticed.
- A pidfd (`watch_parent`, `wait_child`): readable once a whole *process* has exited, whichever of its threads
  started the child. An execution environment's handle waits on its runtime and on the process that owns its
  pool (the pool host), which starts environments from any of its threads, or through the fork server.

Standard library only and no lambdafleet imports: bootstrap.py and sandbox_child.py load this file by path under
a function's own Python (3.10+), and the host's code imports it as lambdafleet.runtime.lifeline.
"""

import ctypes
import os
import select
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def die_with_parent(parent: int | None = None) -> None:
    """Have the kernel SIGKILL this process when the thread that started it ends. With `parent` (the pid the
    starting process had), exit at once if it already ended: the signal is only sent for a death after this call."""
    if _prctl is None:
        return
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def preexec() -> Callable[[], None] | None:
    """subprocess.Popen's `preexec_fn` for a child that dies with this process; None off Linux.

    Call it on a thread that lives as long as the process (see the module's docstring). It makes Popen fork rather
    than spawn; the function itself only calls prctl and getppid, nothing that takes a lock another thread holds.
    """
    if _prctl is None:
        return None
    parent = os.getpid()
    return lambda: die_with_parent(parent)


def watch_parent() -> int | None:
    """A pidfd of this process's parent, readable once it has exited (None where pidfds are missing: Linux before
    5.3, other systems). Exits at once if the parent is already gone."""
    parent = os.getppid()
    pidfd = _pidfd(parent)
    if pidfd is not None and os.getppid() != parent:
        os._exit(1)  # it died before the pidfd was taken: the pidfd may name another process with its id
    return pidfd


def _pidfd(pid: int) -> int | None:
    if not hasattr(os, "pidfd_open"):
        return None
    try:
        return os.pidfd_open(pid)
    except OSError:  # ENOSYS (an old kernel, a seccomp filter), ESRCH (gone)
        return None


def wait_child(pid: int, owner: int | None) -> int | None:
    """Block until child `pid` exits and return its wait status; None if the process behind the pidfd `owner`
    exited first (the child is still running then)."""
    child = _pidfd(pid) if owner is not None else None
    if owner is None or child is None:
        return os.waitpid(pid, 0)[1]
    try:
        readable = select.select([child, owner], [], [])[0]
    finally:
        os.close(child)
    return os.waitpid(pid, 0)[1] if child in readable else None
