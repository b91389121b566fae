"""`build.py verify`: deployed CodeSha256 against a forced rebuild of the working tree or of a commit.

Functions are deployed with the Lambda API to the embedded endpoint, as `terraform apply` does, from the zips
the build wrote; then a swapped zip must be named.
"""

import contextlib
import io
import json
import subprocess
import zipfile
from pathlib import Path

import boto3
import pytest

from lambdafleet.cli import main
from tests.conftest import WAITER_POLL

pytestmark = pytest.mark.stack  # slow end to end: builds, deploys to the endpoint and rebuilds commits in git worktrees

ROLE = "arn:aws:iam::123456789012:role/verify-test"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def _deploy(name: str, code: bytes) -> None:
    """Create or update the function and wait for the change to complete, as a deploy must (Lambda refuses the
    next update while one is in progress)."""
    client = boto3.client("lambda")
    try:
        client.update_function_code(FunctionName=f"verify-{name}", ZipFile=code)
        client.get_waiter("function_updated_v2").wait(FunctionName=f"verify-{name}", WaiterConfig=WAITER_POLL)
    except client.exceptions.ResourceNotFoundException:
        client.create_function(
            FunctionName=f"verify-{name}",
            Runtime="python3.12",
            Role=ROLE,
            Handler="lambda_function.lambda_handler",
            Code={"ZipFile": code},
        )
        client.get_waiter("function_active_v2").wait(FunctionName=f"verify-{name}", WaiterConfig=WAITER_POLL)


