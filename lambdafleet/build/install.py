"""Install a function's locked dependencies for the Lambda platform, never the host's.

pip runs through its command line with target tags (`--platform`, `--python-version`, `--abi`,
`--implementation cp`) and `--require-hashes`. `--no-deps` (the lock is complete) lets pip fall back
to an sdist when a package has no wheel; every installed distribution's WHEEL tags are then checked
so that only pure-Python sdists get through, never a module compiled for the host.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from packaging.utils import canonicalize_name

from lambdafleet.build.lockfile import Lock, read_lock
from lambdafleet.build.platforms import Target
from lambdafleet.errors import BuildError, UserError

_NO_MATCH = re.compile(r"No matching distribution found for ([A-Za-z0-9._-]+)")
_BUILD_FAILED = re.compile(r"(?:Failed to build|Building wheel for) ([A-Za-z0-9._-]+)")
_HASH_MISMATCH = re.compile(r"^\s+([A-Za-z0-9._-]+)==\S+ from .*:$", re.MULTILINE)
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


def _explain_failure(lock: Lock, target: Target, output: str) -> Exception:
    if "DO NOT MATCH THE HASHES" in output:
        names = _HASH_MISMATCH.findall(output)
        what = _pin_label(lock, names[0]) if names else "a package"
        return UserError(f"{lock.label}: hash mismatch for {what}; run: python build.py lock")
    if match := _NO_MATCH.search(output):
        return _no_wheel(lock, target, match.group(1).split("==")[0], "")
    if match := _BUILD_FAILED.search(output):
        return _no_wheel(lock, target, match.group(1), " and its sdist does not build")
    tail = " | ".join(line.strip() for line in output.strip().splitlines()[-3:])
    return BuildError(f"pip failed installing {lock.path}: {tail}")


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
    for record in dest.glob("*.dist-info/RECORD"):
        record.write_text(_SCRIPTS_RECORD.sub("", record.read_text()))
    for top in dest.iterdir():
        if not top.is_dir() or top.name.endswith((".dist-info", ".data")):
            continue
        for path in sorted(top.rglob("*"), reverse=True):
            if path.is_dir() and path.name in _TRIMMED_DIRS:
                shutil.rmtree(path)
            elif path.suffix == ".pyc":
                path.unlink(missing_ok=True)


def install_dependencies(lock: Lock, target: Target, dest: Path) -> None:
    """pip-install the locked packages for `target` into the empty folder `dest`."""
    command = [
        sys.executable, "-m", "pip", "install", "--target", str(dest), "--no-deps", "--no-compile",
        "--require-hashes", "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
        "--no-warn-script-location", *target.pip_arguments(), "-r", str(lock.path),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise _explain_failure(lock, target, result.stdout + result.stderr)
    _check_wheel_tags(dest, lock, target)
    _trim(dest)
