#!/usr/bin/env python3
"""Build benchmark: 5 functions (two without deps, pillow, numpy, aws-lambda-powertools), python3.12 x86_64.

Prints: cold build (empty dependency cache), warm no-op build, handler-only edit of the numpy function,
and the numpy zip against shipping a plain `pip install --target` of the same lock. When `sam` is on
PATH it also times `sam build` of the same functions in the same run.

    python benchmarks/build_bench.py [--runs 5]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FUNCTIONS = {
    "hello": None,
    "echo2": None,
    "thumbs": "pillow",
    "numeric": "numpy",
    "powertools": "aws-lambda-powertools",
}
HANDLER = "def lambda_handler(event, context):\n    return {version}\n"


def _run(command: list[str], cwd: Path, env_cache: Path) -> float:
    start = time.perf_counter()
    env = {**os.environ, "LAMBDAFLEET_CACHE_DIR": str(env_cache)}
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, env=env)
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


def _plain_install_zip(root: Path, work: Path) -> tuple[int, int]:
    """Zip size and unzipped size of shipping everything pip installs (no trimming)."""
    target = work / "plain"
    lock = root / "functions" / "numeric" / "requirements.txt"
    platform_args = ["--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64"]
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--target", str(target), "--no-deps", "--only-binary=:all:",
         "--python-version", "3.12", "--implementation", "cp", "--abi", "cp312", *platform_args,
         "--require-hashes", "-r", str(lock)],
        check=True, capture_output=True,
    )  # fmt: skip
    archive = Path(shutil.make_archive(str(work / "plain"), "zip", target))
    with zipfile.ZipFile(archive) as z:
        return archive.stat().st_size, sum(i.file_size for i in z.infolist())


def _median(command: list[str], cwd: Path, cache: Path, runs: int, before=lambda i: None) -> float:
    times = []
    for i in range(runs):
        before(i)
        times.append(_run(command, cwd, cache))
    return statistics.median(times)


def _sam_build(root: Path) -> float | None:
    if not shutil.which("sam"):
        return None
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
    shutil.rmtree(root / ".aws-sam", ignore_errors=True)
    start = time.perf_counter()
    subprocess.run(["sam", "build", "--parallel"], cwd=root, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        root, cache = work / "repo", work / "cache"
        root.mkdir()
        _setup(root)
        build = [sys.executable, "build.py", "all", "--quiet"]
        sam_first = _sam_build(root)  # sam and we both start with pip's HTTP cache as the lock step left it
        cold = _run(build, root, cache)
        noop = _median(build, root, cache, args.runs)
        handler = root / "functions" / "numeric" / "lambda_function.py"
        edit = _median(
            build, root, cache, args.runs, before=lambda i: handler.write_text(HANDLER.format(version=i + 1))
        )
        ours = root / "build" / "numeric.zip"
        ours_zip = ours.stat().st_size
        with zipfile.ZipFile(ours) as z:
            ours_unzipped = sum(i.file_size for i in z.infolist())
        plain_zip, plain_unzipped = _plain_install_zip(root, work)
        sam_again = _sam_build(root)
        shutil.rmtree(cache)
        cold = min(cold, _run([*build, "--force"], root, cache))
        sam = None if sam_first is None else min(sam_first, sam_again)

    print(f"functions: {', '.join(FUNCTIONS)} (python3.12 x86_64)")
    print(f"cold build (empty dependency cache), best of 2: {cold:.2f} s")
    print(f"warm no-op build, median of {args.runs}: {noop:.3f} s   (goal <= 0.15 s)")
    print(f"handler-only edit of numpy function, median of {args.runs}: {edit:.3f} s   (goal <= 0.3 s)")
    print(
        f"numpy zip: {ours_zip / 1e6:.1f} MB zipped, {ours_unzipped / 1e6:.1f} MB unzipped; "
        f"shipping everything: {plain_zip / 1e6:.1f} MB zipped, {plain_unzipped / 1e6:.1f} MB unzipped"
    )
    if sam is None:
        print("sam build: not measured (no `sam` on PATH; pip install aws-sam-cli to compare)")
    else:
        print(f"sam build --parallel (no .aws-sam), best of 2: {sam:.2f} s   ours: {cold:.2f} s (ours also zips)")


if __name__ == "__main__":
    main()
