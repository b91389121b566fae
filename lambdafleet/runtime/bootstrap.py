"""First code an execution environment runs, under the function's own Python (3.10+), before awslambdaric.

Started with Lambda's environment variables as `pythonX.Y -S bootstrap.py MODE TASK_ROOT RUNTIME_DIR TMP_MB
HANDLER`. It does what Lambda's sandbox and /var/runtime/bootstrap do:
- in a private user + mount namespace (Linux), mounts a tmpfs of TMP_MB on /tmp and makes the task root
  and the runtime dir read-only; where namespaces are unavailable it says so once and carries on;
- adds the builtins `site` would (`exit`, `quit`, `help`...), without its sys.path changes;
- sets sys.path to Lambda's order (task root, runtime dir, standard library); `-S` already kept the
  interpreter's site-packages and any virtualenv out;
- hands over to awslambdaric in this same process (no second exec: that would double the cold start).

MODE `run` does that at once. MODE `serve` is a fork server: it imports what awslambdaric needs (never the
function's code) and then, for each request on the SOCK_SEQPACKET socket it got as stdin (a JSON
environment plus the write end of an output pipe), forks an environment that does the above. A cold start
then costs a fork instead of an interpreter start and awslambdaric's imports. It reports "ready" once its
imports are done, "pid N" per fork and "exit N CODE" per child that ends, since only it can reap them.

Standard library only, and no imports from lambdafleet: this file runs outside the developer's venv.
"""

import contextlib
import importlib
import json
import os
import select
import signal
import socket
import sys
import traceback

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
        # Lambda's /var/task and /var/runtime are read-only; the runtime dir is shared by every function.
        _make_read_only(call, task_root)
        _make_read_only(call, runtime_dir)
    except (OSError, AttributeError) as error:
        print(f"lambdafleet: no private /tmp or read-only task root on this system ({error})", flush=True)


# What awslambdaric imports, minus the modules that read the environment or start the runtime client.
PRELOAD = (
    "ctypes", "decimal", "json", "logging", "traceback", "http.client", "concurrent.futures", "simplejson",
    "awslambdaric.lambda_runtime_marshaller", "awslambdaric.lambda_runtime_log_utils",
    "awslambdaric.lambda_context", "awslambdaric.lambda_config",
)  # fmt: skip


# Taken before any change: the standard library, after the script's own folder (which must not leak in).
_STANDARD_LIBRARY = sys.path[1:]


def _set_path(*first):
    sys.path[:] = [*first, *(path for path in _STANDARD_LIBRARY if path not in first)]


def _add_site_builtins():
    """`exit`, `quit`, `help`, `copyright`... as Lambda's interpreter has them; `-S` skipped adding them.

    Only these: site.main() would put site-packages back on sys.path.
    """
    import site

    site.setquit()
    site.setcopyright()
    site.sethelper()


def _start_runtime(task_root, runtime_dir, tmp_mb, handler):
    _add_site_builtins()
    if sys.platform == "linux":
        _sandbox(task_root, runtime_dir, int(tmp_mb))
    if os.environ.get("LC_CTYPE") == "C.UTF-8":
        # Python's locale coercion adds this when LANG's locale is not installed locally; Lambda has it.
        del os.environ["LC_CTYPE"]
    _set_path(task_root, runtime_dir)
    os.chdir(task_root)
    # awslambdaric frames each log record on this descriptor, as on Lambda, so a multi-line record stays one
    # event; a copy of stdout keeps the records in order with what the function prints.
    os.environ["_LAMBDA_TELEMETRY_LOG_FD"] = str(os.dup(1))
    sys.argv = [sys.argv[0], handler]
    from awslambdaric.__main__ import main as run_runtime

    run_runtime(sys.argv)


def _top_level_names(entries):
    return {entry.split(".")[0] for entry in entries}


def _serve(task_root, runtime_dir, tmp_mb, handler, preload="preload"):
    requests = socket.socket(fileno=0)
    _set_path(runtime_dir)
    if preload == "preload":
        for module in PRELOAD:
            importlib.import_module(module)
        if _top_level_names(sys.modules) & _top_level_names(os.listdir(task_root)):
            # Lambda puts the task root first, so the zip's copy of a module awslambdaric uses must win:
            # start over without preloading (the socket on stdin survives the exec).
            arguments = ["serve", task_root, runtime_dir, tmp_mb, handler, "bare"]
            os.execv(sys.executable, [sys.executable, "-S", os.path.abspath(__file__), *arguments])
    requests.send(b"ready")
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    while True:
        readable = select.select([requests, wake_read], [], [])[0]
        if wake_read in readable:
            os.read(wake_read, 4096)
            _reap(requests)
        if requests in readable:
            message, fds, _, _ = socket.recv_fds(requests, 1 << 20, 1)
            if not message:
                return  # the pool closed its end
            pid = os.fork()
            if pid == 0:
                requests.close()
                os.close(wake_read)
                os.close(wake_write)
                _child(json.loads(message), fds[0], (task_root, runtime_dir, tmp_mb, handler))
            os.close(fds[0])
            requests.send(f"pid {pid}".encode())


def _reap(requests):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        requests.send(f"exit {pid} {os.waitstatus_to_exitcode(status)}".encode())


def _child(environment, output, arguments):
    """Become one execution environment; never returns to the server loop."""
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        os.environ.clear()
        os.environ.update(environment)
        _start_runtime(*arguments)
        code = 0
    except SystemExit as exit_request:
        code = _exit_code(exit_request.code)
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _exit_code(code):
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1


def main():
    mode, *arguments = sys.argv[1:]
    if mode == "serve":
        _serve(*arguments)
    else:
        _start_runtime(*arguments)


if __name__ == "__main__":
    main()
