"""items from its built zip, through the local runtime (Lambda's runtime client and environment)."""

import json


def test_put_then_get_through_the_runtime(zip_invoke, http_event, new_table):
    table = new_table("items")
    put = zip_invoke("items", http_event("PUT", "/items/fig", body='{"name": "Fig"}'), TABLE_ITEMS=table)
    assert put.error is None, put.logs
    assert put.response["statusCode"] == 201
    got = zip_invoke("items", http_event("GET", "/items/fig"), TABLE_ITEMS=table)
    assert json.loads(got.response["body"])["name"] == "Fig"
