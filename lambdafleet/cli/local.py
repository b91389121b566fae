"""`build.py local`: the embedded AWS endpoint in the foreground, until Ctrl-C."""

import argparse
import logging
import signal
import sys
import threading
from typing import Any

from lambdafleet.build.paths import cache_root
from lambdafleet.cli import Commands, debug_options
from lambdafleet.errors import UserError

# lambdafleet.endpoint.emulator's defaults, repeated so that other commands do not pay for importing moto (~0.5 s).
HOST = "127.0.0.1"
DEFAULT_PORT = 4566


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per API call drowns the invocations
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port {args.port}: not a port number (0-65535)")
    debuggers = debug_options.debuggers(args, debug_options.requested(args, None))
    from lambdafleet.endpoint.app import start  # imports moto

    try:
        endpoint = start(
            cache_root(args.root), port=args.port, host=args.host, retry_delay_s=args.retry_delay, debuggers=debuggers
        )
    except OSError as error:
        raise UserError(f"--port {args.port}: cannot listen on {args.host}:{args.port} ({error.strerror})") from None
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    if args.host != HOST:
        print(f"warning: listening on {args.host}, not loopback only: anyone who can reach it can run code", flush=True)
    print(f"local AWS endpoint on {endpoint.url} (Ctrl-C stops it): export AWS_ENDPOINT_URL={endpoint.url}", flush=True)
    for name, debugger in debuggers.items():
        print(debug_options.describe(name, debugger), flush=True)
    stopped.wait()
    _drain(endpoint, args.drain_timeout, stopped)
    endpoint.stop()
    return 0


def _drain(endpoint: Any, timeout_s: float, stopped: threading.Event) -> None:
    """Run what is queued before stopping, `timeout_s` at most; a second Ctrl-C stops at once. Says what is lost."""
    pending = endpoint.invoker.pending
    if not pending:
        return
    stopped.clear()
    print(
        f"stopping: waiting up to {timeout_s:g} s for {pending} queued asynchronous invocation(s) "
        "(Ctrl-C again to drop them)",
        flush=True,
    )
    remaining = endpoint.drain(timeout_s, interrupted=stopped)
    if remaining:
        print(f"stopped with {remaining} asynchronous invocation(s) not run or not finished: dropped", flush=True)


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative")
    return value


def register(subparsers: Commands) -> None:
    """Add the local command."""
    summary = "serve every AWS API (moto) and run deployed functions, HTTP APIs and S3 triggers on one port"
    parser = subparsers.add_parser(
        "local",
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}. Point Terraform, boto3 or the AWS CLI at it "
        "(AWS_ENDPOINT_URL); Ctrl-C stops it. State lives as long as the process.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 4566, LocalStack's)")
    parser.add_argument("--host", default=HOST, help="address to bind (default 127.0.0.1, loopback only)")
    parser.add_argument(
        "--retry-delay",
        type=_non_negative,
        default=1.0,
        metavar="SECONDS",
        help="wait before retrying a failed asynchronous invocation, doubled for the second retry (default 1)",
    )
    parser.add_argument(
        "--drain-timeout",
        type=_non_negative,
        default=10.0,
        metavar="SECONDS",
        help="on Ctrl-C, wait this long for queued asynchronous invocations to run (default 10)",
    )
    debug_options.add_arguments(parser, names="FunctionName as deployed, e.g. lambdafleet-echo", all_allowed=False)
    parser.set_defaults(run=_run)
