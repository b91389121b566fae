#!/usr/bin/env python3
"""Soak test of the local runtime's timeouts under CPU contention (issue 11, defect 1).

    python benchmarks/soak_timeouts.py [--invocations 10000] [--burners 2] [--threads 2] [--timeout 3]

Runs a no-op handler's warm environments through `--invocations` calls while `--burners` CPU-bound processes
spin beside them, and prints how many calls timed out (goal: 0; a no-op never runs for seconds) and how many
failed otherwise, with the longest REPORT Duration seen. Exit status 1 when any call timed out or failed.
"""

import argparse
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lambdafleet.build.paths import cache_root  # noqa: E402
from lambdafleet.runtime import FunctionPool, FunctionSpec  # noqa: E402

HANDLER = "def lambda_handler(event, context):\n    return None\n"
BURNER = "while True:\n    pass\n"


def soak(pool: FunctionPool, invocations: int, threads: int) -> tuple[Counter[str], float]:
    """Invoke `invocations` times from `threads` threads; the count of each status and the longest duration."""
    statuses: Counter[str] = Counter()
    longest = [0.0]
    mutex = threading.Lock()
    share = [invocations // threads + (1 if index < invocations % threads else 0) for index in range(threads)]

    def run(count: int) -> None:
        for _ in range(count):
            result = pool.invoke({})
            with mutex:
                statuses[result.status] += 1
                longest[0] = max(longest[0], result.duration_ms)

    workers = [threading.Thread(target=run, args=(count,)) for count in share]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return statuses, longest[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=10_000)
    parser.add_argument("--burners", type=int, default=2, help="CPU-bound processes running beside the calls")
    parser.add_argument("--threads", type=int, default=2, help="callers invoking at once")
    parser.add_argument("--timeout", type=float, default=3.0, help="the function's timeout in seconds")
    parser.add_argument("--runtime", default="python3.12")
    args = parser.parse_args()
    spec = FunctionSpec(name="soak", runtime=args.runtime, timeout=args.timeout)
    burners = [subprocess.Popen([sys.executable, "-c", BURNER]) for _ in range(args.burners)]
    try:
        with tempfile.TemporaryDirectory() as folder:
            zip_path = Path(folder) / "soak.zip"
            with zipfile.ZipFile(zip_path, "w") as archive:
                archive.writestr("lambda_function.py", HANDLER)
            with FunctionPool(spec, zip_path, cache_dir=cache_root(ROOT), max_environments=args.threads) as pool:
                for _ in range(args.threads):
                    pool.invoke({})  # cold starts are not part of the soak
                start = time.perf_counter()
                statuses, longest = soak(pool, args.invocations, args.threads)
                elapsed = time.perf_counter() - start
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    failed = sum(count for status, count in statuses.items() if status not in ("success", "timeout"))
    print(
        f"{args.invocations} warm invocations, {args.threads} callers, {args.burners} CPU-bound processes beside: "
        f"timeouts {statuses['timeout']}, other failures {failed}, longest Duration {longest:.2f} ms, "
        f"{elapsed:.1f} s"
    )
    return 1 if statuses["timeout"] or failed else 0


if __name__ == "__main__":
    sys.exit(main())
