#!/usr/bin/env python3
"""Build benchmark: 5 functions (two without deps, pillow, numpy, aws-lambda-powertools), python3.12 x86_64.

Prints, each beside what it is compared with in the same run: the cold build (empty dependency cache) against
`sam build` and `sam build --parallel` without `.aws-sam` (goal: <= 0.5x `sam build` cold); the warm no-op build
and a handler-only edit of the numpy function against `sam build --cached --parallel`; and the numpy zip against
shipping a plain `pip install --target` of the same lock (without .pyc files, which pip would compile: Lambda's
python writes none into a read-only /var/task). The `sam` rows need `sam` on PATH (`--sam PATH` names one, e.g.
from a throw-away venv: `python3.12 -m venv /tmp/sam && /tmp/sam/bin/pip install aws-sam-cli`) and `python3.12`
on PATH (SAM's builder installs with it); without them those rows say so and the rest still runs. Runs alternate
between ours and SAM's, so machine load hits both alike; the figure is the median.

    python benchmarks/build_bench.py [--runs 3] [--sam PATH]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from _stats import median, ratio

REPO = Path(__file__).resolve().parent.parent
FUNCTIONS = {
    "hello": None,
    "echo2": None,
    "thumbs": "pillow",
    "numeric": "numpy",
    "powertools": "aws-lambda-powertools",
}
HANDLER = "def lambda_handler(event, context):\n    return {version}\n"
COLD_GOAL = 0.5


def _timed(command: list[str], cwd: Path, environment: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, env=environment)
    return time.perf_counter() - start


def _setup(root: Path) -> None:
    shutil.copy2(REPO / "build.py", root / "build.py")
    shutil.copytree(REPO / "lambdafleet", root / "lambdafleet", ignore=shutil.ignore_patterns("__pycache__"))
    for name, requirement in FUNCTIONS.items():
        folder = root / "functions" / name
        folder.mkdir(parents=True)
        (folder / "lambda_function.py").write_text(HANDLER.format(version=0))
        if requirement:
            (folder / "requirements.in").write_text(requirement + "\n")
    subprocess.run([sys.executable, "build.py", "lock"], cwd=root, check=True, capture_output=True)
    lines = ["AWSTemplateFormatVersion: '2010-09-09'", "Transform: AWS::Serverless-2016-10-31", "Resources:"]
    for name in FUNCTIONS:
        lines += [
            f"  {name.capitalize()}:",
            "    Type: AWS::Serverless::Function",
            "    Properties:",
            f"      CodeUri: functions/{name}",
            "      Handler: lambda_function.lambda_handler",
            "      Runtime: python3.12",
            "      Architectures: [x86_64]",
        ]
    (root / "template.yaml").write_text("\n".join(lines) + "\n")


def _plain_install_zip(root: Path, work: Path) -> tuple[int, int]:
    """Zip size and unzipped size of shipping everything pip installs (no trimming), without .pyc files."""
    target = work / "plain"
    lock = root / "functions" / "numeric" / "requirements.txt"
    platform_args = ["--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64"]
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-compile", "--target", str(target), "--no-deps",
         "--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp", "--abi", "cp312",
         *platform_args, "--require-hashes", "-r", str(lock)],
        check=True, capture_output=True,
    )  # fmt: skip
    for compiled in [*target.rglob("*.pyc"), *target.rglob("__pycache__")]:
        shutil.rmtree(compiled) if compiled.is_dir() else compiled.unlink(missing_ok=True)
    archive = Path(shutil.make_archive(str(work / "plain"), "zip", target))
    with zipfile.ZipFile(archive) as z:
        return archive.stat().st_size, sum(i.file_size for i in z.infolist())


def _sam(explicit: str | None) -> str | None:
    """The `sam` to compare with, or None when it cannot run here (no sam, or no python3.12 for its builder)."""
    sam = explicit or shutil.which("sam")
    return sam if sam and shutil.which("python3.12") else None


def _interleaved(runs: int, sides: dict[str, Callable[[int], float]]) -> dict[str, float]:
    """The median of `runs` timings of each side, the sides alternating run by run."""
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for index in range(runs):
        for name, side in sides.items():
            samples[name].append(side(index))
    return {name: median(values) for name, values in samples.items()}


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sam", help="the sam executable (default: `sam` on PATH)")
    args = parser.parse_args()
    sam = _sam(args.sam)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        root, cache = work / "repo", work / "cache"
        root.mkdir()
        _setup(root)
        ours_env = {**os.environ, "LAMBDAFLEET_CACHE_DIR": str(cache)}
        build = [sys.executable, "build.py", "all", "--quiet"]

        def ours_cold(_: int) -> float:
            shutil.rmtree(cache, ignore_errors=True)
            return _timed([*build, "--force"], root, ours_env)

        def sam_cold(options: list[str]) -> Callable[[int], float]:
            def run(_: int) -> float:
                assert sam is not None
                shutil.rmtree(root / ".aws-sam", ignore_errors=True)
                return _timed([sam, "build", *options], root)

            return run

        cold_sides: dict[str, Callable[[int], float]] = {"ours": ours_cold}
        if sam:
            cold_sides |= {"sam build": sam_cold([]), "sam build --parallel": sam_cold(["--parallel"])}
        cold = _interleaved(args.runs, cold_sides)

        handler = root / "functions" / "numeric" / "lambda_function.py"
        cached = [sam or "sam", "build", "--cached", "--parallel"]
        noop_sides: dict[str, Callable[[int], float]] = {"ours": lambda _: _timed(build, root, ours_env)}
        if sam:
            _timed(cached, root)  # the cache SAM's no-op reuses
            noop_sides["sam"] = lambda _: _timed(cached, root)
        noop = _interleaved(args.runs, noop_sides)

        def edit_then(command: list[str], environment: dict[str, str] | None) -> Callable[[int], float]:
            def run(index: int) -> float:
                handler.write_text(HANDLER.format(version=time.time_ns() + index))
                return _timed(command, root, environment)

            return run

        edit_sides = {"ours": edit_then(build, ours_env)}
        if sam:
            edit_sides["sam"] = edit_then(cached, None)
        edit = _interleaved(args.runs, edit_sides)

        ours = root / "build" / "numeric.zip"
        with zipfile.ZipFile(ours) as z:
            ours_unzipped = sum(i.file_size for i in z.infolist())
        ours_zip = ours.stat().st_size
        plain_zip, plain_unzipped = _plain_install_zip(root, work)

    print(f"functions: {', '.join(FUNCTIONS)} (python3.12 x86_64); medians of {args.runs} interleaved runs")
    line = f"cold build (empty dependency cache): {cold['ours']:.2f} s"
    if sam:
        line += (
            f"; sam build {cold['sam build']:.2f} s ({ratio(cold['ours'], cold['sam build'])}, goal <= {COLD_GOAL}x)"
            f"; sam build --parallel {cold['sam build --parallel']:.2f} s"
            f" ({ratio(cold['ours'], cold['sam build --parallel'])}); ours also zips"
        )
    print(line)
    for label, figures in (("warm no-op build", noop), ("handler-only edit of numpy function", edit)):
        line = f"{label}: {figures['ours']:.3f} s"
        if sam:
            line += f"; sam build --cached --parallel {figures['sam']:.3f} s ({ratio(figures['ours'], figures['sam'])})"
        print(line)
    print(
        f"numpy zip: {ours_zip / 1e6:.1f} MB zipped, {ours_unzipped / 1e6:.1f} MB unzipped; shipping everything "
        f"(no .pyc): {plain_zip / 1e6:.1f} MB zipped ({ratio(ours_zip, plain_zip)}), {plain_unzipped / 1e6:.1f} MB "
        f"unzipped ({ratio(ours_unzipped, plain_unzipped)})"
    )
    if not sam:
        print("sam: not measured (needs `sam` on PATH or --sam, and python3.12 on PATH)")


if __name__ == "__main__":
    main()
