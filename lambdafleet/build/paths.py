"""Where build outputs and caches live, relative to the repository root."""

import os
from pathlib import Path

BUILD_DIR = "build"
BUILD_ENV = "LAMBDAFLEET_BUILD_DIR"
CACHE_ENV = "LAMBDAFLEET_CACHE_DIR"
DEPS_CACHE = "deps"
CHECKED_LOCKS = "checked-locks"
CHECKED_SYNTAX = "checked-syntax"
RUNTIMES_CACHE = "runtime"
# Only these are ours to delete: LAMBDAFLEET_CACHE_DIR may name a folder other tools share (~/.cache, say).
CACHE_PARTS = (DEPS_CACHE, CHECKED_LOCKS, CHECKED_SYNTAX, RUNTIMES_CACHE)


def build_dir(root: Path) -> Path:
    """Where zips and the manifest go: $LAMBDAFLEET_BUILD_DIR, else build/ in the repository.

    The test suite sets it, so that no test rewrites the checkout's own build/ under a developer's feet.
    """
    return Path(os.environ.get(BUILD_ENV) or root / BUILD_DIR)


def cache_root(root: Path) -> Path:
    """Where caches live: $LAMBDAFLEET_CACHE_DIR, else .cache/lambdafleet in the repository."""
    return Path(os.environ.get(CACHE_ENV) or root / ".cache" / "lambdafleet")
