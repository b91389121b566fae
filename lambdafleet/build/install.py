"""Install a function's locked dependencies for the Lambda platform, never the host's.

uv (pinned in the dev lock, see installer.py) installs with the target's platform and Python version,
`--require-hashes` and `--no-deps` (the lock is complete), wheels only. When a pinned version has no wheel
for the target, the index says whether the project publishes compiled wheels: then it is refused at once,
naming the nearest version that has one (no 27-minute compile ending in a refusal); otherwise (a pure-Python
project) its sdist may build, and every installed distribution's WHEEL tags are checked so that only
pure-Python sdists get through, never a module compiled for the host.
"""

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from packaging.utils import canonicalize_name

from lambdafleet.build.index import index_url, refuse_compiled_without_wheel
from lambdafleet.build.installer import require_installer
from lambdafleet.build.lockfile import UNREACHABLE, Lock, read_lock
from lambdafleet.build.platforms import Target
from lambdafleet.errors import BuildError, UserError

_NO_WHEEL = re.compile(r"Because ([A-Za-z0-9._-]+)==\S+ has no usable wheels|Wheels are required for `([^`]+)`")
_HASH_MISMATCH = re.compile(r"Hash mismatch for `([^`=]+)==")
_BUILD_FAILED = re.compile(r"Failed to (?:download and )?build `([^`=]+)==")
_BUILT_FOR_HOST = re.compile(r"The built wheel `([^`]+?)-[^-`]+-([^-`]+-[^-`]+-[^-`]+)\.whl` is not compatible")
_FETCH_FAILED = re.compile(r"Failed to fetch: `?([^`\s]+)`?")
_SCRIPTS_RECORD = re.compile(r"^\.\./\.\./bin/.*\n?", re.MULTILINE)
# Directories that only serve the package's authors; Lambda never imports them.
_TRIMMED_DIRS = frozenset({"__pycache__", "tests"})


def _pin_label(lock: Lock, name: str) -> str:
    pin = read_lock(lock.path, lock.label).pins.get(canonicalize_name(name))
    return f"{pin.name}=={pin.version}" if pin else name


def _no_wheel(lock: Lock, target: Target, name: str, why: str) -> UserError:
    return UserError(
        f"{lock.label}: {_pin_label(lock, name)} has no wheel for {target} (tags tried: {target.describe_tags()}){why}"
    )


def _unreachable(output: str) -> BuildError:
    match = _FETCH_FAILED.search(output)
    where = f" ({match.group(1)})" if match else ""
    return BuildError(f"cannot reach the package index{where}; check the network or the index URL, then run again")


def _explain_failure(lock: Lock, target: Target, output: str) -> Exception:
    if match := _HASH_MISMATCH.search(output):
        what = _pin_label(lock, match.group(1))
        return UserError(f"{lock.label}: hash mismatch for {what}; run: python build.py lock")
    if any(marker in output for marker in UNREACHABLE):
        return _unreachable(output)
    if match := _BUILT_FOR_HOST.search(output):
        why = f"; its sdist builds a {match.group(2)} wheel for this machine, not Lambda"
        return _no_wheel(lock, target, match.group(1), why)
    if match := _BUILD_FAILED.search(output):
        return _no_wheel(lock, target, match.group(1), " and its sdist does not build")
    if match := _NO_WHEEL.search(output):
        return _no_wheel(lock, target, match.group(1) or match.group(2), "")
    tail = " | ".join(line.strip() for line in output.strip().splitlines()[-3:])
    return BuildError(f"uv failed installing {lock.path}: {tail}")


def _check_wheel_tags(dest: Path, lock: Lock, target: Target) -> None:
    for wheel_file in sorted(dest.glob("*.dist-info/WHEEL")):
        tags = {
            line.split(":", 1)[1].strip() for line in wheel_file.read_text().splitlines() if line.startswith("Tag:")
        }
        if tags and not tags & target.supported_tags:
            name = wheel_file.parent.name.split("-")[0]
            built = ", ".join(sorted(tags))
            raise _no_wheel(lock, target, name, f"; its sdist builds a {built} wheel for this machine, not Lambda")


def _trim(dest: Path) -> None:
    """Drop what Lambda never uses and what would make the zip depend on the build machine.

    Console scripts in bin/ carry the host interpreter's path in their shebang; their RECORD lines go
    too, so the dist-info stays byte-identical wherever the build runs. dist-info is otherwise kept so
    importlib.metadata works.
    """
    shutil.rmtree(dest / "bin", ignore_errors=True)
    (dest / ".lock").unlink(missing_ok=True)  # uv's lock on the target folder, not a package's file
    for record in dest.glob("*.dist-info/RECORD"):
        _rewrite(record, _SCRIPTS_RECORD.sub("", record.read_text()))
    for top in dest.iterdir():
        if not top.is_dir() or top.name.endswith((".dist-info", ".data")):
            continue
        for path in sorted(top.rglob("*"), reverse=True):
            if path.is_dir() and path.name in _TRIMMED_DIRS:
                shutil.rmtree(path)
            elif path.suffix == ".pyc":
                path.unlink(missing_ok=True)


def _rewrite(path: Path, text: str) -> None:
    """Give `path` new content as a new file: the old one is a hard link into uv's cache, which must not change."""
    fresh = path.with_name(path.name + ".new")
    fresh.write_text(text)
    os.chmod(fresh, stat.S_IMODE(path.stat().st_mode))
    os.replace(fresh, path)


def _uv_install(lock: Lock, target: Target, dest: Path, no_build: list[str]) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "uv", "pip", "install", "--target", str(dest), "--no-deps", "--require-hashes",
        "--python", sys.executable, "--python-version", target.python_version,
        "--python-platform", target.uv_platform(),
        # Hard links into uv's cache: no file's bytes are copied, and the install folder goes in a blink (freeing
        # copies cost more than writing them). So nothing here may write into an installed file: see _trim.
        "--link-mode", "hardlink", "--no-progress", "--quiet",
    ]  # fmt: skip
    for name in no_build:
        command += ["--only-binary", name]
    return subprocess.run([*command, "-r", str(lock.path)], capture_output=True, text=True, check=False)


def install_dependencies(lock: Lock, target: Target, dest: Path) -> None:
    """Install the locked packages for `target` into the empty folder `dest`."""
    require_installer()
    pins = read_lock(lock.path, lock.label).pins
    buildable: set[str] = set()  # packages found pure-Python enough to try their sdist
    while True:
        result = _uv_install(lock, target, dest, sorted(set(pins) - buildable))
        if result.returncode == 0:
            break
        output = result.stderr + result.stdout
        match = _NO_WHEEL.search(output)
        name = canonicalize_name(match.group(1) or match.group(2)) if match else None
        if name is None or name in buildable or name not in pins:
            raise _explain_failure(lock, target, output)
        refuse_compiled_without_wheel(lock.label, index_url(lock.path), target, name, pins[name].version)
        buildable.add(name)
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
    _check_wheel_tags(dest, lock, target)
    _trim(dest)
