"""The importable build API: what `python build.py all` does, for tests and other tools."""

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lambdafleet.build.changes import affected_functions, changed_paths
from lambdafleet.build.deps_cache import DepsCache
from lambdafleet.build.manifest import MANIFEST_FILE, read_manifest, write_manifest
from lambdafleet.build.paths import build_dir, cache_root
from lambdafleet.build.plan import FunctionBuilder, plan_function
from lambdafleet.build.project import load_project
from lambdafleet.build.strategies import BuildOutcome, Report, make_strategy
from lambdafleet.build.upload import parse_destination, upload_all


def run_build(
    root: Path,
    names: Sequence[str] | None = None,
    *,
    force: bool = False,
    jobs: int | None = None,
    upload: str | None = None,
    changed_since: str | None = None,
    report: Report = lambda outcome: None,
) -> list[BuildOutcome]:
    """Build the named functions (all when None), upload them if every one succeeded, and write the manifest.

    With `changed_since` (a git ref), only functions whose inputs changed since then are built, plus
    any the manifest lacks; the manifest keeps the others' entries. Configuration and lock errors
    raise UserError before anything is built. A failure while building one function is returned in
    its BuildOutcome; the manifest still records the functions that did build, because their zips in
    build/ have changed and Terraform must never pair a zip with another zip's hash, while a failed
    function keeps its last good entry and zip.
    """
    project = load_project(root)
    destination = parse_destination(upload) if upload else None
    out_dir = build_dir(root)
    manifest_path = out_dir / MANIFEST_FILE
    previous = read_manifest(manifest_path)["functions"]
    configs = project.select(names)
    if changed_since is not None:
        affected = affected_functions(project, changed_paths(root, changed_since))
        configs = [c for c in configs if c.name in affected or c.name not in previous]
    plans = [plan_function(project, config) for config in configs]
    builder = FunctionBuilder(out_dir, DepsCache(cache_root(root)))
    strategy = make_strategy(builder, jobs or os.cpu_count() or 1, previous, force)
    outcomes = strategy.run(plans, report)
    entries = {o.name: {**o.entry, "s3": None} for o in outcomes if o.entry}
    kept = {name: entry for name, entry in previous.items() if name in project.functions}
    functions = {**kept, **entries}
    # A partial build (`build.py a`) may not have built every step of a chain yet; Terraform could not wire it.
    chains = {name: chain.to_manifest() for name, chain in project.chains.items() if set(chain.steps) <= set(functions)}
    failed = any(outcome.error for outcome in outcomes)
    if not failed or any(outcome.status == "built" for outcome in outcomes):
        # first describe build/ as it now is, whatever follows
        write_manifest(manifest_path, functions, chains, project.resources)
    if destination and not failed:
        zips = {name: (builder.zip_path(name), entry) for name, entry in entries.items() if entry["zip"]}
        for name, location in upload_all(destination, zips).items():
            functions[name]["s3"] = location
        write_manifest(manifest_path, functions, chains, project.resources)
    return outcomes


def build_functions(
    root: Path, names: list[str] | None = None, *, force: bool = False, jobs: int | None = None
) -> dict[str, dict[str, Any]]:
    """Build what is stale and return the manifest entries of `names` (all when None).

    Raises the first function's error (UserError for user mistakes) if any build failed.
    """
    outcomes = run_build(root, names, force=force, jobs=jobs)
    for outcome in outcomes:
        if outcome.error:
            raise outcome.error
    return {outcome.name: outcome.entry for outcome in outcomes if outcome.entry}
