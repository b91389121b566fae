"""The sandbox from the inside: Lambda's view of the filesystem and one PID namespace per environment.

Loaded by bootstrap.py under the function's own Python (3.10+), so: standard library only, no lambdafleet
imports (lifeline.py is loaded from beside it by path), and nothing here may be imported by the host's code.
Linux only; every step uses unprivileged user namespaces (no root, no setuid helper, no bubblewrap).

Two stages:
- `enter_root` (once per process that starts environments: a fork server, or a new interpreter) makes a
  user + mount namespace and pivots into a new read-only root holding only what a function sees on Lambda:
  /var/task (the task root), /var/runtime (awslambdaric and boto3), /opt (the function's layers, merged in
  order; empty without layers), debugpy at /var/lambdafleet/debugpy for an environment started with a debugger
  (nothing there otherwise), the system
  (/usr, /etc and the /bin, /lib... links), the function's interpreter at its own path, a few devices,
  and an empty /tmp. Nothing of the developer's home, /var/tmp, /dev/shm or other users' folders.
- `enter_environment` (once per environment) makes a PID + mount namespace: an init process (PID 1) reaps
  orphans and ends with the runtime, so whatever the function started (`setsid`, double forks) dies with
  it; a fresh /proc shows only the environment's processes; a tmpfs of the ephemeral storage size is /tmp.
  The runtime then drops every capability, so the function cannot undo any mount.
"""

import ctypes
import importlib.util
import os
import select
import signal
import sys
import types
from collections.abc import MutableMapping
from typing import Literal, NoReturn

