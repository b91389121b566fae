#!/usr/bin/env python3
"""Repeated `python build.py invoke NAME`, as a developer runs it while editing, against its floor.

    python benchmarks/invoke_bench.py [--runs 15] [--names echo predict] [--cold]

Each command runs once first (a build if stale, the zip and its layers unpacked into the cache, the warm server
started), then the commands take turns, `--runs` rounds of one run each, so that a burst of load on this shared
machine hits every row alike. Printed: each command's median wall time and median CPU time (user+sys of the
`build.py` process), beside the floor, `python3.11 -S -c "import json; json.dumps(...)"` (an interpreter start,
an import and a call) measured in the same rounds, and their ratios; then the warm server's own CPU time per
invoke (its build check, the `git ls-files` it runs, the hand-over; Linux only). Goals (issue 18): echo <= 0.15 s,
predict (numpy from its layer) <= 0.7 s. A repeated invoke is a warm start (docs/runtime.md); `--cold` adds rows
for `invoke --cold` (a new environment each time, its zip and layers already unpacked).

The package's bytecode is compiled first (`compileall`), as a developer's first run writes it: a shell with
PYTHONDONTWRITEBYTECODE set and no `__pycache__` would compile every imported module on every run instead.
"""

import argparse
import compileall
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
from lambdafleet.runtime.warm import server_key, socket_path  # noqa: E402

EVENTS = {"echo": '{"key1": "a", "key2": "b", "key3": "c"}', "predict": None}
PREDICT_EVENT = ROOT / "functions" / "predict" / "events" / "http-get-health.json"
GOALS = {"echo": 0.15, "predict": 0.7}


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of `command`; fails loudly on an error."""
    cpu_before, start = _children_cpu_s(), time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start, _children_cpu_s() - cpu_before


def server_cpu_s() -> float | None:
    """CPU seconds the warm server of these commands (same environment, working folder ROOT) and the processes it
    waited for (git) used so far; None when it cannot be found."""
    os.chdir(ROOT)  # the commands' working folder: part of the server's key
    path = socket_path(str(ROOT), server_key())
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if path and path.encode() in (proc / "cmdline").read_bytes():
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        except OSError:
            continue
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--names", nargs="+", default=["echo", "predict"])
    parser.add_argument("--cold", action="store_true", help="also measure `invoke --cold`")
    args = parser.parse_args()
    compileall.compile_dir(ROOT / "lambdafleet", quiet=1)
    python = find_interpreter("python3.11", lambda_architecture(os.uname().machine), source="benchmark").path
    commands = {"floor": [str(python), "-S", "-c", "import json; json.dumps({'key1': 'a'})"]}
    for name in args.names:
        event = ["--event", str(PREDICT_EVENT)] if name == "predict" else ["--payload", EVENTS.get(name) or "{}"]
        for extra in [[], ["--cold"]] if args.cold else [[]]:
            commands[" ".join([name, *extra])] = [sys.executable, "build.py", "invoke", name, *event, *extra]
    for command in commands.values():
        run_once(command)  # unmeasured: builds, unpacks, starts the warm server
    walls: dict[str, list[float]] = {label: [] for label in commands}
    cpus: dict[str, list[float]] = {label: [] for label in commands}
    loads, server_before = [os.getloadavg()[0]], server_cpu_s()
    for _ in range(args.runs):
        for label, command in commands.items():
            wall, cpu = run_once(command)
            walls[label].append(wall)
            cpus[label].append(cpu)
        loads.append(os.getloadavg()[0])
    server_after = server_cpu_s()
    floor_wall, floor_cpu = statistics.median(walls["floor"]), statistics.median(cpus["floor"])
    print(f"floor  python3.11 -S import + call   {floor_wall:6.3f} s wall  {floor_cpu:6.3f} s CPU")
    for label in list(commands)[1:]:
        wall, cpu = statistics.median(walls[label]), statistics.median(cpus[label])
        goal = GOALS.get(label)
        verdict = f"  (goal <= {goal} s: {'met' if wall <= goal else 'NOT met'})" if goal else ""
        print(
            f"build.py invoke {label:<16} {wall:6.3f} s wall  {cpu:6.3f} s CPU  "
            f"{wall / floor_wall:5.1f}x the floor's wall, {cpu / floor_cpu:5.1f}x its CPU{verdict}"
        )
    calls = args.runs * (len(commands) - 1)  # a --cold one only has its command line parsed there
    if server_before is not None and server_after is not None:
        per_call = (server_after - server_before) / calls
        print(f"warm server: {per_call * 1000:.1f} ms CPU per invoke (mean of {calls}: parse, check, git, hand-over)")
    print(
        f"(medians of {args.runs} interleaved rounds after one warm-up run each; "
        f"load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
