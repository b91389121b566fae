#!/usr/bin/env python3
"""Layer benchmark: 10 functions that all need numpy, with numpy in each zip against numpy in one shared layer.

Prints, for each layout measured in the same run: the cold build time (empty dependency cache) and the fleet's
upload bytes (every zip Terraform uploads: the functions' and the layer's), then the layer's ratios.

    python benchmarks/layer_bench.py
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NUMPY_LOCK = REPO / "tests" / "fixtures" / "numpy-python3.12-x86_64.txt"
FUNCTIONS = 10
HANDLER = "import numpy\n\n\ndef lambda_handler(event, context):\n    return float(numpy.float64({n}))\n"


def _workspace(root: Path, layered: bool) -> None:
    shutil.copy2(REPO / "build.py", root / "build.py")
    shutil.copytree(REPO / "lambdafleet", root / "lambdafleet", ignore=shutil.ignore_patterns("__pycache__"))
    if layered:
        layer = root / "layers" / "numpy"
        layer.mkdir(parents=True)
        shutil.copy(NUMPY_LOCK, layer / "requirements.txt")
    for n in range(FUNCTIONS):
        folder = root / "functions" / f"f{n}"
        folder.mkdir(parents=True)
        (folder / "lambda_function.py").write_text(HANDLER.format(n=n))
        if layered:
            (folder / "function.toml").write_text('layers = ["numpy"]\n')
        else:
            shutil.copy(NUMPY_LOCK, folder / "requirements.txt")


def _measure(layered: bool, scratch: Path) -> tuple[float, int]:
    root = scratch / ("layered" if layered else "per-zip")
    root.mkdir()
    _workspace(root, layered)
    env = {**os.environ, "LAMBDAFLEET_CACHE_DIR": str(scratch / f"cache-{root.name}")}
    start = time.perf_counter()
    subprocess.run([sys.executable, "build.py", "all", "--quiet"], cwd=root, env=env, check=True)
    seconds = time.perf_counter() - start
    upload = sum(path.stat().st_size for path in (root / "build").rglob("*.zip"))
    return seconds, upload


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        per_zip_s, per_zip_bytes = _measure(False, Path(scratch))
        layered_s, layered_bytes = _measure(True, Path(scratch))
    mb = 1024 * 1024
    print(f"{FUNCTIONS} functions with numpy, python3.12 x86_64, cold builds (empty dependency cache):")
    print(f"numpy in each zip:      build {per_zip_s:6.2f} s   upload {per_zip_bytes / mb:7.1f} MB")
    print(f"numpy in one layer:     build {layered_s:6.2f} s   upload {layered_bytes / mb:7.1f} MB")
    print(f"layer/each-zip ratios:  build {layered_s / per_zip_s:.2f}x   upload {layered_bytes / per_zip_bytes:.3f}x")


if __name__ == "__main__":
    main()
