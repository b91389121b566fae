"""`permissions` of function.toml: what the function's execution role may do, as exact IAM actions on exact ARNs.

Two forms. The short one grants an access level on a resource the project declares:

    permissions = ["table:items:get,put", "bucket:models/iris.npz:get", "secret:items-api-key:read"]

`<type>:<name>[/<part>]:<level>[,<level>...]`. A level maps to a fixed list of actions (LEVELS, the table in
docs/permissions.md); coarse levels (read, write, ...) are unions of fine ones, which `build.py access` tells you
to trim to. `<part>` narrows a grant below the resource: `table:items/index/<index>` (Query/Scan on one index;
a table grant never covers its indexes) and `bucket:models/<key or prefix*>` (object actions on those keys only).

The table form adds the escape hatch, for what the short form cannot say, validated so it cannot grant everything:

    [permissions]
    grants = ["table:items:read"]
    [[permissions.statements]]
    actions = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]                        # only for actions AWS authorizes on "*" (STAR_ACTIONS)
    conditions = { StringEquals = { "aws:RequestedRegion" = "eu-west-1" } }

Everything is resolved here, so the manifest carries exact action lists and ARN suffixes and Terraform
(infra/modules/function) only builds the resources' ARNs: one source of truth for level -> actions.
"""

import re
from dataclasses import dataclass
from typing import Any

from lambdafleet.errors import UserError

# type -> level -> (actions, scope). Scope: "resource" (the resource's own ARN, or the index ARN), "objects" (a
# bucket's objects: <bucket ARN>/* or the keys the grant names).
Scope = str
LEVELS: dict[str, dict[str, tuple[tuple[str, ...], Scope]]] = {
    "table": {
        "get": (("dynamodb:GetItem",), "resource"),
        "batch_get": (("dynamodb:BatchGetItem",), "resource"),
        "query": (("dynamodb:Query",), "resource"),
        "scan": (("dynamodb:Scan",), "resource"),
        "put": (("dynamodb:PutItem",), "resource"),
        "update": (("dynamodb:UpdateItem",), "resource"),
        "delete": (("dynamodb:DeleteItem",), "resource"),
        "batch_write": (("dynamodb:BatchWriteItem",), "resource"),
        "condition_check": (("dynamodb:ConditionCheckItem",), "resource"),
        "describe": (("dynamodb:DescribeTable",), "resource"),
    },
    "bucket": {
        "get": (("s3:GetObject",), "objects"),
        "put": (("s3:PutObject",), "objects"),
        "delete": (("s3:DeleteObject",), "objects"),
        "list": (("s3:ListBucket",), "resource"),
    },
    "queue": {
        "send": (("sqs:SendMessage",), "resource"),  # SendMessageBatch is authorized as sqs:SendMessage
        "receive": (("sqs:ReceiveMessage",), "resource"),
        "delete": (("sqs:DeleteMessage",), "resource"),
        "change_visibility": (("sqs:ChangeMessageVisibility",), "resource"),
        "attributes": (("sqs:GetQueueAttributes",), "resource"),
    },
    "topic": {"publish": (("sns:Publish",), "resource")},
    "stream": {
        "put": (("kinesis:PutRecord", "kinesis:PutRecords"), "resource"),
        "get": (("kinesis:GetRecords", "kinesis:GetShardIterator"), "resource"),
        "describe": (("kinesis:DescribeStreamSummary", "kinesis:ListShards"), "resource"),
    },
    "bus": {"put": (("events:PutEvents",), "resource")},
    "function": {"invoke": (("lambda:InvokeFunction",), "resource")},
    "secret": {
        "get": (("secretsmanager:GetSecretValue",), "resource"),
        "describe": (("secretsmanager:DescribeSecret",), "resource"),
        "put": (("secretsmanager:PutSecretValue",), "resource"),
    },
    "parameter": {
        "get": (("ssm:GetParameter",), "resource"),
        "get_many": (("ssm:GetParameters",), "resource"),
        "put": (("ssm:PutParameter",), "resource"),
    },
    "key": {
        "decrypt": (("kms:Decrypt",), "resource"),
        "encrypt": (("kms:Encrypt",), "resource"),
        "generate_data_key": (("kms:GenerateDataKey",), "resource"),
    },
}
# Coarse levels: unions of fine ones, per type.
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "table": {
        "read": ("get", "batch_get", "query", "scan"),
        "write": ("put", "update", "delete", "batch_write"),
    },
    "bucket": {"read": ("get", "list"), "write": ("put", "delete")},
    "queue": {"consume": ("receive", "delete", "change_visibility")},
    "topic": {"write": ("publish",)},
    "stream": {"read": ("get", "describe"), "write": ("put",)},
    "bus": {"write": ("put",)},
    "function": {},
    "secret": {"read": ("get",), "write": ("put",)},
    "parameter": {"read": ("get", "get_many"), "write": ("put",)},
    "key": {"read": ("decrypt",), "write": ("encrypt", "generate_data_key")},
}
for _type, _aliases in ALIASES.items():
    if "read" in _aliases and "write" in _aliases:
        _aliases["read_write"] = _aliases["read"] + _aliases["write"]
