""".pre-commit-config.yaml: valid, and its hooks really run and catch what they promise (in a throwaway repo)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.workflows.conftest import MypyRun

pytestmark = pytest.mark.stack  # slow end to end: pre-commit's hooks and a cold strict mypy run

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / ".pre-commit-config.yaml"
SIX_LOCK = REPO_ROOT / "tests" / "fixtures" / "six-python3.12-x86_64.txt"


def _pre_commit(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess:
    # The hooks run tools from the development environment: this interpreter's bin/ first on PATH.
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PATH": f"{Path(sys.executable).parent}{os.pathsep}"}
    env["PATH"] += os.environ["PATH"]
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_config_is_valid_and_names_the_hooks(tmp_path):
    result = _pre_commit("validate-config", str(CONFIG), cwd=REPO_ROOT, home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    hooks = {hook["id"]: hook for repo in yaml.safe_load(CONFIG.read_text())["repos"] for hook in repo["hooks"]}
    assert list(hooks) == ["ruff-check", "ruff-format", "mypy", "terraform-fmt", "requirements-up-to-date"]
    assert hooks["requirements-up-to-date"]["entry"] == "python build.py check"


def _throwaway_repo(root: Path) -> Path:
    for name in ("build.py", "pyproject.toml", ".pre-commit-config.yaml"):
        shutil.copy2(REPO_ROOT / name, root / name)
    shutil.copytree(REPO_ROOT / "lambdafleet", root / "lambdafleet", ignore=shutil.ignore_patterns("__pycache__"))
    function = root / "functions" / "demo"
    function.mkdir(parents=True)
    (function / "lambda_function.py").write_text("import os\ndef lambda_handler(event,context):\n  return event\n")
    (function / "requirements.in").write_text("six\nrequests\n")  # requests is missing from the lock
    shutil.copy(SIX_LOCK, function / "requirements.txt")
    (root / "infra").mkdir()
    (root / "infra" / "main.tf").write_text('variable "x" {\ntype=string\n}\n')
    with (root / "lambdafleet" / "errors.py").open("a") as module:  # a type error for the mypy hook
        module.write('\n\ndef exit_code() -> int:\n    return "2"\n')
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "."], check=True)
    return function


def test_hooks_fix_format_and_lint_and_stop_a_stale_lock(tmp_path, mypy_run: MypyRun):
    root = tmp_path / "repo"
    root.mkdir()
    function = _throwaway_repo(root)
    # The session's cache of the same package: the mypy hook re-checks only what changed (errors.py and its users).
    shutil.copytree(mypy_run.cache_dir, root / ".mypy_cache")

    failed = _pre_commit("run", "--all-files", cwd=root, home=tmp_path / "home")
    assert failed.returncode == 1
    for hook in ("ruff check", "ruff format", "mypy", "terraform fmt", "requirements.txt up to date"):
        assert any(line.startswith(hook) and line.endswith("Failed") for line in failed.stdout.splitlines()), hook
    assert "functions/demo/requirements" in failed.stdout
    assert re.search(
        r'errors\.py:\d+: error: Incompatible return value type \(got "str", expected "int"\)', failed.stdout
    )
    assert (root / "infra" / "main.tf").read_text() == 'variable "x" {\n  type = string\n}\n'
    assert "import os" not in (function / "lambda_function.py").read_text()

    (function / "requirements.in").write_text("six\n")
    errors = root / "lambdafleet" / "errors.py"
    errors.write_text(errors.read_text().replace('return "2"', "return 2"))
    subprocess.run(["git", "-C", str(root), "add", "."], check=True)
    passed = _pre_commit("run", "--all-files", cwd=root, home=tmp_path / "home")
    assert passed.returncode == 0, passed.stdout + passed.stderr
