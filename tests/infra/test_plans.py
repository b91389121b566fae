"""Plans of envs/local and envs/aws, and of infra/modules/function's image_config, that must go through holding given
resources, or fail naming the manifest key or the refused setting.

The scenarios are planned together, three `terraform plan` runs for the module (lambdafleet/testing/terraform.py):
one that must succeed (it also validates both environments, the root module and every module they call), one that
must fail while planning (the manifest checks' preconditions, and infra/modules/function's on a Zip function given
image_config) and one that must fail validation: infra/modules/function called with values its typed variables
refuse. Terraform checks the variables a module block sets before it plans anything, so those would stop the refused
plan ahead of the preconditions it must report. Each environment scenario reads its own manifest,
`<tmp>/<scenario>/manifest.json`, so an error names the scenario it comes from; a module block's refused variable
is reported on the block (Plan.errors_in).
"""

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lambdafleet.testing.terraform import Plan, Scenario, aws_environment, cli_environment, plan, write_scenarios

pytestmark = [pytest.mark.integration, pytest.mark.stack]  # terraform plans: tens of CPU-seconds

PREFIX = "tfit-"  # keeps the plans' resources apart from anything else the shared emulator holds
EMPTY_PREFIX = "tfempty-"
EMPTY_MANIFEST = {"schema_version": 1, "functions": {}, "chains": {}}
ORDERS = {"tables": {"orders": {"hash_key": "order_id"}}, "buckets": {"exports": {}}}


def one_function_manifest(**changes: Any) -> dict[str, Any]:
    """A manifest holding one zip function `math`, with `changes` applied."""
    function = {
        "name": "math",
        "runtime": "python3.12",
        "architecture": "x86_64",
        "handler": "lambda_function.lambda_handler",
        "memory_size": 128,
        "timeout": 3,
        "ephemeral_storage": 512,
        "environment": {},
        "description": "",
        "logging_format": "Text",
        "package_type": "zip",
        "routes": [],
        "destinations": {"on_success": None, "on_failure": None},
        "permissions": [],
        "zip": "math.zip",
        "sha256": "0" * 64,
        "source_code_hash": "AAAA",
        "s3": None,
        "image": None,
        **changes,
    }
    return {"schema_version": 1, "functions": {"math": function}, "chains": {}}


LONG_NAME = "m" * (64 - len(PREFIX) + 1)


def problems_manifest() -> dict[str, Any]:
    """Every problem the plan must name at once (the check reports them together): an undeclared table and
    destination, a name the prefix pushes past 64 characters and (the function module's typed variable) a negative
    reserved concurrency; the default buckets add one notifying a function the manifest lacks."""
    manifest = one_function_manifest(
        destinations={"on_success": "ghost", "on_failure": "queue:nope"},
        permissions=[{"type": "table", "name": "nope", "access": "read"}],
        reserved_concurrency=-1,
    )
    long_function = {**manifest["functions"]["math"], "name": LONG_NAME, "zip": f"{LONG_NAME}.zip"}
    long_function.update(permissions=[], destinations={"on_success": None, "on_failure": None}, reserved_concurrency=2)
    manifest["functions"][LONG_NAME] = long_function
    return manifest


ORDERS_MANIFEST = one_function_manifest(permissions=[{"type": "table", "name": "orders", "access": "read"}])
# Scenario name -> (environment, manifest, other variables). envs/local is told the endpoint; envs/aws reaches the
# emulator through AWS_ENDPOINT_URL, as a CI job's credentials would reach AWS. One local scenario keeps envs/local's
# `endpoints` block (a manual run's way); the others take the endpoint from AWS_ENDPOINT_URL, as build.py and the
# stack fixture do, which spares the provider ~3 CPU-s of validating that block per walk.
FROM_ENVIRONMENT = {"endpoint_from_environment": True}
ALLOW_EMPTY = {"name_prefix": EMPTY_PREFIX, "allow_empty_manifest": True, "buckets": {}}
VALID = {
    "local_allow_empty": ("local", EMPTY_MANIFEST, ALLOW_EMPTY),
    "local_orders": ("local", ORDERS_MANIFEST, {"name_prefix": PREFIX, **ORDERS, **FROM_ENVIRONMENT}),
    "aws_orders": ("aws", ORDERS_MANIFEST, {"name_prefix": PREFIX, "region": "us-east-1", **ORDERS}),
}  # fmt: skip
REFUSED = {
    "local_empty": ("local", EMPTY_MANIFEST, {"name_prefix": EMPTY_PREFIX, **FROM_ENVIRONMENT}),
    "local_problems": ("local", problems_manifest(), {"name_prefix": PREFIX, **FROM_ENVIRONMENT}),
}

