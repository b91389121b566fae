"""Fixtures for every test folder of the repository.

The moto server fixtures are defined in tests/conftest.py; re-exporting them here makes them reachable
from the function folders' tests (functions/<name>/tests/), which do not see tests/conftest.py.
functions/conftest.py itself stays free of this import, so a copy of functions/ without tests/ still runs.
"""

import importlib.util
from pathlib import Path


def _repo_fixtures():
    # By path, not `import tests.conftest`: run from a function folder, `tests` would be that folder's tests/.
    spec = importlib.util.spec_from_file_location(
        "lambdafleet_test_fixtures", Path(__file__).parent / "tests/conftest.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_fixtures = _repo_fixtures()
aws_env = _fixtures.aws_env
moto_endpoint = _fixtures.moto_endpoint
