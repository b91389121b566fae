#!/usr/bin/env python3
"""The cost of watching a running invocation's memory with its child processes (issue: trust item of closing note 3).

    python benchmarks/memory_scan_bench.py [--seconds 2] [--samples 200]

Two figures, on whatever else this machine runs (the old scan read every process's /proc entry, so its cost grew
with the machine's process count, printed first):
- `scan ms`: one `EnvironmentProcesses.resident_mib()` of a real environment whose function has a child and a
  grandchild, median of `--samples` calls;
- `poll CPU ms per s`: CPU time of the thread running a `--seconds` invocation of that function (it polls the
  environment every 5 ms, with the function's children every 50 ms), per second the invocation ran.
Linux only.
"""

import argparse
import os
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _stats import median  # noqa: E402

from lambdafleet.build.paths import cache_root  # noqa: E402
from lambdafleet.runtime import FunctionPool, FunctionSpec  # noqa: E402

HANDLER = """
import subprocess, sys, time

def lambda_handler(event, context):
    grandchild = "import time; time.sleep(%s)" % event["sleep"]
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}])"
    child = subprocess.Popen([sys.executable, "-c", parent])
    time.sleep(event["sleep"])
    child.wait()
    return "ok"
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="how long each invocation runs (default 2)")
    parser.add_argument("--samples", type=int, default=200, help="scans timed (default 200)")
    args = parser.parse_args()
    print(f"processes on this machine: {sum(name.isdigit() for name in os.listdir('/proc'))}")
    with tempfile.TemporaryDirectory() as folder:
        zip_path = Path(folder, "function.zip")
        with zipfile.ZipFile(zip_path, "w") as archive:
            archive.writestr("lambda_function.py", HANDLER)
        with FunctionPool(FunctionSpec(name="scan", timeout=60), zip_path, cache_dir=cache_root(ROOT)) as pool:
            pool.invoke({"sleep": 0})  # cold start done
            scans: list[float] = []

            def scan() -> None:
                time.sleep(args.seconds / 4)  # the function's children exist by now
                environment = next(iter(pool._busy))
                processes = environment._processes
                assert processes is not None
                for _ in range(args.samples):
                    started = time.perf_counter()
                    processes.resident_mib()
                    scans.append((time.perf_counter() - started) * 1000)

            thread = threading.Thread(target=scan)
            thread.start()
            pool.invoke({"sleep": args.seconds})
            thread.join()
            started_cpu, started = time.thread_time(), time.monotonic()
            result = pool.invoke({"sleep": args.seconds})
            cpu_ms, wall_s = (time.thread_time() - started_cpu) * 1000, time.monotonic() - started
            assert result.response == "ok", result.error
    print(f"scan ms: {median(scans):.3f} (median of {len(scans)})")
    print(f"poll CPU ms per s: {cpu_ms / wall_s:.1f} ({cpu_ms:.0f} CPU-ms over a {wall_s:.2f} s invocation)")


if __name__ == "__main__":
    main()
