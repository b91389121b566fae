#!/usr/bin/env python3
"""Memory per warm function: 5 functions, each invoked once (warm), against a bare interpreter beside them.

    python benchmarks/memory_bench.py [--runtime python3.12] [--functions 5]

Counts every process the local runtime started (fork servers, their spare environments, every environment's
sandbox processes and runtime), read from /proc/PID/smaps_rollup: PSS (each shared page divided among its
sharers: what the machine spends, fair to forks), USS (pages no other process maps) and RSS (what `ps` shows:
summed over forks it counts every shared page once per process, so it overstates). Each is divided by the
number of functions; the runtime's own RSS is what Lambda's `Max Memory Used` reports. The floor is
`pythonX.Y -S` idling, measured in the same run. Goal (issue 18): <= 15 MB per warm function. Linux only.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _stats import median, ratio  # noqa: E402

from lambdafleet.build.paths import cache_root  # noqa: E402
from lambdafleet.runtime import FunctionPool, FunctionSpec  # noqa: E402
from lambdafleet.runtime.interpreter import find_interpreter  # noqa: E402

HANDLER = "import json\n\n\ndef lambda_handler(event, context):\n    return {'n': event.get('n')}\n"
GOAL_MB = 15.0
_MB = 1_000_000


def _rollup(pid: int) -> tuple[int, int, int]:
    """(RSS, PSS, USS) of `pid` in bytes; zeros when it is gone."""
    figures = {"Rss:": 0, "Pss:": 0, "Private_Clean:": 0, "Private_Dirty:": 0}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as stream:
            for line in stream:
                fields = line.split()
                if fields and fields[0] in figures:
                    figures[fields[0]] = int(fields[1]) * 1024
    except OSError:
        pass
    return figures["Rss:"], figures["Pss:"], figures["Private_Clean:"] + figures["Private_Dirty:"]


def _parent_name(pid: int) -> str:
    """The command name of `pid`'s parent: an environment's runtime is the child of its init, `lf-init`."""
    try:
        parent = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1]
        return Path(f"/proc/{parent}/comm").read_text().strip()
    except (OSError, IndexError):
        return ""


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rpartition(")")[2].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], list(children.get(root, []))
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(children.get(pid, []))
    return found


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", default="python3.12")
    parser.add_argument("--functions", type=int, default=5)
    args = parser.parse_args()
    python = find_interpreter(args.runtime, "x86_64", source="benchmark").path
    with tempfile.TemporaryDirectory() as scratch:
        pools = []
        try:
            for index in range(args.functions):
                zip_path = Path(scratch) / f"f{index}.zip"
                with zipfile.ZipFile(zip_path, "w") as archive:
                    archive.writestr("lambda_function.py", HANDLER)
                spec = FunctionSpec(name=f"mem{index}", runtime=args.runtime)
                pools.append(FunctionPool(spec, zip_path, cache_dir=cache_root(ROOT)))
            for pool in pools:
                pool.wait_ready()
            for pool in pools:
                pool.invoke({"n": 1})  # the environment is forked, then warm
                pool.invoke({"n": 2})
            bare = subprocess.Popen([str(python), "-S", "-c", "import time; time.sleep(60)"])
            time.sleep(1.0)  # let spares be forked and every process settle
            processes = [pid for pid in _descendants(os.getpid()) if pid != bare.pid]
            rss, pss, uss = (sum(figures) for figures in zip(*map(_rollup, processes), strict=True))
            runtimes = [_rollup(pid)[0] for pid in processes if _parent_name(pid) == "lf-init"]
            bare_rss, bare_pss, _ = _rollup(bare.pid)
            bare.kill()
            bare.wait()
        finally:
            for pool in pools:
                pool.close()
    count = args.functions
    print(f"{count} warm functions ({args.runtime}), {len(processes)} runtime processes in all")
    print(
        f"per warm function: PSS {pss / count / _MB:.1f} MB (goal <= {GOAL_MB:.0f} MB; {ratio(pss / count, bare_rss)}"
        f" a lone interpreter's RSS), USS {uss / count / _MB:.1f} MB, RSS summed {rss / count / _MB:.1f} MB "
        f"({ratio(rss / count, bare_rss)}; counts shared pages once per process)"
    )
    print(f"a warm runtime's own RSS (Max Memory Used): median {median(runtimes) / _MB:.1f} MB")
    print(
        f"floor, bare `{python.name} -S` idling: RSS {bare_rss / _MB:.1f} MB (PSS {bare_pss / _MB:.1f} MB: it shares "
        "the interpreter's pages with the runtime's processes)"
    )
    print(f"all runtime processes: RSS {rss / _MB:.1f} MB, PSS {pss / _MB:.1f} MB")


if __name__ == "__main__":
    main()
