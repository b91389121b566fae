"""ML inference behind the HTTP API: `POST /predict` classifies an iris flower, `GET /health` answers ok.

The model (a numpy `.npz` written by scripts/train_model.py) lives in the models bucket; the first
request of an execution environment downloads it to /tmp and later (warm) requests reuse it. When
`MODEL_DIR` already holds it (the `predict_image` variant bakes it into the image), nothing is downloaded. Every
prediction is stored in the predictions table. Invoked directly (asynchronously, or as a Step Functions
step) with `{"features": [...]}`, the function returns the prediction itself, which is what its
on_success destination (`notify`) receives.
"""

import base64
import json
import math
import os
import uuid
from datetime import UTC, datetime

import boto3
import numpy as np

MAX_FEATURE = 1e6  # cm; iris measurements are a few cm
MIN_FEATURE = 1e-100  # smaller magnitudes (except 0) are noise DynamoDB cannot store

_model: dict[str, np.ndarray] | None = None


class BadRequest(ValueError):
    """The caller's input is unusable; answered with 400, never 500."""


def lambda_handler(event: dict, context: object) -> dict:
    """HTTP API events get an HTTP response; any other event is a direct `{"features": [...]}` request."""
    if "requestContext" not in event:
        return predict(event)
    return _http(event)


def _http(event: dict) -> dict:
    method = event["requestContext"]["http"]["method"]
    # ROUTE_PREFIX: where the API mounts this function's routes (predict_image answers under /image).
    path = event.get("rawPath", "/").removeprefix(os.environ.get("ROUTE_PREFIX", ""))
    if path == "/health":
        return _route_method(method, "GET", lambda: {"status": "ok", "model_loaded": _model is not None})
    if path == "/predict":
        return _route_method(method, "POST", lambda: predict(_json_body(event)))
    return _response(404, {"error": f"no route for {method} {path}"})


def _route_method(method: str, allowed: str, action) -> dict:
    if method != allowed:
        return _response(405, {"error": f"method {method} not allowed, use {allowed}"})
    try:
        return _response(200, action())
    except BadRequest as error:
        return _response(400, {"error": str(error)})


def _json_body(event: dict) -> object:
    body = event.get("body") or ""
    try:
        if event.get("isBase64Encoded"):
            body = base64.b64decode(body, validate=True).decode()
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:  # RecursionError: "[[[[…" nested too deep
        raise BadRequest(f"body is not valid JSON: {str(error)[:80]}") from None


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number")


def predict(request: object) -> dict:
    """Classifies `request["features"]`, stores the prediction, and returns it."""
    model = _load_model()
    features = _features(request, len(model["feature_names"]))
    scores = model["coef"] @ ((features - model["mean"]) / model["scale"]) + model["intercept"]
    exp = np.exp(scores - scores.max())
    probabilities = exp / exp.sum()
    best = int(probabilities.argmax())
    prediction = {
        "id": str(uuid.uuid4()),
        "prediction": str(model["classes"][best]),
        "probabilities": {str(name): float(p) for name, p in zip(model["classes"], probabilities, strict=True)},
        "model": _model_key(),
    }
    _store(prediction, features)
    return prediction


def _features(request: object, count: int) -> np.ndarray:
    features = request.get("features") if isinstance(request, dict) else None
    if not isinstance(features, list) or len(features) != count:
        raise BadRequest(f'expected {{"features": [{count} numbers]}}')
    for value in features:
        if not _is_finite_number(value):
            raise BadRequest(f"feature {str(value)[:40]!r} is not a finite number")
        if not _storable(value):
            raise BadRequest(f"feature {value!r} is outside ±{MAX_FEATURE:g} or too close to zero to store")
    return np.array(features, dtype=float)


def _storable(value: float) -> bool:
    # Far beyond any measurement, huge values overflow the model's arithmetic to NaN, and DynamoDB numbers must lie
    # within 1e-130..9.99e125 in magnitude: either way a 500 for what is a bad request.
    return value == 0 or MIN_FEATURE <= abs(value) <= MAX_FEATURE


def _is_finite_number(value: object) -> bool:
    # bool is an int subclass, but true/false are not measurements.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond float range
        return False


def _load_model() -> dict[str, np.ndarray]:
    global _model
    if _model is None:
        key = _model_key()
        path = os.path.join(os.environ.get("MODEL_DIR", "/tmp"), os.path.basename(key))
        if not os.path.exists(path):
            # Download beside the target and rename, so a timeout mid-download never leaves a torn file.
            boto3.client("s3").download_file(os.environ["BUCKET_MODELS"], key, path + ".part")
            os.replace(path + ".part", path)
        with np.load(path, allow_pickle=False) as archive:
            _model = {name: archive[name] for name in archive.files}
    return _model


def _model_key() -> str:
    return os.environ.get("MODEL_KEY", "iris.npz")


def _store(prediction: dict, features: np.ndarray) -> None:
    boto3.client("dynamodb").put_item(
        TableName=os.environ["TABLE_PREDICTIONS"],
        Item={
            "id": {"S": prediction["id"]},
            "features": {"L": [{"N": repr(float(value))} for value in features]},
            "prediction": {"S": prediction["prediction"]},
            "probability": {"N": repr(max(prediction["probabilities"].values()))},
            "model": {"S": prediction["model"]},
            "created_at": {"S": datetime.now(UTC).isoformat(timespec="seconds")},
        },
    )


def _response(status: int, payload: dict) -> dict:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(payload),
    }
