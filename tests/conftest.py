"""Fixtures for the whole suite: throwaway build workspaces, the CLI in-process, the local endpoint and the one
applied local stack (`local_stack`) every end-to-end test shares.

Shared-stack fixtures (stable names, other folders' tests use them):
- `endpoint` / `embedded`: the session's `python build.py local` (or AWS_ENDPOINT_URL's endpoint);
- `built_repo`: a copy of the repository in tmp with every function built (never the checkout's build/);
- `local_stack`: infra/envs/local applied once to `endpoint` from `built_repo`, with the model uploaded; destroyed
  (and checked gone) right after the last test that uses it. A test using it (or `make_terraform`) is marked `stack`.
- `run_cli`: `python build.py ARGS` run in-process (`lambdafleet.cli.main`), for user-error checks.
"""

import io
import json
import os
import shutil
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lambdafleet.build.paths import BUILD_ENV, cache_root
from lambdafleet.testing.repository import copy_package, copy_repository

REPO_ROOT = Path(__file__).resolve().parent.parent
# `build.py invoke` leaves a warm environment's server behind (lambdafleet.runtime.warm): in tests, only briefly.
os.environ.setdefault("LAMBDAFLEET_WARM_IDLE_S", "5")
REGION = "us-east-1"
# boto3's function_active_v2 / function_updated_v2 waiters poll every second; the endpoint settles a create or an
# update 0.5 s later (moto_patches.FUNCTION_SETTLE_S), so each wait cost a second. Polling every 0.1 s keeps the
# waiter (a call made before it still meets Pending or InProgress) and costs 0.5 s.
WAITER_POLL = {"Delay": 0.1, "MaxAttempts": 600}
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
# Offline machines keep the AWS provider in this filesystem mirror; elsewhere init downloads it.
PROVIDER_MIRROR = Path("/opt/tf-plugins")
# What a copy of the repository needs to build and apply (functions share files through relative symlinks).


