"""`reserved_concurrency` in function.toml: validated, carried in the manifest (Terraform's
reserved_concurrent_executions); the local endpoint's enforcement is in tests/local/test_concurrency.py."""

import pytest


@pytest.mark.parametrize(
    ("config", "expected"), [("", None), ("reserved_concurrency = 0\n", 0), ("reserved_concurrency = 10\n", 10)]
)
def test_reserved_concurrency_reaches_the_manifest(workspace, config, expected):
    workspace.add_function("fn", config=config)
    result = workspace.run("all", "--quiet")
    assert result.returncode == 0, result.stderr
    assert workspace.manifest()["functions"]["fn"]["reserved_concurrency"] == expected
