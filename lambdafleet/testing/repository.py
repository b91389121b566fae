"""A copy of this repository's build and infra inputs, for tests and benchmarks that build, apply or edit one
without touching the checkout (its build/, caches and Terraform state stay out of the copy)."""

import os
import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
REPO_PARTS = ("build.py", "pyproject.toml", "lambdafleet", "functions", "models", "lib", "layers", "infra")
_IGNORE = shutil.ignore_patterns("__pycache__", ".terraform", "*.tfstate*", ".terraform.lock.hcl")


def copy_repository(destination: Path, source: Path = REPO_ROOT) -> Path:
    """`source`'s build and infra inputs copied to `destination` (no build/, caches or Terraform state)."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in REPO_PARTS:
        part = source / name
        if name == "lambdafleet":
            copy_package(destination / name, part)
        elif part.is_dir():
            shutil.copytree(part, destination / name, symlinks=True, ignore=_IGNORE)
        elif part.is_file():
            shutil.copy2(part, destination / name)
    return destination


def copy_package(destination: Path, source: Path = REPO_ROOT / "lambdafleet") -> Path:
    """The lambdafleet package copied to `destination` with its bytecode, still valid in the copy: the processes
    run from the copy skip compiling what the test session compiled once (lambdafleet.testing.bytecode). The
    sources keep their mtimes (copy2), which that bytecode is checked against; the bytecode itself is hard-linked
    when it can be (Python replaces a pyc, never writes into one). The build packs no bytecode."""
    return Path(shutil.copytree(source, destination, symlinks=True, copy_function=_link_bytecode))


def _link_bytecode(source: str, destination: str) -> str:
    if source.endswith(".pyc"):
        try:
            os.link(source, destination)
            return destination
        except OSError:  # another file system, say
            pass
    return str(shutil.copy2(source, destination))
