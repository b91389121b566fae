"""`build.py check --runtime/--architecture`: the pins that lose their wheels on another target, changing nothing."""

NUMPY_LOCK = "numpy-python3.12-x86_64.txt"  # numpy 2.5.5: wheels for 3.11+ on x86_64 and arm64, none for 3.10


def _files(root):
    return {p: p.read_bytes() for p in (root / "functions").rglob("*") if p.is_file()}


def test_a_runtime_without_wheels_is_reported_with_the_nearest_version(workspace) -> None:
    workspace.add_locked_function("numeric", NUMPY_LOCK)
    workspace.add_function("plain")
    before = _files(workspace.root)
    result = workspace.cli("check", "--runtime", "python3.10")
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stdout.splitlines()
    lock = "functions/numeric/requirements.txt"
    assert line.startswith(f"{lock}: numpy==2.5.5 has no wheel for python3.10 x86_64; nearest version with one: 2.2.")
    assert "1 pinned package(s) of 2 function(s) lose their wheels on python3.10" in result.stderr
    assert _files(workspace.root) == before  # nothing locked, built or rewritten
    assert not (workspace.root / "build").exists()


def test_an_architecture_with_wheels_for_every_pin_is_ok(workspace) -> None:
    workspace.add_locked_function("numeric", NUMPY_LOCK)
    result = workspace.run("check", "--architecture", "arm64", "numeric")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "ok: 1 function(s) keep a wheel for every pinned package on arm64\n"


def test_an_unknown_runtime_is_a_usage_error(workspace) -> None:
    result = workspace.cli("check", "--runtime", "python2.7")
    assert result.returncode == 2 and "invalid choice: 'python2.7'" in result.stderr
