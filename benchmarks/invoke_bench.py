#!/usr/bin/env python3
"""Repeated `python build.py invoke NAME`, as a developer runs it while editing, against its floor.

    python benchmarks/invoke_bench.py [--runs 10] [--names echo predict] [--cold]

Each command runs once first (a build if stale, the zip and its layers unpacked into the cache), then `--runs`
times; the median wall time and the CPU time (user+sys of the child processes) per run are printed beside the
floor, `python3.11 -S -c "import json; json.dumps(...)"` (an interpreter start, an import and a call), measured
in the same run, and their ratio. Goals (issue 18): echo <= 0.15 s, predict (numpy from its layer) <= 0.7 s.
A repeated invoke is a warm start (docs/runtime.md); `--cold` adds rows for `invoke --cold` (a new environment
each time, its zip and layers already unpacked).
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lambdafleet.runtime.interpreter import find_interpreter, lambda_architecture  # noqa: E402

EVENTS = {"echo": '{"key1": "a", "key2": "b", "key3": "c"}', "predict": None}
PREDICT_EVENT = ROOT / "functions" / "predict" / "events" / "http-get-health.json"


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(command: list[str], runs: int) -> tuple[float, float]:
    """(median wall seconds, mean CPU seconds) of `command` after one unmeasured run; fails loudly on an error."""
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    walls, cpu_before = [], _children_cpu_s()
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
    return statistics.median(walls), (_children_cpu_s() - cpu_before) / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--names", nargs="+", default=["echo", "predict"])
    parser.add_argument("--cold", action="store_true", help="also measure `invoke --cold`")
    args = parser.parse_args()
    python = find_interpreter("python3.11", lambda_architecture(os.uname().machine), source="benchmark").path
    floor_command = [str(python), "-S", "-c", "import json; json.dumps({'key1': 'a'})"]
    rows = []
    for name in args.names:
        event = ["--event", str(PREDICT_EVENT)] if name == "predict" else ["--payload", EVENTS.get(name) or "{}"]
        for extra in [[], ["--cold"]] if args.cold else [[]]:
            command = [sys.executable, "build.py", "invoke", name, *event, *extra]
            rows.append((" ".join([name, *extra]), *measure(command, args.runs)))
    floor_wall, floor_cpu = measure(floor_command, args.runs)
    print(f"floor  python3.11 -S import + call   {floor_wall:6.3f} s wall  {floor_cpu:6.3f} s CPU")
    for name, wall, cpu in rows:
        print(
            f"build.py invoke {name:<16} {wall:6.3f} s wall  {cpu:6.3f} s CPU  "
            f"{wall / floor_wall:5.1f}x the floor's wall, {cpu / floor_cpu:5.1f}x its CPU"
        )
    print(f"(median of {args.runs} runs each after one warm-up, load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