# infra/modules/function called directly (the stack passes no image_config), with the provider the root implies
# (one for all of them, configured from AWS_ENDPOINT_URL and the placeholder keys). Scenario name -> its variables.
IMAGE_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/img:tag"


def image_function(name: str, image_config: dict[str, Any]) -> dict[str, Any]:
    """modules/function's variables for an Image function `PREFIX + name` with `image_config`."""
    variables = {"function_name": PREFIX + name, "package_type": "Image", "image_uri": IMAGE_URI}
    return {**variables, "image_config": image_config}


ZIP_WITH_IMAGE_CONFIG = {
    "function_name": f"{PREFIX}zip-config",
    "package_type": "Zip",
    "filename": "math.zip",
    "runtime": "python3.12",
    "handler": "lambda_function.lambda_handler",
    "image_config": {"command": ["app.where"]},
}
REFUSED_FUNCTIONS = {"function_zip_with_image_config": ZIP_WITH_IMAGE_CONFIG}
# What Lambda would refuse, or fail the function on (Runtime.InvalidWorkingDir): modules/function's validations.
ABSOLUTE = "image_config.working_directory must be an absolute path of at most 1000 characters"
AT_MOST_1500 = "image_config.entry_point and image_config.command take at most 1500 strings each (Lambda's limit)"
INVALID_FUNCTIONS = {
    "image_relative_working_directory": (image_function("img-relative", {"working_directory": "var/task"}), ABSOLUTE),
    "image_long_working_directory": (image_function("img-long", {"working_directory": "/" + "d" * 1000}), ABSOLUTE),
    "image_many_entry_points": (image_function("img-entry", {"entry_point": ["/x"] * 1501}), AT_MOST_1500),
    "image_many_commands": (image_function("img-command", {"command": ["x"] * 1501}), AT_MOST_1500),
}


@pytest.fixture(scope="module")
def infra_tree(tmp_path_factory: pytest.TempPathFactory, infra_source: Path) -> Path:
    """A copy of infra/ for this module's plans, without local Terraform leftovers."""
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl")
    return Path(shutil.copytree(infra_source, tmp_path_factory.mktemp("plans") / "infra", ignore=ignore))


@dataclass(frozen=True)
class Planned:
    """One plan of several scenarios, and the manifest each scenario read."""

    result: Plan
    manifests: dict[str, Path]

    def errors(self, scenario: str) -> list[str]:
        """The errors naming `scenario`'s manifest, and those naming none (a module's typed variable names no file)."""
        others = [str(path) for name, path in self.manifests.items() if name != scenario]
        return [error for error in self.result.errors() if not any(f"{path}: " in error for path in others)]


def _plan_scenarios(
    terraform_bin: str, infra: Path, endpoint: str, name: str, scenarios: dict, functions: dict | None = None
) -> Planned:
    """Write each environment scenario's manifest, then plan them all, and the `functions` scenarios (calls of
    modules/function), in one generated root, `infra/tests-<name>`."""
    work = infra.parent / name
    work.mkdir()
    manifests: dict[str, Path] = {}
    blocks = {scenario: Scenario("modules/function", variables) for scenario, variables in (functions or {}).items()}
    for scenario, (environment, manifest, variables) in scenarios.items():
        manifests[scenario] = work / scenario / "manifest.json"
        manifests[scenario].parent.mkdir(parents=True)
        manifests[scenario].write_text(json.dumps(manifest))
        endpoint_variable = {"endpoint_url": endpoint} if environment == "local" else {}
        blocks[scenario] = Scenario(
            f"envs/{environment}", {"manifest_path": str(manifests[scenario]), **endpoint_variable, **variables}
        )
    root = infra / f"tests-{name}"
    write_scenarios(root, infra, blocks)
    return Planned(plan(terraform_bin, root, {**cli_environment(work), **aws_environment(endpoint)}), manifests)


