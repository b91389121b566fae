"""Static checks of infra/: formatting, validation of every configuration, checkov with zero failures."""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from tftest import TerraformTestError

CONFIGURATIONS = [
    ".",
    "envs/aws",
    "envs/local",
    "ci",
    "modules/bucket",
    "modules/ecr_repository",
    "modules/function",
    "modules/function_url",
    "modules/http_api",
    "modules/state_machine",
    "modules/table",
    "modules/queue",
    "modules/topic",
    "modules/stream",
    "modules/event_bus",
]


def test_every_configuration_is_listed(infra_source: Path) -> None:
    found = {path.parent.relative_to(infra_source).as_posix() for path in infra_source.rglob("versions.tf")}
    assert found == set(CONFIGURATIONS)


def test_format(make_terraform, infra_copy: Path) -> None:
    result = make_terraform(infra_copy).execute_command("fmt", "-check", "-recursive", "-diff")
    assert result.retcode == 0, result.out


# `terraform plan` and `apply` validate the whole configuration first, every module it calls included, with the
# arguments it passes: these roots are validated by the tests that plan or apply them.
VALIDATED_BY = {
    "envs/local": "tests/infra/test_plans.py plans it",
    "envs/aws": "tests/infra/test_plans.py plans it",
    "ci": "tests/infra/test_ci_role.py applies it",
}
MODULE_SOURCE = re.compile(r'\bmodule\s+"[^"]+"\s*\{[^}]*?\bsource\s*=\s*"(\.\.?/[^"]*)"')


def _called(infra: Path, configuration: str) -> set[str]:
    """The configurations `configuration` calls through local module sources, directly or not."""
    found: set[str] = set()
    pending = [configuration]
    while pending:
        directory = infra / pending.pop()
        for path in directory.glob("*.tf"):
            for source in MODULE_SOURCE.findall(path.read_text()):
                called = (directory / source).resolve().relative_to(infra.resolve()).as_posix()
                if called not in found:
                    found.add(called)
                    pending.append(called)
    return found


def test_validate_root_modules_and_environments(infra_source: Path, request: pytest.FixtureRequest) -> None:
    """Every configuration is validated once: by a plan or apply of a root that calls it (VALIDATED_BY), or here
    by `terraform validate` (a module no root calls). Each validate costs seconds of CPU (the provider's schema)."""
    covered = set(VALIDATED_BY).union(*(_called(infra_source, root) for root in VALIDATED_BY))
    assert covered <= set(CONFIGURATIONS), sorted(covered - set(CONFIGURATIONS))
    uncalled = [name for name in CONFIGURATIONS if name not in covered]
    if not uncalled:
        return
    make_terraform = request.getfixturevalue("make_terraform")
    infra_copy: Path = request.getfixturevalue("infra_copy")
    problems = []
    for name in uncalled:
        terraform = make_terraform(infra_copy / name)
        try:
            terraform.setup(backend=False)
            result = terraform.execute_command("validate", "-no-color")
        except TerraformTestError as error:  # raised on a non-zero exit
            problems.append(f"{name}: {error}")
        else:
            if "Success!" not in result.out:
                problems.append(f"{name}: {result.out}")
    assert not problems, "\n".join(problems)


def test_modules_have_the_standard_layout(infra_source: Path) -> None:
    for module in (infra_source / "modules").iterdir():
        present = {path.name for path in module.iterdir()}
        assert {"main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"} <= present, module.name


def test_every_checkov_skip_gives_a_reason(infra_source: Path) -> None:
    skips = [
        (path.name, line.strip())
        for path in infra_source.rglob("*.tf")
        for line in path.read_text().splitlines()
        if "checkov:skip" in line
    ]
    assert skips, "expected the documented skips"
    for name, line in skips:
        assert re.fullmatch(r"#checkov:skip=CKV2?_AWS_\d+:\S.{15,}", line), f"{name}: {line}"


def checkov_environment() -> dict[str, str]:
    """This environment, letting Python keep checkov's compiled modules in its virtualenv: it imports thousands,
    and compiling them again on every run cost about 4 of its 12 CPU-seconds."""
    return {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


@pytest.mark.stack  # slow: real resolver or terraform runs
def test_checkov_finds_no_failures(checkov_bin: Path, infra_copy: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            str(checkov_bin),
            "--directory",
            str(infra_copy),
            "--framework",
            "terraform",
            "--skip-download",
            "--quiet",
            "--compact",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=checkov_environment(),
    )
    reports = json.loads(result.stdout)
    summary = (reports[0] if isinstance(reports, list) else reports)["summary"]
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for check in (reports[0] if isinstance(reports, list) else reports)["results"]["failed_checks"]
    ]
    assert summary["failed"] == 0, "\n".join(failed)
    assert summary["passed"] > 50, summary
