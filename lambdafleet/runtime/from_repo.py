"""Start a pool for a function of the repository by name, rebuilding its zip first when stale."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lambdafleet.api import build_functions
from lambdafleet.build.layers import target_key
from lambdafleet.build.manifest import MANIFEST_FILE, FunctionEntry, LayerEntry, read_manifest
from lambdafleet.build.paths import build_dir, cache_root
from lambdafleet.build.platforms import Target
from lambdafleet.runtime.pool import FunctionPool
from lambdafleet.runtime.spec import FunctionSpec
from lambdafleet.runtime.task_root import Archive


def open_function(root: Path, name: str, out_dir: Path | None = None, **pool_options: Any) -> FunctionPool:
    """A pool running `functions/<name>` from its built zip; `pool_options` go to FunctionPool.

    The zip is built into `out_dir` when given (tests keep the checkout's build/ untouched), else build/.

    Raises UserError for an unknown function, a failed build or a runtime this machine cannot run.
    """
    out_dir = out_dir or build_dir(root)
    entry = build_functions(root, [name], out_dir=out_dir)[name]
    source = f"functions/{name}/function.toml"
    image = entry["image"]
    # An image function runs its image's task root (the same lock and sources) with the image's CMD as handler.
    zip_name = image["task_zip"] if image else entry["zip"]
    assert zip_name is not None  # a zip function's entry names its zip
    zip_path = out_dir / zip_name
    spec = FunctionSpec.from_manifest({**entry, "handler": image["command"][0]} if image else entry)
    layers = layer_archives(entry, read_manifest(out_dir / MANIFEST_FILE)["layers"], out_dir)
    return FunctionPool(
        spec,
        zip_path,
        cache_dir=cache_root(root),
        source=source,
        zip_sha256=image.get("task_sha256") if image else entry["sha256"],
        layers=layers,
        **pool_options,
    )


def layer_archives(entry: FunctionEntry, layers: Mapping[str, LayerEntry], out_dir: Path) -> list[Archive]:
    """The built zips of the function's layers for its runtime and architecture, in the order it lists them."""
    key = target_key(Target(entry["runtime"], entry["architecture"]))
    builds = [layers[name]["builds"][key] for name in entry["layers"]]
    return [Archive(out_dir / build["zip"], build["sha256"]) for build in builds]