def _verify(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["verify", "--json", "--prefix", "verify-", *args], root)
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def deployed(workspace, aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LAMBDAFLEET_CACHE_DIR", str(workspace.cache_dir))
    iam = boto3.client("iam")
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(RoleName="verify-test", AssumeRolePolicyDocument="{}")
    workspace.add_function("alpha")
    workspace.add_function("beta", files={"lambda_function.py": "def lambda_handler(event, context):\n    return 2\n"})
    _git(workspace.root, "init", "--quiet")
    _git(workspace.root, "add", "-A")
    _git(workspace.root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "v1")
    assert main(["all", "--quiet"], workspace.root) == 0
    for name in ("alpha", "beta"):
        _deploy(name, (workspace.root / "build" / f"{name}.zip").read_bytes())
    return workspace.root


def test_verify_passes_for_what_was_deployed_and_names_a_swapped_zip(deployed: Path, capsys) -> None:
    code, report = _verify(deployed, capsys)
    assert code == 0, report
    assert {row["name"]: row["status"] for row in report["functions"]} == {"alpha": "same", "beta": "same"}

    swapped = io.BytesIO()
    with zipfile.ZipFile(swapped, "w") as archive:
        archive.writestr("lambda_function.py", "def lambda_handler(event, context):\n    return 'not from source'\n")
    _deploy("beta", swapped.getvalue())
    code, report = _verify(deployed, capsys)
    assert code == 1
    assert {row["name"]: row["status"] for row in report["functions"]} == {"alpha": "same", "beta": "DIFFERS"}


def test_verify_rebuilds_a_commit_in_its_own_worktree(deployed: Path, capsys) -> None:
    (deployed / "functions" / "alpha" / "lambda_function.py").write_text("def lambda_handler(e, c):\n    return 3\n")
    code, report = _verify(deployed, capsys)  # the edited working tree is not what runs
    assert code == 1
    assert [row["name"] for row in report["functions"] if row["status"] == "DIFFERS"] == ["alpha"]
    code, report = _verify(deployed, capsys, "--commit", "HEAD")  # the committed source is
    assert code == 0, report
    assert not (deployed / ".git" / "worktrees").exists() or not list((deployed / ".git" / "worktrees").iterdir())


def test_a_function_never_deployed_is_missing(deployed: Path, capsys) -> None:
    boto3.client("lambda").delete_function(FunctionName="verify-alpha")
    code, report = _verify(deployed, capsys, "alpha")
    assert code == 1
    assert report["functions"] == [
        {
            "name": "alpha",
            "status": "MISSING",
            "rebuilt": report["functions"][0]["rebuilt"],
            "deployed": None,
            "layers": [],
        }
    ]


def test_an_unknown_commit_is_one_line(deployed: Path, capsys) -> None:
    assert main(["verify", "--commit", "no-such-ref"], deployed) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --commit no-such-ref:") and err.count("\n") == 1


def _publish_layer(name: str, code: bytes) -> str:
    """Publish a layer version as terraform's aws_lambda_layer_version does; its ARN."""
    answer = boto3.client("lambda").publish_layer_version(
        LayerName=name, Content={"ZipFile": code}, CompatibleRuntimes=["python3.12"]
    )
    return answer["LayerVersionArn"]


def _attach_layers(arns: list[str]) -> None:
    """verify-gamma's layers become `arns`, in that order, once the update is done."""
    client = boto3.client("lambda")
    client.update_function_configuration(FunctionName="verify-gamma", Layers=arns)
    client.get_waiter("function_updated_v2").wait(FunctionName="verify-gamma", WaiterConfig=WAITER_POLL)


def test_verify_compares_the_attached_layer_versions_with_the_rebuilt_layers(
    workspace, aws_env: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("LAMBDAFLEET_CACHE_DIR", str(workspace.cache_dir))
    iam = boto3.client("iam")
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(RoleName="verify-test", AssumeRolePolicyDocument="{}")
    for layer in ("common", "more"):
        (workspace.root / "layers" / layer / "python").mkdir(parents=True)
        (workspace.root / "layers" / layer / "python" / f"{layer}_code.py").write_text("VALUE = 42\n")
    workspace.add_function("gamma", 'layers = ["common", "more"]\n')
    assert main(["all", "--quiet"], workspace.root) == 0
    layer_name = "verify-common-python3_12-x86_64"  # infra/main.tf's layer_name for the prefix
    built = (workspace.root / "build" / "layers" / "common-python3.12-x86_64.zip").read_bytes()
    good = _publish_layer(layer_name, built)
    more_zip = (workspace.root / "build" / "layers" / "more-python3.12-x86_64.zip").read_bytes()
    more = _publish_layer("verify-more-python3_12-x86_64", more_zip)
    _deploy("gamma", (workspace.root / "build" / "gamma.zip").read_bytes())
    _attach_layers([good, more])

    code, report = _verify(workspace.root, capsys, "gamma")
    assert code == 0, report
    (row,) = report["functions"]
    assert row["status"] == "same"
    assert row["layers"] == [
        {
            "layer": "common",
            "status": "same",
            "arn": good,
            "rebuilt": row["layers"][0]["rebuilt"],
            "deployed": row["layers"][0]["rebuilt"],
            "position": 0,
            "attached_at": 0,
        },
        {
            "layer": "more",
            "status": "same",
            "arn": more,
            "rebuilt": row["layers"][1]["rebuilt"],
            "deployed": row["layers"][1]["rebuilt"],
            "position": 1,
            "attached_at": 1,
        },
    ]
    _attach_layers([more, good])  # the order matters
    assert main(["verify", "--prefix", "verify-", "gamma"], workspace.root) == 1
    lines = capsys.readouterr().out.splitlines()
    version = good.rsplit(":", 1)[1]
    assert lines[1] == (
        f"DIFFERS  gamma layer common       {layer_name}:{version} is layer 2 of verify-gamma, "
        "the working tree lists it as layer 1"
    ), lines

    swapped = io.BytesIO()
    with zipfile.ZipFile(swapped, "w") as archive:
        archive.writestr("python/shared_code.py", "VALUE = 'not from source'\n")
    other = _publish_layer(layer_name, swapped.getvalue())
    _attach_layers([other, more])
    code, report = _verify(workspace.root, capsys, "gamma")
    assert code == 1
    assert [(r["layer"], r["status"], r["arn"]) for r in report["functions"][0]["layers"]] == [
        ("common", "DIFFERS", other),
        ("more", "same", more),
    ]
    assert main(["verify", "--prefix", "verify-", "gamma"], workspace.root) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("same     gamma "), lines
    assert lines[1].startswith("DIFFERS  gamma layer common "), lines
    assert f"deployed {layer_name}:{other.rsplit(':', 1)[1]} CodeSha256 " in lines[1], lines

    _attach_layers([more])
    code, report = _verify(workspace.root, capsys, "gamma")
    assert code == 1
    assert [(r["layer"], r["status"], r["arn"]) for r in report["functions"][0]["layers"]] == [
        ("common", "MISSING", None),
        ("more", "DIFFERS", more),  # attached as layer 1, listed as layer 2
    ]
