"""Fixtures for the build tests: throwaway workspaces holding a copy of the build tooling."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


FIXTURES = Path(__file__).resolve().parent / "fixtures"


class Workspace:
    """A throwaway copy of the repository's build tooling with functions written by the test."""

    def __init__(self, root: Path, cache_dir: Path) -> None:
        self.root = root
        self.cache_dir = cache_dir
        root.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / "build.py", root / "build.py")
        shutil.copy2(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
        shutil.copytree(REPO_ROOT / "lambdafleet", root / "lambdafleet", ignore=shutil.ignore_patterns("__pycache__"))
        (root / "functions").mkdir(exist_ok=True)
        shutil.copy2(REPO_ROOT / "functions" / "conftest.py", root / "functions" / "conftest.py")

    def add_function(self, name: str, config: str | None = None, files: dict[str, str] | None = None) -> Path:
        """Write functions/<name>/ with a trivial handler unless `files` provides one."""
        folder = self.root / "functions" / name
        folder.mkdir(parents=True)
        files = {"lambda_function.py": "def lambda_handler(event, context):\n    return event\n", **(files or {})}
        for relative, text in files.items():
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_text(text)
        if config is not None:
            (folder / "function.toml").write_text(config)
        return folder

    def add_locked_function(self, name: str, fixture: str, config: str | None = None) -> Path:
        """A function whose requirements.txt is one of tests/fixtures (a real lock with hashes)."""
        folder = self.add_function(name, config)
        shutil.copy(FIXTURES / fixture, folder / "requirements.txt")
        return folder

    def run(self, *args: str, env: dict[str, str] | None = None, umask: int = 0o022):
        """Run `python build.py ARGS` in a child process; returns the CompletedProcess."""
        full_env = {**os.environ, "LAMBDAFLEET_CACHE_DIR": str(self.cache_dir), **(env or {})}
        return subprocess.run(
            [sys.executable, str(self.root / "build.py"), *args],
            cwd=self.root,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=600,
            preexec_fn=lambda: os.umask(umask),
        )

    def manifest(self) -> dict:
        return json.loads((self.root / "build" / "manifest.json").read_text())

    def zip_names(self, name: str) -> list[str]:
        with zipfile.ZipFile(self.root / "build" / f"{name}.zip") as archive:
            return archive.namelist()


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dependency cache for the session, so each lock is installed by pip once."""
    return tmp_path_factory.mktemp("deps-cache")


@pytest.fixture
def workspace(tmp_path: Path, shared_cache: Path) -> Workspace:
    return Workspace(tmp_path / "repo", shared_cache)


@pytest.fixture(scope="session")
def make_workspace():
    """Factory for extra, independent workspaces: make_workspace(root, cache_dir)."""
    return Workspace
