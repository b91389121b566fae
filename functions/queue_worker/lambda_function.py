"""Queue worker: each SQS message is a job `{"id": "...", "poison": false}`.

A job is recorded by adding 1 to `handled` on its item in the jobs table (one transaction per batch), so a job
handled twice shows 2. A failing job is reported in `batchItemFailures` (the trigger sets
report_batch_item_failures): Lambda deletes the others and the failed one comes back after the visibility timeout,
until the queue's max_receive_count moves it to jobs-dlq.
"""

import functools
import json
import os
from typing import Any

import boto3


class PoisonJob(Exception):
    """A job this worker can never process."""


def lambda_handler(event: dict, context: object) -> dict:
    """Records every good job of the batch in one transaction; returns the message ids that failed."""
    failures, updates = [], []
    for record in event["Records"]:
        try:
            updates.append(_update(json.loads(record["body"]), int(record["attributes"]["ApproximateReceiveCount"])))
        except (PoisonJob, ValueError, KeyError) as error:
            print(json.dumps({"failed": record["messageId"], "error": str(error)}))
            failures.append({"itemIdentifier": record["messageId"]})
    if updates:  # all or nothing: a failed write fails the invocation, so the whole batch comes back
        _dynamodb().transact_write_items(TransactItems=updates)
    return {"batchItemFailures": failures}


def _update(job: dict, receive_count: int) -> dict:
    if job.get("poison"):
        raise PoisonJob(f"job {job.get('id')} is poisoned (receive {receive_count})")
    return {
        "Update": {
            "TableName": os.environ["TABLE_JOBS"],
            "Key": {"id": {"S": str(job["id"])}},
            "UpdateExpression": "ADD handled :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }


@functools.cache
def _dynamodb() -> Any:
    """One client per execution environment, made on first use: creating one costs more than a batch's write."""
    return boto3.client("dynamodb")
