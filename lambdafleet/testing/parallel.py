"""pytest plugin: `python -m pytest` runs on several workers (pytest-xdist) when it is installed, and the tests that
share a costly fixture run on one worker, so the fixture is made once, not once per worker.

Registered by the repository's root conftest.py. Without pytest-xdist (or with `-p no:xdist`) nothing changes.

- Workers: when the command line names none, `-n auto` with at most `MAX_WORKERS` (the CPU count; a single-CPU
  machine runs in-process). `-n 0` runs in this process; `--pdb` too (xdist's rule for `auto`).
- Scheduling: `--dist loadgroup`. A test joins a group, and each group runs on one worker:
  - the fixture's name, for a fixture named in the `one_worker_fixtures` ini list (a session fixture too costly to
    make twice, such as the applied Terraform stack);
  - its module, when it uses a module- or class-scoped fixture (set up once, not on every worker);
  - no group otherwise: it goes to whichever worker is free.
- Order: the groups of `one_worker_fixtures`, then the tests marked with one of the `slow_markers` ini list, then the
  rest, each in collection order, so the longest work starts first and the short tests fill the gaps.
"""

import os

import pytest

MAX_WORKERS = 4  # each worker starts its own session fixtures (the endpoint): more costs more than it saves


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("one_worker_fixtures", "fixtures whose tests all run on one pytest-xdist worker", type="linelist")
    parser.addini("slow_markers", "markers of slow tests, scheduled first on pytest-xdist workers", type="linelist")


def _distributing(config: pytest.Config) -> bool:
    return bool(config.pluginmanager.hasplugin("xdist") and config.getoption("dist", "no") == "loadgroup")


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Default to `-n auto --dist loadgroup` (before xdist reads its options), unless told otherwise."""
    if not config.pluginmanager.hasplugin("xdist") or hasattr(config, "workerinput"):
        return  # no xdist, or this is a worker
    if config.getoption("numprocesses", None) is not None or config.getoption("collectonly"):
        return  # the command line chose (`-n 0` runs in-process)
    if (os.cpu_count() or 1) < 2:
        return
    config.option.numprocesses = "auto"
    if config.getoption("dist") == "no":
        config.option.dist = "loadgroup"
        config.option.loadscopereorder = False  # keep the order set below: the slow work first


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: the CPU count, at most MAX_WORKERS, unless PYTEST_XDIST_AUTO_NUM_WORKERS says otherwise."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own reading of it
    return min(os.cpu_count() or 1, MAX_WORKERS)


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group and order the tests for loadgroup scheduling (see the module's docstring); in-process, nothing."""
    if not _distributing(config):
        return
    one_worker: list[str] = config.getini("one_worker_fixtures")
    slow: list[str] = config.getini("slow_markers")
    groups = {item.nodeid: _group(item, one_worker) for item in items}
    for item in items:
        group = groups[item.nodeid]
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))

    def rank(item: pytest.Item) -> int:
        if groups[item.nodeid] in one_worker:
            return 0
        return 1 if any(item.get_closest_marker(name) for name in slow) else 2

    items.sort(key=rank)
