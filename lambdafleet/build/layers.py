"""Lambda layers: `layers/<name>/` (a `requirements.in` + hashed lock and/or a `python/` folder) built into one
reproducible zip per runtime and architecture the layer declares, which functions list in `layers = [...]`.

A layer zip holds everything under `python/`, where Lambda's Python runtimes look (`/opt/python`). Its packages
come from the same dependency cache as functions' (verified wheels for the exact target), re-rooted under
`python/`; the zip has the same guarantees as a function's: fixed order, dates and modes, byte-identical rebuilds.
"""

import base64
import hashlib
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lambdafleet import BUILDER_VERSION
from lambdafleet.build import stamps
from lambdafleet.build.archive import Entry, entries_under, write_archive
from lambdafleet.build.config import ARCHITECTURES, RUNTIMES, _Checker, read_toml
from lambdafleet.build.deps_cache import DepsCache
from lambdafleet.build.installer import installer_version
from lambdafleet.build.lockfile import LOCK_FILE, Lock, check_lock, read_lock
from lambdafleet.build.manifest import LayerBuild, LayerSettings
from lambdafleet.build.platforms import Target
from lambdafleet.build.sbom import SUFFIX as SBOM_SUFFIX
from lambdafleet.build.sbom import function_sbom, write_sbom
from lambdafleet.build.sources import is_secret
from lambdafleet.errors import UserError

LAYERS_DIR = "layers"
LAYER_FILE = "layer.toml"
CODE_DIR = "python"
MAX_LAYERS = 5  # Lambda's limit of layers per function
UNZIPPED_LIMIT = 262_144_000  # a function plus all its layers, unzipped
OUTPUT_DIR = "layers"  # under build/


@dataclass(frozen=True)
class LayerConfig:
    """A layer's resolved `layer.toml`."""

    name: str
    runtimes: tuple[str, ...] = ("python3.12",)
    architectures: tuple[str, ...] = ("x86_64",)
    description: str = ""

    @property
    def label(self) -> str:
        return f"{LAYERS_DIR}/{self.name}/"

    def targets(self) -> list[Target]:
        """Every runtime and architecture pair the layer is built for."""
        return [Target(runtime, arch) for runtime in self.runtimes for arch in self.architectures]

    def to_manifest(self) -> LayerSettings:
        return {
            "name": self.name,
            "runtimes": list(self.runtimes),
            "architectures": list(self.architectures),
            "description": self.description,
        }


def target_key(target: Target) -> str:
    """How a layer build is named in the manifest and in Terraform: `python3.12-x86_64`."""
    return f"{target.runtime}-{target.architecture}"


def _choices(check: _Checker, key: str, value: Any, allowed: tuple[str, ...]) -> tuple[str, ...]:
    items = check.string_list(key, value)
    if not items or len(set(items)) != len(items):
        raise check.fail(key, "must list at least one value, each once")
    for item in items:
        check.choice(key, item, allowed)
    return tuple(items)


_VALIDATORS: dict[str, Callable[[_Checker, Any], Any]] = {
    "runtimes": lambda c, v: _choices(c, "runtimes", v, RUNTIMES),
    "architectures": lambda c, v: _choices(c, "architectures", v, ARCHITECTURES),
    "description": lambda c, v: c.text("description", v, 256),
}


def load_layer(layer_dir: Path) -> LayerConfig:
    """Read `layers/<name>/layer.toml` (optional; every key has a default, unknown keys are errors)."""
    source = f"{LAYERS_DIR}/{layer_dir.name}/{LAYER_FILE}"
    path = layer_dir / LAYER_FILE
    raw = read_toml(path, source) if path.is_file() else {}
    check = _Checker(source)
    values = {}
    for key, value in raw.items():
        if key not in _VALIDATORS:
            raise check.fail(key, f"unknown key; known keys: {', '.join(sorted(_VALIDATORS))}")
        values[key] = _VALIDATORS[key](check, value)
    if not (layer_dir / CODE_DIR).is_dir() and not (layer_dir / LOCK_FILE).is_file():
        raise UserError(f"{LAYERS_DIR}/{layer_dir.name}/: empty layer (add {CODE_DIR}/ or a locked requirements.in)")
    return LayerConfig(name=layer_dir.name, **values)


def load_layers(root: Path) -> dict[str, LayerConfig]:
    """Every layer under `root/layers` (none when the folder does not exist)."""
    from lambdafleet.build.project import FUNCTION_NAME, NAME_RULE

    base = root / LAYERS_DIR
    if not base.is_dir():
        return {}
    layers = {}
    for folder in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))):
        if not FUNCTION_NAME.fullmatch(folder.name):
            raise UserError(f"{LAYERS_DIR}/{folder.name}: invalid layer name: use {NAME_RULE}")
        layers[folder.name] = load_layer(folder)
    return layers


@dataclass(frozen=True)
class LayerPlan:
    """Everything that determines one layer zip (one target), and the key fingerprinting it."""

    config: LayerConfig
    target: Target
    lock: Lock | None
    sources: tuple[Entry, ...]
    key: str

    @property
    def zip_name(self) -> str:
        return f"{OUTPUT_DIR}/{self.config.name}-{target_key(self.target)}.zip"


