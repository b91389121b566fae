"""Build one function: plan its inputs (and their cache key), then write its zip."""

import base64
import hashlib
import json
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

from lambdafleet import BUILDER_VERSION
from lambdafleet.build import stamps
from lambdafleet.build.archive import Entry, write_archive
from lambdafleet.build.config import CONFIG_FILE, FunctionConfig
from lambdafleet.build.deps_cache import DepsCache
from lambdafleet.build.handler import check_handler
from lambdafleet.build.image import build_image_context
from lambdafleet.build.installer import installer_version
from lambdafleet.build.layers import LayerPlan, plan_layer
from lambdafleet.build.lockfile import Lock, check_lock, read_lock
from lambdafleet.build.manifest import FunctionEntry
from lambdafleet.build.paths import CHECKED_LOCKS, CHECKED_SYNTAX, cache_root
from lambdafleet.build.platforms import Target
from lambdafleet.build.project import FUNCTIONS_DIR, Project
from lambdafleet.build.sbom import SUFFIX as SBOM_SUFFIX
from lambdafleet.build.sbom import function_sbom, write_sbom
from lambdafleet.build.sources import source_entries
from lambdafleet.errors import UserError

UNZIPPED_LIMIT = 262_144_000  # Lambda's limit on a function's unzipped deployment package
DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024  # larger zips must go through S3
MB = 1024 * 1024
TASK_ZIP_SUFFIX = ".task.zip"  # an image function's task root, run locally in place of the image


@dataclass(frozen=True)
class Plan:
    """Everything that determines one function's zip, and the key that fingerprints it."""

    config: FunctionConfig
    target: Target
    lock: Lock | None
    sources: tuple[Entry, ...]
    key: str
    layers: tuple[LayerPlan, ...] = ()

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def label(self) -> str:
        return f"{FUNCTIONS_DIR}/{self.name}/"


def file_sha256(path: Path) -> bytes:
    """Raw SHA-256 digest of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.digest()


def plan_function(project: Project, config: FunctionConfig) -> Plan:
    """Validate the function's lock, list its sources and compute its build key."""
    function_dir = project.function_dir(config.name)
    label = f"{FUNCTIONS_DIR}/{config.name}/"
    # Here, not when the project loads: a broken handler elsewhere must not stop `invoke` of this function.
    cache = cache_root(project.root)
    check_handler(function_dir, config.handler, label, f"{label}{CONFIG_FILE}", config.runtime, cache / CHECKED_SYNTAX)
    target = Target(config.runtime, config.architecture)
    lock = check_lock(function_dir, target, label, cache / CHECKED_LOCKS)
    shared = {name: project.shared_dir(name) for name in config.shared}
    sources = tuple(source_entries(function_dir, config.exclude, shared, config.include, project.git_ignored))
    _check_handler_ships(config, sources, label)
    # zlib's and the installer's versions are part of the key: another zlib may compress the same files to other
    # bytes, another installer lay out the dependencies otherwise.
    tools = f"{zlib.ZLIB_RUNTIME_VERSION}\0{installer_version()}"
    digest = hashlib.sha256(f"{BUILDER_VERSION}\0{tools}\0{target}\0".encode())
    digest.update(json.dumps(config.to_manifest(), sort_keys=True).encode())
    digest.update(lock.path.read_bytes() if lock else b"\0no-lock")
    for entry in sources:
        try:
            digest.update(f"\0{entry.name}\0{entry.executable}\0".encode())
            digest.update(file_sha256(entry.path))
        except OSError as exc:  # a dangling symlink, a file without read permission
            raise UserError(f"{label}{entry.name}: cannot be read ({exc.strerror})") from None
    layers = tuple(
        plan_layer(project.root, project.layers[name], target, cache / CHECKED_LOCKS) for name in config.layers
    )
    for layer in layers:
        digest.update(f"\0layer\0{layer.key}".encode())  # a layer's change re-checks the function's total size
    if lock and layers:
        _warn_shadowed_packages(lock, layers)
    return Plan(config, target, lock, sources, digest.hexdigest(), layers)


def _warn_shadowed_packages(lock: Lock, layers: tuple[LayerPlan, ...]) -> None:
    """A package the function pins at another version than a layer does: the function's copy wins on sys.path."""
    own = read_lock(lock.path, lock.label).pins
    for layer in layers:
        if layer.lock is None:
            continue
        for name, pin in read_lock(layer.lock.path, layer.lock.label).pins.items():
            mine = own.get(name)
            if mine is not None and mine.version != pin.version:
                print(
                    f"warning: {lock.label}: {name}=={mine.version} shadows {name}=={pin.version} of layer "
                    f"'{layer.config.name}' ({layer.lock.label}); the function's copy is the one imported",
                    file=sys.stderr,
                )


