"""Repository-wide pytest plugins (pytest only honours `pytest_plugins` in the root conftest), and the session's
local endpoint, shared by tests/ and functions/*/tests/ (one per pytest-xdist worker)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported in the fixtures: a plugin imported here would escape pytest's assertion rewriting
    from tests.conftest import Endpoint

pytest_plugins = [
    "lambdafleet.testing.bytecode",
    "lambdafleet.testing.endpoint",
    "lambdafleet.testing.invoke",
    "lambdafleet.testing.parallel",
]


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    """AWS_ENDPOINT_URL when set, else `python build.py local` on a free loopback port for the session, stopped
    with Ctrl-C at the end, when it must exit 0 without a traceback in its log.

    Failed asynchronous invocations are retried after 0.1 s and 0.2 s instead of Lambda's minutes.
    """
    from lambdafleet.testing.endpoint import _wait_until_up, free_port, start_endpoint
    from tests.conftest import REPO_ROOT, Endpoint

    external = os.environ.get("AWS_ENDPOINT_URL")
    if external:
        yield Endpoint(external, embedded=False)
        return
    port = free_port()
    log = tmp_path_factory.mktemp("local") / "endpoint.log"
    with log.open("w") as sink:  # a file, not a pipe: nobody reads until the end, and a full pipe blocks
        process = start_endpoint(["build.py", "local", "--port", str(port), "--retry-delay", "0.1"], REPO_ROOT, sink)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield Endpoint(url, embedded=True, pid=process.pid)
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
        output = log.read_text()
        assert code == 0, output
        assert "Traceback" not in output, output
        assert "answered 500 InternalFailure" not in output, output  # a crash the endpoint contained is still a bug


@pytest.fixture
def embedded(endpoint: Endpoint) -> Endpoint:
    """The endpoint, for tests of behaviour only the embedded one promises (skipped on an external one)."""
    if not endpoint.embedded:
        pytest.skip("checks the embedded endpoint's own behaviour; AWS_ENDPOINT_URL names another")
    return endpoint


@pytest.fixture(scope="session")
def moto_endpoint(endpoint: Endpoint) -> str:
    """This repository's own tests reach moto through the session's endpoint rather than a second server (the
    plugin's `moto_endpoint`, a bare emulator, is what a project's function tests get): `build.py local` is that
    emulator plus the functions' runtime, and each server costs ~2 CPU-s to start per pytest-xdist worker."""
    return endpoint.url
