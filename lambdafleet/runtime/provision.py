"""The local equivalent of Lambda's /var/runtime: awslambdaric and boto3 for one interpreter; and debugpy, for the
environments started with a debugger.

awslambdaric and debugpy have a compiled part per Python version, so each interpreter gets its own directory of each,
installed (with uv when present, else the interpreter's own pip) once from the hashed lock beside this file
(`runtime-requirements.txt`, `debug-requirements.txt`; each compiled with `uv pip compile --universal
--python-version 3.10 --generate-hashes X-requirements.in -o X-requirements.txt`) and reused until that lock changes.
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from lambdafleet.build.paths import RUNTIMES_CACHE
from lambdafleet.errors import BuildError
from lambdafleet.runtime.interpreter import Interpreter

LOCK_FILE = Path(__file__).with_name("runtime-requirements.txt")
DEBUG_LOCK_FILE = Path(__file__).with_name("debug-requirements.txt")
_COMPLETE = ".lambdafleet-complete"


def runtime_dir(interpreter: Interpreter, cache_dir: Path) -> Path:
    """The runtime directory for `interpreter` under `cache_dir`, installing it on first use."""
    return _provisioned(interpreter, cache_dir / RUNTIMES_CACHE, LOCK_FILE, "the Lambda runtime", link=True)


def debugger_dir(interpreter: Interpreter, cache_dir: Path) -> Path:
    """A directory holding debugpy for `interpreter` under `cache_dir`, installing it on first use.

    Not the developer's venv: its debugpy is built for the venv's Python, and a function runs under its own.
    """
    parent = cache_dir / RUNTIMES_CACHE / "debugpy"
    return _provisioned(interpreter, parent, DEBUG_LOCK_FILE, "debugpy", link=False)


def _provisioned(interpreter: Interpreter, parent: Path, lock: Path, what: str, *, link: bool) -> Path:
    """`lock` installed for `interpreter` in a directory under `parent` named after both; `link`: with the
    interpreter's links (interpreter_bin) made while it is still writable.

    Safe against concurrent callers: each installs into a temporary directory and renames it into
    place; the loser of the race discards its copy.
    """
    lock_digest = hashlib.sha256(lock.read_bytes()).hexdigest()[:16]
    target = parent / f"{interpreter.tag}-{lock_digest}"
    if (target / _COMPLETE).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        _install(interpreter, staging, lock, what)
        if link:
            _link_interpreter(interpreter, staging / _bin_name(interpreter))
        (staging / _COMPLETE).write_text(f"{interpreter.path}\n", encoding="utf-8")
        os.rename(staging, target)
    except OSError:
        if not (target / _COMPLETE).exists():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def interpreter_bin(interpreter: Interpreter, runtime: Path) -> Path | None:
    """A directory of `python`, `python3` and `python3.X` links to `interpreter`, inside its `runtime` directory
    (so it is wherever the sandbox shows the runtime): Lambda's /var/lang/bin, which comes first on a function's
    PATH, so a subprocess's `python3` is the runtime's interpreter, not the host's.

    Made with the runtime directory; for another interpreter of the same version sharing it, on first use. None
    when that directory is not ours to write (provisioned by another user): PATH then lacks it.
    """
    target = runtime / _bin_name(interpreter)
    if not target.is_dir():
        try:
            _link_interpreter(interpreter, target)
        except PermissionError:
            return None
    return target


def _bin_name(interpreter: Interpreter) -> str:
    # One per interpreter path: two interpreters of one version share the runtime directory.
    return f"bin-{hashlib.sha256(str(interpreter.path).encode()).hexdigest()[:16]}"


def _link_interpreter(interpreter: Interpreter, target: Path) -> None:
    """Create `target` with the interpreter's links, atomically (concurrent callers: the first rename wins)."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for name in ("python", "python3", f"python{interpreter.version}"):
            (staging / name).symlink_to(interpreter.path)
        os.rename(staging, target)
    except OSError:
        if not target.is_dir():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _install(interpreter: Interpreter, into: Path, lock: Path, what: str) -> None:
    options = ["--target", str(into), "--require-hashes", "--only-binary", ":all:", "-r", str(lock)]
    uv = _uv()
    if uv:
        command = [uv, "pip", "install", "--quiet", "--python", str(interpreter.path), "--compile-bytecode", *options]
    else:  # the interpreter's own pip installs for its own version and platform
        command = [str(interpreter.path), "-m", "pip", "install", "--quiet", "--no-user", *options]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise BuildError(f"installing {what} for python{interpreter.version} failed: {detail}")


def _uv() -> str | None:
    try:
        from uv import find_uv_bin
    except ImportError:
        return shutil.which("uv")
    return find_uv_bin()
