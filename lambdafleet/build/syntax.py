"""Check a module's syntax with the grammar of the function's runtime, using that runtime's own interpreter.

The build machine's parser is the wrong judge for another version: python3.12 syntax is valid for a
python3.12 function built on python3.11, and python3.11 syntax is an error for a python3.10 function. The
runtime's interpreter (on PATH or in pyenv) compiles the source; a passing verdict is stamped by digest so an
unchanged module is not checked again. Without that interpreter the build says the syntax was not checked.
"""

import hashlib
import os
import subprocess
from pathlib import Path

from lambdafleet.build import atomic
from lambdafleet.errors import UserError

_COMPILE = (
    "import sys\n"
    "source = sys.stdin.buffer.read()\n"
    "try:\n"
    "    compile(source, sys.argv[1], 'exec', dont_inherit=True)\n"
    "except SyntaxError as exc:\n"
    "    print(exc.lineno or 0); print(exc.msg); sys.exit(3)\n"
    "except ValueError as exc:\n"
    "    print(0); print(exc); sys.exit(3)\n"
)
# runtime -> the first module whose syntax could not be checked for it; the build command reports them.
_unchecked: dict[str, str] = {}


def unchecked_warnings() -> list[str]:
    """One warning line per runtime whose grammar could not be checked since the last call."""
    lines = [
        f"warning: {label}: syntax not checked for {runtime} (no {runtime} found on PATH or in pyenv)"
        for runtime, label in sorted(_unchecked.items())
    ]
    _unchecked.clear()
    return lines


def _interpreter(runtime: str, stamps: Path | None) -> Path | None:
    """The runtime's interpreter; where it was found is remembered in `stamps` (finding it costs ~0.4 s)."""
    remembered = stamps / f"interpreter-{runtime}" if stamps is not None else None
    if remembered is not None:
        try:
            path = Path(remembered.read_text(encoding="utf-8").strip())
            if path.name == runtime and os.access(path, os.X_OK):
                return path
        except (OSError, UnicodeDecodeError):
            pass
    found = _find_interpreter(runtime)
    if found is not None and remembered is not None:
        atomic.write_text(remembered, f"{found}\n")
    return found


def _find_interpreter(runtime: str) -> Path | None:
    import platform

    from lambdafleet.runtime.interpreter import find_interpreter, lambda_architecture

    try:  # any architecture parses the same grammar: look for this machine's
        return find_interpreter(runtime, lambda_architecture(platform.machine()), source=runtime).path
    except UserError:
        return None


def _stamp_text(stamp: Path) -> str:
    return f"ok {stamp.name}\n"


def check_syntax(source: bytes, label: str, runtime: str, stamps: Path | None) -> None:
    """Raise UserError when `source` is not valid `runtime` syntax; warn (once per runtime) when it cannot tell."""
    stamp = None
    if stamps is not None:
        stamp = stamps / hashlib.sha256(f"syntax\0{runtime}\0".encode() + source).hexdigest()
        try:
            if stamp.read_text(encoding="utf-8", errors="replace") == _stamp_text(stamp):
                return
        except OSError:
            pass
    interpreter = _interpreter(runtime, stamps)
    if interpreter is None:
        _unchecked.setdefault(runtime, label)
        return
    command = [str(interpreter), "-I", "-S", "-c", _COMPILE, label]
    result = subprocess.run(command, input=source, capture_output=True, timeout=60, check=False)
    if result.returncode == 3:
        lineno, _, message = result.stdout.decode("utf-8", "replace").partition("\n")
        where = f" on line {lineno.strip()}" if lineno.strip() not in ("", "0") else ""
        raise UserError(f"{label}: syntax error{where}: {message.strip()} (checked with {runtime})")
    if result.returncode != 0:
        return  # the interpreter itself failed: not a verdict on the source
    if stamp is not None:
        atomic.write_text(stamp, _stamp_text(stamp))
