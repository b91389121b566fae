"""Terraform plans for the plan-only tests, several scenarios to one `terraform plan`.

Most of a plan's CPU goes to the AWS provider loading its schema: about 3 CPU-seconds per provider process, and
`terraform plan` starts one for the schemas, then one per provider configuration for the validate walk and one for
the plan walk; `terraform show -json` starts another. So scenarios that each plan an environment with other inputs
are written as module blocks of one generated root (`main.tf.json`) and planned together with `plan -json`, whose
stream already holds the planned changes and every error: 1 + 2 * scenarios provider processes instead of
4 * scenarios. Plan validates the whole configuration first, so a clean plan also validates every environment it
calls and every module they call, with the arguments they pass.

A child module's `backend` block is ignored (with a warning), so the environments plan as written; each scenario
keeps its own provider configuration, so the environments' provider settings are the ones exercised.
"""

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Offline machines keep the AWS provider in this filesystem mirror; elsewhere init downloads it.
PROVIDER_MIRROR = Path("/opt/tf-plugins")


@dataclass(frozen=True)
class Scenario:
    """One environment (a folder of infra/, such as envs/local) planned with these input variables."""

    configuration: str
    variables: Mapping[str, Any]


@dataclass(frozen=True)
class Plan:
    """What `terraform plan -json` reported: its exit status and its machine-readable messages."""

    returncode: int
    messages: list[dict[str, Any]]
    stderr: str

    def errors(self) -> list[str]:
        """Each error diagnostic as one line, "summary: detail (file:line)" with its whitespace folded."""
        return [_line(diagnostic) for diagnostic in self._error_diagnostics()]

    def errors_in(self, scenario: str) -> list[str]:
        """The errors Terraform places on `scenario`'s module block itself, as lines: an input variable whose
        validation refuses the value the block passes. (Errors deeper in the scenario point at its modules' files.)"""
        block = f"module.{scenario}"
        return [_line(d) for d in self._error_diagnostics() if d.get("snippet", {}).get("context") == block]

    def _error_diagnostics(self) -> list[dict[str, Any]]:
        diagnostics = (message["diagnostic"] for message in self.messages if message.get("type") == "diagnostic")
        return [diagnostic for diagnostic in diagnostics if diagnostic["severity"] == "error"]

    def report(self) -> str:
        """The errors (or, when there are none but the plan failed, its stderr), for an assertion's message."""
        return "\n".join(self.errors()) or self.stderr

    def modules(self, scenario: str) -> set[str]:
        """Addresses of the modules with a planned change in `scenario`, as its environment names them
        (`module.stack.module.table["orders"]`)."""
        own = f"module.{scenario}."
        found = set()
        for message in self.messages:
            if message.get("type") == "planned_change":
                module = message["change"]["resource"].get("module", "")
                if module.startswith(own):
                    found.add(module.removeprefix(own))
        return found


def _line(diagnostic: dict[str, Any]) -> str:
    """An error diagnostic as one line, "summary: detail (file:line)" with its whitespace folded."""
    return " ".join(f"{diagnostic['summary']}: {diagnostic.get('detail', '')}{_where(diagnostic)}".split())


def _where(diagnostic: dict[str, Any]) -> str:
    """(file:line)" of the configuration a diagnostic points at, or "" when it points at none."""
    where = diagnostic.get("range")
    return f" ({where['filename']}:{where['start']['line']})" if where else ""


def cli_environment(workdir: Path) -> dict[str, str]:
    """Environment for terraform: a generated CLI config that uses the provider mirror when present."""
    config = workdir / "terraformrc"
    mirror = f'provider_installation {{\n  filesystem_mirror {{\n    path = "{PROVIDER_MIRROR}"\n  }}\n}}\n'
    config.write_text(mirror if PROVIDER_MIRROR.is_dir() else "")
    return {
        "TF_CLI_CONFIG_FILE": str(config),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
    }


def aws_environment(endpoint: str) -> dict[str, str]:
    """Placeholder credentials and AWS_ENDPOINT_URL, for an environment (envs/aws) whose provider reads them."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def write_scenarios(root: Path, infra: Path, scenarios: Mapping[str, Scenario]) -> None:
    """Write `root/main.tf.json`: one module block per scenario, named after it, calling its folder of `infra`."""
    root.mkdir(parents=True)
    modules = {
        name: {"source": os.path.relpath(infra / scenario.configuration, root), **scenario.variables}
        for name, scenario in scenarios.items()
    }
    for name, block in modules.items():
        text = json.dumps(block)
        if "${" in text or "%{" in text:  # JSON configuration reads strings as templates
            raise ValueError(f"scenario {name}: a value holds a template sequence: {text}")
    (root / "main.tf.json").write_text(json.dumps({"module": modules}, indent=2))


def plan(terraform_bin: str, root: Path, env: Mapping[str, str], timeout: float = 600) -> Plan:
    """`terraform init` then `terraform plan -json` in `root` (its data dir beside it); init must succeed."""
    environment = {**os.environ, **env, "TF_DATA_DIR": str(root.parent / f"{root.name}.terraform")}
    environment.pop("AWS_PROFILE", None)
    init = subprocess.run(
        [terraform_bin, f"-chdir={root}", "init", "-input=false", "-no-color"],
        env=environment, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if init.returncode != 0:
        raise AssertionError(f"terraform init in {root} failed:\n{init.stdout}\n{init.stderr}")
    result = subprocess.run(
        [terraform_bin, f"-chdir={root}", "plan", "-json", "-input=false", "-no-color", "-lock=false"],
        env=environment, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    messages = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return Plan(result.returncode, messages, result.stderr)
