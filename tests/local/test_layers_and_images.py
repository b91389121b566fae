"""Layers and image functions on the embedded endpoint: a function created with layer version ARNs runs with those
layers (moto holds their zips) merged at /opt in order; an image function whose tag no build recorded is refused
in one line (the applied stack's predict_image, which a build recorded, is in test_stack.py); an image function's
ImageConfig (Command, EntryPoint, WorkingDirectory) is reported as Lambda reports it and applied, or the invocation
fails as Lambda fails a bad entrypoint or working directory."""

import base64
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import WAITER_POLL

SOURCE = """
import os, sys
import shared
def lambda_handler(event, context):
    return {"who": shared.WHO, "file": shared.__file__, "path": sys.path[:3], "opt": sorted(os.listdir("/opt/python"))}
"""


def _layer_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_a_function_runs_with_its_layer_versions_merged_at_opt_in_order(embedded, deploy_function) -> None:
    client = embedded.client("lambda")
    arns = []
    for name, files in (
        ("first", {"python/shared.py": "WHO = 'first'\n", "python/first_only.py": ""}),
        ("second", {"python/shared.py": "WHO = 'second'\n"}),
    ):
        published = client.publish_layer_version(
            LayerName=f"l-{name}-{uuid.uuid4().hex[:6]}",
            Content={"ZipFile": _layer_zip(files)},
            CompatibleRuntimes=["python3.12"],
        )
        arns.append(published["LayerVersionArn"])
    function = deploy_function(SOURCE, Layers=arns)
    response = client.invoke(FunctionName=function["FunctionName"], Payload=b"{}")
    seen = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, seen
    assert seen["who"] == "second" and seen["file"] == "/opt/python/shared.py"
    assert seen["path"] == ["/var/task", "/opt/python/lib/python3.12/site-packages", "/opt/python"]
    assert seen["opt"] == ["first_only.py", "shared.py"]

    # Reversed by UpdateFunctionConfiguration: new environments, the other layer on top.
    client.update_function_configuration(FunctionName=function["FunctionName"], Layers=arns[::-1])
    client.get_waiter("function_updated_v2").wait(FunctionName=function["FunctionName"], WaiterConfig=WAITER_POLL)
    response = client.invoke(FunctionName=function["FunctionName"], Payload=b"{}")
    assert json.loads(response["Payload"].read())["who"] == "first"


def _invoke_refused_image(endpoint, role: str, uri: str) -> tuple[str, dict]:
    """Create an image function of `uri` as Terraform does, invoke it, expect a refusal: its name and the error."""
    client = endpoint.client("lambda")
    name = f"img-{uuid.uuid4().hex[:8]}"
    client.create_function(FunctionName=name, Role=role, PackageType="Image", Code={"ImageUri": uri})
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=WAITER_POLL)
    with pytest.raises(ClientError) as caught:
        client.invoke(FunctionName=name, Payload=b"{}")
    return name, caught.value.response["Error"]


def test_an_image_no_build_recorded_is_refused_in_one_line(embedded, lambda_role) -> None:
    uri = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/elsewhere:{'ab' * 32}"
    name, error = _invoke_refused_image(embedded, lambda_role, uri)
    assert error["Code"] == "InvalidRuntimeException"
    assert error["Message"] == (
        f"{name}: image {uri} was not built here (no `python build.py` output has its tag); build the function "
        "in a checkout sharing this cache, or use LocalStack for other images"
    )


def test_an_image_function_runs_the_task_root_its_build_recorded(embedded, lambda_role, built_repo) -> None:
    """Created as Terraform creates it (ImageUri = repository:tag, no handler, no runtime): the endpoint finds the
    build behind the tag and runs its task root with the image's CMD and Python."""
    image = json.loads((built_repo / "build" / "manifest.json").read_text())["functions"]["predict_image"]["image"]
    client = embedded.client("lambda")
    name = f"img-{uuid.uuid4().hex[:8]}"
    uri = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/predict_image:{image['tag']}"
    environment = {"Variables": {"MODEL_DIR": "/var/task/model", "ROUTE_PREFIX": "/image"}}
    client.create_function(
        FunctionName=name, Role=lambda_role, PackageType="Image", Code={"ImageUri": uri}, Environment=environment
    )
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=WAITER_POLL)
    event = {"rawPath": "/image/health", "requestContext": {"http": {"method": "GET"}}}
    response = client.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    answer = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, answer
    assert (answer["statusCode"], json.loads(answer["body"])) == (200, {"status": "ok", "model_loaded": False})


