"""A function's lock file (`requirements.txt`): parsing, validation, and regeneration with uv.

The lock must pin every package with `==` and carry `--hash` values so installs run with
`--require-hashes`. Its first line records the target it was resolved for, so a runtime or
architecture change in `function.toml` shows up as a stale lock instead of a wrong-platform zip.
"""

import hashlib
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lambdafleet.build import atomic
from lambdafleet.build.platforms import Target
from lambdafleet.errors import BuildError, UserError

LOCK_FILE = "requirements.txt"
INPUT_FILE = "requirements.in"
HEADER = "# lambdafleet-lock: "
_ALLOWED_OPTIONS = ("--index-url", "--extra-index-url", "--find-links", "-i ", "-f ")
# uv's words for a network fault (exit 1, not a user error).
UNREACHABLE = ("error sending request", "tcp connect error", "dns error", "Failed to fetch", "operation timed out")
_HASH = re.compile(r"\s--hash[= ](sha256:[0-9a-f]{64})")

if TYPE_CHECKING:
    from packaging.requirements import Requirement


@dataclass(frozen=True)
class Pin:
    """One locked package."""

    name: str
    version: str
    hashes: tuple[str, ...]


@dataclass(frozen=True)
class ParsedLock:
    """The contents of a lock file."""

    target: str | None
    pins: dict[str, Pin]


@dataclass(frozen=True)
class Lock:
    """A function's validated lock file; `label` names it in messages."""

    path: Path
    label: str


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join backslash continuations and drop comments, keeping each line's first line number."""
    lines: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        pending += line
        if pending.strip():
            lines.append((start, pending.strip()))
        pending = ""
    return lines


def _unparsable(label: str, spec: str, exc: Exception) -> UserError:
    # packaging appends the line and a caret under the fault; an error is one line.
    reason = str(exc).splitlines()[0]
    return UserError(f"{label}: cannot parse requirement {spec!r}: {reason}")


def _parse_pin(line: str, label: str) -> Pin:
    from packaging.requirements import InvalidRequirement, Requirement  # ~30 ms: only when a lock changed
    from packaging.utils import canonicalize_name

    hashes = tuple(_HASH.findall(" " + line))
    spec = _HASH.sub("", " " + line).strip()
    try:
        requirement = Requirement(spec)
    except InvalidRequirement as exc:
        raise _unparsable(label, spec, exc) from None
    pins = [s for s in requirement.specifier if s.operator in ("==", "===") and "*" not in s.version]
    if requirement.url or len(pins) != 1 or len(requirement.specifier) != 1:
        raise UserError(f"{label}: requirement {spec!r} is not pinned with '=='; run: python build.py lock")
    if not hashes:
        raise UserError(f"{label}: requirement {spec!r} has no --hash; run: python build.py lock")
    if requirement.marker is not None:
        # pip would evaluate it against the build machine's Python, not Lambda's.
        raise UserError(
            f"{label}: requirement {spec!r} has an environment marker; a lock is resolved for one "
            "target, so markers do not belong in it; run: python build.py lock"
        )
    return Pin(canonicalize_name(requirement.name), pins[0].version, hashes)


