"""IAM policy evaluation (lambdafleet.endpoint.iam_policy) and request mapping (iam_requests), on documents and
requests as AWS takes them: no endpoint needed."""

import json

from lambdafleet.endpoint import iam_policy, iam_requests
from lambdafleet.endpoint.iam_policy import Principal

ROLE = "arn:aws:iam::123456789012:role/fn-role"
SESSION = "arn:aws:sts::123456789012:assumed-role/fn-role/fn"
PRINCIPAL = Principal(ROLE, SESSION, "123456789012", {"aws:securetransport": ["true"], "aws:principalarn": [ROLE]})
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"


def _doc(*statements: dict, name: str = "p") -> iam_policy.Document:
    return iam_policy.parse(name, json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))


def test_actions_match_case_insensitively_with_wildcards_and_resources_exactly() -> None:
    policy = _doc({"Effect": "Allow", "Action": "DynamoDB:Get*", "Resource": "arn:aws:dynamodb:*:*:table/ord?rs"})
    assert iam_policy.evaluate("dynamodb:GetItem", TABLE, PRINCIPAL, [policy]).allowed
    assert iam_policy.evaluate("dynamodb:PutItem", TABLE, PRINCIPAL, [policy]).reason == "implicit"
    assert not iam_policy.evaluate("dynamodb:GetItem", TABLE.upper(), PRINCIPAL, [policy]).allowed


def test_an_explicit_deny_anywhere_wins_and_not_action_not_resource_apply() -> None:
    allow = _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
    deny = _doc({"Effect": "Deny", "NotAction": "dynamodb:GetItem", "NotResource": f"{TABLE}/index/*"})
    assert iam_policy.evaluate("dynamodb:PutItem", TABLE, PRINCIPAL, [allow, deny]).reason == "explicit-identity"
    assert iam_policy.evaluate("dynamodb:GetItem", TABLE, PRINCIPAL, [allow, deny]).allowed
    assert iam_policy.evaluate("dynamodb:Query", f"{TABLE}/index/a", PRINCIPAL, [allow, deny]).allowed


def test_resource_policies_apply_to_the_principals_they_name() -> None:
    bucket_object = "arn:aws:s3:::b/k"
    for named, applies in [
        ("*", True),
        ({"AWS": ROLE}, True),
        ({"AWS": "123456789012"}, True),
        ({"AWS": "arn:aws:iam::123456789012:root"}, True),
        ({"AWS": "arn:aws:iam::123456789012:role/other"}, False),
        ({"Service": "lambda.amazonaws.com"}, False),
    ]:
        policy = _doc({"Effect": "Allow", "Principal": named, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})
        assert iam_policy.evaluate("s3:GetObject", bucket_object, PRINCIPAL, [], policy).allowed is applies, named
    deny = _doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"})
    allow = _doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    assert iam_policy.evaluate("s3:GetObject", bucket_object, PRINCIPAL, [allow], deny).reason == "explicit-resource"


def test_conditions_on_known_keys_and_absent_ones() -> None:
    tls_only = _doc(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    allow = _doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    assert iam_policy.evaluate("s3:GetObject", "arn:aws:s3:::b/k", PRINCIPAL, [allow], tls_only).allowed
    guarded = _doc(
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"aws:x": "1"}}}
    )
    assert not iam_policy.evaluate("s3:GetObject", "arn:aws:s3:::b/k", PRINCIPAL, [guarded]).allowed  # absent key
    negated = _doc(
        {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:x": "1"}}}
    )
    assert iam_policy.evaluate("s3:GetObject", "x", PRINCIPAL, [allow, negated]).reason == "explicit-identity"
    arn_like = _doc(
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "*",
            "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/fn-*"}},
        }
    )
    assert iam_policy.evaluate("s3:GetObject", "x", PRINCIPAL, [arn_like]).allowed


def test_grants_are_the_action_resource_pairs_of_allow_statements() -> None:
    policy = _doc(
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
        },
        {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
        name="read",
    )
    assert len(iam_policy.grants_of([policy])) == 4
    verdict = iam_policy.evaluate("s3:GetObject", "arn:aws:s3:::b/k", PRINCIPAL, [policy])
    assert verdict.grants == [iam_policy.Grant("read", "s3:GetObject", "arn:aws:s3:::b/*")]


def _request(method: str, path: str, body: dict | None = None, **headers: str) -> iam_requests.Request:
    query: dict[str, list[str]] = {}
    if "?" in path:
        path, _, text = path.partition("?")
        query = {part.partition("=")[0]: [part.partition("=")[2]] for part in text.split("&")}
    return iam_requests.Request(method, path, query, headers, body or {}, "us-east-1", "123456789012")


def test_requests_map_to_actions_and_resources() -> None:
    put = iam_requests.classify(
        _request("POST", "/", {"TableName": "orders"}, **{"x-amz-target": "DynamoDB_20120810.PutItem"}), "dynamodb"
    )
    assert (put.action, put.resources) == ("dynamodb:PutItem", (TABLE,))
    batch = iam_requests.classify(
        _request(
            "POST", "/", {"RequestItems": {"a": [], "b": []}}, **{"x-amz-target": "DynamoDB_20120810.BatchGetItem"}
        ),
        "dynamodb",
    )
    assert batch.resources == (TABLE.replace("orders", "a"), TABLE.replace("orders", "b"))
    s3_cases = [
        (_request("GET", "/b/some/key"), "s3:GetObject", "arn:aws:s3:::b/some/key"),
        (_request("HEAD", "/b/k"), "s3:GetObject", "arn:aws:s3:::b/k"),
        (_request("PUT", "/b/k?partNumber=1&uploadId=x"), "s3:PutObject", "arn:aws:s3:::b/k"),
        (_request("GET", "/b?list-type=2"), "s3:ListBucket", "arn:aws:s3:::b"),
        (_request("GET", "/k", host="b.s3.localhost.localstack.cloud:4566"), "s3:GetObject", "arn:aws:s3:::b/k"),
        (_request("GET", "/"), "s3:ListAllMyBuckets", "*"),
    ]
    for request, action, resource in s3_cases:
        call = iam_requests.classify(request, "s3")
        assert (call.action, call.resources) == (action, (resource,)), request
    invoke = iam_requests.classify(_request("POST", "/2015-03-31/functions/f:live/invocations"), "lambda")
    assert (invoke.action, invoke.resources) == (
        "lambda:InvokeFunction",
        ("arn:aws:lambda:us-east-1:123456789012:function:f:live",),
    )
    send = iam_requests.classify(
        _request("POST", "/", {"Action": "SendMessage", "QueueUrl": "http://127.0.0.1:4566/123456789012/q"}), "sqs"
    )
    assert (send.action, send.resources, send.protocol) == (
        "sqs:SendMessage",
        ("arn:aws:sqs:us-east-1:123456789012:q",),
        "query",
    )
    parameters = iam_requests.classify(
        _request("POST", "/", {"Names": ["/a/b", "c"]}, **{"x-amz-target": "AmazonSSM.GetParameters"}), "ssm"
    )
    assert parameters.resources == (
        "arn:aws:ssm:us-east-1:123456789012:parameter/a/b",
        "arn:aws:ssm:us-east-1:123456789012:parameter/c",
    )
    unmapped = iam_requests.classify(_request("POST", "/", **{"x-amz-target": "AWSEvents.PutEvents"}), "events")
    assert (unmapped.action, unmapped.resources) == ("events:PutEvents", ())
