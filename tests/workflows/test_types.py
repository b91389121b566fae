"""The package type-checks: `mypy` (strict, configured in pyproject.toml) passes, as the pre-commit hook demands."""

import pytest

from tests.workflows.conftest import MypyRun

pytestmark = pytest.mark.stack  # slow end to end: a cold strict mypy run of the package


def test_the_package_passes_mypy_strict(mypy_run: MypyRun) -> None:
    result = mypy_run.result
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found in ")
