"""The local stack: `terraform apply` of infra/envs/local against an endpoint, and the example model uploaded.

Shared by `build.py up` and the test suite's one applied stack, so both bring a stack up the same way.
Terraform runs on a working directory of the caller's choice with its data dir and state where the caller says:
the state describes an endpoint that keeps everything in memory, so it is as throw-away as the endpoint.
"""

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lambdafleet.errors import BuildError, UserError
from lambdafleet.runtime import lifeline

LOCAL_ENV = Path("infra") / "envs" / "local"
MODEL = Path("models") / "iris.npz"
MODEL_KEY = "iris.npz"  # functions/predict/function.toml's MODEL_KEY
TERRAFORM_MISSING = (
    "terraform: not found on PATH; install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install)"
)
# The AWS provider's own output can be long; a failure keeps its end, where Terraform puts the error.
OUTPUT_TAIL = 4000
# Concurrent operations of an apply or destroy. Terraform's default, 10, queues the stack's eleven functions in
# two rounds of the provider's fixed 5 s wait after CreateFunction, while four SQS creates hold their slots ~25 s.
PARALLELISM = 32
PARALLELISM_ARG = f"-parallelism={PARALLELISM}"


def find_terraform() -> str:
    """The terraform executable; UserError (one line) when there is none."""
    binary = shutil.which("terraform")
    if binary is None:
        raise UserError(TERRAFORM_MISSING)
    return binary


@dataclass
class Terraform:
    """terraform in `workdir` (an infra/envs/local, or a copy), its data dir and state file elsewhere.

    `plugin_dir` is an offline provider mirror passed to `init -plugin-dir`; without it init honours the
    user's TF_CLI_CONFIG_FILE (e.g. a filesystem_mirror block) or downloads the provider.
    """

    workdir: Path
    data_dir: Path
    state_path: Path
    plugin_dir: Path | None = None
    binary: str = ""

    def __post_init__(self) -> None:
        self.binary = self.binary or find_terraform()

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The caller's environment plus a private data dir and no prompts, colour or update checks, then `extra`.

        The caller's service-specific AWS endpoints are left out: they would take precedence over the
        AWS_ENDPOINT_URL that `extra` may set (see endpoint_environment).
        """
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("AWS_ENDPOINT_URL_") and name != "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
        }
        return {
            **inherited,
            "TF_DATA_DIR": str(self.data_dir),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            **(extra or {}),
        }

    def run(
        self, *args: str, check: bool = True, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`terraform ARGS -no-color` with `env` added to its environment; BuildError with terraform's output when
        it fails and `check` is set. Terraform dies with this process (`build.py up` killed mid-apply would leave it
        retrying against an endpoint that is gone); the calling thread waits for it, so it outlives terraform."""
        result = subprocess.run(
            [self.binary, *args, "-no-color"],
            cwd=self.workdir,
            env=self.environment(env),
            capture_output=True,
            text=True,
            check=False,
            preexec_fn=lifeline.preexec(),
        )
        if check and result.returncode != 0:
            output = (result.stdout + result.stderr)[-OUTPUT_TAIL:]
            raise BuildError(f"terraform {args[0]} in {self.workdir} failed:\n{output}")
        return result

    def init(self) -> None:
        """terraform init with the state at `state_path`, from `plugin_dir` when given."""
        mirror = [f"-plugin-dir={self.plugin_dir}"] if self.plugin_dir else []
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        self.run("init", "-input=false", "-reconfigure", f"-backend-config=path={self.state_path}", *mirror)

    def apply(self, variables: Mapping[str, str], *targets: str) -> dict[str, Any]:
        """terraform apply (only `targets` when given); returns the outputs by name."""
        target_args = [f"-target={target}" for target in targets]
        arguments = ("apply", "-auto-approve", "-input=false", PARALLELISM_ARG, *var_args(variables), *target_args)
        self.run(*arguments, env=endpoint_environment(variables))
        return self.outputs()

    def outputs(self) -> dict[str, Any]:
        """terraform output, as {name: value}."""
        outputs = json.loads(self.run("output", "-json").stdout)
        return {name: output["value"] for name, output in outputs.items()}

    def plan_changes(self, variables: Mapping[str, str]) -> str | None:
        """None when a plan finds nothing to change, else the plan's text."""
        arguments = ("plan", "-detailed-exitcode", "-input=false", *var_args(variables))
        plan = self.run(*arguments, check=False, env=endpoint_environment(variables))
        if plan.returncode == 0:
            return None
        return plan.stdout[-OUTPUT_TAIL:] + plan.stderr[-OUTPUT_TAIL:]

    def destroy(self, variables: Mapping[str, str], check: bool = True) -> None:
        """terraform destroy."""
        arguments = ("destroy", "-auto-approve", "-input=false", PARALLELISM_ARG, *var_args(variables))
        self.run(*arguments, check=check, env=endpoint_environment(variables))


