"""A handler's syntax is checked with the target runtime's grammar, not the build machine's.

python3.12 syntax (PEP 695) is valid for a python3.12 function built on a python3.11 host; python3.11 syntax
(`except*`) is an error for a python3.10 function. Without the runtime's interpreter the build says it did
not check.
"""

import sys

import pytest

from lambdafleet.runtime.interpreter import find_interpreter

PEP_695 = "type Pair = tuple[int, int]\n\ndef lambda_handler[T](event: T, context) -> T:\n    return event\n"
EXCEPT_STAR = (
    "def lambda_handler(event, context):\n"
    "    try:\n        return event\n    except* ValueError:\n        return None\n"
)


def _interpreter(runtime: str) -> None:
    try:
        find_interpreter(runtime, "x86_64", source="test")
    except Exception:
        pytest.skip(f"needs {runtime} (pyenv install) to check its grammar")


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the host itself parses python3.12 syntax")
def test_newer_syntax_is_valid_for_a_newer_runtime(workspace):
    _interpreter("python3.12")
    workspace.add_function("fn", config='runtime = "python3.12"\n', files={"lambda_function.py": PEP_695})
    result = workspace.run("fn")
    assert result.returncode == 0, result.stderr


def test_newer_syntax_is_an_error_for_an_older_runtime(workspace):
    _interpreter("python3.10")
    workspace.add_function("fn", config='runtime = "python3.10"\n', files={"lambda_function.py": EXCEPT_STAR})
    result = workspace.cli("fn")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "functions/fn/lambda_function.py: syntax error on line 4" in lines[0]
    assert "(checked with python3.10)" in lines[0]


def test_without_the_runtimes_interpreter_the_build_says_it_did_not_check(workspace, tmp_path):
    workspace.add_function("fn", config='runtime = "python3.14"\n', files={"lambda_function.py": PEP_695})
    env = {"PATH": "/usr/bin:/bin", "PYENV_ROOT": str(tmp_path / "no-pyenv")}
    result = workspace.run("fn", env=env)
    assert result.returncode == 0, result.stderr
    assert "functions/fn/lambda_function.py: syntax not checked for python3.14" in result.stderr
