"""Records how a prediction was delivered onward: the on_success destination of `predict`.

Asynchronous invocations of `predict` end in a destination invocation record (the prediction is its
`responsePayload`); as the second step of the `predict_then_notify` chain, the prediction itself is the
event. Either way the record received is stored on the prediction's item in the predictions table.
"""

import json
import os

import boto3


def lambda_handler(event: dict, context: object) -> dict:
    """Stores `event` on the prediction it carries and says how it arrived."""
    prediction, via = _prediction(event)
    boto3.client("dynamodb").update_item(
        TableName=os.environ["TABLE_PREDICTIONS"],
        Key={"id": {"S": prediction["id"]}},
        UpdateExpression="SET notified_via = :via, invocation_record = :record",
        # Only predictions that predict stored can be notified; anything else is a wiring fault.
        ConditionExpression="attribute_exists(id)",
        ExpressionAttributeValues={
            ":via": {"S": via},
            ":record": {"S": json.dumps(event, sort_keys=True)},
        },
    )
    print(json.dumps({"recorded": prediction["id"], "via": via}))
    return {"id": prediction["id"], "notified_via": via}


def _prediction(event: dict) -> tuple[dict, str]:
    if "responsePayload" in event:
        prediction, via = event["responsePayload"], "destination"
    else:
        prediction, via = event, "chain"
    if not isinstance(prediction, dict) or not isinstance(prediction.get("id"), str):
        raise ValueError("event is neither a predict destination record nor a prediction with an id")
    return prediction, via
