"""function.toml's `permissions`: levels resolve to exact actions on exact ARN suffixes; the escape hatch refuses
what would grant everything; every refusal is `check`'s one line (exit 2) naming the file and key."""

import pytest

from lambdafleet.build import permissions
from lambdafleet.errors import UserError

SOURCE = "functions/fn/function.toml"


def _grants(*texts: str) -> list[dict]:
    return list(permissions.parse(SOURCE, list(texts)).grants)


def test_a_level_grants_exactly_its_actions_on_the_resource() -> None:
    assert _grants("table:items:get,put,delete,scan") == [
        {
            "type": "table",
            "name": "items",
            "access": "get,put,delete,scan",
            "allow": [
                {
                    "actions": ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"],
                    "suffix": "",
                }
            ],
        }
    ]
    # coarse levels are unions of fine ones; a table grant never covers the table's indexes
    [read] = _grants("table:items:read")
    assert read["allow"] == [
        {"actions": ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"], "suffix": ""}
    ]


def test_an_index_and_an_object_key_narrow_a_grant_below_its_resource() -> None:
    index, bucket, key, prefix = _grants(
        "table:items/index/by-owner:query",
        "bucket:models:read",
        "bucket:uploads/iris.npz:read",
        "bucket:thumbnails/small/*:put",
    )
    assert (index["target"], index["allow"]) == (
        "index/by-owner",
        [{"actions": ["dynamodb:Query"], "suffix": "/index/by-owner"}],
    )
    assert bucket["allow"] == [
        {"actions": ["s3:GetObject"], "suffix": "/*"},
        {"actions": ["s3:ListBucket"], "suffix": ""},
    ]
    assert key["allow"] == [{"actions": ["s3:GetObject"], "suffix": "/iris.npz"}]  # read of a key: no ListBucket
    assert prefix["allow"] == [{"actions": ["s3:PutObject"], "suffix": "/small/*"}]


@pytest.mark.parametrize(
    ("grant", "actions"),
    [
        ("queue:jobs:send", ["sqs:SendMessage"]),
        ("queue:jobs:consume", ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:ReceiveMessage"]),
        ("topic:alerts:publish", ["sns:Publish"]),
        ("stream:clicks:put", ["kinesis:PutRecord", "kinesis:PutRecords"]),
        ("bus:default:put", ["events:PutEvents"]),
        ("function:notify:invoke", ["lambda:InvokeFunction"]),
        ("secret:api-key:read", ["secretsmanager:GetSecretValue"]),
        ("parameter:page-size:get", ["ssm:GetParameter"]),
        ("key:data:read_write", ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]),
    ],
)
def test_every_declared_resource_type_has_levels(grant: str, actions: list[str]) -> None:
    [resolved] = _grants(grant)
    assert resolved["allow"] == [{"actions": actions, "suffix": ""}]


def test_the_escape_hatch_takes_exact_actions_arns_and_conditions() -> None:
    parsed = permissions.parse(
        SOURCE,
        {
            "grants": ["topic:alerts:publish"],
            "statements": [
                {"actions": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "resources": ["*"]},
                {
                    "actions": ["ses:SendEmail"],
                    "resources": ["arn:{partition}:ses:{region}:{account}:identity/example.com"],
                    "conditions": {"StringEquals": {"ses:FromAddress": "noreply@example.com"}, "Bool": {"x": True}},
                },
            ],
        },
    )
    assert [grant["name"] for grant in parsed.grants] == ["alerts"]
    assert parsed.statements == (
        {"actions": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "resources": ["*"], "conditions": {}},
        {
            "actions": ["ses:SendEmail"],
            "resources": ["arn:{partition}:ses:{region}:{account}:identity/example.com"],
            "conditions": {"StringEquals": {"ses:FromAddress": ["noreply@example.com"]}, "Bool": {"x": ["true"]}},
        },
    )


STATEMENT = "[permissions]\ngrants = []\n[[permissions.statements]]\n"
REFUSALS = {
    "unknown type": ('permissions = ["cache:items:read"]', "key 'permissions': 'cache:items:read' must look like"),
    "unknown level": ('permissions = ["queue:jobs:read"]', "queue levels are send, receive, delete"),
    "index write": (
        'permissions = ["table:items/index/by-owner:put"]',
        "an index allows only query, scan, read (DynamoDB reads an index with Query and Scan); got 'put'",
    ),
    "list on a key": ('permissions = ["bucket:models/iris.npz:list"]', "s3:ListBucket applies to the bucket"),
    "part of a queue": ('permissions = ["queue:jobs/x:send"]', "only a table (index/<name>) or a bucket"),
    "twice": ('permissions = ["table:a:get", "table:a:put"]', "grants table:a twice"),
    "star action": (
        STATEMENT + 'actions = ["*"]\nresources = ["*"]',
        "key 'permissions.statements[0].actions': '*' grants every action of every service",
    ),
    "service star": (
        STATEMENT + 'actions = ["s3:*"]\nresources = ["arn:aws:s3:::b/*"]',
        "key 'permissions.statements[0].actions': 's3:*' grants every action of s3",
    ),
    "star resource": (
        STATEMENT + 'actions = ["s3:GetObject"]\nresources = ["*"]',
        "key 'permissions.statements[0].resources': '*' is every resource, and s3:GetObject can be granted on "
        "exact ARNs",
    ),
    "every resource of a service": (
        STATEMENT + 'actions = ["dynamodb:GetItem"]\nresources = ["arn:aws:dynamodb:*:*:*"]',
        "names every resource of its service",
    ),
    "not an arn": (STATEMENT + 'actions = ["s3:GetObject"]\nresources = ["my-bucket"]', "'my-bucket' is not an ARN"),
    "bad operator": (
        STATEMENT + 'actions = ["sns:Publish"]\nresources = ["arn:aws:sns:us-east-1:1:t"]\n'
        'conditions = { Equals = { "aws:x" = "y" } }',
        "key 'permissions.statements[0].conditions.Equals': is not an IAM condition operator",
    ),
    "unknown statement key": (STATEMENT + 'effect = "Deny"\n', "key 'permissions.statements[0].effect': unknown key"),
    "no actions": (STATEMENT + 'resources = ["*"]\n', "key 'permissions.statements[0].actions': must be a non-empty"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_check_refuses_in_one_line_naming_the_file_and_key(workspace, case: str) -> None:
    config, expected = REFUSALS[case]
    workspace.add_function("fn", config=config + "\n")
    result = workspace.cli("check")
    assert result.returncode == 2, result
    error = result.stderr
    assert error.count("\n") <= 1 and f"{SOURCE}: " in error and expected in error, error


def test_check_refuses_a_grant_on_an_undeclared_queue_or_function(workspace) -> None:
    workspace.add_function("fn", config='permissions = ["queue:jobs:send"]\n')
    result = workspace.cli("check")
    assert result.returncode == 2
    assert "'queue:jobs': no queue 'jobs' in functions/resources.toml (declared: none)" in result.stderr
    (workspace.root / "functions" / "fn" / "function.toml").write_text('permissions = ["function:ghost:invoke"]\n')
    result = workspace.cli("check")
    assert result.returncode == 2 and "'function:ghost' names no function of functions/" in result.stderr


def test_permissions_reach_the_manifest(workspace) -> None:
    workspace.add_function("other")
    config = '[permissions]\ngrants = ["function:other:invoke"]\n[[permissions.statements]]\n'
    config += 'actions = ["cloudwatch:PutMetricData"]\nresources = ["*"]\n'
    workspace.add_function("fn", config=config)
    assert workspace.cli("all", "--quiet").returncode == 0
    entry = workspace.manifest()["functions"]["fn"]
    assert entry["permissions"] == [
        {
            "type": "function",
            "name": "other",
            "access": "invoke",
            "allow": [{"actions": ["lambda:InvokeFunction"], "suffix": ""}],
        }
    ]
    assert entry["statements"] == [{"actions": ["cloudwatch:PutMetricData"], "resources": ["*"], "conditions": {}}]


def test_the_levels_table_in_the_docs_is_the_code(pytestconfig) -> None:
    docs = (pytestconfig.rootpath / "docs" / "permissions.md").read_text()
    for kind in permissions.TYPES:
        for level, (actions, _) in permissions.LEVELS[kind].items():
            assert f"| `{kind}` | `{level}` | {', '.join(f'`{a}`' for a in actions)} |" in docs, (kind, level)
    for action in permissions.STAR_ACTIONS:
        assert f"`{action}`" in docs


def test_unknown_permissions_shapes_raise() -> None:
    with pytest.raises(UserError, match=r"key 'permissions\.extra': unknown key"):
        permissions.parse(SOURCE, {"extra": 1})
