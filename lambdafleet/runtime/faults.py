"""The error payloads Lambda itself produces when an environment dies or runs out of time."""

import json
import signal
from dataclasses import dataclass

# Go's names for signals, which Lambda's "Runtime exited with error: signal: ..." messages use.
_GO_SIGNAL_NAMES: dict[int, str] = {
    signal.SIGSEGV: "segmentation fault",
    signal.SIGKILL: "killed",
    signal.SIGABRT: "aborted",
    signal.SIGTERM: "terminated",
    signal.SIGBUS: "bus error",
    signal.SIGILL: "illegal instruction",
    signal.SIGFPE: "floating point exception",
}


@dataclass(frozen=True)
class Fault:
    """A platform-level failure of one invocation."""

    status: str  # Lambda's REPORT status: "error" or "timeout"
    error_type: str
    message: str
    body: bytes | None = None  # the runtime's own error document, when it sent one

    def payload(self) -> bytes:
        """The invocation's response body, as Lambda returns it."""
        if self.body is not None:
            return self.body
        return json.dumps({"errorType": self.error_type, "errorMessage": self.message}).encode()


# Init failures bootstrap.py reports in the platform's name (an image's entrypoint or working directory Lambda
# cannot use): Lambda words and logs them as its own errors, not as a runtime's error document.
PLATFORM_INIT_ERRORS = frozenset({"Runtime.InvalidEntrypoint", "Runtime.InvalidWorkingDir"})


def init_failed(body: bytes, request_id: str) -> Fault:
    """The runtime reported that it could not load the handler (import error, syntax error, ...), or bootstrap.py
    that Lambda could not start it (PLATFORM_INIT_ERRORS)."""
    try:
        document = json.loads(body)
        error_type, message = str(document["errorType"]), str(document["errorMessage"])
    except (ValueError, KeyError, TypeError):
        error_type, message = "Runtime.Unknown", body.decode(errors="replace")
    if error_type in PLATFORM_INIT_ERRORS:
        return Fault("error", error_type, f"RequestId: {request_id} Error: {message}")
    return Fault("error", error_type, message, body)


def timed_out(request_id: str, timeout_s: float) -> Fault:
    """The function ran past its timeout and its environment was stopped."""
    message = f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds"
    return Fault("timeout", "Sandbox.Timedout", message)


def exited(request_id: str, returncode: int) -> Fault:
    """The runtime process ended (os._exit, a crash, a signal) while an invocation was in flight."""
    return Fault("error", "Runtime.ExitError", _exit_message(request_id, returncode))


def out_of_memory(request_id: str) -> Fault:
    """The environment exceeded its memory size and was killed."""
    return Fault("error", "Runtime.OutOfMemory", _exit_message(request_id, -signal.SIGKILL))


def _exit_message(request_id: str, returncode: int) -> str:
    if returncode == 0:  # sys.exit(0) or a plain return from the runtime: Lambda's own wording
        return f"RequestId: {request_id} Error: Runtime exited without providing a reason"
    if returncode < 0:
        number = -returncode
        name = _GO_SIGNAL_NAMES.get(number) or (signal.strsignal(number) or f"signal {number}").lower()
        reason = f"signal: {name}"
    else:
        reason = f"exit status {returncode}"
    return f"RequestId: {request_id} Error: Runtime exited with error: {reason}"
