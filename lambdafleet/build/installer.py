"""The installer the build runs: uv, pinned with hashes in requirements-dev.txt, never the venv's own pip.

A venv's pip is whatever `python -m venv` shipped (pip 23.2 on python3.11 refuses numpy for python3.12), so
the build does not use it. The installer's version is part of every cache key: another installer may lay out
the same lock as other bytes.
"""

import functools
import importlib.util
from pathlib import Path

from lambdafleet.errors import BuildError

INSTALL_HINT = "install the dev requirements: pip install --require-hashes -r requirements-dev.txt"


@functools.cache
def installer_version() -> str:
    """'uv X.Y.Z' (cheap: reads the dist-info folder name, no importlib.metadata scan); 'uv missing' without it."""
    spec = importlib.util.find_spec("uv")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        for dist_info in sorted(Path(location).parent.glob("uv-*.dist-info")):
            return "uv " + dist_info.name.removeprefix("uv-").removesuffix(".dist-info")
    return "uv missing"


def require_installer() -> None:
    """Raise BuildError when uv is not importable (a build that must install packages needs it)."""
    if installer_version() == "uv missing":
        raise BuildError(f"uv is not installed, and the build installs packages with it; {INSTALL_HINT}")
