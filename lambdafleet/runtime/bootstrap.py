"""First code an execution environment runs, under the function's own Python (3.10+), before awslambdaric.

Started with Lambda's environment variables as `pythonX.Y -S bootstrap.py MODE TASK_ROOT RUNTIME_DIR OPT_DIR
WORKDIR START_FAILURE TMP_MB HANDLER [DEBUGGER_DIR PORT WAIT]` (OPT_DIR: the function's layers, merged; WORKDIR: an
image's working directory as the function sees it, empty for the task root; START_FAILURE: empty, or what an
image's entrypoint does instead of starting the runtime, as JSON: spec.StartFailure). It does what Lambda's sandbox
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

MODE `run` does that at once. MODE `serve RUNTIME_DIR` is a fork server shared by every function of one
interpreter and runtime dir: it imports what awslambdaric needs (never a function's code) and then, for each
request on the SOCK_SEQPACKET socket it got as stdin (JSON: the environment and `run`'s arguments, plus the
write end of an output pipe), hands it to a forked process that does what `run` does for that function: its
own root, its namespaces, its variables. Once the server is idle it forks a spare for each function it has
served, which enters that function's sandbox ahead of its next request; a cold start then costs a hand-over
instead of an interpreter start and awslambdaric's imports, and every function shares the server's memory. A
function whose zip or layers hold a module the server preloaded (Lambda's path puts the zip first) gets a fresh
interpreter instead: its process execs `run`. A pool that closes sends "forget" with its arguments (its spare
goes). The server reports "ready" once its imports are done, "pid N" per environment handed over and "exit N
CODE" per child that ends, since only it can reap them.

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
    sandbox.rebase_modules(host[1])  # a fork server's preloaded modules came from the host's path
    return (sandbox.TASK_ROOT, sandbox.RUNTIME_DIR, sandbox.OPT_DIR), None


def _enter_environment(tmp_mb: str, reason: str | None) -> None:
    """Become one execution environment's runtime: in its own PID namespace when the root is sandboxed, whose
    handle ends it when the process that owns its pool ends (_OWNER)."""
    if reason is None:
        assert sandbox is not None  # a root was entered
        sandbox.enter_environment(int(tmp_mb), _OWNER)
        return
    if _OWNER is not None:
        os.close(_OWNER)  # unsandboxed, the runtime is the handle: it notices its owner's end at its next event
    if sandbox is not None:
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
    "awslambdaric.lambda_context", "awslambdaric.lambda_config", "awslambdaric.lambda_literals",
    # Imported by the runtime later: loaded once here, their pages are shared by every environment.
    "typing", "queue", "concurrent.futures.thread", "importlib.util", "signal", "encodings.unicode_escape",
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


def _start_runtime(paths: Paths, handler: str, workdir: str, failure: str) -> None:
    task_root, runtime_dir, opt_dir = paths
    if failure:
        _fail_start(json.loads(failure))
    _add_site_builtins()
    if os.environ.get("LC_CTYPE") == "C.UTF-8":
        # Python's locale coercion adds this when LANG's locale is not installed locally; Lambda has it.
        del os.environ["LC_CTYPE"]
    _set_path(task_root, *_layer_paths(opt_dir), runtime_dir)
    _enter_working_directory(workdir, paths)
    # awslambdaric frames each log record on this descriptor, as on Lambda, so a multi-line record stays one
    # event; a copy of stdout keeps the records in order with what the function prints.
    os.environ["_LAMBDA_TELEMETRY_LOG_FD"] = str(os.dup(1))
    sys.argv = [sys.argv[0], handler]
    from awslambdaric.__main__ import main as run_runtime

    run_runtime(sys.argv)


# Lambda's folders, which an unsandboxed environment has at their host paths instead: (task root, runtime, /opt).
_LAMBDA_PATHS = ("/var/task", "/var/runtime", "/opt")


def _enter_working_directory(workdir: str, paths: Paths) -> None:
    """Move into the image's working directory as the function sees it (empty: the task root, the base image's
    WORKDIR), or fail the init phase as Lambda does when it cannot."""
    if not workdir:
        os.chdir(paths[0])
        return
    if not workdir.startswith("/"):
        _fail_init(
            "Runtime.InvalidWorkingDir",
            f"the working directory '{workdir}' is invalid, it needs to be an absolute path",
        )
    here = workdir
    for lambda_path, host_path in zip(_LAMBDA_PATHS, paths, strict=True):
        if workdir == lambda_path or workdir.startswith(lambda_path + "/"):
            here = host_path + workdir[len(lambda_path) :]
    try:
        os.chdir(here)
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        _fail_init("Runtime.InvalidWorkingDir", f"the working directory '{workdir}' is invalid: {reason}")


def _fail_start(failure: dict[str, object]) -> NoReturn:
    """Do what the image's entrypoint does instead of starting the runtime: exit as it does, or fail the init phase
    as Lambda does when it cannot run the entrypoint at all."""
    message = str(failure["message"])
    if failure.get("exit_code") is not None:
        print(message, file=sys.stderr, flush=True)
        sys.exit(int(str(failure["exit_code"])))
    _fail_init(str(failure["error_type"]), message)


def _fail_init(error_type: str, message: str) -> NoReturn:
    """Report a failed init phase in the platform's name, as Lambda's own error (the Runtime API adds the request id
    to `message`, as Lambda's "RequestId: ... Error: ..." does), then end."""
    import http.client

    body = json.dumps({"errorType": error_type, "errorMessage": message})
    connection = http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"], timeout=30)
    headers = {"Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": error_type}
    connection.request("POST", "/2018-06-01/runtime/init/error", body.encode(), headers)
    connection.getresponse().read()
    sys.exit(1)


def _run(
    task_root: str,
    runtime_dir: str,
    opt_dir: str,
    workdir: str,
    failure: str,
    tmp_mb: str,
    handler: str,
    *debug: str,
) -> None:
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
    _start_runtime(inside, handler, workdir, failure)


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


def _serve(runtime_dir: str) -> None:
    """MODE `serve`: the fork server of every function that runs on this interpreter and runtime dir."""
    requests = socket.socket(fileno=0)
    _set_path(runtime_dir)
    for module in PRELOAD:
        importlib.import_module(module)
    os.chdir("/")  # no function's folder: each environment moves into its own task root
    requests.send(b"ready")
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    inherited = (requests.fileno(), wake_read, wake_write)
    spares: dict[str, tuple[int, socket.socket]] = {}  # by the function's arguments (JSON)
    served: set[str] = set()  # functions that get a spare ready, once the server is idle
    watched: list[socket.socket | int] = [requests, wake_read]
    while True:
        # A function's next environment is forked (into its sandbox) once the server has been idle a moment, not
        # while the environment just handed over is starting (it would compete with that cold start).
        readable = select.select(watched, [], [], _SPARE_DELAY_S if served - spares.keys() else None)[0]
        if not readable:
            for key in served - spares.keys():
                spares[key] = _prepare(inherited, json.loads(key))
        if wake_read in readable:
            os.read(wake_read, 4096)
            reaped = _reap(requests)
            for key, (pid, channel) in list(spares.items()):
                if pid in reaped:  # it died before it was needed (the pool ignores its exit): no spare until the
                    channel.close()  # function's next request, which starts afresh (and logs why, if it fails)
                    del spares[key]
                    served.discard(key)
        if requests in readable:
            message, fds, _, _ = socket.recv_fds(requests, 1 << 20, 1)
            if not message:
                return  # the pools closed their end
            request = json.loads(message)
            if "forget" in request:  # the function's pool is closed: no spare for it any more
                key = json.dumps(request["forget"])
                served.discard(key)
                _discard(spares.pop(key, None))
                continue
            key = json.dumps(request["arguments"])
            pid, channel = spares.pop(key) if key in spares else _prepare(inherited, None)
            with contextlib.suppress(OSError):  # it died since the last reap: its exit report tells the pool
                socket.send_fds(channel, [message], fds)
            channel.close()
            os.close(fds[0])
            requests.send(f"pid {pid}".encode())
            served.add(key)


_SPARE_DELAY_S = 0.05


def _prepare(inherited: tuple[int, int, int], arguments: list[str] | None) -> tuple[int, socket.socket]:
    """Fork an environment ahead of its request: with the function's `arguments`, it enters that function's
    sandbox at once, so a cold start does not wait for it. It waits on a socket for its request (variables,
    arguments, output); returns (its pid, that socket)."""
    channel, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        signal.set_wakeup_fd(-1)  # before its pipe is closed here
        for fd in (*inherited, channel.detach()):
            os.close(fd)
        _child(theirs, arguments)
    theirs.close()
    return pid, channel


def _discard(spare: tuple[int, socket.socket] | None) -> None:
    """Stop a spare environment: its handle's death takes its init, and the init's its runtime."""
    if spare is not None:
        spare[1].close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(spare[0], signal.SIGKILL)


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


def _shadowed(arguments: list[str]) -> bool:
    """Whether the zip or a layer holds a module the server preloaded (Lambda's path puts their copy first)."""
    task_root, _, opt_dir = _host_paths(arguments)
    names: list[str] = []
    for folder in (task_root, *_layer_paths(opt_dir)):
        with contextlib.suppress(OSError):
            names += os.listdir(folder)
    return bool(_top_level_names(sys.modules) & _top_level_names(names))


def _child(channel: socket.socket, arguments: list[str] | None) -> NoReturn:
    """Become one execution environment once the server hands it over; never returns to the server loop.

    With `arguments` (the function it is a spare for) it enters that function's sandbox (root, PID namespace,
    /tmp) before the request: a cold start then only waits for the hand-over.
    """
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        rooted = None
        if arguments is not None and not _shadowed(arguments):
            rooted = _enter_root(_host_paths(arguments))
            _enter_environment(arguments[-2], rooted[1])
        entered = rooted is not None
        message, fds, _, _ = socket.recv_fds(channel, 1 << 20, 1)
        channel.close()
        if not message:
            os._exit(0)  # the server is gone
        os.dup2(fds[0], 1)
        os.dup2(fds[0], 2)
        os.close(fds[0])
        request = json.loads(message)
        environment, arguments = request["environment"], request["arguments"]
        if rooted is None:
            if _shadowed(arguments):
                command = [sys.executable, "-S", os.path.abspath(__file__), "run", *arguments]
                os.execve(sys.executable, command, environment)
            rooted = _enter_root(_host_paths(arguments))
        inside, reason = rooted
        tmp_mb, handler = arguments[-2:]
        if not entered:
            _enter_environment(tmp_mb, reason)
        _take_environment(environment, _host_paths(arguments), reason)
        _start_runtime(inside, handler, *_start_arguments(arguments))
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


def _host_paths(arguments: list[str]) -> Paths:
    """The host's task root, runtime dir and layers among `run`'s arguments."""
    return arguments[0], arguments[1], arguments[2]


def _start_arguments(arguments: list[str]) -> tuple[str, str]:
    """The image's working directory and start failure among `run`'s arguments."""
    return arguments[3], arguments[4]


def _exit_code(code: object) -> int:
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1


# A pidfd of the process that started this one (the pool's owner; for a fork server's environments, the server's
# owner), taken before anything else: see sandbox_child.enter_environment.
_OWNER: int | None = None


def main() -> None:
    global _OWNER
    if sandbox is not None:
        _OWNER = sandbox.lifeline.watch_parent()
    mode, *arguments = sys.argv[1:]
    if mode == "serve":
        _serve(*arguments)
    else:
        _run(*arguments)


if __name__ == "__main__":
    main()
