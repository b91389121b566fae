"""pytest plugin: a real moto server on a free loopback port, and AWS settings pointing at it.

Registered by the repository's root conftest.py, so every test folder (tests/, functions/*/tests/)
shares one server per session.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from lambdafleet.runtime import lifeline


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pytest_configure(config: pytest.Config) -> None:
    """An xdist worker dies with the pytest process that started it (an IDE stopping a run, `kill -9`), and the
    endpoints its fixtures started die with it: on its own a worker noticed only after ~16 s. xdist starts its
    workers from the main thread (see lifeline.py)."""
    if hasattr(config, "workerinput"):
        lifeline.die_with_parent(os.getppid())


def _wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"emulator exited with {process.returncode}")
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"emulator did not answer on {url}")


def start_endpoint(
    arguments: list[str], cwd: Path, output: IO[Any] | int, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`python ARGUMENTS` (an endpoint: `build.py local ...`, `-m lambdafleet.endpoint.emulator ...`) with its stdout
    and stderr on `output`, killed by the kernel if this process dies first (a pytest worker killed by SIGKILL, an
    IDE stopping a run): otherwise it would serve on, idle, for hours. Call it from the main thread (a fixture's),
    which lives as long as the process: see lambdafleet/runtime/lifeline.py."""
    return subprocess.Popen(
        [sys.executable, *arguments],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        preexec_fn=lifeline.preexec(),
    )


def start_build_py_local(root: Path, timeout: float = 60.0) -> tuple[str, subprocess.Popen[bytes]]:
    """`python build.py local` of `root` on a free loopback port, once it answers: its URL and its process, which
    the caller terminates (the benchmarks' endpoint); it dies with this process."""
    url = f"http://127.0.0.1:{free_port()}"
    process = start_endpoint(["build.py", "local", "--port", url.rsplit(":", 1)[1]], root, subprocess.DEVNULL)
    try:
        _wait_until_up(url, process, timeout)
    except BaseException:
        process.terminate()
        process.wait(timeout=30)
        raise
    return url, process


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """URL of the embedded emulator (`python -m lambdafleet.endpoint.emulator`, moto with its gaps filled) on 127.0.0.1
    for the whole test session; it dies with the session's process."""
    port = free_port()
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    command = ["-m", "lambdafleet.endpoint.emulator", "--port", str(port)]
    process = start_endpoint(command, Path(__file__).resolve().parents[2], subprocess.DEVNULL, env)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Points boto3 (in this process and in child processes) at the moto server."""
    for name, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_endpoint