def _check_handler_ships(config: FunctionConfig, sources: tuple[Entry, ...], label: str) -> None:
    module = config.handler.rsplit(".", 1)[0].replace(".", "/")
    names = {entry.name for entry in sources}
    if f"{module}.py" not in names and f"{module}/__init__.py" not in names:
        raise UserError(
            f"{label}function.toml: key 'handler': {module}.py is excluded from the zip (the default excludes such as "
            "test_*.py and tests/, or key 'exclude')"
        )


def _check_size(plan: Plan, package_sizes: dict[str, int], code_size: int, layers_size: int = 0) -> int:
    total = code_size + sum(package_sizes.values())
    if total + layers_size > UNZIPPED_LIMIT and layers_size:
        raise UserError(
            f"{plan.label}: unzipped size {total / MB:.1f} MB plus its layers' {layers_size / MB:.1f} MB exceeds "
            f"Lambda's {UNZIPPED_LIMIT:,} byte limit for a function and its layers"
        )
    if total > UNZIPPED_LIMIT:
        largest = sorted(package_sizes.items(), key=lambda item: -item[1])[:5]
        breakdown = "".join(f"{name} {size / MB:.1f} MB, " for name, size in largest)
        raise UserError(
            f"{plan.label}: unzipped size {total / MB:.1f} MB exceeds Lambda's {UNZIPPED_LIMIT:,} byte limit; "
            f"largest parts: {breakdown}function code {code_size / MB:.1f} MB"
        )
    return total


class FunctionBuilder:
    """Writes `<out_dir>/<name>.zip` for a plan and returns its manifest entry."""

    def __init__(self, out_dir: Path, deps_cache: DepsCache) -> None:
        self.out_dir = out_dir
        self.deps_cache = deps_cache
        self.layer_sizes: dict[str, int] = {}  # unzipped size of each layer zip, by its manifest name

    def zip_path(self, name: str) -> Path:
        return self.out_dir / f"{name}.zip"

    def holds(self, entry: FunctionEntry) -> bool:
        """Whether the zip on disk is the one `entry` describes (its stamp, not its bytes, on a no-op build)."""
        if entry["zip"] is None or entry["sha256"] is None:
            return False
        return stamps.matches(self.out_dir / entry["zip"], sha256=entry["sha256"])

    def on_disk(self, entry: FunctionEntry) -> bool:
        """Whether build/ holds what `entry` describes (image contexts are taken on trust)."""
        return bool(entry.get("image")) or self.holds(entry)

    def build(self, plan: Plan) -> FunctionEntry:
        if plan.config.package_type == "image":
            return self._build_image(plan)
        deps = self.deps_cache.get(plan.lock, plan.target) if plan.lock else None
        code_size = sum(entry.path.stat().st_size for entry in plan.sources)
        layers_size = sum(self.layer_sizes.get(layer.zip_name, 0) for layer in plan.layers)
        unzipped = _check_size(plan, deps.sizes if deps else {}, code_size, layers_size)
        zip_path = self.zip_path(plan.name)
        write_archive(zip_path, list(plan.sources), base=deps.archive if deps else None, label=plan.label)
        digest = file_sha256(zip_path)
        stamps.record(zip_path, sha256=digest.hex())
        sbom_path = self.out_dir / f"{plan.name}{SBOM_SUFFIX}"
        pins = read_lock(plan.lock.path, plan.lock.label).pins.values() if plan.lock else ()
        write_sbom(sbom_path, function_sbom(plan.name, plan.target, pins, plan.sources, zip_path.name, digest.hex()))
        return {
            **plan.config.to_manifest(),
            "zip": zip_path.name,
            "size": zip_path.stat().st_size,
            "unzipped_size": unzipped,
            "sha256": digest.hex(),
            "source_code_hash": base64.b64encode(digest).decode(),
            "build_key": plan.key,
            "sbom": sbom_path.name,
            "s3": None,
            "image": None,
        }

    def _build_image(self, plan: Plan) -> FunctionEntry:
        """The Docker build context, and the image's task root as a zip for running it locally without Docker.

        The image installs the same lock for the same target into ${LAMBDA_TASK_ROOT} and copies the same
        sources over it, so the zip a zip function would have is that task root, file for file.
        """
        entry = build_image_context(plan, self.out_dir)
        assert entry["image"] is not None  # an image function's entry
        deps = self.deps_cache.get(plan.lock, plan.target) if plan.lock else None
        task_zip = self.out_dir / f"{plan.name}{TASK_ZIP_SUFFIX}"
        write_archive(task_zip, list(plan.sources), base=deps.archive if deps else None, label=plan.label)
        digest = hashlib.sha256(task_zip.read_bytes()).hexdigest()
        return {**entry, "image": {**entry["image"], "task_zip": task_zip.name, "task_sha256": digest}}
