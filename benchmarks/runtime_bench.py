#!/usr/bin/env python3
"""Local Lambda runtime figures: warm-invocation overhead and cold start, against plain Python.

    python benchmarks/runtime_bench.py [--runtime python3.12] [--warm 300] [--cold 20]

Goals (issue 4): warm overhead over an in-process handler call <= 2 ms (median), and a cold start of a
no-dependency function <= 1.5x `pythonX.Y -c "import lambda_function"` measured in the same run.
"""

import argparse
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _stats import median  # noqa: E402

from lambdafleet.build.paths import cache_root  # noqa: E402
from lambdafleet.runtime import FunctionPool, FunctionSpec  # noqa: E402
from lambdafleet.runtime.interpreter import find_interpreter  # noqa: E402

HANDLER = "def lambda_handler(event, context):\n    return event\n"


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def in_process_ms(runs: int) -> float:
    """Median cost of calling the same trivial handler directly."""
    namespace: dict = {}
    exec(HANDLER, namespace)
    handler, samples = namespace["lambda_handler"], []
    for _ in range(runs):
        start = time.perf_counter()
        handler({"n": 1}, None)
        samples.append(_ms(start))
    return median(samples)


def warm_ms(spec: FunctionSpec, zip_path: Path, runs: int) -> float:
    """Median wall time of a warm invocation through the pool, as a caller sees it."""
    with FunctionPool(spec, zip_path, cache_dir=cache_root(ROOT)) as pool:
        pool.invoke({"n": 0})
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            pool.invoke({"n": 1})
            samples.append(_ms(start))
    return median(samples)


def cold_vs_import(spec: FunctionSpec, zip_path: Path, unpacked: Path, runs: int) -> dict[str, float]:
    """Medians of cold invocations (forked, and new interpreter) against a bare import."""
    python = str(find_interpreter(spec.runtime, spec.architecture, source="benchmark").path)
    samples: dict[str, list[float]] = {"fork": [], "init": [], "spawn": [], "bare": []}
    with (
        FunctionPool(spec, zip_path, cache_dir=cache_root(ROOT), fork_server=True) as forking,
        FunctionPool(spec, zip_path, cache_dir=cache_root(ROOT), fork_server=False) as spawning,
    ):
        forking.wait_ready()
        for _ in range(runs):  # interleaved, so machine load hits every side alike
            for name, pool in (("fork", forking), ("spawn", spawning)):
                pool.recycle()
                start = time.perf_counter()
                result = pool.invoke({"n": 1})
                samples[name].append(_ms(start))
            samples["init"].append(result.init_duration_ms or 0.0)
            start = time.perf_counter()
            subprocess.run([python, "-c", "import lambda_function"], cwd=unpacked, check=True)
            samples["bare"].append(_ms(start))
    return {name: median(values) for name, values in samples.items()}


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", default="python3.12")
    parser.add_argument("--warm", type=int, default=300, help="warm invocations")
    parser.add_argument("--cold", type=int, default=20, help="cold starts")
    args = parser.parse_args()
    spec = FunctionSpec(name="bench", runtime=args.runtime)
    with tempfile.TemporaryDirectory() as scratch:
        unpacked = Path(scratch)
        (unpacked / "lambda_function.py").write_text(HANDLER)
        zip_path = unpacked / "bench.zip"
        with zipfile.ZipFile(zip_path, "w") as archive:
            archive.write(unpacked / "lambda_function.py", "lambda_function.py")
        direct = in_process_ms(args.warm)
        warm = warm_ms(spec, zip_path, args.warm)
        cold = cold_vs_import(spec, zip_path, unpacked, args.cold)
    print(f"runtime {args.runtime}, {args.warm} warm runs, {args.cold} cold runs (medians)")
    print(f"in-process handler call      {direct:8.3f} ms")
    print(f"warm invocation              {warm:8.3f} ms")
    print(f"warm overhead                {warm - direct:8.3f} ms   (goal <= 2 ms)")
    print(f"cold start, forked env       {cold['fork']:8.3f} ms   (the default on Linux)")
    print(f"cold start, new interpreter  {cold['spawn']:8.3f} ms   (its Init Duration {cold['init']:.3f} ms)")
    print(f"python -c 'import ...'       {cold['bare']:8.3f} ms")
    print(f"forked / bare import         {cold['fork'] / cold['bare']:8.2f} x    (goal <= 1.5x)")
    print(f"new interpreter / bare       {cold['spawn'] / cold['bare']:8.2f} x")


if __name__ == "__main__":
    main()