# Fixtures that make a test slow end to end: the applied stack, and terraform runs (each starts the AWS provider).
STACK_FIXTURES = {"local_stack", "make_terraform"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that applies the stack or runs terraform is a `stack` test, so `-m "not stack"` leaves them out."""
    for item in items:
        if STACK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.stack)


FIXTURES = Path(__file__).resolve().parent / "fixtures"


class Workspace:
    """A throwaway copy of the repository's build tooling with functions written by the test."""

    def __init__(self, root: Path, cache_dir: Path) -> None:
        self.root = root
        self.cache_dir = cache_dir
        root.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / "build.py", root / "build.py")
        shutil.copy2(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
        copy_package(root / "lambdafleet")  # with its bytecode: the workspace's processes do not recompile it
        (root / "functions").mkdir(exist_ok=True)
        shutil.copy2(REPO_ROOT / "functions" / "conftest.py", root / "functions" / "conftest.py")

    @classmethod
    def existing(cls, root: Path, cache_dir: Path) -> "Workspace":
        """A handle on a workspace already on disk (a copy of another, say)."""
        workspace = cls.__new__(cls)
        workspace.root, workspace.cache_dir = root, cache_dir
        return workspace

    def add_function(self, name: str, config: str | None = None, files: dict[str, str] | None = None) -> Path:
        """Write functions/<name>/ with a trivial handler unless `files` provides one."""
        folder = self.root / "functions" / name
        folder.mkdir(parents=True)
        files = {"lambda_function.py": "def lambda_handler(event, context):\n    return event\n", **(files or {})}
        for relative, text in files.items():
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_text(text)
        if config is not None:
            (folder / "function.toml").write_text(config)
        return folder

    def add_locked_function(self, name: str, fixture: str, config: str | None = None) -> Path:
        """A function whose requirements.txt is one of tests/fixtures (a real lock with hashes)."""
        folder = self.add_function(name, config)
        shutil.copy(FIXTURES / fixture, folder / "requirements.txt")
        return folder

    def run(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        umask: int = 0o022,
        timeout: float = 600,
        python_options: tuple[str, ...] = (),
        input: str | None = None,
    ):
        """Run `python [PYTHON_OPTIONS] build.py ARGS` in a child process (`input` on its stdin); returns the
        CompletedProcess."""
        inherited = {key: value for key, value in os.environ.items() if key != BUILD_ENV}  # build/ in the workspace
        full_env = {**inherited, "LAMBDAFLEET_CACHE_DIR": str(self.cache_dir), **(env or {})}
        return subprocess.run(
            [sys.executable, *python_options, str(self.root / "build.py"), *args],
            cwd=self.root,
            env=full_env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=lambda: os.umask(umask),
        )

    def cli(self, *args: str, env: dict[str, str] | None = None) -> "CliResult":
        """`python build.py ARGS` in this process (`lambdafleet.cli.main` on this workspace): for user errors, where
        a new interpreter per case only costs time. `env` is set for the call only."""
        changes = {BUILD_ENV: None, "LAMBDAFLEET_CACHE_DIR": str(self.cache_dir), **(env or {})}
        saved = {key: os.environ.get(key) for key in changes}
        try:
            _set_environment(changes)
            return _run_cli(*args, root=self.root)
        finally:
            _set_environment(saved)

    def manifest(self) -> dict:
        return json.loads((self.root / "build" / "manifest.json").read_text())

    def zip_names(self, name: str) -> list[str]:
        with zipfile.ZipFile(self.root / "build" / f"{name}.zip") as archive:
            return archive.namelist()


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dependency cache for the session, so each lock is installed by pip once."""
    return tmp_path_factory.mktemp("deps-cache")


@pytest.fixture
def workspace(tmp_path: Path, shared_cache: Path) -> Workspace:
    return Workspace(tmp_path / "repo", shared_cache)


@pytest.fixture(scope="session")
def make_workspace():
    """Factory for extra, independent workspaces: make_workspace(root, cache_dir)."""
    return Workspace


@dataclass(frozen=True)
class CliResult:
    """What `python build.py ARGS` did, run in-process: exit code and both streams."""

    returncode: int
    stdout: str
    stderr: str


def _set_environment(values: dict[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _run_cli(*args: str, root: Path = REPO_ROOT) -> CliResult:
    from lambdafleet.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(args), root)
        except SystemExit as exit_:  # argparse's --help and usage errors
            code = exit_.code if isinstance(exit_.code, int) else 1
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, lambda_build_dir: Path) -> Callable[..., CliResult]:
    """`run_cli(*args, root=REPO_ROOT)`: `python build.py ARGS` in this process (no interpreter start-up);
    builds go to the session's build folder, not the checkout's build/."""
    monkeypatch.setenv(BUILD_ENV, str(lambda_build_dir))
    return _run_cli


def one_line_error(result: CliResult | subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit code 2, one line on stderr without a traceback, holding every fragment."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert all(fragment in lines[0] for fragment in fragments), lines[0]


@dataclass(frozen=True)
class Endpoint:
    """Where the tests send AWS calls; `embedded` is False for an external one from AWS_ENDPOINT_URL."""

    url: str
    embedded: bool
    pid: int | None = None  # the embedded endpoint's process

    def client(self, service: str, **options: Any) -> Any:
        """A boto3 client of `service` on this endpoint, with placeholder keys and boto3.client `options`."""
        import boto3

        return boto3.client(service, endpoint_url=self.url, region_name=REGION, **CREDENTIALS, **options)


@pytest.fixture(scope="session")
def built_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository in tmp with `python build.py all` done (its manifest: build/manifest.json).

    Built with the checkout's dependency cache, which is keyed on lock + target + builder and so safe to share:
    usually nothing is installed, only zipped.
    """
    root = copy_repository(tmp_path_factory.mktemp("built") / "repo")
    build_copy(root, "all")
    return root


def build_copy(root: Path, target: str) -> None:
    """`python build.py TARGET --quiet` in a copy of the repository, as a user runs it, with the checkout's
    dependency cache; fails the test on a non-zero exit."""
    inherited = {key: value for key, value in os.environ.items() if key != BUILD_ENV}
    result = subprocess.run(
        [sys.executable, "build.py", target, "--quiet"],
        cwd=root,
        env={**inherited, "LAMBDAFLEET_CACHE_DIR": str(cache_root(REPO_ROOT))},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr


@dataclass
class LocalStack:
    """The applied infra/envs/local: its outputs, the manifest it was applied from, and terraform on it."""

    outputs: dict[str, Any]
    manifest: dict[str, Any]
    prefix: str
    variables: dict[str, str]
    terraform: Any  # lambdafleet.dev.stack.Terraform
    endpoint: Endpoint

    @property
    def function_names(self) -> dict[str, str]:
        """Deployed function names by manifest name."""
        return self.outputs["function_names"]


FRONT_DOOR_CORS = {
    "allow_origins": ["https://app.example"],
    "allow_methods": ["GET"],
    "allow_headers": ["authorization"],
    "expose_headers": ["x-total"],
    "allow_credentials": True,
    "max_age": 60,
}


def with_every_front_door_setting(manifest_path: Path) -> None:
    """Add to the manifest what the examples do not use, so that the one apply covers every setting build.py can
    write: math behind payload-1.0 routes (AWS_IAM, a Lambda authorizer, route throttling), a public function URL
    with its own CORS on echo, and a reserved concurrency of 0 on stats (0 throttles every invocation; stats runs in
    its own tests, and its layer is checked on the stack). Only existing functions change: a rebuild in a test keeps
    their entries, where it would drop an added one."""
    manifest = json.loads(manifest_path.read_text())
    functions = manifest["functions"]
    functions["stats"] = {**functions["stats"], "reserved_concurrency": 0}
    functions["math"] = {**functions["math"], "routes": ["GET /math/iam", "GET /math/gated", "GET /math/busy"]}
    functions["math"]["payload_format_version"] = "1.0"
    functions["echo"] = {**functions["echo"], "function_url": {"auth_type": "NONE", "cors": FRONT_DOOR_CORS}}
    api = manifest["api"]
    api["authorizers"]["gate"] = {
        "type": "lambda",
        "function": "echo",
        "simple_responses": True,
        "result_ttl": 60,
        "identity_sources": ["$request.header.Authorization"],
    }
    api["routes"]["GET /math/iam"] = {"authorization": "AWS_IAM", "scopes": [], "throttling": None}
    api["routes"]["GET /math/gated"] = {"authorization": "gate", "scopes": [], "throttling": None}
    api["routes"]["GET /math/busy"] = {
        "authorization": "NONE",
        "scopes": [],
        "throttling": {"rate_limit": 1.0, "burst_limit": 1},
    }
    manifest_path.write_text(json.dumps(manifest))


STACK_PARAMETER_VALUES = {"release": "release-value-4f1c"}
# The applied stack's destroy, once registered by `local_stack`: run after the session's last test using it.
_STACK_DESTROY: list[Callable[[], None]] = []


def _last_user(item: pytest.Item, fixture: str) -> bool:
    """Whether `item` is the last of the session's tests (in run order) that use `fixture`.

    On pytest-xdist every test of `local_stack` runs on one worker, in this order (lambdafleet.testing.parallel)."""
    users = [test for test in item.session.items if fixture in getattr(test, "fixturenames", ())]
    return bool(users) and users[-1] is item


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Destroy the applied stack right after its last test instead of at the session's end: the provider waits
    ~15 s per SQS queue it deletes, and the worker runs other tests after, so the wait is off the suite's tail."""
    result = yield
    if _STACK_DESTROY and _last_user(item, "local_stack"):
        _STACK_DESTROY.pop()()
    return result


@pytest.fixture(scope="session")
def local_stack(endpoint: Endpoint, built_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """infra/envs/local applied once for the session to `endpoint`, under a unique name prefix, with predict's
    model in the models bucket. Tests may add data but must not change what Terraform manages: a test re-plans
    and expects no change. After the last test using it: `terraform destroy`, and no function of the prefix may be
    left."""
    from lambdafleet.dev.stack import Terraform, local_variables, upload_model

    if shutil.which("terraform") is None:
        pytest.skip("no `terraform` on PATH: install Terraform >= 1.11 to run the stack tests")
    state = tmp_path_factory.mktemp("stack-state")
    terraform = Terraform(
        workdir=built_repo / "infra" / "envs" / "local",
        data_dir=state / "tf-data",
        state_path=state / "terraform.tfstate",
        plugin_dir=PROVIDER_MIRROR if PROVIDER_MIRROR.is_dir() else None,
    )
    prefix = f"st{uuid.uuid4().hex[:4]}-"  # apart from anything else the shared endpoint holds
    manifest_path = built_repo / "build" / "manifest.json"
    with_every_front_door_setting(manifest_path)
    variables = local_variables(endpoint.url, manifest_path, prefix)
    # A parameter beside the examples' secret (both values go through write-only arguments, never in the state),
    # and a KMS key: what the examples do not declare.
    variables["parameters"] = json.dumps({"release": {"description": "stack test"}})
    variables["parameter_values"] = json.dumps(STACK_PARAMETER_VALUES)
    variables["kms_keys"] = json.dumps({"data": {"description": "stack test"}})
    terraform.init()

    def destroy() -> None:
        """terraform destroy, then no function of the prefix may be left."""
        terraform.destroy(variables)
        left = [f["FunctionName"] for f in endpoint.client("lambda").list_functions()["Functions"]]
        assert not [name for name in left if name.startswith(prefix)], left

    _STACK_DESTROY.append(destroy)  # run by pytest_runtest_teardown after the last test using the stack
    try:
        outputs = terraform.apply(variables)
        upload_model(built_repo, endpoint.url, outputs)
        yield LocalStack(outputs, json.loads(manifest_path.read_text()), prefix, variables, terraform, endpoint)
    finally:
        if _STACK_DESTROY:  # the apply failed, or no test ended the stack's use (an interrupted run)
            _STACK_DESTROY.pop()()
