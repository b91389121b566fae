"""`build.py invoke NAME`: run a function's built zip once, the way Lambda would, and print the outcome."""

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from lambdafleet.cli import Commands
from lambdafleet.errors import UserError
from lambdafleet.runtime.debug import DEFAULT_PORT, Debugger, check_free, check_port
from lambdafleet.runtime.lambda_env import PLACEHOLDER_CREDENTIALS

EXIT_FUNCTION_ERROR = 1
_CREDENTIAL_NAMES = tuple(PLACEHOLDER_CREDENTIALS)


def event_payload(args: argparse.Namespace, stdin: str | None = None) -> bytes:
    """The event `args` name, as bytes; `stdin` is what `--event -` reads when given (the warm server has no
    terminal of its own: the client sends it). UserError for a file that cannot be read or is not JSON."""
    text: str
    if args.payload is not None:
        text, source = args.payload, "--payload"
    elif args.event == "-":
        text, source = sys.stdin.read() if stdin is None else stdin, "--event - (stdin)"
    elif args.event is not None:
        try:
            text, source = Path(args.event).read_text(encoding="utf-8"), args.event
        except OSError as error:
            raise UserError(f"{args.event}: cannot read the event ({error.strerror})") from None
        except UnicodeDecodeError:
            raise UserError(f"{args.event}: the event is not UTF-8 text") from None
    else:
        return b"{}"
    try:
        json.loads(text)
    except ValueError as error:
        raise UserError(f"{source}: the event is not valid JSON ({error})") from None
    return text.encode()


def extra_variables(args: argparse.Namespace) -> dict[str, str]:
    """--env and --endpoint-url as variables; UserError for a malformed --env."""
    extra = {}
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"--env {item!r}: expected KEY=VALUE")
        extra[key] = value
    if args.endpoint_url:
        extra["AWS_ENDPOINT_URL"] = args.endpoint_url
    return extra


def credentials() -> dict[str, str] | None:
    """The developer's own keys when set (Lambda would pass its role's), else None: placeholders.

    The warm server calls it too: it runs with the environment of the `build.py invoke` that started it.
    """
    present = {name: os.environ[name] for name in _CREDENTIAL_NAMES if os.environ.get(name)}
    return present if "AWS_ACCESS_KEY_ID" in present else None


def _debugger(args: argparse.Namespace) -> Debugger | None:
    if not args.debug:
        if args.debug_port is not None or args.no_debug_wait:
            raise UserError("--debug-port and --no-debug-wait need --debug")
        return None
    port = check_port(DEFAULT_PORT if args.debug_port is None else args.debug_port)
    check_free(port)
    return Debugger(port, not args.no_debug_wait)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run(args: argparse.Namespace) -> int:
    payload = event_payload(args)
    debugger = _debugger(args)
    extra_env = extra_variables(args)
    warm = not args.cold and debugger is None
    if warm:
        answer = _warm(args, payload, extra_env)
        if answer is not None:
            return answer
    # Here the warm server could not answer (or must not: --cold, --debug): build and run in this process.
    from lambdafleet.runtime.from_repo import built_function

    function = built_function(args.root, args.name)  # a user error in the function shows here
    if warm:
        answer = _warm(args, payload, extra_env)  # a server that failed on its own side runs it afresh
        if answer is not None:
            return answer
    from lambdafleet.runtime.pool import FunctionPool

    options = {"extra_env": extra_env, "credentials": credentials(), "region": args.region, "debugger": debugger}
    # One invocation needs one environment: a fork server would only add its own start-up.
    arguments = {**function.pool_arguments(), **options}
    with FunctionPool(function.spec, function.zip_path, fork_server=False, **arguments) as pool:
        if debugger is not None:
            # Waiting for a debugger may last: a `kill` must end the environment too, as Ctrl-C does; and Ctrl-C (an
            # IDE's stop) must work even in a process started with SIGINT ignored (from a shell's `cmd &`), in
            # which Python sets no handler of its own.
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, _interrupt)
            waits = "waits for a debugger to attach" if debugger.wait else "runs at once"
            sys.stderr.write(
                f"debug: {args.name} listens on {debugger.address} and {waits} (attach with path mapping "
                f"functions/{args.name} -> {pool.remote_task_root()}; see docs/debugging.md); Ctrl-C gives up\n"
            )
            sys.stderr.flush()
        result = pool.invoke(payload=payload)
    return _print(result.logs, result.payload, result.function_error)


def _warm(args: argparse.Namespace, payload: bytes, extra_env: dict[str, str]) -> int | None:
    """The invocation run by the warm server (lambdafleet/runtime/warm.py), which also rebuilds the function when
    stale; None when it cannot answer."""
    from lambdafleet.runtime import warm

    answer = warm.invoke(str(args.root.resolve()), args.name, payload, region=args.region, extra_env=extra_env)
    if answer is None:
        return None
    sys.stdout.write(answer.stdout)  # what the build printed there (warnings), as it would have here
    sys.stderr.write(answer.stderr)
    return _print(answer.logs, answer.payload, answer.function_error)


def _print(logs: str, payload: bytes, function_error: bool) -> int:
    sys.stderr.write(logs)  # one record per event, its own lines separated by \n as on Lambda
    sys.stdout.write(payload.decode("utf-8", errors="replace") + "\n")
    return EXIT_FUNCTION_ERROR if function_error else 0


def register(subparsers: Commands) -> None:
    """Add the invoke command."""
    parser = subparsers.add_parser(
        "invoke",
        help="run a function's zip locally as Lambda does (rebuilding it if stale)",
        description="Run a function's zip locally as Lambda does (rebuilding it if stale). "
        "Response on stdout, logs on stderr; exit 0 when the function returned, 1 when it failed.",
    )
    parser.add_argument("name", metavar="NAME", help="the function (folder under functions/)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--payload", metavar="JSON", help="the event as a JSON string (default: {})")
    source.add_argument("--event", metavar="FILE", help="read the event from FILE, or from stdin with -")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra variable (repeatable)")
    parser.add_argument("--endpoint-url", metavar="URL", help="AWS_ENDPOINT_URL for the function (a local emulator)")
    parser.add_argument("--region", default="us-east-1", help="AWS_REGION of the function (default: us-east-1)")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="start a new execution environment (default: reuse the warm one an earlier invoke of the same, "
        "unchanged function left running for 2 minutes, as Lambda reuses environments; --debug is always cold)",
    )
    debug = parser.add_argument_group("debugging (docs/debugging.md)")
    debug.add_argument(
        "--debug",
        action="store_true",
        help="start the function under debugpy and wait for a debugger (VS Code, PyCharm) to attach; "
        "its timeout is lifted to 10 hours",
    )
    debug.add_argument(
        "--debug-port", type=int, metavar="N", help=f"the debugger's port on 127.0.0.1 (default {DEFAULT_PORT})"
    )
    debug.add_argument("--no-debug-wait", action="store_true", help="with --debug: run at once, attach any time")
    parser.set_defaults(run=_run)
