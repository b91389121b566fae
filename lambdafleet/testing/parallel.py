"""pytest plugin: `python -m pytest` runs on several workers (pytest-xdist) when it is installed, and the tests that
share a costly fixture run on one worker, so the fixture is made once, not once per worker.

Registered by the repository's root conftest.py. Without pytest-xdist (or with `-p no:xdist`) nothing changes.

- Workers: when the command line names none, `-n auto`: `WORKERS_PER_CPU` per CPU, at most `MAX_WORKERS` (a
  single-CPU machine runs in-process). `-n 0` runs in this process; `--pdb` too (xdist's rule for `auto`).
- `--dist loadgroup` whenever workers run and the command line names no `--dist` (`-n 2` alone included).
- Scheduling: `--dist loadgroup`. A test joins a group, and each group runs on one worker:
  - the fixture's name, for a fixture named in the `one_worker_fixtures` ini list (a session fixture too costly to
    make twice, such as the applied Terraform stack);
  - its module, when it uses a module- or class-scoped fixture (set up once, not on every worker);
  - no group otherwise: it goes to whichever worker is free.
- Order: the groups of `one_worker_fixtures`, then the tests marked with one of the `slow_markers` ini list, then the
  other groups (a module's tests), then the rest, each in collection order, so the longest work starts first and
  the short tests fill the gaps.
"""

import os
from typing import Any

import pytest

_LOADGROUP = "lambdafleet_loadgroup"
MAX_WORKERS = 4  # each worker starts its own session fixtures (the endpoint): more costs more than it saves
# Workers per CPU: a third of the suite's wall time is waiting (the AWS provider's fixed settling timers during the
# stack's apply and destroy, visibility timeouts, subprocesses), so one worker per CPU leaves cores idle. Measured on
# the 2-core machine, quiet, one commit (6f0ee78): 2 workers 285 s, 3 workers 232 s, 4 workers 204 s, 290-332 CPU-s.
WORKERS_PER_CPU = 2


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("one_worker_fixtures", "fixtures whose tests all run on one pytest-xdist worker", type="linelist")
    parser.addini("slow_markers", "markers of slow tests, scheduled first on pytest-xdist workers", type="linelist")


def _grouping(config: pytest.Config) -> bool:
    """Whether this is a pytest-xdist worker of a loadgroup run (only workers collect the tests)."""
    return bool(getattr(config.option, "loadgroup", False))


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Default to `-n auto --dist loadgroup` (before xdist reads its options), unless told otherwise."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:  # a worker parses the original command line: tell it what the controller chose
        config.option.loadgroup = config.option.loadgroup or workerinput.get(_LOADGROUP, False)
        return
    if not config.pluginmanager.hasplugin("xdist") or config.getoption("collectonly"):
        return
    if config.getoption("numprocesses", None) is None:  # else the command line chose (`-n 0` runs in-process)
        if (os.cpu_count() or 1) < 2:
            return
        config.option.numprocesses = "auto"
    if config.getoption("dist") == "no":  # `-n N` alone too: xdist's own default (load) would split the groups
        config.option.dist = "loadgroup"
        config.option.loadscopereorder = False  # keep the order set below: the slow work first


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Pass the controller's `--dist` to each worker (set here, it is not on the command line the worker parses)."""
    node.workerinput[_LOADGROUP] = node.config.getoption("dist") == "loadgroup"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: WORKERS_PER_CPU per CPU, at most MAX_WORKERS, unless PYTEST_XDIST_AUTO_NUM_WORKERS says
    otherwise. The same for `-m "not stack"`: its tests wait too (sleeping functions, retries, polling). Measured
    on the 2-core machine, quiet, one commit, a second run in the same checkout: 4 workers 60.2 s, 3 workers 63.5 s;
    a fresh clone's first run: 2 workers 73.6 s, 3 workers 67.0 s, 4 workers 69.7 s."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own reading of it
    return min(WORKERS_PER_CPU * (os.cpu_count() or 1), MAX_WORKERS)


def _module_scoped(item: pytest.Item) -> bool:
    """Whether the test uses a module- or class-scoped fixture."""
    definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    return any(d.scope in ("module", "class", "package") for defs in definitions.values() for d in defs)


def _group(item: pytest.Item, one_worker: list[str]) -> str | None:
    shared = [name for name in one_worker if name in getattr(item, "fixturenames", ())]
    if shared:
        return shared[0]
    if _module_scoped(item):
        return item.nodeid.split("::", 1)[0]
    return None


@pytest.hookimpl(tryfirst=True)  # before the xdist worker's own hook reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put the tests in groups for loadgroup scheduling (see the module's docstring); in-process, nothing."""
    if not _grouping(config):
        return
    one_worker: list[str] = config.getini("one_worker_fixtures")
    for item in items:
        group = _group(item, one_worker)
        if group is not None:
            _join(item, group)


def _join(item: pytest.Item, group: str) -> None:
    """Name the test `NODEID@GROUP`, the form xdist's loadgroup scheduler groups by.

    xdist 3.8's own `xdist_group` marker sets `item._nodeid`, which pytest 9.2 no longer reads (the id is `_id`),
    so its groups are silently lost; this sets whichever the running pytest has, and refuses to go on without one.
    """
    renamed = f"{item.nodeid}@{group}"
    if hasattr(item, "_id"):
        from _pytest.nodeid import coerce_node_id

        item._id = coerce_node_id(renamed)
    else:
        item._nodeid = renamed  # type: ignore[attr-defined]  # pytest < 9.2
    if item.nodeid != renamed:
        raise pytest.UsageError(f"cannot group {renamed} on one xdist worker with this pytest: run with -n 0")


@pytest.hookimpl(tryfirst=True)  # before the xdist worker sends its collection to the controller
def pytest_collection_finish(session: pytest.Session) -> None:
    """Order the tests (after every plugin has marked them): the groups of `one_worker_fixtures`, then the slow
    tests, then the other groups, then the others, each in collection order."""
    config = session.config
    if not _grouping(config):
        return
    one_worker: list[str] = config.getini("one_worker_fixtures")
    slow: list[str] = config.getini("slow_markers")

    def rank(item: pytest.Item) -> int:
        group = item.nodeid.rpartition("@")[2] if "@" in item.nodeid else None
        if group in one_worker:
            return 0
        if any(item.get_closest_marker(name) for name in slow):
            return 1
        return 2 if group else 3  # a module's group runs on one worker: start it before the single tests

    session.items.sort(key=rank)
