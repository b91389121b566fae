"""End to end on the session's one applied stack (`local_stack`: build, `terraform apply` of infra/envs/local against
the endpoint, model uploaded): use it over HTTP and boto3, re-plan (no changes). The destroy, and the check that
nothing is left, happen when the session ends."""

import io
import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from PIL import Image

from tests.conftest import LocalStack, build_copy

pytestmark = [pytest.mark.integration, pytest.mark.stack]

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack(local_stack: LocalStack) -> dict:
    """The applied stack's outputs."""
    return local_stack.outputs


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
    # Page tokens are signed with the key in the items-token-key secret (a narrow secretsmanager grant).
    assert _http("PUT", f"{api}/items/b2", item, writer)[0] == 201
    status, first = _http("GET", f"{api}/items?limit=1")
    assert status == 200 and first["next"], first
    status, second = _http("GET", f"{api}/items?limit=1&next={first['next']}")
    assert status == 200 and {first["items"][0]["id"], second["items"][0]["id"]} == {"b1", "b2"}
    assert _http("DELETE", f"{api}/items/b2", headers=writer)[0] == 204
    assert _http("DELETE", f"{api}/items/b1")[0] == 401
    assert _http("DELETE", f"{api}/items/b1", headers=writer)[0] == 204
    assert _http("GET", f"{api}/items/b1")[0] == 404  # the function's own 404
    assert _http("GET", f"{api}/no/such/route") == (404, {"message": "Not Found"})  # API Gateway's


def test_a_burst_past_the_declared_write_limit_is_throttled(api: str, local_stack: LocalStack) -> None:
    """functions/api.toml throttles the stage (100 requests/s, burst 50) and, tighter, the write routes; a burst
    of unauthenticated deletes from 4 clients is admitted (401) up to the route's burst plus its rate over the
    burst's duration, and the rest get API Gateway's 429, before any authorizer or function runs."""
    declared = local_stack.manifest["api"]
    assert declared["throttling"] == {"rate_limit": 100.0, "burst_limit": 50}
    limit = declared["routes"]["DELETE /items/{id}"]["throttling"]
    assert limit is not None and limit["burst_limit"] < declared["throttling"]["burst_limit"]
    statuses: list[tuple[int, object]] = []
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(lambda n: _http("DELETE", f"{api}/items/burst-{n}"), range(60)))
    elapsed = time.monotonic() - started
    admitted = [body for status, body in statuses if status == 401]
    throttled = [body for status, body in statuses if status == 429]
    assert len(admitted) + len(throttled) == 60, statuses
    assert throttled and all(body == {"message": "Too Many Requests"} for body in throttled), statuses
    assert len(admitted) <= limit["burst_limit"] + limit["rate_limit"] * elapsed + 1, (len(admitted), elapsed)


JOBS = 300  # 30 batches of 10: the worker runs several environments at once
POISONED = {f"job-{n}" for n in range(0, JOBS, 30)}


@pytest.fixture(scope="module")
def queued_jobs(stack: dict, local_stack: LocalStack) -> list[str]:
    """JOBS jobs sent to the jobs queue in batches of 10, POISONED ones among them; their message ids.

    Sent early in the module (by test_jobs_are_queued): a poisoned job reaches the dead-letter queue only after its
    max_receive_count receives 10 s apart (the queue's visibility timeout), and the tests in between run meanwhile.
    """
    if not local_stack.endpoint.embedded:
        pytest.skip("the worker's exactly-once check reads the embedded endpoint's queue counts")
    sqs, ids = local_stack.endpoint.client("sqs"), []
    for start in range(0, JOBS, 10):
        entries = [
            {"Id": str(n), "MessageBody": json.dumps({"id": f"job-{n}", "poison": f"job-{n}" in POISONED})}
            for n in range(start, start + 10)
        ]
        sent = sqs.send_message_batch(QueueUrl=stack["queue_urls"]["jobs"], Entries=entries)
        assert not sent.get("Failed"), sent["Failed"]
        ids += [entry["MessageId"] for entry in sent["Successful"]]
    return ids


def test_jobs_are_queued(queued_jobs: list[str]) -> None:
    """Sends the jobs test_queue_worker_loses_nothing checks (the tests in between run while they are handled):
    each got a message id of its own."""
    assert len(set(queued_jobs)) == JOBS


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