TYPES = tuple(LEVELS)
# Where a type is declared: checked by `check` (functions/) or by Terraform's plan (infra variables).
DECLARED_IN = {
    "table": "var.tables",
    "bucket": "var.buckets",
    "queue": "functions/resources.toml [queues]",
    "topic": "functions/resources.toml [topics]",
    "stream": "functions/resources.toml [streams]",
    "bus": "functions/resources.toml [buses]",
    "function": "functions/",
    "secret": "var.secrets",
    "parameter": "var.parameters",
    "key": "var.kms_keys",
}
INDEX_LEVELS = ("query", "scan", "read")  # what an index allows: Query and Scan only
KEY_LEVELS = ("get", "put", "delete", "read", "write", "read_write")  # object actions, on named keys

# Actions that AWS authorizes only against "*" (their service has no resource-level permission for them): the
# only actions a statement may grant on "*". See docs/permissions.md.
STAR_ACTIONS = frozenset(
    {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "cloudwatch:PutMetricData",
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "secretsmanager:GetRandomPassword",
    }
)
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
INDEX = re.compile(r"index/([A-Za-z0-9_.-]{3,255})")
OBJECT_KEY = re.compile(r"[A-Za-z0-9!_.'()/-]+\*?|\*")  # S3's safe key characters; one trailing * for a prefix
ACTION = re.compile(r"([a-z0-9-]+):([A-Za-z0-9*?]+)")
ARN = re.compile(r"arn:(?:aws|aws-cn|aws-us-gov|\{partition\}):[a-z0-9-]+:[^:\s]*:[^:\s]*:\S+")
CONDITION_OPERATOR = re.compile(
    r"(ForAnyValue:|ForAllValues:)?(String|Numeric|Date|Bool|Binary|IpAddress|NotIpAddress|Arn|Null)[A-Za-z]*"
)
PLACEHOLDERS = ("{partition}", "{region}", "{account}", "{prefix}")
STATEMENT_KEYS = ("actions", "resources", "conditions")
MAX_STATEMENTS = 20


@dataclass(frozen=True)
class Permissions:
    """A function's grants (short form, resolved to actions) and its escape-hatch statements."""

    grants: tuple[dict[str, Any], ...] = ()
    statements: tuple[dict[str, Any], ...] = ()


def levels_of(kind: str) -> list[str]:
    """Every level a type accepts: its fine levels, then its coarse ones."""
    return [*LEVELS[kind], *ALIASES[kind]]


def actions_of(kind: str, levels: list[str]) -> dict[Scope, list[str]]:
    """The actions `levels` of a `kind` grant, by scope, sorted and without duplicates."""
    scoped: dict[Scope, set[str]] = {}
    for level in levels:
        for fine in ALIASES[kind].get(level, (level,)):
            actions, scope = LEVELS[kind][fine]
            scoped.setdefault(scope, set()).update(actions)
    return {scope: sorted(actions) for scope, actions in sorted(scoped.items())}