TASK_ROOT = "/var/task"
RUNTIME_DIR = "/var/runtime"
OPT_DIR = "/opt"
DEBUGGER_DIR = "/var/lambdafleet/debugpy"  # not Lambda's: present only in an environment started with a debugger

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MS_RELATIME = 0x200000
MNT_DETACH = 0x2
PR_SET_NAME = 15
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
_SYS_CAPSET = {"x86_64": 126, "aarch64": 91}
_CAPABILITY_VERSION_3 = 0x20080522
# A read-only remount inside a user namespace must keep the flags the outer mount locked in.
_LOCKED_FLAGS = {
    os.ST_NOSUID: MS_NOSUID,
    os.ST_NODEV: MS_NODEV,
    os.ST_NOEXEC: MS_NOEXEC,
    os.ST_NOATIME: MS_NOATIME,
    os.ST_NODIRATIME: MS_NODIRATIME,
    os.ST_RELATIME: MS_RELATIME,
}
_SYSTEM = ("usr", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
_DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
# Where the new root is assembled: a mount point that exists on every Linux system. It is covered by the
# new root's tmpfs only inside this process's private mount namespace.
_STAGING = "/tmp"
# In the new root, the host's /proc waits on /tmp: the kernel lets a user namespace mount a fresh /proc
# only while a full one is visible. Each environment mounts its own /proc, then replaces this with its tmpfs.
_HOST_PROC = "/tmp"


def _load_lifeline() -> types.ModuleType:
    """lifeline.py, loaded from beside this file (this file may not import lambdafleet)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lifeline.py")
    spec = importlib.util.spec_from_file_location("_lambdafleet_lifeline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lifeline = _load_lifeline()


class SandboxUnavailable(OSError):
    """The kernel refused a namespace or mount operation."""


_libc = ctypes.CDLL(None, use_errno=True)


def _call(name: str, *args: object) -> None:
    if getattr(_libc, name)(*args) != 0:
        errno = ctypes.get_errno()
        raise SandboxUnavailable(errno, f"{name}{args!r}: {os.strerror(errno)}")


def _syscall(numbers: dict[str, int], *args: object) -> None:
    number = numbers.get(os.uname().machine)
    if number is None:
        raise SandboxUnavailable(0, f"no system call table for {os.uname().machine}")
    _call("syscall", ctypes.c_long(number), *args)


def _mount(source: str | None, target: str, kind: str | None, flags: int, options: str | None = None) -> None:
    def encode(value: str | None) -> bytes | None:
        return value.encode() if value is not None else None

    _call("mount", encode(source), encode(target), encode(kind), ctypes.c_ulong(flags), encode(options))


def _write(path: str, text: str) -> None:
    with open(path, "w") as stream:
        stream.write(text)


def set_name(name: str) -> None:
    """Name this process (its `comm`), so `ps` shows what the sandbox's own processes are."""
    _libc.prctl(PR_SET_NAME, name.encode(), 0, 0, 0)


# --- stage 1: the root -------------------------------------------------------------------------


def enter_root(task_root: str, runtime_dir: str, opt_dir: str, debugger_dir: str | None = None) -> str | None:
    """Pivot this process into Lambda's filesystem view; returns None, or why the sandbox is unavailable.
    `debugger_dir` (debugpy's installation) is shown read-only at DEBUGGER_DIR when given.

    On failure nothing the function can see has changed, except possibly a private user namespace that
    maps the same user (harmless). Must run before any thread starts (unshare refuses threaded callers).
    """
    try:
        sources = _sources(task_root, runtime_dir, opt_dir)
        if debugger_dir is not None:
            sources.append((DEBUGGER_DIR, debugger_dir, "dir"))
        uid, gid = os.getuid(), os.getgid()
        _call("unshare", CLONE_NEWUSER | CLONE_NEWNS)
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
        _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing propagates back to the host
    except (OSError, AttributeError, ValueError) as error:
        return str(error)
    try:
        _assemble(sources)
    except (OSError, ValueError) as error:
        _libc.umount2(_STAGING.encode(), MNT_DETACH)  # uncover the host's /tmp again
        return str(error)
    _pivot()  # past this point a failure is a bug, not a missing feature: let it be seen
    return None


Kind = Literal["dir", "file", "link", "proc"]
Source = tuple[str, str, Kind]


def _sources(task_root: str, runtime_dir: str, opt_dir: str) -> list[Source]:
    """(path in the new root, host path, kind) for every entry; kind is "dir", "file", "link" or "proc"."""
    entries: list[Source] = []
    for name in _SYSTEM:
        path = f"/{name}"
        if os.path.islink(path):
            entries.append((path, os.readlink(path), "link"))
        elif os.path.isdir(path):
            entries.append((path, path, "dir"))
    covered = ["/usr/", "/etc/"]
    for prefix in {os.path.realpath(sys.base_prefix), os.path.realpath(sys.base_exec_prefix)}:
        if not any((prefix + "/").startswith(root) for root in covered):
            entries.append((prefix, prefix, "dir"))  # the interpreter, at the path compiled into it
            covered.append(prefix + "/")
    resolver = os.path.realpath("/etc/resolv.conf")  # often a link into /run (systemd-resolved)
    if os.path.isfile(resolver) and not any(resolver.startswith(root) for root in covered):
        entries.append((resolver, resolver, "file"))
    entries += [(TASK_ROOT, task_root, "dir"), (RUNTIME_DIR, runtime_dir, "dir"), (OPT_DIR, opt_dir, "dir")]
    entries += [(f"/dev/{name}", f"/dev/{name}", "file") for name in _DEVICES if os.path.exists(f"/dev/{name}")]
    entries.append((_HOST_PROC, "/proc", "proc"))
    return entries


def _assemble(sources: list[Source]) -> None:
    # Opened before the staging tmpfs covers anything: a task root or cache under /tmp stays reachable.
    handles = {path: os.open(host, os.O_PATH) for path, host, kind in sources if kind != "link"}
    try:
        _mount("tmpfs", _STAGING, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
        for directory in ("/tmp", "/proc", "/dev"):
            os.makedirs(_new(directory), exist_ok=True)
        os.chmod(_new("/tmp"), 0o1777)
        for path, host, kind in sources:
            if kind == "link":
                os.symlink(host, _new(path))
                continue
            os.makedirs(_new(os.path.dirname(path)), exist_ok=True)
            if kind == "file":
                open(_new(path), "w").close()
            else:
                os.makedirs(_new(path), exist_ok=True)
            flags = MS_BIND if kind in ("file", "proc") else MS_BIND | MS_REC
            _mount(f"/proc/self/fd/{handles[path]}", _new(path), None, flags)
    finally:
        for handle in handles.values():
            os.close(handle)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "fd/0"), ("stdout", "fd/1"), ("stderr", "fd/2")):
        os.symlink(target, _new(f"/dev/{name}"))


def _new(path: str) -> str:
    """Where `path` of the new root is while it is assembled."""
    return _STAGING + path


def _pivot() -> None:
    os.chdir(_STAGING)
    _syscall(_SYS_PIVOT_ROOT, b".", b".")  # the old root is now stacked under the new one...
    _call("umount2", b".", MNT_DETACH)  # ...and gone
    os.chdir("/")
    for mount_point in _mount_points():
        if mount_point not in (_HOST_PROC, "/dev/null", "/dev/zero", "/dev/full", "/dev/tty"):
            _make_read_only(mount_point)


def _mount_points() -> list[str]:
    """Every mount point of this namespace, from /proc/self/mountinfo (host /proc, still on /tmp)."""
    points = []
    with open(f"{_HOST_PROC}/self/mountinfo") as stream:
        for line in stream:
            point = line.split()[4].encode().decode("unicode_escape")  # octal escapes such as \040
            points.append(point)
    return sorted(set(points), key=len)


