#!/usr/bin/env python3
"""Local deploy benchmark: `terraform apply` of infra/envs/local on `build.py local`, beside its floors.

Copies the repository to a temporary folder, builds it (with the checkout's dependency cache), starts
`build.py local` there and times, in one run:
- `terraform apply` of the example stack (goal <= 45 s) with the parallelism `build.py up` and the tests use, then
  a re-plan that must find no change (drift);
- where the apply's time goes, from its `-json` events: before the first create (terraform and the provider
  starting, validating and planning), the creates, and the slowest resources with when they started;
- the floors: the provider's start (a `terraform plan` of a configuration with no resources but the same
  provider block), and boto3 CreateRole + CreateFunction of every function the stack deploys.

    python benchmarks/apply_bench.py [--parallelism N] [--endpoints-block] [--tf-log FILE] [--events FILE]

`--endpoints-block` points the provider at the endpoint with its `endpoints` block, as before AWS_ENDPOINT_URL
(it costs the provider ~3 s of CPU per walk). `--tf-log FILE` writes the apply's TF_LOG=DEBUG output there, to see
what the provider waits on; `--events FILE` its -json events.
"""

import argparse
import io
import json
import os
import resource
import shutil
import sys
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lambdafleet.build.paths import cache_root  # noqa: E402
from lambdafleet.dev.stack import (  # noqa: E402
    PARALLELISM,
    Terraform,
    endpoint_environment,
    local_variables,
    var_args,
)
from lambdafleet.testing.endpoint import start_build_py_local  # noqa: E402
from lambdafleet.testing.repository import copy_repository  # noqa: E402

PROVIDER_MIRROR = Path("/opt/tf-plugins")
GOAL_S = 45.0


def _build(root: Path) -> None:
    import subprocess

    environment = {**os.environ, "LAMBDAFLEET_CACHE_DIR": str(cache_root(ROOT))}
    subprocess.run([sys.executable, "build.py", "all", "--quiet"], cwd=root, env=environment, check=True)


def _terraform(workdir: Path, state: Path) -> Terraform:
    return Terraform(
        workdir=workdir,
        data_dir=state / "tf-data",
        state_path=state / "terraform.tfstate",
        plugin_dir=PROVIDER_MIRROR if PROVIDER_MIRROR.is_dir() else None,
    )


def _children_cpu_s() -> float:
    """User + system CPU seconds of every finished child process (terraform and its provider)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(action: "object") -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


@dataclass
class Breakdown:
    """An apply's `-json` events, in seconds from the command's start."""

    first_start: float  # the first resource's apply_start: terraform and the provider have validated and planned
    last_complete: float  # the last resource's apply_complete
    resources: dict[str, tuple[float, float]]  # address: (start, elapsed)


def _breakdown(stdout: str, started: float) -> Breakdown:
    """The apply's per-resource starts and durations from its `-json` output; `started` is the wall clock
    (time.time()) when the command started."""
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    for line in stdout.splitlines():
        event = json.loads(line) if line.startswith("{") else {}
        kind = event.get("type")
        if kind not in ("apply_start", "apply_complete"):
            continue
        at = datetime.fromisoformat(event["@timestamp"]).timestamp() - started
        address = event["hook"]["resource"]["addr"]
        if address.startswith("data.") or ".data." in address:
            continue  # read while planning, reported with the same events
        (starts if kind == "apply_start" else ends)[address] = at
    resources = {address: (start, ends.get(address, start) - start) for address, start in starts.items()}
    return Breakdown(min(starts.values()), max(ends.values()), resources)


def _sqs_settling(breakdown: Breakdown) -> float:
    """Seconds from the first SQS resource's start to the last one's end: the AWS provider holds each queue create
    and attribute change until 6 reads 5 s apart agree (~25 s), and a redrive policy needs both queues first."""
    spans = [
        (start, start + elapsed)
        for address, (start, elapsed) in breakdown.resources.items()
        if ".aws_sqs_" in f".{address}"
    ]
    return max(end for _, end in spans) - min(start for start, _ in spans) if spans else 0.0


def _print_breakdown(breakdown: Breakdown, total: float, slowest: int = 8) -> None:
    print(
        f"  before the first create (terraform + provider start, validate, plan): {breakdown.first_start:.1f} s; "
        f"creates: {breakdown.last_complete - breakdown.first_start:.1f} s; "
        f"after the last (state, outputs): {total - breakdown.last_complete:.1f} s"
    )
    print(f"  slowest of {len(breakdown.resources)} resources (start offset, duration):")
    ranked = sorted(breakdown.resources.items(), key=lambda item: -item[1][1])
    for address, (start, elapsed) in ranked[:slowest]:
        print(f"    {start:6.1f} s  {elapsed:5.1f} s  {address.removeprefix('module.stack.')}")


def _provider_start(root: Path, work: Path, url: str, from_environment: bool) -> float:
    """A plan of envs/local's provider block with no resources: what every terraform command pays to start."""
    bare = work / "bare"
    bare.mkdir()
    for name in ("versions.tf", "variables.tf"):
        shutil.copy2(root / "infra" / "envs" / "local" / name, bare / name)
    main = (root / "infra" / "envs" / "local" / "main.tf").read_text()
    provider = main[main.index('provider "aws"') : main.index('module "stack"')]
    (bare / "main.tf").write_text(provider + 'data "aws_caller_identity" "here" {}\n')
    terraform = _terraform(bare, work / "bare-state")
    terraform.init()
    variables = {"endpoint_url": url, "endpoint_from_environment": str(from_environment).lower()}
    return _timed(
        lambda: terraform.run(
            "plan", "-input=false", "-refresh=true", *var_args(variables), env=endpoint_environment(variables)
        )
    )