def parse(source: str, value: Any) -> Permissions:
    """`permissions` of function.toml (`source` names the file) as grants and statements; UserError naming the
    key otherwise."""
    if isinstance(value, list):
        return Permissions(grants=_grants(source, "permissions", value))
    if not isinstance(value, dict):
        raise _fail(
            source,
            "permissions",
            "must be a list of grants like 'table:items:read', or a table with grants and statements",
        )
    unknown = sorted(set(value) - {"grants", "statements"})
    if unknown:
        raise _fail(source, f"permissions.{unknown[0]}", "unknown key; known keys: grants, statements")
    statements = value.get("statements", [])
    if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
        raise _fail(source, "permissions.statements", "must be [[permissions.statements]] tables")
    if len(statements) > MAX_STATEMENTS:
        raise _fail(source, "permissions.statements", f"has {len(statements)} statements; at most {MAX_STATEMENTS}")
    return Permissions(
        grants=_grants(source, "permissions.grants", value.get("grants", [])),
        statements=tuple(_statement(source, f"permissions.statements[{i}]", s) for i, s in enumerate(statements)),
    )


def _fail(source: str, key: str, problem: str) -> UserError:
    return UserError(f"{source}: key '{key}': {problem}")


def _grants(source: str, key: str, value: Any) -> tuple[dict[str, Any], ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _fail(source, key, f"must be a list of strings like 'table:items:read', got {value!r}")
    grants = [_grant(source, key, text) for text in value]
    seen: set[tuple[str, str, str]] = set()
    for grant in grants:
        identity = (grant["type"], grant["name"], grant.get("target", ""))
        if identity in seen:
            raise _fail(
                source, key, f"grants {grant['type']}:{grant['name']} twice; list its levels once, comma-separated"
            )
        seen.add(identity)
    return tuple(grants)


def _grant(source: str, key: str, text: str) -> dict[str, Any]:
    shape = f"{text!r} must look like '<type>:<name>:<level>' (type: {'|'.join(TYPES)})"
    parts = text.split(":")
    if len(parts) != 3 or parts[0] not in LEVELS:
        raise _fail(source, key, shape)
    kind, where, access = parts
    name, _, target = where.partition("/")
    if not NAME.fullmatch(name):
        raise _fail(source, key, f"{text!r}: the name must be lower-case letters, digits, '-' or '_' (at most 63)")
    levels = access.split(",")
    allowed = levels_of(kind)
    for level in levels:
        if level not in allowed:
            raise _fail(source, key, f"{text!r}: {kind} levels are {', '.join(allowed)}; got {level!r}")
    if len(set(levels)) != len(levels):
        raise _fail(source, key, f"{text!r} names a level twice")
    suffix = _target_suffix(source, key, text, kind, target, levels)
    grant: dict[str, Any] = {"type": kind, "name": name, "access": access}
    if target:
        grant["target"] = target
    scoped = actions_of(kind, levels)
    if kind == "bucket" and target:
        scoped.pop("resource", None)  # `read` of a key is s3:GetObject: ListBucket is the bucket's
    grant["allow"] = [
        {"actions": actions, "suffix": suffix if scope == "resource" or target else "/*"}
        for scope, actions in scoped.items()
    ]
    return grant


def _target_suffix(source: str, key: str, text: str, kind: str, target: str, levels: list[str]) -> str:
    """The ARN suffix of a grant below its resource ("" for the resource itself)."""
    if not target:
        return ""
    if kind == "table":
        if not INDEX.fullmatch(target):
            raise _fail(source, key, f"{text!r}: below a table only 'index/<index name>' can be granted")
        wrong = [level for level in levels if level not in INDEX_LEVELS]
        if wrong:
            raise _fail(
                source,
                key,
                f"{text!r}: an index allows only {', '.join(INDEX_LEVELS)} (DynamoDB reads "
                f"an index with Query and Scan); got {wrong[0]!r}",
            )
        return f"/{target}"
    if kind == "bucket":
        if not OBJECT_KEY.fullmatch(target) or "//" in target:
            raise _fail(source, key, f"{text!r}: after the bucket name give an object key, or a prefix ending in '*'")
        wrong = [level for level in levels if level not in KEY_LEVELS]
        if wrong:
            raise _fail(
                source,
                key,
                f"{text!r}: s3:ListBucket applies to the bucket, not to keys; grant "
                f"'bucket:<name>:list' separately (got {wrong[0]!r} on a key)",
            )
        return f"/{target}"
    raise _fail(source, key, f"{text!r}: only a table (index/<name>) or a bucket (a key) takes a part after '/'")


def _statement(source: str, key: str, statement: dict[str, Any]) -> dict[str, Any]:
    for name in statement:
        if name not in STATEMENT_KEYS:
            raise _fail(source, f"{key}.{name}", f"unknown key; known keys: {', '.join(STATEMENT_KEYS)}")
    actions = _strings(source, f"{key}.actions", statement.get("actions"))
    resources = _strings(source, f"{key}.resources", statement.get("resources"))
    for action in actions:
        _check_action(source, f"{key}.actions", action)
    for resource in resources:
        _check_resource(source, f"{key}.resources", resource, actions)
    conditions = _conditions(source, f"{key}.conditions", statement.get("conditions", {}))
    return {"actions": sorted(set(actions)), "resources": sorted(set(resources)), "conditions": conditions}


def _strings(source: str, key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise _fail(source, key, "must be a non-empty list of strings")
    return list(value)


def _check_action(source: str, key: str, action: str) -> None:
    if action == "*":
        raise _fail(source, key, "'*' grants every action of every service; name the actions the function calls")
    matched = ACTION.fullmatch(action)
    if not matched:
        raise _fail(source, key, f"{action!r} is not an IAM action like 'xray:PutTraceSegments'")
    if set(matched[2]) <= {"*", "?"}:
        raise _fail(source, key, f"{action!r} grants every action of {matched[1]}; name the actions the function calls")


def _check_resource(source: str, key: str, resource: str, actions: list[str]) -> None:
    if resource == "*":
        needing = sorted(action for action in actions if action not in STAR_ACTIONS)
        if needing:
            raise _fail(
                source,
                key,
                f"'*' is every resource, and {needing[0]} can be granted on exact ARNs; "
                f"only actions without resource-level permissions ({', '.join(sorted(STAR_ACTIONS))}) "
                "may have '*'",
            )
        return
    if not ARN.fullmatch(resource):
        raise _fail(
            source,
            key,
            f"{resource!r} is not an ARN (arn:<partition>:<service>:<region>:<account>:<resource>;"
            f" placeholders {', '.join(PLACEHOLDERS)} are filled in by Terraform)",
        )
    rest = resource.split(":", 5)[5]
    if set(rest) <= {"*", "?", "/"}:
        raise _fail(source, key, f"{resource!r} names every resource of its service; name the resources")


def _conditions(source: str, key: str, value: Any) -> dict[str, dict[str, list[str]]]:
    if not isinstance(value, dict):
        raise _fail(source, key, 'must be a table like { StringEquals = { "aws:RequestedRegion" = "eu-west-1" } }')
    result: dict[str, dict[str, list[str]]] = {}
    for operator, tests in value.items():
        if not CONDITION_OPERATOR.fullmatch(operator):
            raise _fail(
                source, f"{key}.{operator}", "is not an IAM condition operator (StringEquals, ArnLike, Bool, ...)"
            )
        if not isinstance(tests, dict) or not tests:
            raise _fail(source, f"{key}.{operator}", "must be a table of condition keys and their values")
        result[operator] = {}
        for name, wanted in tests.items():
            values = wanted if isinstance(wanted, list) else [wanted]
            if not values or not all(isinstance(v, (str, bool, int)) and not isinstance(v, float) for v in values):
                raise _fail(source, f"{key}.{operator}.{name}", "must be a string, number, boolean or a list of them")
            result[operator][name] = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
    return result


# Short-form types that functions/ declares, so `check` can refuse an undeclared name before any build.
PROJECT_KINDS = {"queue": "queues", "topic": "topics", "stream": "streams", "bus": "buses"}


def check_declared(
    source: str,
    grants: tuple[dict[str, Any], ...],
    functions: set[str],
    resources: dict[str, dict[str, dict[str, Any]]],
) -> None:
    """Every queue, topic, stream, bus and function a grant names exists in the project (tables, buckets,
    secrets, parameters and keys are Terraform variables: the plan checks those)."""
    for grant in grants:
        kind, name = grant["type"], grant["name"]
        if kind == "function" and name not in functions:
            raise _fail(
                source,
                "permissions",
                f"'{kind}:{name}' names no function of functions/ (functions: {', '.join(sorted(functions))})",
            )
        if kind in PROJECT_KINDS and not (kind == "bus" and name == "default"):
            declared = resources.get(PROJECT_KINDS[kind], {})
            if name not in declared:
                raise _fail(
                    source,
                    "permissions",
                    f"'{kind}:{name}': no {kind} {name!r} in functions/resources.toml "
                    f"(declared: {', '.join(declared) or 'none'})",
                )
