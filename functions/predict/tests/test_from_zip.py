"""predict from its built zip (numpy for Lambda's platform), through the local runtime."""

import json
from pathlib import Path

import boto3

MODEL = Path(__file__).resolve().parents[3] / "models" / "iris.npz"


def test_prediction_through_the_runtime(zip_invoke, http_event, new_bucket, new_table):
    bucket, table = new_bucket("models"), new_table("predictions")
    boto3.client("s3").upload_file(str(MODEL), bucket, "iris.npz")
    event = http_event("POST", "/predict", body=json.dumps({"features": [6.3, 3.3, 6.0, 2.5]}))
    result = zip_invoke("predict", event, BUCKET_MODELS=bucket, TABLE_PREDICTIONS=table)
    assert result.error is None, result.logs
    assert result.response["statusCode"] == 200
    assert json.loads(result.response["body"])["prediction"] == "virginica"
    assert boto3.client("dynamodb").scan(TableName=table)["Count"] == 1
