"""First code an execution environment runs, under the function's own Python (3.10+), before awslambdaric.

Started with Lambda's environment variables as `pythonX.Y -S bootstrap.py MODE TASK_ROOT RUNTIME_DIR OPT_DIR
TMP_MB HANDLER [DEBUGGER_DIR PORT WAIT]` (OPT_DIR: the function's layers, merged). It does what Lambda's sandbox
and /var/runtime/bootstrap do:
- on Linux, enters the sandbox of sandbox_child.py: Lambda's read-only filesystem view (the task root at
  /var/task, the runtime at /var/runtime, the layers at /opt, nothing of the host's home), then per environment a PID
  namespace and a tmpfs of TMP_MB on /tmp; where namespaces are unavailable (or on other systems) it says
  so in one line in the function's logs and carries on unsandboxed;
- adds the builtins `site` would (`exit`, `quit`, `help`...), without its sys.path changes;
- sets sys.path to Lambda's order (task root, the layers' /opt/python/lib/python3.X/site-packages and
  /opt/python, runtime dir, standard library); `-S` already kept the interpreter's site-packages and any
  virtualenv out;
- hands over to awslambdaric in this same process (no second exec: that would double the cold start).
With DEBUGGER_DIR (debugpy's installation, MODE `run` only), the environment first listens for a debugger on
127.0.0.1:PORT and, when WAIT is `wait`, waits for one to attach, so that even the function's module-level code
can be stepped through; debugpy is shown in the sandbox only then, and is not on the function's sys.path.

MODE `run` does that at once. MODE `serve` is a fork server: it imports what awslambdaric needs (never the
function's code) and then, for each request on the SOCK_SEQPACKET socket it got as stdin (a JSON
environment plus the write end of an output pipe), hands it to an environment forked ahead of time (a spare
that already has its PID namespace and /tmp, and waits for exactly that), which then does the above. The
server enters the sandbox's root itself, after its imports, so each fork only adds its own namespaces. A
cold start then costs a hand-over instead of an interpreter start and awslambdaric's imports. It reports
"ready" once its imports are done, "pid N" per environment handed over and "exit N CODE" per child that
ends, since only it can reap them.

Standard library only, and no imports from lambdafleet (only sandbox_child.py, loaded from beside this file
by path): this file runs outside the developer's venv.
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
import types
from collections.abc import Iterable
from typing import NoReturn


def _load_sandbox() -> types.ModuleType:
    """sandbox_child.py, loaded from beside this file under a name no function module can take."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox_child.py")
    spec = importlib.util.spec_from_file_location("_lambdafleet_sandbox", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sandbox = _load_sandbox() if sys.platform == "linux" else None
_UNSANDBOXED = (
    "lambdafleet: no sandbox ({reason}): this function can read and write what you can, /tmp is the host's, "
    "the task root is at its host path and child processes that start their own session are not contained"
)


Paths = tuple[str, str, str]  # task root, runtime dir, layers (/opt)


def _enter_root(host: Paths, debugger_dir: str | None = None) -> tuple[Paths, str | None]:
    """Lambda's filesystem view for this process and its forks: the (task root, runtime dir, /opt) the function
    will see and None, or the host's paths and why the sandbox is unavailable."""
    if sandbox is None:
        return host, f"not available on {sys.platform}"
    reason = sandbox.enter_root(*host, debugger_dir)
    if reason is not None:
        return host, f"user namespaces unavailable: {reason}"
    # PYTHONPATH named the host's runtime dir when the interpreter started.
    _STANDARD_LIBRARY[:] = [path.replace(host[1], sandbox.RUNTIME_DIR) for path in _STANDARD_LIBRARY]
    return (sandbox.TASK_ROOT, sandbox.RUNTIME_DIR, sandbox.OPT_DIR), None


def _enter_environment(tmp_mb: str, reason: str | None) -> None:
    """Become one execution environment's runtime: in its own PID namespace when the root is sandboxed."""
    if reason is None:
        assert sandbox is not None  # a root was entered
        sandbox.enter_environment(int(tmp_mb))
    elif sandbox is not None:
        sandbox.adopt_orphans()


def _take_environment(environment: dict[str, str], host_paths: Paths, reason: str | None) -> None:
    """Adopt the environment's variables (with the sandbox's paths); say in its logs when it is unsandboxed."""
    os.environ.clear()
    os.environ.update(environment)
    if reason is None:
        assert sandbox is not None
        sandbox.translate(os.environ, *host_paths)
    else:
        print(_UNSANDBOXED.format(reason=reason), flush=True)


# What awslambdaric imports, minus the modules that read the environment or start the runtime client.
PRELOAD = (
    "ctypes", "decimal", "json", "logging", "traceback", "http.client", "concurrent.futures", "simplejson",
    "awslambdaric.lambda_runtime_marshaller", "awslambdaric.lambda_runtime_log_utils",
    "awslambdaric.lambda_context", "awslambdaric.lambda_config",
)  # fmt: skip


# Taken before any change: the standard library, after the script's own folder (which must not leak in).
_STANDARD_LIBRARY = sys.path[1:]


def _set_path(*first: str) -> None:
    sys.path[:] = [*first, *(path for path in _STANDARD_LIBRARY if path not in first)]


def _layer_paths(opt_dir: str) -> list[str]:
    """Where Lambda's Python runtimes look in the layers, in its order (whether or not they exist)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return [f"{opt_dir}/python/lib/python{version}/site-packages", f"{opt_dir}/python"]


def _add_site_builtins() -> None:
    """`exit`, `quit`, `help`, `copyright`... as Lambda's interpreter has them; `-S` skipped adding them.

    Only these: site.main() would put site-packages back on sys.path.
    """
    import site

    site.setquit()
    site.setcopyright()
    site.sethelper()


def _start_runtime(paths: Paths, handler: str) -> None:
    task_root, runtime_dir, opt_dir = paths
    _add_site_builtins()
    if os.environ.get("LC_CTYPE") == "C.UTF-8":
        # Python's locale coercion adds this when LANG's locale is not installed locally; Lambda has it.
        del os.environ["LC_CTYPE"]
    _set_path(task_root, *_layer_paths(opt_dir), runtime_dir)
    os.chdir(task_root)
    # awslambdaric frames each log record on this descriptor, as on Lambda, so a multi-line record stays one
    # event; a copy of stdout keeps the records in order with what the function prints.
    os.environ["_LAMBDA_TELEMETRY_LOG_FD"] = str(os.dup(1))
    sys.argv = [sys.argv[0], handler]
    from awslambdaric.__main__ import main as run_runtime

    run_runtime(sys.argv)


def _run(task_root: str, runtime_dir: str, opt_dir: str, tmp_mb: str, handler: str, *debug: str) -> None:
    """MODE `run`: this new interpreter becomes one environment (with `debug`: DEBUGGER_DIR PORT WAIT, one
    that a debugger can attach to)."""
    debugger_dir = debug[0] if debug else None
    host = (task_root, runtime_dir, opt_dir)
    inside, reason = _enter_root(host, debugger_dir)
    _enter_environment(tmp_mb, reason)
    _take_environment(dict(os.environ), host, reason)
    if debugger_dir is not None:
        if reason is None:
            assert sandbox is not None
            debugger_dir = sandbox.DEBUGGER_DIR
        _listen_for_debugger(debugger_dir, int(debug[1]), wait=debug[2] == "wait", task_root=inside[0])
    _start_runtime(inside, handler)


def _listen_for_debugger(debugger_dir: str, port: int, *, wait: bool, task_root: str) -> None:
    """Start debugpy on 127.0.0.1:`port` (its adapter is a child process, inside the environment) and, with
    `wait`, block until a client attaches. debugpy is imported from its own folder, which leaves sys.path
    again when the runtime sets Lambda's; its modules stay loaded (so `import debugpy` works in the function)."""
    sys.path.insert(0, debugger_dir)
    try:
        import debugpy
    finally:
        sys.path.remove(debugger_dir)
    try:
        debugpy.listen(("127.0.0.1", port))
    except (OSError, RuntimeError) as error:
        sys.exit(f"lambdafleet: the debugger cannot listen on 127.0.0.1:{port}: {error}")
    waiting = ", waiting for a client to attach" if wait else ""
    print(f"lambdafleet: debugpy listening on 127.0.0.1:{port}{waiting} (remote root {task_root})", flush=True)
    if wait:
        debugpy.wait_for_client()


def _top_level_names(entries: Iterable[str]) -> set[str]:
    return {entry.split(".")[0] for entry in entries}


def _shadowed(task_root: str, opt_dir: str) -> bool:
    """Whether the zip or a layer holds a module awslambdaric already imported (Lambda's path puts them first)."""
    names: list[str] = []
    for folder in (task_root, *_layer_paths(opt_dir)):
        with contextlib.suppress(OSError):
            names += os.listdir(folder)
    return bool(_top_level_names(sys.modules) & _top_level_names(names))


def _serve(task_root: str, runtime_dir: str, opt_dir: str, tmp_mb: str, handler: str, preload: str = "preload") -> None:
    requests = socket.socket(fileno=0)
    _set_path(runtime_dir)
    if preload == "preload":
        for module in PRELOAD:
            importlib.import_module(module)
        if _shadowed(task_root, opt_dir):
            # Lambda puts the task root and layers first, so their copy of a module awslambdaric uses must
            # win: start over without preloading (the socket on stdin survives the exec).
            arguments = ["serve", task_root, runtime_dir, opt_dir, tmp_mb, handler, "bare"]
            os.execv(sys.executable, [sys.executable, "-S", os.path.abspath(__file__), *arguments])
    host = (task_root, runtime_dir, opt_dir)
    inside, reason = _enter_root(host)
    if reason is None:
        assert sandbox is not None
        sandbox.rebase_modules(runtime_dir)  # the preloaded ones came from the host's path
        _set_path(inside[1])
        _check_environments(tmp_mb)
    requests.send(b"ready")
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    inherited = (requests.fileno(), wake_read, wake_write)

    def prepare() -> tuple[int, socket.socket]:
        return _prepare(inherited, (tmp_mb, host, reason), (inside, handler))

    spare: tuple[int, socket.socket] | None = prepare()
    watched: list[socket.socket | int] = [requests, wake_read]
    while True:
        # The next spare is forked once the server has been idle a moment, not while the environment just
        # handed over is starting (it would compete with that cold start for the CPU).
        readable = select.select(watched, [], [], None if spare else _SPARE_DELAY_S)[0]
        if not readable and spare is None:
            spare = prepare()
        if wake_read in readable:
            os.read(wake_read, 4096)
            reaped = _reap(requests)
            if spare and spare[0] in reaped:
                spare[1].close()
                spare = None  # it died before it was needed (the pool ignores its exit); next time afresh
        if requests in readable:
            message, fds, _, _ = socket.recv_fds(requests, 1 << 20, 1)
            if not message:
                return  # the pool closed its end
            pid, channel = spare or prepare()
            with contextlib.suppress(OSError):  # it died since the last reap: its exit report tells the pool
                socket.send_fds(channel, [message], fds)
            channel.close()
            os.close(fds[0])
            requests.send(f"pid {pid}".encode())
            spare = None


_SPARE_DELAY_S = 0.05


def _check_environments(tmp_mb: str) -> None:
    """Make one environment's namespaces and end it: if that fails, every fork would fail before it has
    anywhere to say why, so the server stops instead, and the pool starts environments afresh (whose
    logs then show the error)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            assert sandbox is not None  # only checked once a root was entered
            sandbox.enter_environment(int(tmp_mb))
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        sys.exit(f"lambdafleet: an environment's sandbox failed (wait status {status})")


def _prepare(
    inherited: tuple[int, int, int],
    sandboxing: tuple[str, Paths, str | None],
    arguments: tuple[Paths, str],
) -> tuple[int, socket.socket]:
    """Fork the next environment ahead of its request, so a cold start does not wait for its sandbox: it
    waits on a socket for its variables and output; returns (its pid, that socket)."""
    channel, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        signal.set_wakeup_fd(-1)  # before its pipe is closed here
        for fd in (*inherited, channel.detach()):
            os.close(fd)
        _child(theirs, sandboxing, arguments)
    theirs.close()
    return pid, channel


def _reap(requests: socket.socket) -> list[int]:
    """Report every child that ended; returns their pids."""
    reaped: list[int] = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid == 0:
            return reaped
        reaped.append(pid)
        requests.send(f"exit {pid} {os.waitstatus_to_exitcode(status)}".encode())


def _child(channel: socket.socket, sandboxing: tuple[str, Paths, str | None], arguments: tuple[Paths, str]) -> NoReturn:
    """Become one execution environment once the server hands it over; never returns to the server loop."""
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        tmp_mb, host_paths, reason = sandboxing
        _enter_environment(tmp_mb, reason)
        message, fds, _, _ = socket.recv_fds(channel, 1 << 20, 1)
        channel.close()
        if not message:
            os._exit(0)  # the server is gone
        os.dup2(fds[0], 1)
        os.dup2(fds[0], 2)
        os.close(fds[0])
        _take_environment(json.loads(message), host_paths, reason)
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


def _exit_code(code: object) -> int:
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1


def main() -> None:
    mode, *arguments = sys.argv[1:]
    if mode == "serve":
        _serve(*arguments)
    else:
        _run(*arguments)


if __name__ == "__main__":
    main()
