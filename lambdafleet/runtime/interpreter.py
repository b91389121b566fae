"""Find a CPython whose version and architecture match a function's Lambda runtime."""

import contextlib
import functools
import json
import os
import platform
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lambdafleet.build import atomic
from lambdafleet.build.paths import RUNTIMES_CACHE
from lambdafleet.errors import UserError

_RUNTIME = re.compile(r"python(3\.\d+)")
_MACHINES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
_PROBE = (
    "import json, platform, sys;"
    "print(json.dumps([sys.implementation.name, '%d.%d' % sys.version_info[:2], platform.machine(),"
    " getattr(sys, '_base_executable', sys.executable)]))"
)


@dataclass(frozen=True)
class Interpreter:
    """A Python executable that can host a function's runtime."""

    path: Path
    version: str  # "3.12"
    architecture: str  # Lambda's name: "x86_64" or "arm64"

    @property
    def tag(self) -> str:
        """Directory name for things built for this interpreter, e.g. python3.12-x86_64."""
        return f"python{self.version}-{self.architecture}"


def lambda_architecture(machine: str) -> str:
    """Lambda's name for a `platform.machine()` value (unknown machines are returned as they are)."""
    return _MACHINES.get(machine.lower(), machine.lower())


def find_interpreter(runtime: str, architecture: str, *, source: str, cache_dir: Path | None = None) -> Interpreter:
    """The first matching `pythonX.Y` on PATH, then in pyenv; `source` names the config for errors.

    With `cache_dir`, what a real binary answered is remembered there (`runtime/interpreters.json`) while the
    binary is unchanged (same size, mtime and inode): a warm `build.py invoke` starts no probe process.

    Raises UserError when the runtime is not a Python one, the architecture differs from this machine's,
    or no interpreter of that version is installed.
    """
    match = _RUNTIME.fullmatch(runtime)
    if not match:
        raise UserError(f"{source}: runtime {runtime!r} is not a Python runtime this tool can run")
    host = lambda_architecture(platform.machine())
    if architecture != host:
        raise UserError(
            f"{source}: architecture {architecture!r} cannot run on this {host} machine "
            "(Lambda would load different wheels); build and test it on a matching host"
        )
    version = match.group(1)
    known = _Known(cache_dir)
    for candidate in _candidates(version):
        found = known.get(candidate) or _probe(str(candidate))
        if found and found.version == version and found.architecture == architecture:
            known.remember(candidate, found)
            return found
    raise UserError(
        f"{source}: runtime {runtime!r} needs python{version}, found neither on PATH nor in pyenv "
        f"(install it, e.g. `pyenv install {version}`)"
    )


def _candidates(version: str) -> Iterator[Path]:
    """Candidates in order; pyenv is only asked (a `pyenv root` process) when PATH has no match."""
    name = f"python{version}"
    on_path = [Path(directory) / name for directory in os.get_exec_path()]
    on_path = [path for path in on_path if os.access(path, os.X_OK)]
    # Version-manager shims (pyenv, asdf) start a shell script per call: real binaries first.
    shims = [path for path in on_path if path.parent.name == "shims"]
    yield from (path for path in on_path if path not in shims)
    yield from _pyenv_candidates(version)
    yield from shims


class _Known:
    """Probe answers of real binaries, kept in the cache while the binary's size, mtime and inode are unchanged.

    Only a binary that reports itself (not a shim or a virtualenv's python, whose answer depends on more than
    the file) is remembered."""

    def __init__(self, cache_dir: Path | None) -> None:
        self._path = cache_dir / RUNTIMES_CACHE / "interpreters.json" if cache_dir else None
        self._entries: dict[str, list[object]] = {}
        if self._path is not None:
            with contextlib.suppress(OSError, ValueError):
                loaded = json.loads(self._path.read_text(encoding="utf-8"))
                self._entries = loaded if isinstance(loaded, dict) else {}

    @staticmethod
    def _identity(path: Path) -> list[object] | None:
        try:
            info = path.stat()
        except OSError:
            return None
        return [info.st_size, info.st_mtime_ns, info.st_ino]

    def get(self, candidate: Path) -> Interpreter | None:
        entry = self._entries.get(str(candidate))
        if not entry or len(entry) != 6 or entry[:3] != self._identity(candidate):
            return None
        return Interpreter(Path(str(entry[5])), str(entry[3]), str(entry[4]))

    def remember(self, candidate: Path, found: Interpreter) -> None:
        identity = self._identity(candidate)
        if self._path is None or identity is None or found.path != candidate.resolve():
            return
        entry = [*identity, found.version, found.architecture, str(found.path)]
        if self._entries.get(str(candidate)) == entry:
            return
        self._entries[str(candidate)] = entry
        with contextlib.suppress(OSError, UserError):  # a read-only cache only costs the next run a probe
            atomic.write_text(self._path, json.dumps(self._entries, sort_keys=True))


def _pyenv_candidates(version: str) -> list[Path]:
    """pyenv's installed versions of `version`, newest patch release first."""
    root = _pyenv_root()
    versions = Path(root) / "versions" if root else None
    if versions is None or not versions.is_dir():
        return []
    matching = [path for path in versions.glob(f"{version}.*") if re.fullmatch(r"\d+\.\d+\.\d+", path.name)]
    matching.sort(key=lambda path: [int(part) for part in path.name.split(".")], reverse=True)
    return [path / "bin" / f"python{version}" for path in matching]


def _pyenv_root() -> str:
    """`pyenv root`; without pyenv on PATH (only its shims, or nothing) where pyenv itself would look."""
    pyenv = shutil.which("pyenv")
    if pyenv:
        return subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False).stdout.strip()
    return os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")


@functools.cache
def _probe(executable: str) -> Interpreter | None:
    """Ask an executable what it is; shims and virtualenv pythons resolve to the real binary.

    A virtualenv's python reports its base interpreter: run as the venv's, the function's subprocesses
    (`sys.executable`) would import the developer's packages from the venv's site-packages.
    """
    try:
        result = subprocess.run(
            [executable, "-S", "-c", _PROBE], capture_output=True, text=True, timeout=30, check=False
        )
        implementation, version, machine, real_path = json.loads(result.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0 or implementation != "cpython":
        return None
    return Interpreter(Path(real_path), version, lambda_architecture(machine))