def test_a_failing_resize_event_lands_in_its_on_failure_queue(stack: dict, endpoint, wait_for) -> None:
    """resize_image's S3 event for an object that is gone fails; after Lambda's two retries its invocation record
    reaches the resize-failures queue (function.toml's on_failure), sent with the function's role."""
    command = [sys.executable, "build.py", "event", "s3", "--bucket", stack["bucket_names"]["uploads"], "--key", "gone"]
    event = json.loads(subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout)
    client, sqs = endpoint.client("lambda"), endpoint.client("sqs")
    name = stack["function_names"]["resize_image"]
    response = client.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(event).encode())
    assert response["StatusCode"] == 202
    queue = stack["queue_urls"]["resize-failures"]

    def failed() -> list:
        """resize_image's invocation record in resize-failures"""
        return sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])

    [message] = wait_for(failed, timeout=60)
    record = json.loads(message["Body"])
    function_arn = client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    assert record["requestContext"] == {
        "requestId": response["ResponseMetadata"]["RequestId"],
        "functionArn": f"{function_arn}:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert record["requestPayload"] == event
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "NoSuchKey"


def test_logs_are_queryable(stack: dict, local_stack: LocalStack, endpoint, wait_for) -> None:
    name = stack["function_names"]["math"]
    logs = endpoint.client("logs")

    def reports() -> list:
        """REPORT lines of math's invocations in CloudWatch Logs"""
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern="REPORT")["events"]
        return [event for event in events if event["message"].startswith("REPORT RequestId:")]

    assert wait_for(reports)
    result = subprocess.run(
        [sys.executable, "build.py", "logs", "math", "--prefix", local_stack.prefix, "--endpoint-url", endpoint.url],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "START RequestId:" in result.stdout and "REPORT RequestId:" in result.stdout


def test_predict_image_answers_through_the_http_api(api: str, embedded) -> None:
    """The image function runs without Docker: the endpoint finds its task root by the ImageUri's tag (recorded by
    the build) and runs it with the image's CMD; the model comes from the image, not the bucket."""
    status, prediction = _http("POST", f"{api}/image/predict", {"features": [6.3, 3.3, 6.0, 2.5]})
    assert status == 200, prediction
    assert prediction["prediction"] == "virginica"
    assert _http("GET", f"{api}/image/health") == (200, {"status": "ok", "model_loaded": True})


def test_predict_image_answers_post_predict_at_its_function_url(stack: dict, embedded) -> None:
    """The image function's own address answers `POST /predict` as predict does on the API (signed: AWS_IAM)."""
    url = stack["function_urls"]["predict_image"] + "predict"
    host = urllib.parse.urlsplit(url).netloc
    local = f"http://127.0.0.1:{urllib.parse.urlsplit(url).port}/predict"  # *.localhost need not resolve here
    body = {"features": [6.3, 3.3, 6.0, 2.5]}
    assert _http("POST", local, body, {"Host": host, "Content-Type": "application/json"})[0] == 403
    signed = AWSRequest(method="POST", url=url, data=json.dumps(body).encode())
    signed.headers["Content-Type"] = "application/json"
    SigV4Auth(Credentials("test", "test"), "lambda", "us-east-1").add_auth(signed)
    status, prediction = _http("POST", local, body, {"Host": host, **dict(signed.headers)})
    assert (status, prediction["prediction"]) == (200, "virginica"), prediction


def test_predict_and_stats_share_the_numpy_layer(stack: dict, local_stack: LocalStack, endpoint) -> None:
    """Both attach the one numpy layer version; predict's zip holds no numpy, so its answers on the HTTP API
    (test_http_routes_of_the_example_functions) come from the layer. stats carries the shared apply's reserved
    concurrency of 0: Lambda throttles every invocation."""
    client = endpoint.client("lambda")
    layer = stack["layer_arns"]["numpy/python3.12-x86_64"]
    for name in ("predict", "stats"):
        configuration = client.get_function_configuration(FunctionName=stack["function_names"][name])
        assert [entry["Arn"] for entry in configuration["Layers"]] == [layer]
    assert local_stack.manifest["functions"]["predict"]["size"] < 100_000  # numpy is in the layer, not the zip
    # `build.py verify` finds the layer version Terraform published under the name it expects, with the built zip
    from lambdafleet.cli import verify

    deployed = {name: verify.describe_deployed(client, stack["function_names"][name]) for name in ("predict", "stats")}
    entries = {name: local_stack.manifest["functions"][name] for name in deployed}
    rows = verify.compare(entries, deployed, local_stack.manifest["layers"], local_stack.prefix)
    assert [(row["status"], [(lr["layer"], lr["status"], lr["arn"]) for lr in row["layers"]]) for row in rows] == [
        ("same", [("numpy", "same", layer)]),
        ("same", [("numpy", "same", layer)]),
    ]
    with pytest.raises(ClientError) as caught:
        client.invoke(FunctionName=stack["function_names"]["stats"], Payload=b'{"values": [1, 2]}')
    assert caught.value.response["Error"]["Code"] == "TooManyRequestsException"


def _scan(endpoint, table: str) -> list[dict]:
    pages = endpoint.client("dynamodb").get_paginator("scan").paginate(TableName=table)
    return [item for page in pages for item in page["Items"]]


def _queue_count(sqs, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def test_audit_log_bisects_a_poisoned_record(stack: dict, embedded, wait_for) -> None:
    """A write to the items table reaches audit_log through the table's stream; a record it refuses is bisected out
    of its batch and described to the on-failure queue, and the others are audited."""
    ddb, sqs = embedded.client("dynamodb"), embedded.client("sqs")
    items, audit = stack["table_names"]["items"], stack["table_names"]["audit"]
    before = {item["id"]["S"] for item in _scan(embedded, audit)}
    requests = [
        {"PutRequest": {"Item": {"id": {"S": f"audited-{n}"}, **({"audit": {"S": "refuse"}} if n == 3 else {})}}}
        for n in range(8)
    ]
    ddb.batch_write_item(RequestItems={items: requests})

    def failure() -> dict | None:
        """the on-failure record reaches audit-failures"""
        found = sqs.receive_message(QueueUrl=stack["queue_urls"]["audit-failures"]).get("Messages", [])
        return json.loads(found[0]["Body"]) if found else None

    record = wait_for(failure, timeout=90)
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3  # maximum_retry_attempts = 2
    assert record["DDBStreamBatchInfo"]["batchSize"] == 1
    expected = {f"audited-{n}" for n in range(8) if n != 3}

    def audited() -> bool:
        """every record but the refused one is audited"""
        new = [i for i in _scan(embedded, audit) if i["id"]["S"] not in before and i["event"]["S"] == "INSERT"]
        return {json.loads(i["item"]["S"])["id"]["S"] for i in new} == expected

    wait_for(audited)


def test_trigger_fires_the_daily_report(stack: dict, local_stack: LocalStack, embedded, wait_for) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "build.py",
            "trigger",
            "daily_report",
            "--prefix",
            local_stack.prefix,
            "--endpoint-url",
            embedded.url,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr

    def reports() -> list[dict]:
        """the report reaches the audit table"""
        return [i for i in _scan(embedded, stack["table_names"]["audit"]) if i["id"]["S"].startswith("report-")]

    [report] = wait_for(reports)
    assert int(report["items"]["N"]) >= 8


def test_queue_worker_loses_nothing(stack: dict, embedded, wait_for, queued_jobs: list[str]) -> None:
    """The jobs of `queued_jobs`: each handled exactly once, or (the poisoned ones) in the DLQ after
    max_receive_count receives."""
    sqs = embedded.client("sqs")
    queue, dlq, table = (
        stack["queue_urls"]["jobs"],
        stack["dead_letter_queue_urls"]["jobs"],
        stack["table_names"]["jobs"],
    )
    # About 30 s after the jobs were sent on a quiet 2-core machine (the poisoned jobs need three receives, 10 s
    # apart); the timeout leaves room for a loaded one.
    wait_for(lambda: _queue_count(sqs, dlq) == len(POISONED) and _queue_count(sqs, queue) == 0, timeout=300)
    handled = {item["id"]["S"]: int(item["handled"]["N"]) for item in _scan(embedded, table)}
    assert set(handled.values()) == {1}  # exactly once
    dead = []
    while messages := sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
        "Messages", []
    ):
        for message in messages:
            dead.append((json.loads(message["Body"])["id"], int(message["Attributes"]["ApproximateReceiveCount"])))
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
    assert sorted(job for job, _ in dead) == sorted(POISONED)
    assert len(handled) + len(dead) == JOBS and not set(handled) & POISONED
    assert _queue_count(sqs, queue) == 0


def _access(endpoint_url: str, prefix: str) -> dict[str, dict]:
    """`build.py access --json`: the report of the stack's functions."""
    result = subprocess.run(
        [sys.executable, "build.py", "access", "--json", "--endpoint-url", endpoint_url],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    functions: dict[str, dict] = json.loads(result.stdout)["functions"]
    return {name: summary for name, summary in functions.items() if name.startswith(prefix)}


def test_the_examples_ran_as_their_roles_were_refused_nothing_and_used_every_grant(
    local_stack: LocalStack, embedded
) -> None:
    """After the tests above exercised every example: the roles infra/modules/function writes from function.toml
    allowed every call (the endpoint enforces IAM on the functions' calls) and hold no grant a function did not use.
    Must stay after the other tests of this module that invoke the examples."""
    functions = _access(embedded.url, local_stack.prefix)
    names = local_stack.function_names
    exercised = ("predict", "notify", "items", "resize_image", "queue_worker", "audit_log", "daily_report", "math")
    exercised += ("predict_image",)
    assert {names[name] for name in exercised} <= set(functions)
    for name, summary in functions.items():
        assert summary["role"].startswith("arn:aws:iam::123456789012:role/"), name
        assert summary["denied"] == [], (name, summary["denied"])
        assert summary["unused_grants"] == [], (name, summary["unused_grants"])
    predict_grants = {(g["action"], g["resource"]) for g in functions[names["predict"]]["grants"]}
    model = f"arn:aws:s3:::{local_stack.outputs['bucket_names']['models']}/iris.npz"
    assert ("s3:GetObject", model) in predict_grants  # object-level: the model's key, not the bucket


def test_a_call_the_role_lacks_fails_as_on_aws_until_function_toml_grants_it(
    local_stack: LocalStack, built_repo: Path, embedded
) -> None:
    """notify with the wrong level (PutItem where it calls UpdateItem): AWS's AccessDeniedException; the right level
    in function.toml, a rebuild and a re-apply fix it. Runs after the access check (it leaves a denied call in the
    access log); test_second_apply_changes_nothing then checks the original is back."""
    config = built_repo / "functions" / "notify" / "function.toml"
    manifest = built_repo / "build" / "manifest.json"
    original_config, original_manifest = config.read_text(), manifest.read_bytes()
    target = 'module.stack.module.function["notify"]'
    name = local_stack.function_names["notify"]
    table = local_stack.outputs["table_names"]["predictions"]
    embedded.client("dynamodb").put_item(TableName=table, Item={"id": {"S": "iam-fix"}})
    event = json.dumps({"id": "iam-fix", "prediction": "setosa"}).encode()

    def rebuild_and_apply(text: str) -> None:
        config.write_text(text)
        build_copy(built_repo, "notify")
        local_stack.terraform.apply(local_stack.variables, target)

    try:
        rebuild_and_apply(original_config.replace('"table:predictions:update"', '"table:predictions:put"'))
        answer = embedded.client("lambda").invoke(FunctionName=name, Payload=event)
        error = json.loads(answer["Payload"].read())
        role = embedded.client("lambda").get_function_configuration(FunctionName=name)["Role"].rsplit("/", 1)[1]
        assert answer.get("FunctionError") == "Unhandled"
        assert error["errorType"] == "ClientError"
        assert error["errorMessage"] == (
            "An error occurred (AccessDeniedException) when calling the UpdateItem operation: User: "
            f"arn:aws:sts::123456789012:assumed-role/{role}/{name} is not authorized to perform: dynamodb:UpdateItem"
            f" on resource: arn:aws:dynamodb:us-east-1:123456789012:table/{table} because no identity-based policy"
            " allows the dynamodb:UpdateItem action"
        )
        rebuild_and_apply(original_config)
        answer = embedded.client("lambda").invoke(FunctionName=name, Payload=event)
        assert "FunctionError" not in answer
        assert json.loads(answer["Payload"].read()) == {"id": "iam-fix", "notified_via": "chain"}
    finally:
        config.write_text(original_config)
        manifest.write_bytes(original_manifest)


def test_second_apply_changes_nothing(local_stack: LocalStack) -> None:
    """After every test of the module, the ones that re-applied a changed function.toml and then the original
    included (it runs last): a plan finds nothing to change."""
    changes = local_stack.terraform.plan_changes(local_stack.variables)
    assert changes is None, f"second plan is not empty:\n{changes}"
