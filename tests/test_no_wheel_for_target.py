"""A pinned compiled package with no wheel for the target is refused within seconds, by lock and by build.

numpy 2.3.4 ships only manylinux_2_27+ wheels for cp311, and python3.11 runs on glibc 2.26: compiling its
sdist took 27 minutes and was refused anyway. The refusal names the package, the target and the nearest
version that has a wheel.
"""

import subprocess
import sys
import time

NUMPY_REFUSED = "numpy==2.3.4 has no wheel for python3.11 x86_64"
NEAREST = "the nearest version with one is 2.2.6"


def _one_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_lock_refuses_a_compiled_pin_without_a_wheel_for_the_target(workspace):
    folder = workspace.add_function("numeric", config='runtime = "python3.11"\n')
    (folder / "requirements.in").write_text("numpy==2.3.4\n")
    start = time.monotonic()
    result = workspace.cli("lock", "numeric")
    assert time.monotonic() - start < 60
    assert result.returncode == 2, result.stderr
    line = _one_line(result)
    assert line.startswith("error: functions/numeric/requirements.in: " + NUMPY_REFUSED), line
    assert NEAREST in line
    assert not (folder / "requirements.txt").exists()


def test_build_refuses_a_locked_compiled_pin_without_a_wheel_within_seconds(workspace, tmp_path):
    folder = workspace.add_function("numeric", config='runtime = "python3.11"\n')
    (tmp_path / "requirements.in").write_text("numpy==2.3.4\n")
    compiled = subprocess.run(
        [sys.executable, "-m", "uv", "pip", "compile", "requirements.in", "--generate-hashes", "--no-header",
         "--quiet", "--python-version", "3.11", "--python-platform", "x86_64-manylinux_2_17"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    (folder / "requirements.txt").write_text("# lambdafleet-lock: python3.11 x86_64\n" + compiled.stdout)
    start = time.monotonic()
    result = workspace.run("numeric", timeout=120)
    assert time.monotonic() - start < 60
    assert result.returncode == 2, result.stderr
    line = _one_line(result)
    assert "functions/numeric/requirements.txt: " + NUMPY_REFUSED in line
    assert NEAREST in line
    assert not (workspace.root / "build" / "numeric.zip").exists()
