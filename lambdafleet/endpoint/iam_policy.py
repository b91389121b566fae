"""IAM policy evaluation for one request: which statements of which policies allow or deny (action, resource).

AWS's rules within one account (IAM User Guide, "Policy evaluation logic"): an explicit Deny in any applicable
policy wins; otherwise an Allow in an identity-based policy or in the resource's policy (naming the principal)
allows; otherwise the request is implicitly denied. Actions match case-insensitively, resources case-sensitively,
both with `*` and `?` wildcards.
"""

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Grant:
    """One (action pattern, resource pattern) an Allow statement of an identity policy names."""

    policy: str  # the policy's name (inline) or ARN (attached)
    action: str
    resource: str


@dataclass
class Verdict:
    """The outcome for one (action, resource): `allowed`, and when not, why (AWS's words for it)."""

    allowed: bool
    reason: str  # "allowed" | "implicit" | "explicit-identity" | "explicit-resource"
    grants: list[Grant] = field(default_factory=list)  # the identity grants that allowed it


@dataclass(frozen=True)
class Principal:
    """Who is asking: the role and its session, and what conditions may test about the request."""

    role_arn: str
    session_arn: str
    account_id: str
    context: Mapping[str, Sequence[str]]  # condition keys (lower case) -> values
    service: str = ""  # a service principal (s3.amazonaws.com) instead of a role


@dataclass(frozen=True)
class Document:
    """A parsed policy document and the name it is reported under."""

    name: str
    statements: tuple[Mapping[str, Any], ...]


@functools.lru_cache(maxsize=1024)
def parse(name: str, text: str) -> Document:
    """The statements of policy `text` (a JSON document, as IAM and S3 store it); cached, as documents rarely
    change and every request reads them."""
    try:
        document = json.loads(text)
    except ValueError:
        return Document(name, ())
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    return Document(name, tuple(statement for statement in statements if isinstance(statement, dict)))


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


@functools.lru_cache(maxsize=4096)
def _pattern(text: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in text)
    return re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's `*`/`?` matching of `value` against `pattern`."""
    return _pattern(pattern, ignore_case).match(value) is not None


def _any_match(patterns: Iterable[str], value: str, *, ignore_case: bool = False) -> bool:
    return any(wildcard_match(pattern, value, ignore_case=ignore_case) for pattern in patterns)


def _action_applies(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not _any_match(_as_list(statement["NotAction"]), action, ignore_case=True)
    return _any_match(_as_list(statement.get("Action")), action, ignore_case=True)


def _resource_applies(statement: Mapping[str, Any], resource: str | None) -> bool:
    """`resource` None: a request whose resource the endpoint does not resolve matches on the action alone."""
    if resource is None:
        return True
    if "NotResource" in statement:
        return not _any_match(_as_list(statement["NotResource"]), resource)
    return _any_match(_as_list(statement.get("Resource")), resource)


def _principal_applies(statement: Mapping[str, Any], principal: Principal) -> bool:
    """A resource policy statement applies to the role when it names everyone, the role, its session, or the
    account (as an ID or its root ARN)."""
    named = statement.get("Principal")
    if named == "*":
        return True
    if not isinstance(named, dict):
        return False
    if principal.service:
        return principal.service in _as_list(named.get("Service"))
    accounts = {principal.account_id, f"arn:aws:iam::{principal.account_id}:root"}
    for value in _as_list(named.get("AWS")):
        if value == "*" or value in accounts or value in (principal.role_arn, principal.session_arn):
            return True
    return False


_NEGATED = ("StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike")


def _compare(operator: str, wanted: list[str], actual: Sequence[str]) -> bool:
    if operator in ("StringEquals", "ArnEquals"):
        return any(value in wanted for value in actual)
    if operator == "StringEqualsIgnoreCase":
        return any(value.lower() in {want.lower() for want in wanted} for value in actual)
    if operator in ("StringLike", "ArnLike"):
        return any(_any_match(wanted, value) for value in actual)
    if operator == "Bool":
        return any(value.lower() in {want.lower() for want in wanted} for value in actual)
    if operator in _NEGATED:
        positive = operator.replace("Not", "")
        return not _compare(positive, wanted, actual)
    return False  # an operator this evaluator does not know never matches: an Allow it guards does not apply


def _conditions_hold(statement: Mapping[str, Any], principal: Principal) -> bool:
    """Every condition of the statement holds. A key absent from the request: false, except for the ...IfExists
    and negated operators (true) and Null."""
    conditions = statement.get("Condition") or {}
    if not isinstance(conditions, dict):
        return False
    for operator, tests in conditions.items():
        if not isinstance(tests, dict):
            return False
        base = operator.split(":")[-1]  # ForAnyValue:/ForAllValues: prefixes: single-valued keys here
        if_exists = base.endswith("IfExists")
        base = base.removesuffix("IfExists")
        for key, wanted in tests.items():
            actual = principal.context.get(key.lower())
            if base == "Null":
                is_null = actual is None
                if any((value.lower() == "true") != is_null for value in _as_list(wanted)):
                    return False
                continue
            if actual is None:
                if if_exists or base in _NEGATED:
                    continue
                return False
            if not _compare(base, _as_list(wanted), actual):
                return False
    return True


def _applies(statement: Mapping[str, Any], action: str, resource: str | None, principal: Principal) -> bool:
    return (
        _action_applies(statement, action)
        and _resource_applies(statement, resource)
        and _conditions_hold(statement, principal)
    )


def grants_of(documents: Iterable[Document]) -> list[Grant]:
    """Every (action, resource) pair the Allow statements of identity `documents` name: the grants the access
    report checks for use."""
    grants: list[Grant] = []
    for document in documents:
        for statement in document.statements:
            if statement.get("Effect") != "Allow" or "NotAction" in statement:
                continue
            resources = _as_list(statement.get("Resource")) or ["*"]
            for action in _as_list(statement.get("Action")):
                grants += [Grant(document.name, action, resource) for resource in resources]
    return grants


def evaluate(
    action: str,
    resource: str | None,
    principal: Principal,
    identity: Sequence[Document],
    resource_policy: Document | None = None,
) -> Verdict:
    """AWS's decision for `principal` calling `action` on `resource` (None: not resolved, match on the action)."""
    allowing: list[Grant] = []
    for document in identity:
        for statement in document.statements:
            if not _applies(statement, action, resource, principal):
                continue
            if statement.get("Effect") == "Deny":
                return Verdict(False, "explicit-identity")
            if statement.get("Effect") == "Allow":
                allowing += _matching_grants(document.name, statement, action, resource)
    resource_allows = False
    for statement in resource_policy.statements if resource_policy else ():
        if not (_principal_applies(statement, principal) and _applies(statement, action, resource, principal)):
            continue
        if statement.get("Effect") == "Deny":
            return Verdict(False, "explicit-resource")
        resource_allows = resource_allows or statement.get("Effect") == "Allow"
    if allowing or resource_allows:
        return Verdict(True, "allowed", allowing)
    return Verdict(False, "implicit")


def _matching_grants(name: str, statement: Mapping[str, Any], action: str, resource: str | None) -> list[Grant]:
    actions = [
        pattern for pattern in _as_list(statement.get("Action")) if wildcard_match(pattern, action, ignore_case=True)
    ]
    resources = _as_list(statement.get("Resource")) or ["*"]
    if resource is not None:
        resources = [pattern for pattern in resources if wildcard_match(pattern, resource)] or resources
    return [Grant(name, pattern, target) for pattern in actions for target in resources]