def test_an_image_whose_task_zip_was_rebuilt_since_is_refused(embedded, lambda_role, tmp_path) -> None:
    """The recorded task zip now holds other bytes (a later build of another tag): never run the wrong code."""
    from lambdafleet.build.paths import cache_root
    from lambdafleet.runtime import images
    from tests.conftest import REPO_ROOT

    tag = uuid.uuid4().hex * 2
    (tmp_path / "img.task.zip").write_bytes(_layer_zip({"lambda_function.py": "def h(e, c):\n    return 1\n"}))
    entry = {
        "name": "img",
        "runtime": "python3.12",
        "architecture": "x86_64",
        "image": {"tag": tag, "command": ["lambda_function.h"], "task_zip": "img.task.zip", "task_sha256": "0" * 64},
    }
    cache = cache_root(REPO_ROOT)  # the endpoint's (it runs from the checkout)
    images.register(cache, entry, tmp_path)
    uri = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/img:{tag}"
    try:
        name, error = _invoke_refused_image(embedded, lambda_role, uri)
    finally:
        (cache / "runtime" / images.IMAGES / f"{tag}.json").unlink()
    message = error["Message"]
    assert message == (
        f"{name}: {(tmp_path / 'img.task.zip').resolve()} no longer holds the task root of image {uri}: rebuild "
        "with `python build.py img`"
    )


IMAGE_APP = """
import os
def where(event, context):
    greeting = open("greeting.txt").read() if os.path.exists("greeting.txt") else None
    return {"handler": "where", "cwd": os.getcwd(), "greeting": greeting}
def other(event, context):
    return {"handler": "other", "cwd": os.getcwd()}
"""


@pytest.fixture
def small_image(tmp_path: Path) -> Iterator[str]:
    """The ImageUri of an image build recorded in the endpoint's cache, as `python build.py` records one (a task zip
    under a new tag; its Dockerfile's CMD is `app.where`), without building anything: its ImageConfig tests need no
    model and no dependencies."""
    from lambdafleet.build.paths import cache_root
    from lambdafleet.runtime import images
    from tests.conftest import REPO_ROOT

    tag = uuid.uuid4().hex * 2
    (tmp_path / "img.task.zip").write_bytes(_layer_zip({"app.py": IMAGE_APP, "data/greeting.txt": "hello"}))
    entry = {
        "name": "img",
        "runtime": "python3.12",
        "architecture": "x86_64",
        "image": {"tag": tag, "command": ["app.where"], "task_zip": "img.task.zip"},
    }
    cache = cache_root(REPO_ROOT)  # the endpoint's (it runs from the checkout)
    images.register(cache, entry, tmp_path)
    try:
        yield f"123456789012.dkr.ecr.us-east-1.amazonaws.com/img:{tag}"
    finally:
        (cache / "runtime" / images.IMAGES / f"{tag}.json").unlink()


def _configure(client, name: str, image_config: dict) -> dict:
    """UpdateFunctionConfiguration's answer, once the update is done."""
    answer = client.update_function_configuration(FunctionName=name, ImageConfig=image_config)
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=WAITER_POLL)
    return answer


def _invoke(client, name: str) -> tuple[dict, str | None, str]:
    """The answer of one invocation, its FunctionError (None: none) and the tail of its logs."""
    response = client.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
    logs = base64.b64decode(response["LogResult"]).decode()
    return json.loads(response["Payload"].read()), response.get("FunctionError"), logs


@pytest.mark.stack  # slow end to end: several image functions created and updated
def test_image_config_applies_command_entry_point_and_working_directory(embedded, lambda_role, small_image) -> None:
    """Command replaces the image's CMD (the handler), WorkingDirectory its WORKDIR (default: the task root); an
    EntryPoint that starts the runtime interface client as the base image does runs too. Each update replaces
    the whole ImageConfig, as on AWS."""
    client = embedded.client("lambda")
    name = f"img-{uuid.uuid4().hex[:8]}"
    client.create_function(FunctionName=name, Role=lambda_role, PackageType="Image", Code={"ImageUri": small_image})
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=WAITER_POLL)
    assert _invoke(client, name)[:2] == ({"handler": "where", "cwd": "/var/task", "greeting": None}, None)

    _configure(client, name, {"WorkingDirectory": "/var/task/data"})
    assert _invoke(client, name)[:2] == ({"handler": "where", "cwd": "/var/task/data", "greeting": "hello"}, None)
    version = client.publish_version(FunctionName=name)["Version"]

    _configure(
        client, name, {"EntryPoint": ["/var/lang/bin/python3.12", "-m", "awslambdaric"], "Command": ["app.other"]}
    )
    assert _invoke(client, name)[:2] == ({"handler": "other", "cwd": "/var/task"}, None)

    _configure(client, name, {"EntryPoint": ["/lambda-entrypoint.sh"], "WorkingDirectory": "/tmp"})
    assert _invoke(client, name)[:2] == ({"handler": "where", "cwd": "/tmp", "greeting": None}, None)

    # The published version runs with the settings it was published with.
    answer = json.loads(client.invoke(FunctionName=name, Qualifier=version, Payload=b"{}")["Payload"].read())
    assert answer == {"handler": "where", "cwd": "/var/task/data", "greeting": "hello"}


