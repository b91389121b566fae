"""Build strategies that wrap one another: cached → parallel → each.

`BuildEach` builds plans one by one, `Parallel` spreads them over threads (pip and zlib release
the GIL), and `Cached` answers up-to-date plans from the previous manifest and hands the rest on.
"""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from lambdafleet.build.image import context_dir
from lambdafleet.build.manifest import FunctionEntry, LayerBuild
from lambdafleet.build.plan import FunctionBuilder, Plan


@dataclass(frozen=True)
class BuildOutcome:
    """What happened to one function: its manifest entry, or the error that stopped it."""

    name: str
    status: str  # "built", "cached" or "failed"
    seconds: float
    entry: FunctionEntry | None = None
    layer: LayerBuild | None = None  # the outcome of a layer's build for one target (then `entry` is None)
    error: Exception | None = None


Report = Callable[[BuildOutcome], None]


class Strategy(Protocol):
    def run(self, plans: list[Plan], report: Report) -> list[BuildOutcome]: ...


class BuildEach:
    """Builds every plan in turn; a failure is recorded and the others still build."""

    def __init__(self, builder: FunctionBuilder) -> None:
        self.builder = builder

    def build_one(self, plan: Plan, report: Report) -> BuildOutcome:
        start = time.perf_counter()
        try:
            entry = self.builder.build(plan)
            outcome = BuildOutcome(plan.name, "built", time.perf_counter() - start, entry=entry)
        except Exception as exc:  # reported per function; the caller decides the exit code
            outcome = BuildOutcome(plan.name, "failed", time.perf_counter() - start, error=exc)
        report(outcome)
        return outcome

    def run(self, plans: list[Plan], report: Report) -> list[BuildOutcome]:
        return [self.build_one(plan, report) for plan in plans]


class Parallel(BuildEach):
    """Builds up to `jobs` plans at once."""

    def __init__(self, builder: FunctionBuilder, jobs: int) -> None:
        super().__init__(builder)
        self.jobs = jobs

    def run(self, plans: list[Plan], report: Report) -> list[BuildOutcome]:
        if self.jobs <= 1 or len(plans) <= 1:
            return super().run(plans, report)
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            return list(pool.map(lambda plan: self.build_one(plan, report), plans))


class Cached:
    """Skips plans whose key and zip match the previous manifest; delegates the rest."""

    def __init__(self, inner: Strategy, builder: FunctionBuilder, previous: dict[str, FunctionEntry]) -> None:
        self.inner = inner
        self.builder = builder
        self.previous = previous

    def _up_to_date(self, plan: Plan) -> FunctionEntry | None:
        entry = self.previous.get(plan.name)
        if not entry or entry.get("build_key") != plan.key:
            return None
        image = entry["image"]
        if image:
            task_zip = self.builder.out_dir / str(image.get("task_zip"))
            return entry if context_dir(self.builder.out_dir, plan.name).is_dir() and task_zip.is_file() else None
        sbom = entry.get("sbom")
        if not sbom or not (self.builder.out_dir / sbom).is_file():
            return None
        return entry if self.builder.holds(entry) else None

    def run(self, plans: list[Plan], report: Report) -> list[BuildOutcome]:
        outcomes: dict[str, BuildOutcome] = {}
        stale = []
        for plan in plans:
            entry = self._up_to_date(plan)
            if entry is None:
                stale.append(plan)
                continue
            outcomes[plan.name] = BuildOutcome(plan.name, "cached", 0.0, entry=entry)
            report(outcomes[plan.name])
        for outcome in self.inner.run(stale, report):
            outcomes[outcome.name] = outcome
        return [outcomes[plan.name] for plan in plans]


def make_strategy(builder: FunctionBuilder, jobs: int, previous: dict[str, FunctionEntry], force: bool) -> Strategy:
    """The strategy stack for a build: cached unless forced, parallel when jobs > 1."""
    strategy: Strategy = Parallel(builder, jobs)
    return strategy if force else Cached(strategy, builder, previous)