def var_args(variables: Mapping[str, str]) -> list[str]:
    """`-var name=value` arguments."""
    return [arg for name, value in variables.items() for arg in ("-var", f"{name}={value}")]


def local_variables(endpoint_url: str, manifest_path: Path, name_prefix: str = "lambdafleet-") -> dict[str, str]:
    """infra/envs/local's variables for a stack on `endpoint_url` built into `manifest_path`.

    The provider finds the endpoint in AWS_ENDPOINT_URL (Terraform's methods above set it from these variables)
    rather than in an `endpoints` block, which costs it ~3 s of CPU to validate in each walk of every command.
    """
    return {
        "endpoint_url": endpoint_url,
        "endpoint_from_environment": "true",
        "manifest_path": str(manifest_path),
        "name_prefix": name_prefix,
    }


def endpoint_environment(variables: Mapping[str, str]) -> dict[str, str]:
    """AWS_ENDPOINT_URL for a run of infra/envs/local with `variables`, when they ask for it
    (endpoint_from_environment): the AWS SDK's endpoint for every service, below only the provider's `endpoints`
    block and service-specific AWS_ENDPOINT_URL_<SERVICE> variables (which environment() leaves out)."""
    if variables.get("endpoint_from_environment") != "true":
        return {}
    return {"AWS_ENDPOINT_URL": variables["endpoint_url"]}


def upload_model(root: Path, endpoint_url: str, outputs: Mapping[str, Any]) -> str | None:
    """Put models/iris.npz where predict reads it (the stack's `models` bucket); returns the s3:// URL.

    None when the stack declares no models bucket or the repository has no model.
    """
    bucket = (outputs.get("bucket_names") or {}).get("models")
    if not bucket or not (root / MODEL).is_file():
        return None
    import boto3  # only commands that talk to an endpoint pay for importing it

    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    client.upload_file(str(root / MODEL), bucket, MODEL_KEY)
    return f"s3://{bucket}/{MODEL_KEY}"


def describe(outputs: Mapping[str, Any], endpoint_url: str) -> list[str]:
    """What a user needs next: the API URL, the function names, and commands to try."""
    functions = outputs.get("function_names") or {}
    api = outputs.get("api_url")
    lines = [f"endpoint      {endpoint_url}   (export AWS_ENDPOINT_URL={endpoint_url})"]
    if api:
        lines.append(f"HTTP API      {api}")
    lines.append("functions     " + ", ".join(f"{name} ({deployed})" for name, deployed in sorted(functions.items())))
    lines.append("try:")
    if api and "predict" in functions:
        lines.append(f"  curl -X POST {api}/predict -d '{{\"features\": [5.1, 3.5, 1.4, 0.2]}}'")
    if api:
        lines.append(f"  curl {api}/health")
    first = next(iter(sorted(functions)), None)
    if first:
        lines.append(f"  python build.py logs {first} --follow --endpoint-url {endpoint_url}")
    if "predict" in functions:
        lines.append("  python build.py event http --path /health | python build.py invoke predict --event -")
    return lines
