"""The predict handler against documented HTTP API and direct events, with S3 and DynamoDB on moto."""

import json
from pathlib import Path

import boto3
import pytest

MODEL = Path(__file__).resolve().parents[3] / "models" / "iris.npz"
SETOSA = [5.1, 3.5, 1.4, 0.2]
VIRGINICA = [6.3, 3.3, 6.0, 2.5]


@pytest.fixture
def resources(new_bucket, new_table, monkeypatch, tmp_path) -> dict:
    """A models bucket holding the committed model and an empty predictions table."""
    bucket, table = new_bucket("models"), new_table("predictions")
    boto3.client("s3").upload_file(str(MODEL), bucket, "iris.npz")
    monkeypatch.setenv("BUCKET_MODELS", bucket)
    monkeypatch.setenv("TABLE_PREDICTIONS", table)
    monkeypatch.setenv("MODEL_KEY", "iris.npz")
    monkeypatch.setenv("MODEL_DIR", str(tmp_path))
    return {"bucket": bucket, "table": table}


def _post(lambda_module, http_event, body: str) -> tuple[int, dict]:
    response = lambda_module.lambda_handler(http_event("POST", "/predict", body=body), None)
    return response["statusCode"], json.loads(response["body"])


def test_post_predict_classifies_and_stores_the_prediction(lambda_module, http_event, resources):
    status, body = _post(lambda_module, http_event, json.dumps({"features": SETOSA}))
    assert status == 200
    assert body["prediction"] == "setosa"
    assert body["probabilities"]["setosa"] > 0.9
    stored = boto3.client("dynamodb").get_item(TableName=resources["table"], Key={"id": {"S": body["id"]}})
    assert stored["Item"]["prediction"] == {"S": "setosa"}
    assert [float(v["N"]) for v in stored["Item"]["features"]["L"]] == SETOSA


def test_model_is_downloaded_once_and_reused_when_warm(lambda_module, http_event, resources):
    assert _post(lambda_module, http_event, json.dumps({"features": SETOSA}))[0] == 200
    # With the object gone, only the copy from the cold start can answer.
    boto3.client("s3").delete_object(Bucket=resources["bucket"], Key="iris.npz")
    status, body = _post(lambda_module, http_event, json.dumps({"features": VIRGINICA}))
    assert (status, body["prediction"]) == (200, "virginica")


def test_base64_body_is_decoded(lambda_module, http_event, resources):
    event = http_event("POST", "/predict", body="eyJmZWF0dXJlcyI6IFs2LjMsIDMuMywgNi4wLCAyLjVdfQ==")
    event["isBase64Encoded"] = True
    response = lambda_module.lambda_handler(event, None)
    assert json.loads(response["body"])["prediction"] == "virginica"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "not valid JSON"),
        ("", "not valid JSON"),
        ('{"features": [1, 2, NaN, 4]}', "NaN is not a number"),
        ("[1, 2, 3, 4]", "expected"),
        ('{"features": [1, 2, 3]}', "expected"),
        ('{"features": "1,2,3,4"}', "expected"),
        ('{"features": [1, 2, 3, true]}', "'True' is not a finite number"),
        ('{"features": [1, 2, 3, "4"]}', "'4' is not a finite number"),
        ('{"features": [1, 2, 3, 1e999]}', "'inf' is not a finite number"),
        ('{"features": [1, 2, 3, 1%s]}' % ("0" * 400), "'1000000000"),
        ('{"features": [1e308, 1e308, 1e308, 1e308]}', "outside ±1e+06"),
        ('{"features": [1, 2, 3, 1e-200]}', "too close to zero"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
        ('{"features": ' + "[" * 100_000 + "]" * 100_000 + "}", "not valid JSON"),
    ],
)
def test_bad_bodies_get_400_with_a_json_error(lambda_module, http_event, resources, body, message):
    status, payload = _post(lambda_module, http_event, body)
    assert status == 400
    assert message in payload["error"]


def test_health_answers_without_touching_aws(lambda_module, http_event):
    response = lambda_module.lambda_handler(http_event("GET", "/health"), None)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"status": "ok", "model_loaded": False}


@pytest.mark.parametrize(
    ("method", "path", "status"), [("GET", "/nope", 404), ("GET", "/predict", 405), ("POST", "/health", 405)]
)
def test_unknown_routes_and_methods(lambda_module, http_event, method, path, status):
    response = lambda_module.lambda_handler(http_event(method, path, body="{}"), None)
    assert response["statusCode"] == status
    assert "error" in json.loads(response["body"])


def test_direct_invocation_returns_the_prediction_for_destinations(lambda_module, resources):
    result = lambda_module.lambda_handler({"features": VIRGINICA}, None)
    assert result["prediction"] == "virginica"
    assert result["model"] == "iris.npz"


def test_direct_invocation_with_bad_input_fails_so_on_failure_fires(lambda_module, resources):
    with pytest.raises(ValueError, match="expected"):
        lambda_module.lambda_handler({"features": [1]}, None)
