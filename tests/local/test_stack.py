"""End to end: build, `terraform apply` infra/envs/local against the endpoint, use the stack over HTTP and boto3,
re-plan (no changes), destroy. Tests run in file order on one applied stack."""

import io
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from PIL import Image

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
PROVIDER_MIRROR = Path("/opt/tf-plugins")  # offline machines; elsewhere init downloads the provider
PREFIX = f"lt{uuid.uuid4().hex[:4]}-"  # apart from anything else a shared endpoint holds
ACCOUNT = "123456789012"


class Terraform:
    """terraform on a throw-away copy of infra/envs/local, with its state in tmp."""

    def __init__(self, workdir: Path, variables: dict[str, str]) -> None:
        self.dir = workdir
        self.var_args = [arg for name, value in variables.items() for arg in ("-var", f"{name}={value}")]
        self.env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """`terraform ARGS -no-color`; fails the test with terraform's output unless `check` is False."""
        result = subprocess.run(
            ["terraform", *args, "-no-color"], cwd=self.dir, env=self.env, capture_output=True, text=True
        )
        if check and result.returncode != 0:
            pytest.fail(f"terraform {args[0]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def init(self) -> None:
        """terraform init, from the provider mirror when this machine has one."""
        mirror = [f"-plugin-dir={PROVIDER_MIRROR}"] if PROVIDER_MIRROR.is_dir() else []
        self.run("init", "-input=false", *mirror)

    def apply(self) -> dict:
        """terraform apply; returns the outputs."""
        self.run("apply", "-auto-approve", "-input=false", *self.var_args)
        outputs = json.loads(self.run("output", "-json").stdout)
        return {name: output["value"] for name, output in outputs.items()}


@pytest.fixture(scope="module")
def manifest_path() -> Path:
    """`python build.py all` of the repository's functions (incremental: usually nothing to rebuild)."""
    result = subprocess.run(
        [sys.executable, "build.py", "all", "--quiet"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    return REPO_ROOT / "build" / "manifest.json"


@pytest.fixture(scope="module")
def terraform(endpoint, manifest_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Terraform]:
    if shutil.which("terraform") is None:
        pytest.skip("no `terraform` on PATH")
    copy = tmp_path_factory.mktemp("tf") / "infra"
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl")
    shutil.copytree(REPO_ROOT / "infra", copy, ignore=ignore)
    variables = {"endpoint_url": endpoint.url, "manifest_path": str(manifest_path), "name_prefix": PREFIX}
    terraform = Terraform(copy / "envs" / "local", variables)
    terraform.init()
    yield terraform
    terraform.run("destroy", "-auto-approve", "-input=false", *terraform.var_args, check=False)  # if a test failed


@pytest.fixture(scope="module")
def stack(terraform: Terraform, endpoint) -> dict:
    """The applied stack's outputs, with the predict model in the models bucket."""
    outputs = terraform.apply()
    endpoint.client("s3").upload_file(
        str(REPO_ROOT / "models" / "iris.npz"), outputs["bucket_names"]["models"], "iris.npz"
    )
    return outputs


@pytest.fixture(scope="module")
def api(stack: dict, endpoint) -> str:
    """Base URL of the deployed HTTP API on the endpoint."""
    api_id = stack["api_id"]
    # envs/local's api_url is the embedded endpoint's form; an external endpoint is taken to be LocalStack,
    # which serves HTTP APIs under /_aws/execute-api/.
    assert stack["api_url"] == f"{endpoint.url}/_api/{api_id}"
    return stack["api_url"] if endpoint.embedded else f"{endpoint.url}/_aws/execute-api/{api_id}"


def _http(method: str, url: str, body: object = None, headers: dict | None = None) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    return status, json.loads(raw) if raw else None


def _bearer(*scopes: str) -> dict[str, str]:
    """An Authorization header with a token of the local issuer (`build.py token`) holding `scopes`."""
    command = [sys.executable, "build.py", "token", *[arg for scope in scopes for arg in ("--scope", scope)]]
    token = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()
    return {"Authorization": f"Bearer {token}"}


def test_items_api_cors_for_the_declared_origin_only(api: str) -> None:
    asked = {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization,content-type"}
    for origin, allowed in (("http://localhost:8000", True), ("http://localhost:9999", False)):
        request = urllib.request.Request(f"{api}/items/b1", method="OPTIONS", headers={"Origin": origin, **asked})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 204
            assert (response.headers.get("access-control-allow-origin") == origin) is allowed


def test_predict_function_url_needs_a_signature(stack: dict, embedded) -> None:
    url = stack["function_urls"]["predict"] + "health"
    host = urllib.parse.urlsplit(url).netloc
    local = f"http://127.0.0.1:{urllib.parse.urlsplit(url).port}/health"  # *.localhost need not resolve here
    assert _http("GET", local, headers={"Host": host}) == (403, {"Message": "Forbidden"})
    signed = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials("test", "test"), "lambda", "us-east-1").add_auth(signed)
    assert _http("GET", local, headers={"Host": host, **dict(signed.headers)})[1]["status"] == "ok"


def test_http_routes_of_the_example_functions(api: str) -> None:
    status, prediction = _http("POST", f"{api}/predict", {"features": [5.1, 3.5, 1.4, 0.2]})
    assert status == 200, prediction
    assert prediction["prediction"] == "setosa"
    assert _http("GET", f"{api}/health") == (200, {"status": "ok", "model_loaded": True})
    assert _http("POST", f"{api}/predict", {"features": "x"})[0] == 400

    item = {"name": "bolt", "quantity": 3, "tags": ["m4"]}
    # functions/api.toml: writes need a token of the users authorizer with the items/write scope.
    assert _http("PUT", f"{api}/items/b1", item) == (401, {"message": "Unauthorized"})
    assert _http("PUT", f"{api}/items/b1", item, _bearer("items/read")) == (403, {"message": "Forbidden"})
    writer = _bearer("items/write")
    assert _http("PUT", f"{api}/items/b1", item, writer) == (201, {"id": "b1", **item})
    assert _http("GET", f"{api}/items/b1") == (200, {"id": "b1", **item})
    status, page = _http("GET", f"{api}/items?limit=5")
    assert status == 200 and [entry["id"] for entry in page["items"]] == ["b1"]
    assert _http("DELETE", f"{api}/items/b1")[0] == 401
    assert _http("DELETE", f"{api}/items/b1", headers=writer)[0] == 204
    assert _http("GET", f"{api}/items/b1")[0] == 404  # the function's own 404
    assert _http("GET", f"{api}/no/such/route") == (404, {"message": "Not Found"})  # API Gateway's


def test_api_host_name_form(stack: dict, embedded) -> None:
    api_id = stack["api_id"]
    port = embedded.url.rsplit(":", 1)[1]
    host = f"{api_id}.execute-api.localhost:{port}"
    # Sent to 127.0.0.1 with the Host header, so the test does not depend on *.localhost resolving.
    assert _http("GET", f"http://127.0.0.1:{port}/health", headers={"Host": host})[1]["status"] == "ok"


def test_invoke_sync(stack: dict, endpoint) -> None:
    client = endpoint.client("lambda")
    response = client.invoke(
        FunctionName=stack["function_names"]["math"], Payload=b'{"action": "square", "number": 12}', LogType="Tail"
    )
    assert json.loads(response["Payload"].read()) == 144
    assert response["ExecutedVersion"] == "$LATEST"


def test_async_invocation_reaches_its_destination(stack: dict, endpoint, wait_for) -> None:
    client, dynamodb = endpoint.client("lambda"), endpoint.client("dynamodb")
    response = client.invoke(
        FunctionName=stack["function_names"]["predict"],
        InvocationType="Event",
        Payload=json.dumps({"features": [6.7, 3.0, 5.2, 2.3]}).encode(),
    )
    assert response["StatusCode"] == 202

    def notified() -> list:
        """a prediction that notify (predict's on_success destination) recorded"""
        items = dynamodb.scan(TableName=stack["table_names"]["predictions"])["Items"]
        return [item for item in items if item.get("notified_via", {}).get("S") == "destination"]

    [item] = wait_for(notified)
    record = json.loads(item["invocation_record"]["S"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["responsePayload"]["prediction"] == "virginica"


def test_chain_execution_runs_its_steps(stack: dict, endpoint, run_execution) -> None:
    features = {"features": [5.1, 3.5, 1.4, 0.2]}
    execution = run_execution(stack["state_machine_arns"]["predict_then_notify"], features, timeout=60)
    assert execution["status"] == "SUCCEEDED", execution
    notified = json.loads(execution["output"])
    assert notified["notified_via"] == "chain"
    item = endpoint.client("dynamodb").get_item(
        TableName=stack["table_names"]["predictions"], Key={"id": {"S": notified["id"]}}
    )["Item"]
    assert json.loads(item["invocation_record"]["S"])["prediction"] == "setosa"


def test_s3_upload_triggers_resize_image(stack: dict, endpoint, wait_for) -> None:
    s3 = endpoint.client("s3")
    picture = io.BytesIO()
    Image.new("RGB", (640, 480), "teal").save(picture, "PNG")
    s3.put_object(Bucket=stack["bucket_names"]["uploads"], Key="photos/teal.png", Body=picture.getvalue())
    thumbnails = stack["bucket_names"]["thumbnails"]

    def thumbnail() -> list:
        """the thumbnail resize_image writes"""
        return s3.list_objects_v2(Bucket=thumbnails).get("Contents", [])

    [entry] = wait_for(thumbnail)
    with Image.open(io.BytesIO(s3.get_object(Bucket=thumbnails, Key=entry["Key"])["Body"].read())) as image:
        assert max(image.size) < 640


def test_logs_are_queryable(stack: dict, endpoint, wait_for) -> None:
    name = stack["function_names"]["math"]
    logs = endpoint.client("logs")

    def reports() -> list:
        """REPORT lines of math's invocations in CloudWatch Logs"""
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern="REPORT")["events"]
        return [event for event in events if event["message"].startswith("REPORT RequestId:")]

    assert wait_for(reports)
    result = subprocess.run(
        [sys.executable, "build.py", "logs", "math", "--prefix", PREFIX, "--endpoint-url", endpoint.url],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "START RequestId:" in result.stdout and "REPORT RequestId:" in result.stdout


def test_image_functions_are_refused_clearly(stack: dict, embedded) -> None:
    with pytest.raises(ClientError) as caught:
        embedded.client("lambda").invoke(FunctionName=stack["function_names"]["predict_image"], Payload=b"{}")
    assert caught.value.response["Error"]["Code"] == "InvalidRuntimeException"
    assert "use LocalStack" in caught.value.response["Error"]["Message"]


def test_the_example_functions_ran_as_their_roles_and_were_refused_nothing(stack: dict, embedded) -> None:
    """The roles infra/modules/function writes from function.toml grant every call the examples made above
    (the endpoint enforces IAM on the functions' calls); `build.py access` reports them."""
    result = subprocess.run(
        [sys.executable, "build.py", "access", "--json", "--endpoint-url", embedded.url],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    functions = {
        name: summary for name, summary in json.loads(result.stdout)["functions"].items() if name.startswith(PREFIX)
    }
    assert {stack["function_names"][name] for name in ("predict", "notify", "resize_image", "math")} <= set(functions)
    for name, summary in functions.items():
        assert summary["role"].startswith(f"arn:aws:iam::{ACCOUNT}:role/"), name
        assert summary["denied"] == [], (name, summary["denied"])
        print(name, "unused grants:", [(grant["action"], grant["resource"]) for grant in summary["unused_grants"]])


def test_second_apply_changes_nothing(terraform: Terraform, stack: dict) -> None:
    plan = terraform.run("plan", "-detailed-exitcode", "-input=false", *terraform.var_args, check=False)
    assert plan.returncode == 0, f"second plan is not empty:\n{plan.stdout[-4000:]}"


def test_destroy_removes_the_stack(terraform: Terraform, stack: dict, endpoint) -> None:
    terraform.run("destroy", "-auto-approve", "-input=false", *terraform.var_args)
    left = [f["FunctionName"] for f in endpoint.client("lambda").list_functions()["Functions"]]
    assert not [name for name in left if name.startswith(PREFIX)]
