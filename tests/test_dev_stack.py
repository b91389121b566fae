"""lambdafleet.dev.stack: how local runs hand the provider its endpoint (the applied stack itself is tested through
the session's `local_stack`, which is applied this way)."""

import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from lambdafleet.dev.stack import PARALLELISM, Terraform, endpoint_environment, local_variables
from lambdafleet.testing.processes import descendants, describe, survivors

ROOT = Path(__file__).resolve().parents[1]
URL = "http://127.0.0.1:4599"


def _terraform(tmp_path: Path) -> Terraform:
    return Terraform(workdir=tmp_path, data_dir=tmp_path / "tf-data", state_path=tmp_path / "state", binary="true")


def test_local_runs_give_the_endpoint_in_aws_endpoint_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A service-specific variable would win over AWS_ENDPOINT_URL and send that service elsewhere.
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2")
    variables = local_variables(URL, tmp_path / "manifest.json")
    assert variables["endpoint_from_environment"] == "true"

    environment = _terraform(tmp_path).environment(endpoint_environment(variables))

    assert environment["AWS_ENDPOINT_URL"] == URL
    assert not [name for name in environment if name.startswith("AWS_ENDPOINT_URL_")]
    assert "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" not in environment
    assert environment["TF_DATA_DIR"] == str(tmp_path / "tf-data")


def test_variables_without_the_flag_keep_the_endpoints_block(tmp_path: Path) -> None:
    assert endpoint_environment({"endpoint_url": URL}) == {}
    assert endpoint_environment({"endpoint_url": URL, "endpoint_from_environment": "false"}) == {}


def test_parallelism_covers_the_example_functions() -> None:
    # Every function's create is followed by the provider's fixed 5 s wait, while each queue and DLQ create (and the
    # redrive policy after them) holds its slot ~25 s: all of them must fit in one round.
    functions = ROOT / "functions"
    names = [path for path in functions.iterdir() if (path / "function.toml").is_file()]
    queues = tomllib.loads((functions / "resources.toml").read_text()).get("queues", {})
    assert len(names) + 2 * len(queues) <= PARALLELISM


# `build.py up` killed with SIGKILL during an apply: terraform stands for itself here (a script that waits).
KILLED_DURING_APPLY = """
import sys
from pathlib import Path
from lambdafleet.dev.stack import Terraform
folder = Path(sys.argv[1])
Terraform(workdir=folder, data_dir=folder / "tf-data", state_path=folder / "state", binary=sys.argv[2]).run("apply")
"""


def test_terraform_dies_with_the_process_that_runs_it(tmp_path: Path) -> None:
    binary = tmp_path / "terraform"
    binary.write_text("#!/bin/sh\necho started\nexec sleep 60\n")
    binary.chmod(0o755)
    runner = subprocess.Popen([sys.executable, "-c", KILLED_DURING_APPLY, str(tmp_path), str(binary)], cwd=ROOT)
    deadline = time.monotonic() + 20
    while not (below := descendants(runner.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert below, "terraform never started"
    os.kill(runner.pid, signal.SIGKILL)
    runner.wait()
    left = survivors(below, timeout=5)
    assert not left, describe(left)
