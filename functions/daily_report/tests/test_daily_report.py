"""daily_report with the fixed input its schedule sends, on moto."""

import boto3
import pytest


def test_counts_items_into_the_audit_table(lambda_module, new_table, monkeypatch) -> None:
    items, audit = new_table("items"), new_table("audit")
    monkeypatch.setenv("TABLE_ITEMS", items)
    monkeypatch.setenv("TABLE_AUDIT", audit)
    for key in ("a", "b", "c"):
        boto3.client("dynamodb").put_item(TableName=items, Item={"id": {"S": key}})
    result = lambda_module.lambda_handler({"report": "items-count"}, None)
    assert result["items"] == 3
    stored = boto3.client("dynamodb").get_item(TableName=audit, Key={"id": {"S": f"report-{result['day']}"}})
    assert stored["Item"]["items"] == {"N": "3"}


def test_refuses_an_unknown_report(lambda_module) -> None:
    with pytest.raises(ValueError, match="unknown report"):
        lambda_module.lambda_handler({}, None)
