"""The shell blocks of README.md and docs/ work as written, pasted into a shell at the repository root.

Each block is followed line by line: after a `cd`, commands that name repository-root paths (`build.py`,
`scripts/`, `functions/`) would run in the wrong folder; at the root, `terraform` needs `-chdir` (there is no
configuration there). This caught the README's local-run block, which ran `python build.py logs` from infra/envs/local.
"""

import re
from pathlib import Path

import pytest

from lambdafleet.build.project import function_dirs
from lambdafleet.cli import _parser

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted([REPO_ROOT / "README.md", REPO_ROOT / "infra" / "README.md", *(REPO_ROOT / "docs").glob("*.md")])
FENCED_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
SHELL = {"", "sh", "bash", "shell"}
ROOT_PATHS = re.compile(r"(?:^|\s)(?:\S*build\.py|scripts/|functions/)")
TERRAFORM_WITHOUT_CHDIR = re.compile(r"\bterraform (?!-chdir=|fmt |version)")


def _commands(block: str) -> list[str]:
    """The block's commands in order: comments dropped, `a && b; c` split."""
    lines = [re.split(r"\s#\s", line)[0] for line in block.splitlines() if not line.lstrip().startswith("#")]
    return [part.strip() for line in lines for part in re.split(r"&&|;|\|\|", line) if part.strip()]


def misplaced_commands(block: str) -> list[str]:
    """Commands of a shell block that would run in the wrong folder, starting at the repository root."""
    at_root = True
    wrong = []
    for command in _commands(block):
        if command.startswith("cd "):
            at_root = False
        elif ROOT_PATHS.search(command) and not at_root:
            wrong.append(f"{command!r} after a cd")
        elif TERRAFORM_WITHOUT_CHDIR.search(command) and at_root:
            wrong.append(f"{command!r} at the root without -chdir")
    return wrong


def test_the_check_catches_commands_in_the_wrong_folder():
    assert misplaced_commands("cd infra/envs/local && terraform init\npython build.py logs x\n") == [
        "'python build.py logs x' after a cd"
    ]
    assert misplaced_commands("terraform apply   # from the root\n") == ["'terraform apply' at the root without -chdir"]
    assert misplaced_commands("python build.py all\ncd infra/envs/aws\nterraform init\n") == []
    assert misplaced_commands('curl "$(terraform -chdir=infra/envs/local output -raw api_url)/x"\n') == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_shell_blocks_run_from_the_repository_root(document: Path):
    blocks = [body for language, body in FENCED_BLOCK.findall(document.read_text()) if language in SHELL]
    assert not [problem for block in blocks for problem in misplaced_commands(block)]


BUILD_PY_COMMAND = re.compile(r"python build\.py (?P<first>[\w-]+)")
SCRIPTS_DEV = re.compile(r"scripts/dev (?P<action>\S+)")
LITERAL_ENDPOINT = re.compile(r"(?:127\.0\.0\.1|localhost):\d+")


def _shell_blocks(document: Path) -> list[str]:
    return [body for language, body in FENCED_BLOCK.findall(document.read_text()) if language in SHELL]


def unknown_commands(block: str, commands: set[str], functions: set[str]) -> list[str]:
    """`python build.py X` where X is neither a command nor a function; `scripts/dev X` other than up or test."""
    wrong = [
        f"build.py {m['first']}" for m in BUILD_PY_COMMAND.finditer(block) if m["first"] not in commands | functions
    ]
    wrong += [f"scripts/dev {m['action']}" for m in SCRIPTS_DEV.finditer(block) if m["action"] not in ("up", "test")]
    return wrong


def port_problems(block: str) -> list[str]:
    """A recipe that starts the endpoint must take the port from one variable and pass it on: `build.py local`
    with `--port $PORT`, and no endpoint URL with a fixed port in the same block."""
    if "build.py local" not in block:
        return []
    problems = [
        command for command in _commands(block) if "build.py local" in command and "--port $PORT" not in command
    ]
    problems += [f"{url} (use $PORT)" for url in LITERAL_ENDPOINT.findall(block)]
    return problems


def test_the_port_check_catches_a_fixed_port():
    assert port_problems("python build.py local &\ncurl http://127.0.0.1:4566/x\n") == [
        "python build.py local &",
        "127.0.0.1:4566 (use $PORT)",
    ]
    assert port_problems("PORT=4567\npython build.py local --port $PORT &\ncurl http://127.0.0.1:$PORT/x\n") == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_shell_blocks_name_real_commands_and_pass_the_port_on(document: Path):
    commands = set(_parser()[1])
    functions = {path.name for path in function_dirs(REPO_ROOT)}
    blocks = _shell_blocks(document)
    assert not [problem for block in blocks for problem in unknown_commands(block, commands, functions)]
    assert not [problem for block in blocks for problem in port_problems(block)]
