"""Command-line plumbing: parser, subcommand registration, and errors turned into exit codes."""

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from lambdafleet.build.syntax import unchecked_warnings
from lambdafleet.errors import BuildError, UserError, one_line

# Every subcommand lives in one module of this package; each adds its subcommands through register(subparsers).
# A new subcommand is a new module here, named in this tuple.
COMMAND_MODULES = (
    "lambdafleet.cli.build",
    "lambdafleet.cli.project",
    "lambdafleet.cli.push",
    "lambdafleet.cli.invoke",
    "lambdafleet.cli.local",
    "lambdafleet.cli.logs",
    "lambdafleet.cli.token",
    "lambdafleet.cli.trigger",
    "lambdafleet.cli.verify",
    "lambdafleet.cli.access",
    "lambdafleet.cli.up",
    "lambdafleet.cli.event",
)

# Commands run on every edit, whose parser is built alone: importing every other command's module would cost
# a repeated `build.py invoke` more than its warm invocation.
_ALONE = {"invoke": "lambdafleet.cli.invoke"}

EXIT_USER_ERROR = 2
EXIT_FAULT = 1


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit code 2, like every other user error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see --help)\n")


if TYPE_CHECKING:  # generic only in typeshed: subscripting it at run time raises TypeError
    _SubParsersAction = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    _SubParsersAction = argparse._SubParsersAction


class Commands(_SubParsersAction):
    """Subcommands whose `--help` opens with their one-line summary unless they give a longer description.

    Each module in COMMAND_MODULES gets one in its `register(subparsers: Commands)`.
    """

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        """Add subcommand `name`; `help` doubles as its description."""
        if "help" in kwargs:
            kwargs.setdefault("description", kwargs["help"])
        return super().add_parser(name, **kwargs)


def _parser(command_modules: Sequence[str] = COMMAND_MODULES) -> tuple[Parser, set[str]]:
    parser = Parser(
        prog="build.py",
        description="Build, lock, check and run the Lambda functions under functions/ (see README.md).",
        epilog="Run 'python build.py <command> --help' for a command's options. "
        "'python build.py NAME [NAME ...]' builds the named functions.",
    )
    subparsers = parser.add_subparsers(action=Commands, dest="command", metavar="<command>", parser_class=Parser)
    for module_name in command_modules:
        importlib.import_module(module_name).register(subparsers)
    return parser, set(subparsers.choices)


def main(argv: Sequence[str], root: Path, command_modules: Sequence[str] = COMMAND_MODULES) -> int:
    """Run build.py with `argv`; returns the process exit code."""
    if command_modules is COMMAND_MODULES and argv and argv[0] in _ALONE:
        command_modules = (_ALONE[argv[0]],)
    parser, commands = _parser(command_modules)
    argv = list(argv)
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    if first is not None and first not in commands:
        argv.insert(0, "build")  # `build.py math echo` builds those functions
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USER_ERROR
    args.root = root
    unchecked_warnings()  # one command's warnings: drop any an earlier in-process call left unreported
    try:
        code: int = args.run(args)
        sys.stdout.flush()  # a closed pipe (`| head`) shows here, not as a traceback at interpreter exit
        return code
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit-time flush stays quiet
        return EXIT_FAULT
    except UserError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BuildError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_FAULT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        print_internal_error(exc)
        return EXIT_FAULT


def print_internal_error(error: BaseException) -> None:
    """A bug, not a user mistake: its traceback on stderr and a request to report it (the caller exits 1)."""
    traceback.print_exception(error, file=sys.stderr)
    print("internal error: please report it with the traceback above", file=sys.stderr)
