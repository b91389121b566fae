"""Audit log of the items table: every INSERT, MODIFY and REMOVE on its stream becomes an item of the audit table,
keyed by the stream record's eventID (so a retried batch writes the same audit records again, never new ones).

A record this function cannot audit (an item whose `audit` attribute is "refuse", for demonstrating failures) fails
the batch: Lambda retries it, splits it in two (bisect_batch_on_function_error) until the bad record is alone, and
sends that record's description to the on_failure queue `audit-failures`.
"""

import json
import os

import boto3


def lambda_handler(event: dict, context: object) -> dict:
    """Writes one audit item per stream record, in stream order."""
    table = os.environ["TABLE_AUDIT"]
    client = boto3.client("dynamodb")
    for record in event["Records"]:
        change = record["dynamodb"]
        image = change.get("NewImage") or change.get("OldImage") or {}
        if image.get("audit", {}).get("S") == "refuse":
            raise ValueError(f"record {record['eventID']}: item {change['Keys']} refuses auditing")
        client.put_item(
            TableName=table,
            Item={
                "id": {"S": record["eventID"]},
                "event": {"S": record["eventName"]},
                "item": {"S": json.dumps(change["Keys"], sort_keys=True)},
                "sequence": {"S": change["SequenceNumber"]},
            },
        )
    return {"audited": len(event["Records"])}
