"""Queue worker: each SQS message is a job `{"id": "...", "poison": false}`.

A job is recorded by adding 1 to `handled` on its item in the jobs table, so a job handled twice shows 2. A failing
job is reported in `batchItemFailures` (the trigger sets report_batch_item_failures): Lambda deletes the others and
the failed one comes back after the visibility timeout, until the queue's max_receive_count moves it to jobs-dlq.
"""

import functools
import json
import os
from typing import Any

import boto3


class PoisonJob(Exception):
    """A job this worker can never process."""


def lambda_handler(event: dict, context: object) -> dict:
    """Handles every record of the batch; returns the message ids that failed."""
    failures = []
    for record in event["Records"]:
        try:
            _handle(json.loads(record["body"]), int(record["attributes"]["ApproximateReceiveCount"]))
        except (PoisonJob, ValueError, KeyError) as error:
            print(json.dumps({"failed": record["messageId"], "error": str(error)}))
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def _handle(job: dict, receive_count: int) -> None:
    if job.get("poison"):
        raise PoisonJob(f"job {job.get('id')} is poisoned (receive {receive_count})")
    _dynamodb().update_item(
        TableName=os.environ["TABLE_JOBS"],
        Key={"id": {"S": str(job["id"])}},
        UpdateExpression="ADD handled :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )


@functools.cache
def _dynamodb() -> Any:
    """One client per execution environment, made on first use: creating one costs more than a batch's write."""
    return boto3.client("dynamodb")
