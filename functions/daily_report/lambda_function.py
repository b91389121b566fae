"""A scheduled job: at 06:00 UTC every day (`cron(0 6 * * ? *)`), EventBridge sends the trigger's fixed input
`{"report": "items-count"}`; the job counts the items table and stores the count in the audit table under
`report-<date>`. Run it now with `python build.py trigger daily_report`.
"""

import datetime
import os

import boto3


def lambda_handler(event: dict, context: object) -> dict:
    """Counts the items and records the figure; returns it."""
    if event.get("report") != "items-count":
        raise ValueError(f"unknown report {event.get('report')!r}")
    client = boto3.client("dynamodb")
    count = 0
    for page in client.get_paginator("scan").paginate(TableName=os.environ["TABLE_ITEMS"], Select="COUNT"):
        count += page["Count"]
    day = datetime.datetime.now(datetime.UTC).date().isoformat()
    client.put_item(
        TableName=os.environ["TABLE_AUDIT"],
        Item={"id": {"S": f"report-{day}"}, "event": {"S": "REPORT"}, "items": {"N": str(count)}},
    )
    return {"report": "items-count", "items": count, "day": day}
