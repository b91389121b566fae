"""The build installs with the installer pinned in the hashed dev lock, never with whatever pip the venv has.

A venv made by `python3.11 -m venv` carries pip 23.2, which refused numpy for python3.12 ("requires a
different Python: 3.11.7 not in '>=3.12'"); the build must not depend on it.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.stack  # slow end to end: a fresh venv with an old pip installing numpy

REPO_ROOT = Path(__file__).resolve().parent.parent
PYENV_311 = Path.home() / ".pyenv" / "versions" / "3.11.7" / "bin" / "python3.11"
# What build.py itself imports at run time; both are pinned with hashes in requirements-dev.txt.
BUILD_REQUIREMENTS = ("uv", "packaging")


def _pinned(names: tuple[str, ...]) -> str:
    """The blocks of requirements-dev.txt that pin `names` (with their hashes)."""
    text = (REPO_ROOT / "requirements-dev.txt").read_text()
    blocks = re.split(r"\n(?=\S)", text)
    return "\n".join(b for b in blocks if re.match(rf"({'|'.join(names)})==", b)) + "\n"


@pytest.fixture(scope="module")
def old_pip_venv(tmp_path_factory) -> Path:
    interpreter = PYENV_311 if PYENV_311.exists() else shutil.which("python3.11")
    if not interpreter:
        pytest.skip("needs a python3.11 whose venv module installs an old pip")
    venv = tmp_path_factory.mktemp("old-pip") / "venv"
    # What `python3.11 -m venv` makes: the venv, then ensurepip's bundled wheels in it. uv installs those wheels
    # (pip, setuptools) as they are, without compiling pip's thousand modules as ensurepip does (~3 CPU-s).
    subprocess.run([str(interpreter), "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    bundled = subprocess.run(
        [python, "-c", "import ensurepip, pathlib; print(pathlib.Path(ensurepip.__file__).parent / '_bundled')"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    _uv_install(python, *sorted(str(wheel) for wheel in Path(bundled).glob("*.whl")))
    version = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, text=True, check=True).stdout
    if not version.startswith("pip 2") or int(version.split()[1].split(".")[0]) >= 24:
        pytest.skip(f"this python3.11's venv has a recent pip ({version.split()[1]}); the case needs an old one")
    requirements = venv.parent / "requirements.txt"
    requirements.write_text(_pinned(BUILD_REQUIREMENTS))
    _uv_install(python, "--require-hashes", "-r", str(requirements))  # what the venv's pip would install, faster
    return python


def _uv_install(python: Path, *arguments: str) -> None:
    from uv import find_uv_bin

    command = [find_uv_bin(), "pip", "install", "--quiet", "--python", str(python), "--no-deps", *arguments]
    subprocess.run(command, check=True)


def test_a_fresh_venv_with_an_old_pip_builds_numpy_for_python312(old_pip_venv, workspace):
    workspace.add_locked_function("numeric", "numpy-python3.12-x86_64.txt", config='runtime = "python3.12"\n')
    env = {**os.environ, "LAMBDAFLEET_CACHE_DIR": str(workspace.root.parent / "own-cache")}
    result = subprocess.run(
        [old_pip_venv, "build.py", "numeric"], cwd=workspace.root, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert "numpy/__init__.py" in workspace.zip_names("numeric")
