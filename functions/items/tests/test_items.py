"""The items API against documented HTTP API events, with DynamoDB on moto."""

import base64
import json
import uuid

import boto3
import pytest


@pytest.fixture
def api(lambda_module, http_event, new_table, monkeypatch):
    """Calls the handler like the HTTP API would and returns (status, decoded body or None)."""
    monkeypatch.setenv("TABLE_ITEMS", new_table("items"))
    secret = f"items-token-key-{uuid.uuid4().hex[:8]}"
    boto3.client("secretsmanager").create_secret(Name=secret, SecretString="k" * 32)
    monkeypatch.setenv("SECRET_ITEMS_TOKEN_KEY", secret)

    def call(method: str, path: str, body: object = None, query: dict | None = None):
        raw = body if isinstance(body, str) or body is None else json.dumps(body)
        response = lambda_module.lambda_handler(http_event(method, path, body=raw, query=query), None)
        return response["statusCode"], json.loads(response["body"]) if "body" in response else None

    return call


def test_put_creates_then_replaces(api):
    assert api("PUT", "/items/apple", {"name": "Apple", "quantity": 3, "tags": ["fruit"]}) == (
        201,
        {"id": "apple", "name": "Apple", "quantity": 3, "tags": ["fruit"]},
    )
    assert api("PUT", "/items/apple", {"name": "Green apple"}) == (
        200,
        {"id": "apple", "name": "Green apple", "quantity": 0, "tags": []},
    )
    assert api("GET", "/items/apple")[1]["name"] == "Green apple"


def test_get_and_delete_of_a_missing_item_are_404(api):
    assert api("GET", "/items/ghost")[0] == 404
    assert api("DELETE", "/items/ghost") == (404, {"error": "item ghost not found"})


def test_delete_removes_the_item(api):
    api("PUT", "/items/pear", {"name": "Pear"})
    assert api("DELETE", "/items/pear") == (204, None)
    assert api("GET", "/items/pear")[0] == 404


def test_listing_pages_through_every_item_once(api):
    ids = {f"item-{n}" for n in range(7)}
    for item_id in ids:
        api("PUT", f"/items/{item_id}", {"name": item_id})
    seen, query, pages = [], {"limit": "3"}, 0
    while True:
        status, page = api("GET", "/items", query=query)
        assert status == 200 and len(page["items"]) <= 3
        seen += [item["id"] for item in page["items"]]
        pages += 1
        if page["next"] is None:
            break
        query = {"limit": "3", "next": page["next"]}
    assert sorted(seen) == sorted(ids)
    assert pages >= 3


def test_a_forged_page_token_is_refused(api):
    for item_id in ("a", "b", "c"):
        api("PUT", f"/items/{item_id}", {"name": item_id})
    token = api("GET", "/items", query={"limit": "1"})[1]["next"]
    assert api("GET", "/items", query={"limit": "1", "next": token})[0] == 200
    forged = base64.urlsafe_b64encode(b"zzz").decode()  # a client's guess at the format, unsigned
    for bad in (forged, f"{forged}.{token.partition('.')[2]}", token + "x"):
        assert api("GET", "/items", query={"next": bad}) == (400, {"error": "next is not a token this API returned"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ({}, "name must be"),
        ({"name": ""}, "name must be"),
        ({"name": "x" * 201}, "name must be"),
        ({"name": "a", "quantity": -1}, "quantity must be"),
        ({"name": "a", "quantity": 1.5}, "quantity must be"),
        ({"name": "a", "quantity": True}, "quantity must be"),
        ({"name": "a", "tags": "fruit"}, "tags must be"),
        ({"name": "a", "tags": [""]}, "tags must be"),
        ({"name": "a", "tags": ["t"] * 21}, "tags must be"),
        ({"name": "a", "price": 3}, "unknown field(s): price"),
        ({"name": "a", "quantity": 10**39}, "quantity must be"),
        ({"name": "\ud800"}, "name must be"),
        ({"name": "a", "tags": ["\udfff"]}, "tags must be"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
    ],
)
def test_invalid_bodies_are_400(api, body, message):
    status, payload = api("PUT", "/items/x", body)
    assert status == 400 and message in payload["error"]
    assert api("GET", "/items/x")[0] == 404


@pytest.mark.parametrize(
    ("method", "path", "query", "status", "message"),
    [
        ("GET", "/items/has%20space", None, 400, "id must be"),
        ("GET", "/items/" + "a" * 129, None, 400, "id must be"),
        ("GET", "/items", {"limit": "0"}, 400, "limit must be"),
        ("GET", "/items", {"limit": "101"}, 400, "limit must be"),
        ("GET", "/items", {"limit": "ten"}, 400, "limit must be"),
        ("GET", "/items", {"limit": "\u00b2"}, 400, "limit must be"),
        ("GET", "/items", {"next": "%%%"}, 400, "next is not a token"),
        ("POST", "/items", None, 405, "use GET"),
        ("PATCH", "/items/a", None, 405, "use GET or PUT or DELETE"),
        ("GET", "/things", None, 404, "no route for GET /things"),
        ("GET", "/items/a/b", None, 404, "no route"),
    ],
)
def test_bad_requests(api, method, path, query, status, message):
    response = api(method, path, query=query)
    assert response[0] == status and message in response[1]["error"]
