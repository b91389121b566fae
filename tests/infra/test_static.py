"""Static checks of infra/: formatting, validation of every configuration, checkov with zero failures."""

import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

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


def _validate(make_terraform, directory: Path) -> str:
    """Init without a backend and validate; returns what went wrong, or "" when valid."""
    terraform = make_terraform(directory)
    terraform.setup(backend=False)
    result = terraform.execute_command("validate", "-no-color")
    return "" if result.retcode == 0 and "Success!" in result.out else f"{directory.name}: {result.out}"


@pytest.mark.stack  # slow: real resolver or terraform runs
def test_validate_root_modules_and_environments(make_terraform, infra_copy: Path) -> None:
    # Each validation mostly waits on the provider's start-up, so they run side by side.
    with ThreadPoolExecutor(max_workers=3) as pool:
        problems = pool.map(lambda name: _validate(make_terraform, infra_copy / name), CONFIGURATIONS)
    assert not [problem for problem in problems if problem]


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
    )
    reports = json.loads(result.stdout)
    summary = (reports[0] if isinstance(reports, list) else reports)["summary"]
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for check in (reports[0] if isinstance(reports, list) else reports)["results"]["failed_checks"]
    ]
    assert summary["failed"] == 0, "\n".join(failed)
    assert summary["passed"] > 50, summary
