"""A small CRUD HTTP API over the items table.

    GET    /items?limit=20&next=<token>   one page of items and the token of the next page (or null)
    GET    /items/{id}                    200 with the item, 404 when absent
    PUT    /items/{id}                    create (201) or replace (200); body {"name", "quantity"?, "tags"?}
    DELETE /items/{id}                    204, or 404 when absent

Every input is validated before DynamoDB is called; a bad one gets 400 with a JSON error. Page tokens are signed
with an HMAC key kept in Secrets Manager (the secret SECRET_ITEMS_TOKEN_KEY names, read once per execution
environment), so a client cannot forge one to start a scan anywhere it likes.
"""

import base64
import binascii
import functools
import hashlib
import hmac
import json
import os
import re
import urllib.parse

import boto3

ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,128}")
MAX_NAME, MAX_TAGS, MAX_TAG, MAX_LIMIT, DEFAULT_LIMIT = 200, 20, 50, 100, 20
MAX_QUANTITY = 10**15  # well inside DynamoDB's 38 significant digits
LIMIT_PATTERN = re.compile(r"[0-9]{1,4}")  # ASCII digits only: str.isdigit() also accepts '²'


class HttpError(Exception):
    """Ends the request with `status` and `{"error": message}`."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def lambda_handler(event: dict, context: object) -> dict:
    """Routes an HTTP API (payload 2.0) event by method and `rawPath`."""
    method = event["requestContext"]["http"]["method"]
    segments = [urllib.parse.unquote(s) for s in event.get("rawPath", "/").strip("/").split("/")]
    try:
        if segments == ["items"]:
            return _dispatch(method, {"GET": lambda: _list(event.get("queryStringParameters") or {})})
        if len(segments) == 2 and segments[0] == "items":
            item_id = _valid_id(segments[1])
            return _dispatch(
                method,
                {
                    "GET": lambda: _get(item_id),
                    "PUT": lambda: _put(item_id, _valid_item(_json_body(event))),
                    "DELETE": lambda: _delete(item_id),
                },
            )
        raise HttpError(404, f"no route for {method} {event.get('rawPath')}")
    except HttpError as error:
        return _response(error.status, {"error": str(error)})


def _dispatch(method: str, actions: dict) -> dict:
    if method not in actions:
        raise HttpError(405, f"method {method} not allowed, use {' or '.join(actions)}")
    status, payload = actions[method]()
    return _response(status, payload)


def _table() -> str:
    return os.environ["TABLE_ITEMS"]


def _list(query: dict) -> tuple[int, dict]:
    args = {"TableName": _table(), "Limit": _valid_limit(query.get("limit"))}
    if query.get("next"):
        args["ExclusiveStartKey"] = {"id": {"S": _decode_token(query["next"])}}
    page = boto3.client("dynamodb").scan(**args)
    last = page.get("LastEvaluatedKey")
    token = _encode_token(last["id"]["S"]) if last else None
    return 200, {"items": [_from_dynamodb(item) for item in page["Items"]], "next": token}


def _get(item_id: str) -> tuple[int, dict]:
    found = boto3.client("dynamodb").get_item(TableName=_table(), Key={"id": {"S": item_id}})
    if "Item" not in found:
        raise HttpError(404, f"item {item_id} not found")
    return 200, _from_dynamodb(found["Item"])


def _put(item_id: str, item: dict) -> tuple[int, dict]:
    item = {"id": item_id, **item}
    old = boto3.client("dynamodb").put_item(TableName=_table(), Item=_to_dynamodb(item), ReturnValues="ALL_OLD")
    return (200 if "Attributes" in old else 201), item


def _delete(item_id: str) -> tuple[int, None]:
    old = boto3.client("dynamodb").delete_item(TableName=_table(), Key={"id": {"S": item_id}}, ReturnValues="ALL_OLD")
    if "Attributes" not in old:
        raise HttpError(404, f"item {item_id} not found")
    return 204, None


def _valid_id(item_id: str) -> str:
    if not ID_PATTERN.fullmatch(item_id):
        raise HttpError(400, "id must be 1-128 of letters, digits, '_', '.', '-'")
    return item_id


def _valid_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not LIMIT_PATTERN.fullmatch(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise HttpError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


@functools.cache
def _token_key() -> bytes:
    """The signing key of page tokens, from the secret the function is granted `secretsmanager:GetSecretValue` on."""
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=os.environ["SECRET_ITEMS_TOKEN_KEY"])
    return str(secret["SecretString"]).encode()


def _signature(item_id: str) -> str:
    digest = hmac.new(_token_key(), item_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def _encode_token(item_id: str) -> str:
    return f"{base64.urlsafe_b64encode(item_id.encode()).decode()}.{_signature(item_id)}"


def _decode_token(token: str) -> str:
    encoded, _, signature = token.partition(".")
    try:
        item_id = _valid_id(base64.urlsafe_b64decode(encoded.encode()).decode())
    except (binascii.Error, UnicodeDecodeError, HttpError):
        raise HttpError(400, "next is not a token this API returned") from None
    if not hmac.compare_digest(signature.encode(), _signature(item_id).encode()):
        raise HttpError(400, "next is not a token this API returned")
    return item_id


def _json_body(event: dict) -> object:
    body = event.get("body") or ""
    try:
        if event.get("isBase64Encoded"):
            body = base64.b64decode(body, validate=True).decode()
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:  # RecursionError: "[[[[…" nested too deep
        raise HttpError(400, f"body is not valid JSON: {str(error)[:80]}") from None


def _valid_item(body: object) -> dict:
    if not isinstance(body, dict):
        raise HttpError(400, 'body must be a JSON object like {"name": "..."}')
    unknown = sorted(set(body) - {"name", "quantity", "tags"})
    if unknown:
        raise HttpError(400, f"unknown field(s): {', '.join(unknown)}")
    name, quantity, tags = body.get("name"), body.get("quantity", 0), body.get("tags", [])
    if not _text(name) or not 1 <= len(name) <= MAX_NAME:
        raise HttpError(400, f"name must be a string of 1 to {MAX_NAME} characters")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= MAX_QUANTITY:
        raise HttpError(400, f"quantity must be a whole number from 0 to {MAX_QUANTITY}")
    if not isinstance(tags, list) or len(tags) > MAX_TAGS or not all(_valid_tag(t) for t in tags):
        raise HttpError(400, f"tags must be a list of at most {MAX_TAGS} strings of 1 to {MAX_TAG} characters")
    return {"name": name, "quantity": quantity, "tags": tags}


def _valid_tag(tag: object) -> bool:
    return _text(tag) and 1 <= len(tag) <= MAX_TAG


def _text(value: object) -> bool:
    """A string DynamoDB can store: JSON allows lone surrogates ("\\ud800"), UTF-8 does not."""
    if not isinstance(value, str):
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _to_dynamodb(item: dict) -> dict:
    return {
        "id": {"S": item["id"]},
        "name": {"S": item["name"]},
        "quantity": {"N": str(item["quantity"])},
        "tags": {"L": [{"S": tag} for tag in item["tags"]]},
    }


def _from_dynamodb(item: dict) -> dict:
    return {
        "id": item["id"]["S"],
        "name": item["name"]["S"],
        "quantity": int(item["quantity"]["N"]),
        "tags": [tag["S"] for tag in item["tags"]["L"]],
    }


def _response(status: int, payload: dict | None) -> dict:
    if payload is None:
        return {"statusCode": status}
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(payload),
    }
