"""notify from its built zip, through the local runtime, receiving a destination record."""

import boto3


def test_destination_record_through_the_runtime(zip_invoke, new_table):
    table = new_table("predictions")
    boto3.client("dynamodb").put_item(TableName=table, Item={"id": {"S": "p-1"}, "prediction": {"S": "setosa"}})
    record = {
        "version": "1.0",
        "requestContext": {"condition": "Success", "approximateInvokeCount": 1},
        "requestPayload": {"features": [5.1, 3.5, 1.4, 0.2]},
        "responsePayload": {"id": "p-1", "prediction": "setosa"},
    }
    result = zip_invoke("notify", record, TABLE_PREDICTIONS=table)
    assert result.error is None, result.logs
    item = boto3.client("dynamodb").get_item(TableName=table, Key={"id": {"S": "p-1"}})["Item"]
    assert "invocation_record" in item
