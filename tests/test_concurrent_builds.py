"""Concurrent `build.py NAME` runs of different functions leave a manifest that matches build/."""

import hashlib
import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.stack  # slow end to end: 24 build.py processes, six at a time

FUNCTIONS = [f"fn{i}" for i in range(6)]


def test_concurrent_builds_of_different_functions_keep_every_entry(workspace):
    for name in FUNCTIONS:
        workspace.add_function(name)
    env = {**os.environ, "LAMBDAFLEET_CACHE_DIR": str(workspace.cache_dir)}
    for round_number in range(4):
        for name in FUNCTIONS:
            handler = workspace.root / "functions" / name / "lambda_function.py"
            handler.write_text(f"def lambda_handler(event, context):\n    return {round_number}\n")
        processes = [
            subprocess.Popen(
                [sys.executable, "build.py", name, "--quiet"],
                cwd=workspace.root,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for name in FUNCTIONS
        ]
        for process in processes:
            _, err = process.communicate(timeout=120)
            assert process.returncode == 0, err.decode()
        manifest = json.loads((workspace.root / "build" / "manifest.json").read_text())
        assert sorted(manifest["functions"]) == FUNCTIONS
        for name, entry in manifest["functions"].items():
            on_disk = hashlib.sha256((workspace.root / "build" / entry["zip"]).read_bytes()).hexdigest()
            assert entry["sha256"] == on_disk, f"round {round_number}: {name}'s entry does not match its zip"
