"""Start a pool for a function of the repository by name, rebuilding its zip first when stale."""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lambdafleet.api import build_functions
from lambdafleet.build.layers import target_key
from lambdafleet.build.manifest import MANIFEST_FILE, FunctionEntry, LayerEntry, read_manifest
from lambdafleet.build.paths import build_dir, cache_root
from lambdafleet.build.platforms import Target
from lambdafleet.runtime.spec import FunctionSpec
from lambdafleet.runtime.task_root import Archive

if TYPE_CHECKING:  # imported where a pool opens: a warm `build.py invoke` never needs the pool's machinery
    from lambdafleet.runtime.pool import FunctionPool


@dataclass(frozen=True)
class BuiltFunction:
    """What FunctionPool needs to run a function of the repository, as its (fresh) build describes it."""

    spec: FunctionSpec
    zip_path: Path
    zip_sha256: str | None
    layers: list[Archive]
    cache_dir: Path
    source: str  # names the function's configuration in errors

    def pool_arguments(self) -> dict[str, Any]:
        """FunctionPool's arguments besides the spec and the zip's path."""
        return {
            "cache_dir": self.cache_dir,
            "source": self.source,
            "zip_sha256": self.zip_sha256,
            "layers": self.layers,
        }


def built_function(root: Path, name: str, out_dir: Path | None = None) -> BuiltFunction:
    """Build `functions/<name>` when stale (into `out_dir` when given, else build/) and describe the result.

    Raises UserError for an unknown function or a failed build.
    """
    out_dir = out_dir or build_dir(root)
    entry = build_functions(root, [name], out_dir=out_dir)[name]
    image = entry["image"]
    # An image function runs its image's task root (the same lock and sources) with the image's CMD as handler.
    zip_name = image["task_zip"] if image else entry["zip"]
    assert zip_name is not None  # a zip function's entry names its zip
    return BuiltFunction(
        spec=FunctionSpec.from_manifest({**entry, "handler": image["command"][0]} if image else entry),
        zip_path=out_dir / zip_name,
        zip_sha256=image.get("task_sha256") if image else entry["sha256"],
        layers=layer_archives(entry, read_manifest(out_dir / MANIFEST_FILE)["layers"], out_dir),
        cache_dir=cache_root(root),
        source=f"functions/{name}/function.toml",
    )


def open_function(root: Path, name: str, out_dir: Path | None = None, **pool_options: Any) -> "FunctionPool":
    """A pool running `functions/<name>` from its built zip; `pool_options` go to FunctionPool.

    The zip is built into `out_dir` when given (tests keep the checkout's build/ untouched), else build/.

    Raises UserError for an unknown function, a failed build or a runtime this machine cannot run.
    """
    from lambdafleet.runtime.pool import FunctionPool

    function = built_function(root, name, out_dir)
    return FunctionPool(function.spec, function.zip_path, **function.pool_arguments(), **pool_options)


def layer_archives(entry: FunctionEntry, layers: Mapping[str, LayerEntry], out_dir: Path) -> list[Archive]:
    """The built zips of the function's layers for its runtime and architecture, in the order it lists them."""
    key = target_key(Target(entry["runtime"], entry["architecture"]))
    builds = [layers[name]["builds"][key] for name in entry["layers"]]
    return [Archive(out_dir / build["zip"], build["sha256"]) for build in builds]