def _make_read_only(path: str) -> None:
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY
    locked = os.statvfs(path).f_flag
    for st_flag, ms_flag in _LOCKED_FLAGS.items():
        if locked & st_flag:
            flags |= ms_flag
    _mount(None, path, None, flags)


def translate(environment: MutableMapping[str, str], task_root: str, runtime_dir: str, opt_dir: str) -> None:
    """Rewrite the host's task root, runtime dir and layers dir in variable values to where the sandbox shows
    them."""
    moves = ((task_root, TASK_ROOT), (runtime_dir, RUNTIME_DIR), (opt_dir, OPT_DIR))
    for key, value in environment.items():
        for host, inside in moves:
            value = value.replace(host, inside)
        environment[key] = value


def rebase_modules(host_runtime_dir: str) -> None:
    """Point modules imported from the host's runtime dir before the pivot at /var/runtime, where their
    submodules (imported later) now are."""
    prefix = host_runtime_dir.rstrip("/") + "/"

    def rebase(path: str) -> str:
        return RUNTIME_DIR + "/" + path[len(prefix) :] if path.startswith(prefix) else path

    for module in list(sys.modules.values()):
        locations = getattr(module, "__path__", None)
        if isinstance(locations, list):
            locations[:] = [rebase(path) for path in locations]
        file = getattr(module, "__file__", None)
        if isinstance(file, str):
            module.__file__ = rebase(file)
    sys.path_importer_cache.clear()


# --- stage 2: one environment ------------------------------------------------------------------


def enter_environment(tmp_mb: int, owner: int | None = None) -> None:
    """Split into the environment's init and its runtime; returns in the runtime (PID 2), only.

    This process stays outside as the environment's handle: it exits as the runtime did (the same code,
    or killed by the same signal). Its death kills the init (parent-death signal), and the init's death
    kills every process of the PID namespace: nothing the function started survives its environment.
    `owner` (a pidfd of the process that owns the environment's pool, see lifeline.py): when that process
    exits, even killed, the handle kills the init and exits, so nothing survives the owner either.
    """
    _call("unshare", CLONE_NEWNS | CLONE_NEWPID)
    status_read, status_write = os.pipe()
    alive_read, alive_write = os.pipe()  # end of file once this process is gone
    init = os.fork()
    if init == 0:
        os.close(status_read)
        os.close(alive_write)
        if owner is not None:
            os.close(owner)  # the function must not hold a handle on a process outside its sandbox
        _be_init(alive_read, status_write, tmp_mb)  # returns only in the runtime
        return
    os.close(status_write)
    os.close(alive_read)
    set_name("lf-environment")
    status = lifeline.wait_child(init, owner)
    if status is None:  # the owner is gone: so is everyone who would take the function's answers
        os.kill(init, signal.SIGKILL)
        _, status = os.waitpid(init, 0)
    reported = os.read(status_read, 64).decode()
    _exit_like(int(reported) if reported else status)


def _be_init(alive_read: int, status_write: int, tmp_mb: int) -> None:
    try:
        lifeline.die_with_parent()  # in a new PID namespace getppid() is 0: the pipe tells whether it died
        if select.select([alive_read], [], [], 0)[0]:
            os._exit(1)  # the handle died before the signal was armed
        os.close(alive_read)
        set_name("lf-init")
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        _call("umount2", _HOST_PROC.encode(), MNT_DETACH)
        _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_mb}m,mode=1777")
        runtime = os.fork()
    except BaseException as error:
        print(f"lambdafleet: the environment's sandbox failed: {error}", file=sys.stderr, flush=True)
        os._exit(1)
    if runtime == 0:
        os.close(status_write)
        _drop_privileges()
        return
    while True:  # reap whatever gets orphaned here, until the runtime itself exits
        pid, status = os.waitpid(-1, 0)
        if pid == runtime:
            os.write(status_write, str(status).encode())
            os._exit(0)


def _drop_privileges() -> None:
    """Give up the user namespace's capabilities: the function cannot unmount, remount or mount."""
    with open("/proc/sys/kernel/cap_last_cap") as stream:
        last = int(stream.read())
    for capability in range(last + 1):
        _libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: none, both 32-bit halves
    _syscall(_SYS_CAPSET, header, data)
    _call("prctl", PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def _exit_like(status: int) -> NoReturn:
    """End this process as a process with wait status `status` ended."""
    if os.WIFSIGNALED(status):
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


def adopt_orphans() -> None:
    """Without namespaces: become the parent of every orphaned descendant, so the host can find them."""
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
