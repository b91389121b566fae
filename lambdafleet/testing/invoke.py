"""pytest fixture `invoke_lambda`: invoke a function of the repository by name, from its built zip.

    def test_square(invoke_lambda):
        assert invoke_lambda("math", {"action": "square", "number": 3}).response == 9

Each function is built (if stale) and started once per test session; its environments stay warm
across tests, as they would in Lambda. The zips go to a folder of the session (`lambda_build_dir`), never to
the checkout's build/, which a test run should not rewrite. Registered by the repository's root conftest.py.
"""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lambdafleet.runtime.from_repo import open_function
from lambdafleet.runtime.pool import FunctionPool
from lambdafleet.runtime.result import InvokeResult

InvokeLambda = Callable[..., InvokeResult]


@pytest.fixture(scope="session")
def lambda_build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's fixtures build function zips (instead of the checkout's build/)."""
    return tmp_path_factory.mktemp("lambda-build")


@pytest.fixture(scope="session")
def lambda_pools(request: pytest.FixtureRequest) -> Iterator[dict[str, FunctionPool]]:
    """Pools by function name, opened on first use and closed at the end of the session."""
    pools: dict[str, FunctionPool] = {}
    yield pools
    for pool in pools.values():
        pool.close()


@pytest.fixture
def invoke_lambda(
    request: pytest.FixtureRequest, lambda_pools: dict[str, FunctionPool], lambda_build_dir: Path
) -> InvokeLambda:
    """`invoke_lambda(name, event=None, **invoke_options) -> InvokeResult` for functions/<name>."""
    root = Path(request.config.rootpath)

    def invoke(name: str, event: Any = None, **options: Any) -> InvokeResult:
        if name not in lambda_pools:
            lambda_pools[name] = open_function(root, name, out_dir=lambda_build_dir)
        return lambda_pools[name].invoke(event, **options)

    return invoke
