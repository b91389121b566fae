"""The importable build API: what `python build.py all` does, for tests and other tools."""

import os
import time
from collections.abc import Sequence
from pathlib import Path

from lambdafleet.build.changes import affected_functions, changed_paths
from lambdafleet.build.deps_cache import DepsCache
from lambdafleet.build.layers import LayerBuilder, plan_layer, target_key
from lambdafleet.build.manifest import (
    MANIFEST_FILE,
    ChainEntry,
    FunctionEntry,
    LayerBuild,
    LayerEntry,
    read_manifest,
    update_manifest,
)
from lambdafleet.build.paths import BUILD_DIR, CHECKED_LOCKS, build_dir, cache_root
from lambdafleet.build.plan import FunctionBuilder, plan_function
from lambdafleet.build.project import FUNCTIONS_DIR, Project, load_project
from lambdafleet.build.strategies import BuildOutcome, Report, make_strategy
from lambdafleet.build.upload import parse_destination, upload_all
from lambdafleet.errors import UserError
from lambdafleet.runtime import images


def run_build(
    root: Path,
    names: Sequence[str] | None = None,
    *,
    force: bool = False,
    jobs: int | None = None,
    upload: str | None = None,
    changed_since: str | None = None,
    allow_empty: bool = False,
    report: Report = lambda outcome: None,
    out_dir: Path | None = None,
) -> list[BuildOutcome]:
    """Build the named functions (all when None), upload them if every one succeeded, and write the manifest.

    With `changed_since` (a git ref), only functions whose inputs changed since then are built, plus
    any the manifest lacks; the manifest keeps the others' entries. Configuration and lock errors
    raise UserError before anything is built. A failure while building one function is returned in
    its BuildOutcome; the manifest still records the functions that did build, because their zips in
    build/ have changed and Terraform must never pair a zip with another zip's hash, while a failed
    function keeps its last good entry and zip. A manifest with no functions is written only with
    `allow_empty`: Terraform would destroy every deployed function.
    """
    project = load_project(root)
    if not project.functions and not allow_empty:
        raise UserError(
            f"{FUNCTIONS_DIR}/: no functions found; refusing to write {BUILD_DIR}/{MANIFEST_FILE} without any "
            "(terraform apply would destroy every deployed function); pass --allow-empty to mean it"
        )
    destination = parse_destination(upload) if upload else None
    out_dir = out_dir or build_dir(root)  # tests build elsewhere than the checkout's build/
    manifest_path = out_dir / MANIFEST_FILE
    previous_manifest = read_manifest(manifest_path)
    previous = previous_manifest["functions"]
    configs = project.select(names)
    if changed_since is not None:
        affected = affected_functions(project, changed_paths(root, changed_since))
        configs = [c for c in configs if c.name in affected or c.name not in previous]
    plans = [plan_function(project, config) for config in configs]
    deps_cache = DepsCache(cache_root(root))
    deps_cache.sweep()  # install folders a killed build left behind
    builder = FunctionBuilder(out_dir, deps_cache)
    wanted_layers = set(project.layers) if names is None else {n for c in configs for n in c.layers}
    layers = build_layers(
        project, wanted_layers, LayerBuilder(out_dir, deps_cache), previous_manifest["layers"], report
    )
    builder.layer_sizes = {
        build["zip"]: build["unzipped_size"] for layer in layers.values() for build in layer["builds"].values()
    }
    strategy = make_strategy(builder, jobs or os.cpu_count() or 1, previous, force)
    outcomes = strategy.run(plans, report)
    entries: dict[str, FunctionEntry] = {o.name: {**o.entry, "s3": None} for o in outcomes if o.entry}
    for entry in entries.values():  # the local endpoint finds an image function's task root by its tag
        images.register(cache_root(root), entry, out_dir)

    def keep(name: str) -> bool:
        return name in project.functions

    def keep_layer(name: str) -> bool:
        return name in project.layers

    built_layers = {name: entry for name, entry in layers.items() if name in wanted_layers}

    def chains(functions: dict[str, FunctionEntry]) -> dict[str, ChainEntry]:
        # A partial build (`build.py a`) may not have built every step of a chain yet; Terraform could not wire it.
        return {n: c.to_manifest() for n, c in project.chains.items() if set(c.steps) <= set(functions)}

    def record() -> None:
        args = (builder.on_disk, built_layers, keep_layer, project.api, project.resources)
        update_manifest(manifest_path, entries, keep, chains, *args)

    failed = any(outcome.error for outcome in outcomes)
    if not failed or any(outcome.status == "built" for outcome in outcomes):
        record()  # first describe build/ as it now is, whatever follows
    if destination and not failed:
        zips = {name: (builder.zip_path(name), entry) for name, entry in entries.items() if entry["zip"]}
        for name, location in upload_all(destination, zips).items():
            entries[name]["s3"] = location
        record()
    return outcomes


def build_layers(
    project: Project, names: set[str], builder: LayerBuilder, previous: dict[str, LayerEntry], report: Report
) -> dict[str, LayerEntry]:
    """Build each named layer for every target it declares; the manifest's `layers` section.

    Layers come before functions: a function's size limit counts its layers. Layers not named keep their
    previous entries while they still exist.
    """
    result = {name: entry for name, entry in previous.items() if name in project.layers and name not in names}
    stamps = cache_root(project.root) / CHECKED_LOCKS
    for name in sorted(names):
        config = project.layers[name]
        old_builds = previous[name]["builds"] if name in previous else {}
        builds: dict[str, LayerBuild] = {}
        for target in config.targets():
            plan = plan_layer(project.root, config, target, stamps)
            started = time.monotonic()
            entry, built = builder.build(plan, old_builds.get(target_key(target)))
            builds[target_key(target)] = entry
            status = "built" if built else "cached"
            report(BuildOutcome(f"layer:{name}:{target_key(target)}", status, time.monotonic() - started, layer=entry))
        result[name] = {**config.to_manifest(), "builds": builds}
    return result


def build_functions(
    root: Path,
    names: list[str] | None = None,
    *,
    force: bool = False,
    jobs: int | None = None,
    out_dir: Path | None = None,
) -> dict[str, FunctionEntry]:
    """Build what is stale and return the manifest entries of `names` (all when None).

    Raises the first function's error (UserError for user mistakes) if any build failed.
    """
    outcomes = run_build(root, names, force=force, jobs=jobs, out_dir=out_dir)
    for outcome in outcomes:
        if outcome.error:
            raise outcome.error
    return {outcome.name: outcome.entry for outcome in outcomes if outcome.entry}
