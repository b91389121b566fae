#!/usr/bin/env python3
"""Edit-to-live benchmark of `python build.py up`: how long after a handler is saved the deployed function runs it.

Copies the repository's build and infra inputs to a temporary folder, runs `build.py up --port <free>` there, waits
until it watches, then rewrites functions/math/lambda_function.py N times and invokes lambdafleet-math on the endpoint
until it answers with the new code. Prints each figure and the median, then stops `up` with Ctrl-C (SIGINT) and
checks that it exits 0 and leaves no process behind.

    python benchmarks/edit_to_live_bench.py [--runs 5] [--plugin-dir /opt/tf-plugins]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from _stats import median  # noqa: E402

from lambdafleet.testing.endpoint import free_port  # noqa: E402
from lambdafleet.testing.repository import copy_repository  # noqa: E402

HANDLER = Path("functions") / "math" / "lambda_function.py"
SQUARE = '"square": lambda n: n * n,'


def wait_for_line(log: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"`build.py up` never printed {text!r}:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def edit_to_live(root: Path, port: int, run: int, original: str) -> float:
    """Seconds from the save to the first invocation answering with the new code."""
    import boto3

    client = boto3.client(
        "lambda",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    handler = root / HANDLER
    marker = f"edit-{run}-{time.time_ns()}"
    saved = time.monotonic()
    handler.write_text(original.replace(SQUARE, f'"square": lambda n: {marker!r},'))
    payload = b'{"action": "square", "number": 3}'
    while time.monotonic() - saved < 120:
        answer = json.loads(client.invoke(FunctionName="lambdafleet-math", Payload=payload)["Payload"].read())
        if answer == marker:
            return time.monotonic() - saved
        time.sleep(0.01)
    raise SystemExit(f"run {run}: the edit was not live after 120 s")


def leftovers(root: Path) -> list[str]:
    """Processes still running from the copy (runtime environments, terraform)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = status.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(root) in command:
            found.append(command)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--plugin-dir", help="offline provider mirror for terraform init")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="edit-to-live-") as folder:
        root = Path(folder) / "repo"
        root.mkdir()
        copy_repository(root)
        port = free_port()
        command = [sys.executable, "build.py", "up", "--port", str(port)]
        if args.plugin_dir:
            command += ["--plugin-dir", args.plugin_dir]
        log = Path(folder) / "up.log"
        started = time.monotonic()
        with log.open("wb") as sink:
            # The checkout's dependency cache (keyed on lock + target): the copy builds without installing anything.
            cache = os.environ.get("LAMBDAFLEET_CACHE_DIR") or str(REPO / ".cache" / "lambdafleet")
            environment = {**os.environ, "LAMBDAFLEET_CACHE_DIR": cache}
            process = subprocess.Popen(command, cwd=root, env=environment, stdout=sink, stderr=subprocess.STDOUT)
        try:
            wait_for_line(log, "watching functions/", process, timeout=900)
            print(f"up: stack running after {time.monotonic() - started:.1f} s", flush=True)
            figures = []
            original = (root / HANDLER).read_text()
            for run in range(args.runs):
                figures.append(edit_to_live(root, port, run, original))
                print(f"edit {run + 1}: live after {figures[-1]:.3f} s", flush=True)
                time.sleep(0.3)  # the next save gets a distinct mtime
            print(f"edit-to-live: median {median(figures):.3f} s, max {max(figures):.3f} s")
        except BaseException:
            print(f"`build.py up` said:\n{log.read_text()[-4000:]}", file=sys.stderr)
            raise
        finally:
            process.send_signal(signal.SIGINT)
            code = process.wait(timeout=120)
        left = leftovers(root)
        print(f"Ctrl-C: exit code {code}, processes left: {len(left)}")
        for command_line in left:
            print(f"  left: {command_line}")
        return 0 if code == 0 and not left else 1


if __name__ == "__main__":
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    sys.exit(main())
