"""`--debug[=NAME,...]`, `--debug-port N` and `--no-debug-wait`, as `up` and `local` take them (docs/debugging.md)."""

import argparse

from lambdafleet.errors import UserError
from lambdafleet.runtime.debug import DEFAULT_PORT, Debugger, numbered

ALL = "*"


def add_arguments(parser: argparse.ArgumentParser, *, names: str, all_allowed: bool) -> None:
    """Add the debugging options; `names` says what NAME is (a folder, a FunctionName)."""
    group = parser.add_argument_group("debugging (docs/debugging.md)")
    every = "; alone: every function" if all_allowed else ""
    summary = (
        f"run these functions ({names}) under debugpy{every}: each waits for a debugger at its first "
        "invocation, on its own port from --debug-port, with its timeout lifted to 10 hours"
    )
    if all_allowed:
        group.add_argument("--debug", nargs="?", const=ALL, metavar="NAME,...", help=summary)
    else:
        group.add_argument("--debug", metavar="NAME,...", help=summary)
    group.add_argument(
        "--debug-port",
        type=int,
        metavar="N",
        help=f"the first debugged function's port on 127.0.0.1, the next ones count up (default {DEFAULT_PORT})",
    )
    group.add_argument("--no-debug-wait", action="store_true", help="with --debug: run at once, attach any time")


def requested(args: argparse.Namespace, known: list[str] | None) -> list[str]:
    """The functions named by --debug, in order (every one of `known` for a bare --debug); [] without it.

    `known`: the names that exist (None: not known yet, e.g. `local`, where functions come later)."""
    if args.debug is None:
        if args.debug_port is not None or args.no_debug_wait:
            raise UserError("--debug-port and --no-debug-wait need --debug")
        return []
    if args.debug == ALL:
        assert known is not None, "a bare --debug needs the list of functions"
        return known
    names = [name.strip() for name in args.debug.split(",") if name.strip()]
    if not names:
        raise UserError(f"--debug {args.debug!r}: expected NAME[,NAME...]")
    unknown = [name for name in names if known is not None and name not in known]
    if unknown:
        raise UserError(f"--debug {args.debug}: no function {', '.join(unknown)} (known: {', '.join(known or [])})")
    return list(dict.fromkeys(names))


def debuggers(args: argparse.Namespace, names: list[str]) -> dict[str, Debugger]:
    """A debugger per name, on consecutive ports from --debug-port."""
    first = DEFAULT_PORT if args.debug_port is None else args.debug_port
    return numbered(names, first, wait=not args.no_debug_wait)


def describe(name: str, debugger: Debugger, folder: str | None = None) -> str:
    """One line saying where a debugger attaches to `name` and when it runs (`folder`: its functions/ folder)."""
    from lambdafleet.runtime import sandbox

    when = "waits for a debugger at its first invocation" if debugger.wait else "runs at once; attach any time"
    remote = sandbox.TASK_ROOT if sandbox.unavailable() is None else "the remote root its logs print (no sandbox here)"
    mapping = f"functions/{folder or '<folder>'} -> {remote}"
    return f"debug         {name} on {debugger.address}: {when} (path mapping {mapping})"
