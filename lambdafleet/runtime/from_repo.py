"""Start a pool for a function of the repository by name, rebuilding its zip first when stale."""

from pathlib import Path
from typing import Any

from lambdafleet.api import build_functions
from lambdafleet.build.paths import build_dir, cache_root
from lambdafleet.errors import UserError
from lambdafleet.runtime.pool import FunctionPool
from lambdafleet.runtime.spec import FunctionSpec


def open_function(root: Path, name: str, **pool_options: Any) -> FunctionPool:
    """A pool running `functions/<name>` from its built zip; `pool_options` go to FunctionPool.

    Raises UserError for an unknown function, a failed build, an image function or a runtime this
    machine cannot run.
    """
    entry = build_functions(root, [name])[name]
    source = f"functions/{name}/function.toml"
    if entry["package_type"] != "zip" or entry["zip"] is None:
        raise UserError(f"{source}: package_type {entry['package_type']!r} cannot be invoked locally (zip only)")
    zip_path = build_dir(root) / entry["zip"]
    spec = FunctionSpec.from_manifest(entry)
    return FunctionPool(spec, zip_path, cache_dir=cache_root(root), source=source, **pool_options)
