#!/usr/bin/env python3
"""Test-suite benchmark: the editing suite (`python -m pytest -m "not stack"`) and, with --full, the whole suite,
each on a fresh clone of this checkout's HEAD so nothing is warm but the dependency caches a clone shares.

Runs the editing suite twice by default: the first run of a fresh clone is cold (the package's bytecode, the
dependency zips and pytest's rewritten test modules are made then); the next is the editing loop. Prints, per run:
wall seconds, CPU seconds of pytest and every process it waited for (user + sys), the workers
pytest-xdist started, and the tests' outcome line. `--workers 2 3 4` runs the editing suite once per count (the
figures behind lambdafleet.testing.parallel's choice); the default is what `-n auto` picks.

    python benchmarks/suite_bench.py [--full] [--workers N ...] [--runs 2]

Goals (the README quotes the latest figures): the editing suite under a minute and the whole suite under four on
the 2-core machine, quiet.
"""

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def clone(into: Path) -> Path:
    """A fresh clone of HEAD (committed work only, as CI sees it)."""
    target = into / "repo"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(target)], check=True)
    return target


def run(root: Path, arguments: list[str]) -> str:
    """One pytest run in `root`; returns the figures as one line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *arguments],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    workers = re.search(r"created: (\d+)/\d+ workers", result.stdout)
    outcome = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-500:]
    if result.returncode != 0:
        print(result.stdout[-5000:], result.stderr[-2000:], sep="\n", file=sys.stderr)
    shown = " ".join(arguments) or "(whole suite)"
    count = workers.group(1) if workers else "in-process"
    return f"{shown:<28} workers {count:<10} wall {wall:6.1f} s   CPU {cpu:6.1f} s   {outcome}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="also run the whole suite (what CI runs)")
    parser.add_argument("--workers", type=int, nargs="*", default=[], help="worker counts to compare")
    parser.add_argument("--runs", type=int, default=2, help="editing-suite runs per count (the first is cold)")
    options = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, HEAD of {REPO}")
    with tempfile.TemporaryDirectory() as temporary:
        root = clone(Path(temporary))
        for workers in options.workers or [None]:
            chosen = ["-n", str(workers)] if workers is not None else []
            for number in range(options.runs):
                label = "cold" if number == 0 else "warm"
                print(label, run(root, ["-m", "not stack", *chosen]), flush=True)
        if options.full:
            print(run(root, []), flush=True)
    print(f"load {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
