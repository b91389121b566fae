"""First code an execution environment runs, under the function's own Python (3.10+), before awslambdaric.

Started as `pythonX.Y -S bootstrap.py TASK_ROOT RUNTIME_DIR TMP_MB HANDLER` with Lambda's environment
variables. It does what Lambda's sandbox and /var/runtime/bootstrap do:
- in a private user + mount namespace (Linux), mounts a tmpfs of TMP_MB on /tmp and makes the task root
  read-only; where namespaces are unavailable it says so once and carries on;
- sets sys.path to Lambda's order (task root, runtime dir, standard library); `-S` already kept the
  interpreter's site-packages and any virtualenv out;
- hands over to awslambdaric in this same process (no second exec: that would double the cold start).

Standard library only, and no imports from lambdafleet: this file runs outside the developer's venv.
"""

import os
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
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
# A read-only remount inside a user namespace must keep the flags the outer mount locked in.
_LOCKED_FLAGS = {
    os.ST_NOSUID: MS_NOSUID,
    os.ST_NODEV: MS_NODEV,
    os.ST_NOEXEC: MS_NOEXEC,
    os.ST_NOATIME: MS_NOATIME,
    os.ST_NODIRATIME: MS_NODIRATIME,
    os.ST_RELATIME: MS_RELATIME,
}


class SandboxUnavailable(OSError):
    """The kernel refused a namespace or mount operation."""


def _libc():
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    def call(name, *args):
        if getattr(libc, name)(*args) != 0:
            errno = ctypes.get_errno()
            raise SandboxUnavailable(errno, f"{name}{args!r}: {os.strerror(errno)}")

    return call


def _write(path, text):
    with open(path, "w") as stream:
        stream.write(text)


def _enter_namespaces(call):
    uid, gid = os.getuid(), os.getgid()
    call("unshare", CLONE_NEWUSER | CLONE_NEWNS)
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")
    # Keep our mounts from propagating back to the host's mount namespace.
    call("mount", None, b"/", None, MS_REC | MS_PRIVATE, None)


def _mount_private_tmp(call, size_mb, keep):
    """Mount a fresh tmpfs on /tmp; directories in `keep` that lived under /tmp are re-attached."""
    kept = [(path, os.open(path, os.O_RDONLY | os.O_DIRECTORY)) for path in keep if _under_tmp(path)]
    options = f"size={size_mb}m,mode=1777".encode()
    call("mount", b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, options)
    for path, fd in kept:
        os.makedirs(path, exist_ok=True)
        call("mount", f"/proc/self/fd/{fd}".encode(), path.encode(), None, MS_BIND, None)
        os.close(fd)


def _under_tmp(path):
    return path == "/tmp" or path.startswith("/tmp/")


def _make_read_only(call, path):
    locked = os.statvfs(path).f_flag
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY
    for st_flag, ms_flag in _LOCKED_FLAGS.items():
        if locked & st_flag:
            flags |= ms_flag
    call("mount", path.encode(), path.encode(), None, MS_BIND, None)
    call("mount", None, path.encode(), None, flags, None)


def _sandbox(task_root, runtime_dir, tmp_mb):
    try:
        call = _libc()
        _enter_namespaces(call)
        _mount_private_tmp(call, tmp_mb, [task_root, runtime_dir])
        _make_read_only(call, task_root)
    except (OSError, AttributeError) as error:
        print(f"lambdafleet: no private /tmp or read-only task root on this system ({error})", flush=True)


def main():
    task_root, runtime_dir, tmp_mb, handler = sys.argv[1:5]
    if sys.platform == "linux":
        _sandbox(task_root, runtime_dir, int(tmp_mb))
    if os.environ.get("LC_CTYPE") == "C.UTF-8":
        # Python's locale coercion adds this when LANG's locale is not installed locally; Lambda has it.
        del os.environ["LC_CTYPE"]
    standard_library = [path for path in sys.path[1:] if path != runtime_dir]
    sys.path[:] = [task_root, runtime_dir, *standard_library]
    os.chdir(task_root)
    sys.argv = [sys.argv[0], handler]
    from awslambdaric.__main__ import main as run_runtime

    run_runtime(sys.argv)


if __name__ == "__main__":
    main()