def _code_entries(layer_dir: Path) -> list[Entry]:
    def keep(name: str) -> bool:
        parts = name.split("/")
        # Hidden files, keys, credentials, state and environments never ship (sources.is_secret), as in functions.
        return not any(is_secret(p) or p == "__pycache__" for p in parts) and not name.endswith(".pyc")

    folder = layer_dir / CODE_DIR
    if not folder.is_dir():
        return []
    return [Entry(f"{CODE_DIR}/{e.name}", e.path) for e in entries_under(folder, keep)]


def plan_layer(root: Path, config: LayerConfig, target: Target, stamps: Path) -> LayerPlan:
    """Validate the layer's lock (resolved for its first target) and compute the build key for `target`."""
    layer_dir = root / LAYERS_DIR / config.name
    lock = check_lock(layer_dir, config.targets()[0], config.label, stamps)
    sources = tuple(_code_entries(layer_dir))
    tools = f"{zlib.ZLIB_RUNTIME_VERSION}\0{installer_version()}"  # the installer lays out the packages
    digest = hashlib.sha256(f"layer\0{BUILDER_VERSION}\0{tools}\0{target}\0".encode())
    digest.update(json.dumps(config.to_manifest(), sort_keys=True).encode())
    digest.update(lock.path.read_bytes() if lock else b"\0no-lock")
    for entry in sources:
        digest.update(f"\0{entry.name}\0{entry.executable}\0".encode())
        digest.update(hashlib.sha256(entry.path.read_bytes()).digest())
    return LayerPlan(config, target, lock, sources, digest.hexdigest())


class LayerBuilder:
    """Writes `build/layers/<name>-<runtime>-<arch>.zip` and its SBOM; reuses one whose key and bytes match."""

    def __init__(self, out_dir: Path, deps_cache: DepsCache) -> None:
        self.out_dir = out_dir
        self.deps_cache = deps_cache

    def _unchanged(self, plan: LayerPlan, previous: LayerBuild | None) -> bool:
        if not previous or previous.get("build_key") != plan.key:
            return False
        sbom = self.out_dir / str(previous.get("sbom"))
        return sbom.is_file() and stamps.matches(self.out_dir / previous["zip"], sha256=previous["sha256"])

    def build(self, plan: LayerPlan, previous: LayerBuild | None) -> tuple[LayerBuild, bool]:
        """The layer build's manifest entry, and whether it was (re)built."""
        if self._unchanged(plan, previous):
            assert previous is not None
            return previous, False
        # Installed straight under python/ and cached like a function's dependencies: a layer's zip is a copy of
        # that archive plus the layer's own code.
        deps = self.deps_cache.get(plan.lock, plan.target, prefix=CODE_DIR) if plan.lock else None
        zip_path = self.out_dir / plan.zip_name
        code_size = write_archive(
            zip_path, list(plan.sources), base=deps.archive if deps else None, label=plan.config.label
        )
        unzipped = code_size + (deps.unzipped_size if deps else 0)
        if unzipped > UNZIPPED_LIMIT:
            raise UserError(
                f"{plan.config.label}: unzipped size {unzipped:,} bytes exceeds Lambda's {UNZIPPED_LIMIT:,}"
            )
        digest = hashlib.sha256(zip_path.read_bytes()).digest()
        stamps.record(zip_path, sha256=digest.hex())
        sbom_name = plan.zip_name.removesuffix(".zip") + SBOM_SUFFIX
        pins = read_lock(plan.lock.path, plan.lock.label).pins.values() if plan.lock else ()
        name = f"{plan.config.name}-{target_key(plan.target)}"
        write_sbom(
            self.out_dir / sbom_name, function_sbom(name, plan.target, pins, plan.sources, plan.zip_name, digest.hex())
        )
        entry: LayerBuild = {
            "zip": plan.zip_name,
            "size": zip_path.stat().st_size,
            "unzipped_size": unzipped,
            "sha256": digest.hex(),
            "source_code_hash": base64.b64encode(digest).decode(),
            "build_key": plan.key,
            "sbom": sbom_name,
            "s3": None,
        }
        return entry, True


def check_function_layers(functions: dict[str, Any], layers: dict[str, LayerConfig]) -> None:
    """Each function's layers exist, are at most five, listed once, and built for its runtime and architecture."""
    for config in functions.values():
        source = f"functions/{config.name}/function.toml: key 'layers'"
        if len(config.layers) > MAX_LAYERS:
            raise UserError(f"{source}: lists {len(config.layers)} layers; Lambda allows {MAX_LAYERS}")
        if len(set(config.layers)) != len(config.layers):
            raise UserError(f"{source}: lists the same layer twice")
        if config.layers and config.package_type == "image":
            raise UserError(f"{source}: Lambda attaches no layers to a container image function; the image holds them")
        for name in config.layers:
            layer = layers.get(name)
            if layer is None:
                raise UserError(f"{source}: no layer named {name!r} under {LAYERS_DIR}/")
            if config.runtime not in layer.runtimes or config.architecture not in layer.architectures:
                raise UserError(
                    f"{source}: layer {name!r} is built for {', '.join(layer.runtimes)} on "
                    f"{', '.join(layer.architectures)}, not {config.runtime} on {config.architecture} "
                    f"(add them to {LAYERS_DIR}/{name}/{LAYER_FILE})"
                )
