"""A copy of this repository's build and infra inputs, for tests and benchmarks that build, apply or edit one
without touching the checkout (its build/, caches and Terraform state stay out of the copy)."""

import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
REPO_PARTS = ("build.py", "pyproject.toml", "lambdafleet", "functions", "models", "lib", "layers", "infra")
_IGNORE = shutil.ignore_patterns("__pycache__", ".terraform", "*.tfstate*", ".terraform.lock.hcl")
# lambdafleet's bytecode is copied along: the processes run from the copy then skip compiling what the session
# compiled once (lambdafleet.testing.bytecode; copy2 keeps the mtimes it is checked against). The build packs none.
_IGNORE_PACKAGE = shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl")


def copy_repository(destination: Path, source: Path = REPO_ROOT) -> Path:
    """`source`'s build and infra inputs copied to `destination` (no build/, caches or Terraform state)."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in REPO_PARTS:
        part = source / name
        if part.is_dir():
            ignore = _IGNORE_PACKAGE if name == "lambdafleet" else _IGNORE
            shutil.copytree(part, destination / name, symlinks=True, ignore=ignore)
        elif part.is_file():
            shutil.copy2(part, destination / name)
    return destination
