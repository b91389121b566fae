"""Embedded AWS emulator: a moto server on 127.0.0.1, plus the operations this project's Terraform calls that
moto does not implement.

Run it with ``python -m lambdafleet.emulator --port 4566`` or start it in-process with :func:`start`.
"""

import argparse
import json
import os
import signal
import socket
import sys
from collections.abc import Iterator
import threading
from dataclasses import dataclass

HOST = "127.0.0.1"
DEFAULT_PORT = 4566  # LocalStack's port, so tools configured for LocalStack work unchanged

# AWS-managed policies are off in moto by default; set before moto builds its IAM backend.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

from moto.core.responses import ActionResult  # noqa: E402
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.stepfunctions.parser.asl.parse.asl_parser import ASLParserException  # noqa: E402
from moto.stepfunctions.parser.asl.static_analyser.express_static_analyser import (  # noqa: E402
    ExpressStaticAnalyser,
)
from moto.stepfunctions.parser.asl.static_analyser.static_analyser import StaticAnalyser  # noqa: E402
from moto.stepfunctions.responses import StepFunctionResponse  # noqa: E402
from werkzeug.serving import BaseWSGIServer, make_server  # noqa: E402


def check_state_machine_definition(definition: str, machine_type: str = "STANDARD") -> list[dict]:
    """Return Step Functions diagnostics for an Amazon States Language definition; empty when it is valid.

    Uses moto's own ASL grammar and static analysers, the same ones CreateStateMachine runs in moto's
    execution mode, so a definition accepted here is one moto can also run.
    """
    analyser = ExpressStaticAnalyser() if machine_type == "EXPRESS" else StaticAnalyser()
    try:
        document = json.loads(definition)
        analyser.analyse(definition)
    except json.JSONDecodeError as error:
        return [_diagnostic("INVALID_JSON_DESCRIPTION", f"definition is not JSON: {error}")]
    except ASLParserException as error:
        return [_diagnostic("SCHEMA_VALIDATION_FAILED", message) for message in error.errors or [repr(error)]]
    except Exception as error:  # the analysers raise plain exceptions for semantic faults
        return [_diagnostic("SCHEMA_VALIDATION_FAILED", f"{type(error).__name__}: {error}")]
    return [_diagnostic("MISSING_TRANSITION_TARGET", message) for message in _missing_targets(document)]


def _missing_targets(machine: dict) -> Iterator[str]:
    """Transitions naming a state that does not exist; moto's grammar accepts them but AWS does not."""
    states = machine.get("States", {})
    targets = [("StartAt", machine.get("StartAt"))]
    for name, state in states.items():
        targets += [(f"{name}.Next", state.get("Next")), (f"{name}.Default", state.get("Default"))]
        targets += [(f"{name}.Choices.Next", choice.get("Next")) for choice in state.get("Choices", [])]
        targets += [(f"{name}.Catch.Next", catcher.get("Next")) for catcher in state.get("Catch", [])]
        for branch in [*state.get("Branches", []), state.get("ItemProcessor") or state.get("Iterator")]:
            if branch:
                yield from _missing_targets(branch)
    for field, target in targets:
        if target is not None and target not in states:
            yield f"{field} names state {target!r}, which is not defined"


def _diagnostic(code: str, message: str) -> dict:
    return {"severity": "ERROR", "code": code, "message": message}


def _validate_state_machine_definition(self: StepFunctionResponse) -> ActionResult:
    diagnostics = check_state_machine_definition(
        self._get_param("definition") or "", self._get_param("type") or "STANDARD"
    )
    return ActionResult(
        {"result": "FAIL" if diagnostics else "OK", "diagnostics": diagnostics, "truncated": False}
    )


def register_gaps() -> None:
    """Teach moto the operations it lacks that the AWS provider calls while applying ``infra/``.

    moto dispatches a JSON-protocol action to the response method of the same snake_case name.
    """
    StepFunctionResponse.validate_state_machine_definition = _validate_state_machine_definition


@dataclass
class Emulator:
    """A running emulator; ``url`` is its endpoint."""

    server: BaseWSGIServer
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        """Shut the server down and wait for its thread."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def start(port: int = DEFAULT_PORT) -> Emulator:
    """Start the emulator on 127.0.0.1 in a background thread (port 0 picks a free port).

    Raises OSError when the port cannot be bound.
    """
    register_gaps()
    app = DomainDispatcherApplication(create_backend_app)
    # Bound here so a busy port raises OSError (werkzeug would print and exit the process instead).
    with socket.create_server((HOST, port)) as listener:
        server = make_server(
            HOST, port, app, threaded=True, request_handler=MotoRequestHandler, fd=listener.fileno()
        )
    thread = threading.Thread(target=server.serve_forever, name="emulator", daemon=True)
    thread.start()
    return Emulator(server=server, thread=thread, url=f"http://{HOST}:{server.port}")


def main(argv: list[str] | None = None) -> int:
    """Command line: serve until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m lambdafleet.emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on {HOST} (default {DEFAULT_PORT})")
    args = parser.parse_args(argv)
    try:
        emulator = start(args.port)
    except OSError as error:
        print(f"error: cannot listen on {HOST}:{args.port}: {error.strerror}", file=sys.stderr)
        return 2
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    print(f"emulator listening on {emulator.url}", flush=True)
    stopped.wait()
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