def _read_text(path: Path, label: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{label}: not UTF-8 text") from None


def read_lock(path: Path, label: str) -> ParsedLock:
    """Parse and validate a lock file; `label` names it in error messages."""
    text = _read_text(path, label)
    first = text.splitlines()[0] if text else ""
    target = first.removeprefix(HEADER).strip() if first.startswith(HEADER) else None
    pins: dict[str, Pin] = {}
    for number, line in _logical_lines(text):
        where = f"{label}:{number}"
        if line.startswith("-"):
            if not line.startswith(_ALLOWED_OPTIONS):
                raise UserError(f"{where}: option {line.split()[0]!r} is not allowed in a lock file")
            continue
        pin = _parse_pin(line, where)
        if pin.name in pins:
            raise UserError(f"{where}: {pin.name} is pinned twice")
        pins[pin.name] = pin
    return ParsedLock(target=target, pins=pins)


def direct_requirements(path: Path, label: str) -> list["Requirement"]:
    """The requirements listed in a `requirements.in` file."""
    from packaging.requirements import InvalidRequirement, Requirement

    result = []
    for number, line in _logical_lines(_read_text(path, label)):
        if line.startswith("-"):
            continue
        try:
            result.append(Requirement(line))
        except InvalidRequirement as exc:
            raise _unparsable(f"{label}:{number}", line, exc) from None
    return result


def _validate(lock_path: Path, in_path: Path, target: Target, folder_label: str) -> bool:
    """Raise UserError unless the lock is well-formed, for `target`, and covers requirements.in.

    Returns whether the lock pins anything.
    """
    from packaging.utils import canonicalize_name

    lock_label, fix = f"{folder_label}{LOCK_FILE}", f"run: python build.py lock {lock_path.parent.name}"
    lock = read_lock(lock_path, lock_label)
    if lock.target is not None and lock.target != str(target):
        raise UserError(f"{lock_label}: locked for {lock.target} but function.toml targets {target}; {fix}")
    wanted = direct_requirements(in_path, f"{folder_label}{INPUT_FILE}") if in_path.is_file() else []
    for requirement in wanted:
        if requirement.marker and not requirement.marker.evaluate(target.marker_environment()):
            continue  # not needed on Lambda's platform, so rightly absent from the lock
        pin = lock.pins.get(canonicalize_name(requirement.name))
        if pin is None or not requirement.specifier.contains(pin.version, prereleases=True):
            raise UserError(f"{lock_label}: out of date with {INPUT_FILE} ({requirement} is not locked); {fix}")
    return bool(lock.pins)


def _must_be_files(folder_label: str, *paths: Path) -> None:
    """A requirements file that exists as something else (a folder) is a mistake, not 'no dependencies'."""
    for path in paths:
        if path.exists() and not path.is_file():
            raise UserError(f"{folder_label}{path.name}: not a file (remove it or make it a file)")


def check_lock(function_dir: Path, target: Target, folder_label: str, stamps: Path) -> Lock | None:
    """Validate the function's lock against its requirements.in and target; None when it has no deps.

    A successful check leaves a stamp in `stamps` named after the digest of everything it read, so
    an unchanged lock is not parsed again (that keeps a no-op build well under 0.15 s).
    """
    lock_path, in_path = function_dir / LOCK_FILE, function_dir / INPUT_FILE
    _must_be_files(folder_label, lock_path, in_path)
    if not lock_path.is_file():
        if in_path.is_file() and direct_requirements(in_path, f"{folder_label}{INPUT_FILE}"):
            raise UserError(f"{folder_label}{LOCK_FILE}: missing; run: python build.py lock {function_dir.name}")
        return None
    # "sealed": stamps written before they repeated their name are not recognised, rather than called damaged.
    digest = hashlib.sha256(f"sealed\0{target}\0".encode() + lock_path.read_bytes())
    digest.update(in_path.read_bytes() if in_path.is_file() else b"\0no-input")
    stamp = stamps / digest.hexdigest()
    has_pins = _read_stamp(stamp)
    if has_pins is None:
        has_pins = _validate(lock_path, in_path, target, folder_label)
        atomic.write_text(stamp, _stamp_text(stamp, has_pins))
    return Lock(lock_path, f"{folder_label}{LOCK_FILE}") if has_pins else None


def _stamp_text(stamp: Path, has_pins: bool) -> str:
    # The stamp repeats its own name (the digest of what was checked): a damaged stamp matches neither text.
    return f"{'pins' if has_pins else 'empty'} {stamp.name}\n"


def _read_stamp(stamp: Path) -> bool | None:
    """Whether the checked lock pins anything; None when there is no stamp or a damaged one (then removed)."""
    try:
        text = stamp.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    for has_pins in (True, False):
        if text == _stamp_text(stamp, has_pins):
            return has_pins
    from lambdafleet.build.integrity import discard

    discard(stamp, "checked-lock stamp", "it is not one the build wrote")
    return None


def write_lock(function_dir: Path, target: Target, folder_label: str) -> bool:
    """Resolve requirements.in for the Lambda target with uv and atomically rewrite requirements.txt.

    Returns False when the function has no requirements.in (nothing to lock).
    """
    in_path = function_dir / INPUT_FILE
    _must_be_files(folder_label, in_path)
    if not in_path.is_file():
        return False
    direct_requirements(in_path, f"{folder_label}{INPUT_FILE}")
    # Wheels for the target first, as pip --platform and sam build insist: otherwise uv settles on the newest
    # version even when only its sdist fits (numpy 2.4 has no wheel for python3.11's glibc 2.26, numpy 2.2 has).
    # Without wheels only, a pure-Python sdist can still resolve; the build rejects a compiled one by name.
    wheels_only = True
    result = _compile(function_dir, target, wheels_only)
    if result.returncode != 0:
        wheels_only = False
        result = _compile(function_dir, target, wheels_only)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        reason = " ".join(line.strip() for line in lines[-3:]) or "uv failed"
        if "No module named uv" in result.stderr:
            raise BuildError("uv is not installed; pip install -r requirements-dev.txt")
        if any(marker in result.stderr for marker in UNREACHABLE):
            raise BuildError(f"{folder_label}{INPUT_FILE}: cannot reach the package index ({reason})")
        raise UserError(f"{folder_label}{INPUT_FILE}: cannot be resolved for {target}: {reason}")
    text = f"{HEADER}{target}\n{result.stdout}"
    if not wheels_only:
        _refuse_compiled_sdists(in_path, text, target, f"{folder_label}{INPUT_FILE}")
    atomic.write_text(function_dir / LOCK_FILE, text)
    return True


def _refuse_compiled_sdists(in_path: Path, lock_text: str, target: Target, label: str) -> None:
    """Raise UserError when a resolution that needed sdists pins a compiled project without a wheel for `target`.

    Only a pure-Python sdist may stand in for a wheel; the index tells which pins are which.
    """
    from lambdafleet.build.index import index_url, refuse_compiled_without_wheel

    index = index_url(in_path)
    pins = {}
    for _number, line in _logical_lines(lock_text):
        if not line.startswith("-"):
            pin = _parse_pin(line, label)
            pins[pin.name] = pin.version
    for name, version in sorted(pins.items()):
        refuse_compiled_without_wheel(label, index, target, name, version)


def _compile(function_dir: Path, target: Target, wheels_only: bool) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "uv", "pip", "compile", INPUT_FILE,
        "--generate-hashes", "--no-header", "--quiet", "--no-progress",
        "--python-version", target.python_version, "--python-platform", target.uv_platform(),
    ]  # fmt: skip
    command += _build_interpreter(target)
    if wheels_only:
        command += ["--only-binary", ":all:"]
    try:
        return subprocess.run(command, cwd=function_dir, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BuildError("cannot run uv; install the dev requirements: pip install -r requirements-dev.txt") from None


def _build_interpreter(target: Target) -> list[str]:
    """uv's options for the interpreter that builds an sdist's metadata: the runtime's own when installed, and never
    a download. Without them uv fetches a managed CPython of the target version into the user's home (or, offline,
    retries for seconds on every compile) just to lock."""
    from lambdafleet.runtime.interpreter import find_interpreter

    try:
        found = find_interpreter(target.runtime, target.architecture, source=target.runtime).path
    except UserError:  # not installed, or another architecture: uv uses an interpreter it finds
        return ["--no-python-downloads"]
    return ["--no-python-downloads", "--python", str(found)]