def _boto3_floor(url: str, functions: int) -> float:
    """CreateRole + CreateFunction for `functions` functions: the API work an apply cannot avoid."""
    import boto3

    options = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": "test"}
    iam = boto3.client("iam", aws_secret_access_key="test", **options)
    lambda_ = boto3.client("lambda", aws_secret_access_key="test", **options)
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("lambda_function.py", "def lambda_handler(event, context):\n    return event\n")
    tag = uuid.uuid4().hex[:6]
    trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},'
    trust += '"Action":"sts:AssumeRole"}]}'
    start = time.perf_counter()
    for index in range(functions):
        role = iam.create_role(RoleName=f"floor-{tag}-{index}", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        lambda_.create_function(
            FunctionName=f"floor-{tag}-{index}",
            Runtime="python3.12",
            Role=role,
            Handler="lambda_function.lambda_handler",
            Code={"ZipFile": code.getvalue()},
        )
    return time.perf_counter() - start


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--parallelism", type=int, default=PARALLELISM, help=f"terraform -parallelism (default: {PARALLELISM})"
    )
    parser.add_argument("--tf-log", type=Path, help="write the apply's TF_LOG=DEBUG output to this file")
    parser.add_argument("--events", type=Path, help="write the apply's -json events to this file")
    parser.add_argument(
        "--endpoints-block",
        action="store_true",
        help="point the provider at the endpoint with its `endpoints` block rather than AWS_ENDPOINT_URL",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        root = work / "repo"
        copy_repository(root)
        _build(root)
        url, endpoint = start_build_py_local(root)
        try:
            terraform = _terraform(root / "infra" / "envs" / "local", work / "state")
            terraform.init()
            manifest = root / "build" / "manifest.json"
            variables = local_variables(url, manifest, f"ab{uuid.uuid4().hex[:4]}-")
            if args.endpoints_block:
                variables["endpoint_from_environment"] = "false"
            if args.tf_log:
                os.environ.update({"TF_LOG": "DEBUG", "TF_LOG_PATH": str(args.tf_log.resolve())})
            cpu_before = _children_cpu_s()
            load = os.getloadavg()[0]
            started_at, start = time.time(), time.perf_counter()
            applied = terraform.run(
                "apply",
                "-json",
                "-auto-approve",
                "-input=false",
                f"-parallelism={args.parallelism}",
                *var_args(variables),
                env=endpoint_environment(variables),
            )
            apply_s = time.perf_counter() - start
            apply_cpu_s = _children_cpu_s() - cpu_before
            breakdown = _breakdown(applied.stdout, started_at)
            if args.events:
                args.events.write_text(applied.stdout)
            os.environ.pop("TF_LOG", None)
            os.environ.pop("TF_LOG_PATH", None)
            replan_start = time.perf_counter()
            drift = terraform.plan_changes(variables)
            replan_s = time.perf_counter() - replan_start
            functions = len(terraform.outputs().get("function_names") or {})
            provider_s = _provider_start(root, work, url, not args.endpoints_block)
            floor_s = _boto3_floor(url, functions)
        finally:
            endpoint.terminate()
            endpoint.wait(timeout=30)
    print(
        f"example stack ({functions} functions) on build.py local, terraform apply -parallelism={args.parallelism}: "
        f"{apply_s:.1f} s (goal <= {GOAL_S:.0f} s), terraform and provider CPU {apply_cpu_s:.1f} s, "
        f"load average {load:.1f} at the start"
    )
    _print_breakdown(breakdown, apply_s)
    print(f"re-plan: {replan_s:.1f} s, {'no change (zero drift)' if drift is None else 'DRIFT:'}")
    if drift is not None:
        print(drift)
    print(f"floor, provider start (plan of the provider block alone): {provider_s:.1f} s")
    print(f"floor, boto3 CreateRole + CreateFunction x{functions}: {floor_s:.2f} s")
    print(f"apply / (provider start + boto3 floor): {apply_s / (provider_s + floor_s):.1f}x")
    settling = _sqs_settling(breakdown)
    print(f"floor, the provider's SQS settling waits in a row (queue, then its redrive policy): {settling:.1f} s")
    print(f"apply / (provider start + SQS settling + boto3 floor): {apply_s / (provider_s + settling + floor_s):.2f}x")


if __name__ == "__main__":
    main()
