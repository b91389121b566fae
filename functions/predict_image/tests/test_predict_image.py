"""The image variant runs predict's code with the model baked in: no models bucket is ever read."""

import json
from pathlib import Path

import boto3

from lambdafleet.build.image import build_image_context
from lambdafleet.build.plan import plan_function
from lambdafleet.build.project import load_project

FUNCTION_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = FUNCTION_DIR.parents[1]


def test_baked_model_answers_without_a_models_bucket(lambda_module, http_event, new_table, monkeypatch):
    table = new_table("predictions")
    monkeypatch.setenv("TABLE_PREDICTIONS", table)
    monkeypatch.delenv("BUCKET_MODELS", raising=False)
    # In the image the model sits in ${LAMBDA_TASK_ROOT}/model; here, in the function folder's model/.
    monkeypatch.setenv("MODEL_DIR", str(FUNCTION_DIR / "model"))
    response = lambda_module.lambda_handler(
        http_event("POST", "/predict", body='{"features": [6.3, 3.3, 6.0, 2.5]}'), None
    )
    body = json.loads(response["body"])
    assert (response["statusCode"], body["prediction"]) == (200, "virginica")
    stored = boto3.client("dynamodb").get_item(TableName=table, Key={"id": {"S": body["id"]}})
    assert stored["Item"]["prediction"] == {"S": "virginica"}


def test_image_context_carries_predicts_code_and_the_model(tmp_path):
    project = load_project(REPO_ROOT)
    entry = build_image_context(plan_function(project, project.functions["predict_image"]), tmp_path)
    context = tmp_path / entry["image"]["context"] / "function"
    assert (context / "model/iris.npz").read_bytes() == (REPO_ROOT / "models/iris.npz").read_bytes()
    code = (REPO_ROOT / "functions/predict/lambda_function.py").read_bytes()
    assert (context / "lambda_function.py").read_bytes() == code
    assert entry["environment"]["MODEL_DIR"] == "/var/task/model"
    assert "numpy==" in (context.parent / "requirements.txt").read_text()