def test_image_config_is_reported_as_lambda_reports_it(embedded, lambda_role, small_image) -> None:
    """The shapes of LocalStack's recorded AWS snapshot (TestLambdaImages.test_lambda_image_and_image_config_crud):
    every setting given is reported by CreateFunction, GetFunction and GetFunctionConfiguration; an update replaces
    them all; `{}` removes ImageConfigResponse. A published version keeps the settings it was published with."""
    client = embedded.client("lambda")
    name = f"img-{uuid.uuid4().hex[:8]}"
    given = {"EntryPoint": ["sh"], "Command": ["-c", "echo test"], "WorkingDirectory": "/app1"}
    created = client.create_function(
        FunctionName=name, Role=lambda_role, PackageType="Image", Code={"ImageUri": small_image}, ImageConfig=given
    )
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=WAITER_POLL)
    assert created["ImageConfigResponse"] == {"ImageConfig": given}
    assert client.get_function(FunctionName=name)["Configuration"]["ImageConfigResponse"] == {"ImageConfig": given}
    assert client.get_function_configuration(FunctionName=name)["ImageConfigResponse"] == {"ImageConfig": given}
    version = client.publish_version(FunctionName=name)["Version"]

    updated = _configure(client, name, {"Command": ["-c", "echo test1"], "WorkingDirectory": "/app1"})
    after = {"Command": ["-c", "echo test1"], "WorkingDirectory": "/app1"}
    assert updated["ImageConfigResponse"] == {"ImageConfig": after}
    assert client.get_function(FunctionName=name)["Configuration"]["ImageConfigResponse"] == {"ImageConfig": after}
    published = client.get_function_configuration(FunctionName=name, Qualifier=version)
    assert published["ImageConfigResponse"] == {"ImageConfig": given}

    cleared = _configure(client, name, {})
    assert "ImageConfigResponse" not in cleared
    assert "ImageConfigResponse" not in client.get_function_configuration(FunctionName=name)


@pytest.mark.stack  # slow end to end: several image functions created and invoked
def test_what_cannot_run_without_docker_fails_as_a_bad_entrypoint_does(embedded, lambda_role, small_image) -> None:
    """An EntryPoint other than the base image's or the runtime interface client's (here the snapshot's `sh -c`)
    fails every invocation with Runtime.InvalidEntrypoint, as Lambda fails an entrypoint it cannot run; the base
    image's /lambda-entrypoint.sh exits 142 unless given exactly one argument; a relative or missing working
    directory is Runtime.InvalidWorkingDir. Never run with settings other than the function's."""
    client = embedded.client("lambda")
    name = f"img-{uuid.uuid4().hex[:8]}"
    given = {"EntryPoint": ["sh"], "Command": ["-c", "echo test"]}
    client.create_function(
        FunctionName=name, Role=lambda_role, PackageType="Image", Code={"ImageUri": small_image}, ImageConfig=given
    )
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=WAITER_POLL)
    answer, error, logs = _invoke(client, name)
    assert (error, answer["errorType"]) == ("Unhandled", "Runtime.InvalidEntrypoint"), answer
    assert answer["errorMessage"].startswith("RequestId: ") and " Error: " in answer["errorMessage"]
    assert "\nRuntime.InvalidEntrypoint\n" in logs and "\tError Type: Runtime.InvalidEntrypoint" in logs

    _configure(client, name, {"Command": ["app.where", "extra"]})
    answer, error, logs = _invoke(client, name)
    assert (error, answer["errorType"]) == ("Unhandled", "Runtime.ExitError"), answer
    assert answer["errorMessage"].endswith(" Error: Runtime exited with error: exit status 142")
    assert "entrypoint requires the handler name to be the first argument\n" in logs

    _configure(client, name, {"WorkingDirectory": "data"})
    answer, error, _ = _invoke(client, name)
    assert (error, answer["errorType"]) == ("Unhandled", "Runtime.InvalidWorkingDir"), answer
    assert answer["errorMessage"].endswith(
        " Error: the working directory 'data' is invalid, it needs to be an absolute path"
    )
    _configure(client, name, {"WorkingDirectory": "/var/task/missing"})
    answer, error, _ = _invoke(client, name)
    assert (error, answer["errorType"]) == ("Unhandled", "Runtime.InvalidWorkingDir"), answer

    _configure(client, name, {})
    assert _invoke(client, name)[:2] == ({"handler": "where", "cwd": "/var/task", "greeting": None}, None)
