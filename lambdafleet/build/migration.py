"""A migration report: which pinned packages lose their wheels if functions move to another runtime or architecture.

Answers from the package index's wheel listings (the same look-up the build uses when a wheel is missing), without
locking, installing or writing anything: the report to read before changing `runtime` or `architecture`.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from lambdafleet.build.config import FunctionConfig
from lambdafleet.build.index import Project as IndexProject
from lambdafleet.build.index import fetch_project, index_url
from lambdafleet.build.lockfile import LOCK_FILE, read_lock
from lambdafleet.build.platforms import Target
from lambdafleet.build.project import FUNCTIONS_DIR, Project


@dataclass(frozen=True)
class LostWheel:
    """A pin with no wheel for the new target, and the nearest version that has one (None: no version has)."""

    lock_label: str
    name: str
    version: str
    target: Target
    nearest: str | None

    def describe(self) -> str:
        advice = f"nearest version with one: {self.nearest}" if self.nearest else f"no version of {self.name} has one"
        return f"{self.lock_label}: {self.name}=={self.version} has no wheel for {self.target}; {advice}"


def new_target(config: FunctionConfig, runtime: str | None, architecture: str | None) -> Target:
    """The function's target with the asked-for runtime and/or architecture in place of its own."""
    return Target(runtime or config.runtime, architecture or config.architecture)


def lost_wheels(
    project: Project, configs: Iterable[FunctionConfig], runtime: str | None, architecture: str | None
) -> list[LostWheel]:
    """Every pin of `configs`' locks that publishes compiled wheels, none of them for the new target."""
    lost: list[LostWheel] = []
    listings: dict[tuple[str, str], IndexProject | None] = {}
    for config in configs:
        lock_path = project.function_dir(config.name) / LOCK_FILE
        if not lock_path.is_file():
            continue
        label = f"{FUNCTIONS_DIR}/{config.name}/{LOCK_FILE}"
        target, index = new_target(config, runtime, architecture), index_url(lock_path)
        for pin in read_lock(lock_path, label).pins.values():
            listing = listings.get((index, pin.name))
            if (index, pin.name) not in listings:
                listing = listings[(index, pin.name)] = fetch_project(index, pin.name)
            # Unknown to the index, or pure Python (any wheel or sdist runs everywhere): nothing to lose.
            if listing is None or not listing.has_platform_wheels or pin.version in listing.versions_for(target):
                continue
            lost.append(LostWheel(label, pin.name, pin.version, target, listing.nearest_for(target, pin.version)))
    return lost
