"""Execution environments started with a debugger waiting: what `--debug` asks for, and what changes then.

An environment started with a `Debugger` runs debugpy (the Debug Adapter Protocol server VS Code speaks) on
127.0.0.1 before the runtime loads the function, installed for the function's own interpreter (provision.py)
and shown in the sandbox only then. As `sam local invoke --debug-port` does, the function's timeout becomes
10 hours (so a paused function is not killed, and `context.get_remaining_time_in_millis()` does not run out);
the memory limit is not enforced either, as the debugger's own processes count in the environment's memory.
A debugged function gets one environment, started afresh (no fork server), so one port serves it.
"""

import socket
from dataclasses import dataclass

from lambdafleet.errors import UserError

DEBUG_TIMEOUT_S = 36000.0  # SAM CLI's MAX_DEBUG_TIMEOUT, 10 hours
DEFAULT_PORT = 5678  # debugpy's, and VS Code's attach configurations'
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Debugger:
    """Listen for a debugger on HOST:`port`; with `wait`, run nothing of the function before one attaches."""

    port: int
    wait: bool = True

    @property
    def address(self) -> str:
        """host:port, as a debugger's attach configuration names it."""
        return f"{HOST}:{self.port}"

    def bootstrap_arguments(self, debugger_dir: str) -> list[str]:
        """bootstrap.py's arguments after the function's: DEBUGGER_DIR PORT WAIT."""
        return [debugger_dir, str(self.port), "wait" if self.wait else "nowait"]


def interpreter_options(version: str) -> list[str]:
    """The interpreter's options under a debugger: frozen standard modules off from 3.11 (else debugpy warns
    in the function's logs that breakpoints in them may be missed)."""
    major, minor = (int(part) for part in version.split(".")[:2])
    return ["-X", "frozen_modules=off"] if (major, minor) >= (3, 11) else []


def check_port(port: int, option: str = "--debug-port") -> int:
    """`port` when it can be listened on by a user (1-65535); else a one-line UserError."""
    if not 1 <= port <= 65535:
        raise UserError(f"{option} {port}: not a port number (1-65535)")
    return port


def check_free(port: int, option: str = "--debug-port") -> None:
    """A one-line UserError when something already listens on HOST:`port` (found now, not when the environment
    starts and its debugpy would fail). SO_REUSEADDR as debugpy binds: a closed session's port is free."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            raise UserError(f"{option} {port}: cannot listen on {HOST}:{port} ({error.strerror})") from None


def numbered(names: list[str], first_port: int, *, wait: bool, option: str = "--debug-port") -> dict[str, Debugger]:
    """One debugger per function, on consecutive ports from `first_port` in the order given."""
    check_port(first_port, option)
    if first_port + len(names) - 1 > 65535:
        raise UserError(f"{option} {first_port}: {len(names)} functions need ports up to {first_port + len(names) - 1}")
    for port in range(first_port, first_port + len(names)):
        check_free(port, option)
    return {name: Debugger(first_port + index, wait) for index, name in enumerate(names)}
