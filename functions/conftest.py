"""Lets each function's own tests import that function's handler module.

Every function has a `lambda_function.py`, so they cannot all sit on sys.path at once; the
`lambda_module` fixture imports the one belonging to the test's function folder and forgets it
(and its sibling modules) afterwards.
"""

import importlib
import sys
from pathlib import Path

import pytest


def _function_dir(test_path: Path) -> Path:
    for parent in test_path.parents:
        if parent.parent.name == "functions":
            return parent
    raise LookupError(f"{test_path} is not inside functions/<name>/")


@pytest.fixture
def lambda_module(request):
    function_dir = _function_dir(Path(request.path))
    sys.path.insert(0, str(function_dir))
    try:
        yield importlib.import_module("lambda_function")
    finally:
        sys.path.remove(str(function_dir))
        for name, module in list(sys.modules.items()):
            if str(getattr(module, "__file__", "") or "").startswith(str(function_dir)):
                del sys.modules[name]