@pytest.fixture(scope="module")
def valid_plan(terraform_bin: str, infra_tree: Path, moto_endpoint: str) -> Planned:
    planned = _plan_scenarios(terraform_bin, infra_tree, moto_endpoint, "valid", VALID)
    assert planned.result.returncode == 0, planned.result.report()
    return planned


@pytest.fixture(scope="module")
def refused_plan(terraform_bin: str, infra_tree: Path, moto_endpoint: str) -> Planned:
    planned = _plan_scenarios(terraform_bin, infra_tree, moto_endpoint, "refused", REFUSED, REFUSED_FUNCTIONS)
    assert planned.result.returncode == 1, planned.result.report()
    return planned


@pytest.fixture(scope="module")
def invalid_plan(terraform_bin: str, infra_tree: Path, moto_endpoint: str) -> Planned:
    functions = {scenario: variables for scenario, (variables, _) in INVALID_FUNCTIONS.items()}
    planned = _plan_scenarios(terraform_bin, infra_tree, moto_endpoint, "invalid", {}, functions)
    assert planned.result.returncode == 1, planned.result.report()
    return planned


def test_environments_are_valid(valid_plan: Planned) -> None:
    """`terraform plan` validates the configuration before planning: a clean plan of both environments validates
    them, the root module and every module it calls, with real arguments (tests/infra/test_static.py checks that
    no module is left out)."""
    assert {VALID[scenario][0] for scenario in valid_plan.manifests} == {"local", "aws"}
    assert not valid_plan.result.errors()


def test_plan_refuses_a_manifest_with_no_functions(refused_plan: Planned) -> None:
    manifest = refused_plan.manifests["local_empty"]
    message = " ".join(refused_plan.errors("local_empty"))
    assert f"{manifest}: functions is empty: applying it would destroy every deployed function" in message
    assert "allow_empty_manifest = true" in message


def test_allow_empty_manifest_lets_the_plan_through(valid_plan: Planned) -> None:
    modules = valid_plan.result.modules("local_allow_empty")
    assert modules, "the empty manifest's plan still creates the stack's other resources"
    assert not [module for module in modules if module.startswith("module.stack.module.function")], sorted(modules)


@pytest.mark.parametrize("scenario", ["local_orders", "aws_orders"])
def test_every_environment_passes_declared_tables_and_buckets_to_the_stack(valid_plan: Planned, scenario: str) -> None:
    modules = valid_plan.result.modules(scenario)
    assert {'module.stack.module.table["orders"]', 'module.stack.module.bucket["exports"]'} <= modules, sorted(modules)
    assert 'module.stack.module.table["predictions"]' not in modules


def test_plan_names_the_manifest_key_of_every_problem(refused_plan: Planned) -> None:
    path = refused_plan.manifests["local_problems"]
    message = " ".join(refused_plan.errors("local_problems"))
    assert f"{path}: functions.math.permissions names table 'nope', which is not declared in var.tables" in message
    assert "functions.math.destinations.on_success names function 'ghost', which is not in the manifest" in message
    undeclared = "functions.math.destinations.on_failure names queue 'nope', which is not declared in functions/"
    assert undeclared in message
    assert "var.buckets.uploads.notify_function names function 'resize_image', which is not in the manifest" in message
    assert f"functions.{LONG_NAME}: '{PREFIX}{LONG_NAME}' is over the 64 characters Lambda and IAM allow" in message
    assert "reserved_concurrency must be a whole number, at least 0 (0 throttles every invocation), or null" in message


def test_the_function_module_refuses_image_config_on_a_zip_function(refused_plan: Planned) -> None:
    message = " ".join(refused_plan.result.errors())
    assert f"{PREFIX}zip-config: image_config applies to an Image function only." in message


@pytest.mark.parametrize("scenario", INVALID_FUNCTIONS)
def test_the_function_module_refuses_an_image_config_lambda_would_not_run(invalid_plan: Planned, scenario: str) -> None:
    """A relative or over-long working directory, a list of over 1500 strings: one error each, on its own block."""
    [error] = invalid_plan.result.errors_in(scenario)
    assert INVALID_FUNCTIONS[scenario][1] in error
    assert len(invalid_plan.result.errors()) == len(INVALID_FUNCTIONS), invalid_plan.result.report()
