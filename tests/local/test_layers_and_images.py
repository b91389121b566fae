"""Layers and image functions on the embedded endpoint: a function created with layer version ARNs runs with those
layers (moto holds their zips) merged at /opt in order; an image function whose tag no build recorded is refused
in one line (the applied stack's predict_image, which a build recorded, is in test_stack.py)."""

import io
import json
import uuid
import zipfile

import pytest
from botocore.exceptions import ClientError

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
    client.get_waiter("function_updated_v2").wait(FunctionName=function["FunctionName"])
    response = client.invoke(FunctionName=function["FunctionName"], Payload=b"{}")
    assert json.loads(response["Payload"].read())["who"] == "first"


def _invoke_refused_image(endpoint, role: str, uri: str) -> tuple[str, dict]:
    """Create an image function of `uri` as Terraform does, invoke it, expect a refusal: its name and the error."""
    client = endpoint.client("lambda")
    name = f"img-{uuid.uuid4().hex[:8]}"
    client.create_function(FunctionName=name, Role=role, PackageType="Image", Code={"ImageUri": uri})
    client.get_waiter("function_active_v2").wait(FunctionName=name)
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
    client.get_waiter("function_active_v2").wait(FunctionName=name)
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
