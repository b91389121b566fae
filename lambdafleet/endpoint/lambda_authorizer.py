"""API Gateway HTTP API Lambda authorizers, payload format 2.0: identity sources, the authorizer event, simple
and IAM-policy responses, and result caching by identity for the authorizer's TTL.

Follows "Working with AWS Lambda authorizers for HTTP APIs" in the API Gateway developer guide: a missing
identity source → 401 without calling the function; `isAuthorized: false` or a policy that does not allow
`execute-api:Invoke` on the route → 403; a failing or malformed authorizer → 500. The context it returns reaches
the route's event as requestContext.authorizer.lambda.
"""

import fnmatch
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from lambdafleet.endpoint.http_event import HttpRequest, joined
from lambdafleet.endpoint.jwt_authorizer import Forbidden, Unauthorized


class AuthorizerFailed(Exception):
    """500: the authorizer failed or answered something API Gateway cannot read."""


@dataclass(frozen=True)
class LambdaAuthorizerConfig:
    """An authorizer of type REQUEST as moto stores it."""

    authorizer_id: str
    function: Any
    identity_sources: tuple[str, ...]
    simple_responses: bool
    ttl_s: int


@dataclass(frozen=True)
class Verdict:
    """What the authorizer said (cached per identity): a simple yes/no, or a policy judged per route."""

    authorized: bool | None
    policy: dict[str, Any] | None
    context: dict[str, Any]
    principal_id: str | None


def identity_value(source: str, request: HttpRequest, extra: dict[str, str]) -> str | None:
    """The value of one identity source (`$request.header.X`, `$request.querystring.x`, `$context.x`), or None."""
    if source.startswith("$request.header."):
        return joined([(n.lower(), v) for n, v in request.headers]).get(source[16:].lower())
    if source.startswith("$request.querystring."):
        return joined(parse_qsl(request.raw_query, keep_blank_values=True)).get(source[21:])
    if source.startswith("$context."):
        return extra.get(source[9:])
    return None


def _allows(policy: dict[str, Any], route_arn: str) -> bool:
    """IAM evaluation of `execute-api:Invoke` on `route_arn`: an explicit Deny wins, else an Allow is needed."""
    statements = policy.get("Statement")
    statements = [statements] if isinstance(statements, dict) else statements
    if not isinstance(statements, list):
        raise AuthorizerFailed("policyDocument has no Statement list")
    allowed = False
    for statement in statements:
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if not any(fnmatch.fnmatchcase("execute-api:Invoke", a) for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(route_arn, r) for r in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _verdict(payload: bytes, function_error: bool, simple: bool) -> Verdict:
    if function_error:
        raise AuthorizerFailed("the authorizer function failed")
    try:
        result = json.loads(payload)
    except ValueError:
        raise AuthorizerFailed("the authorizer's answer is not JSON") from None
    if not isinstance(result, dict):
        raise AuthorizerFailed("the authorizer's answer is not an object")
    context = result.get("context") or {}
    if not isinstance(context, dict):
        raise AuthorizerFailed("context is not an object")
    if simple and "isAuthorized" in result:
        if not isinstance(result["isAuthorized"], bool):
            raise AuthorizerFailed("isAuthorized is not a boolean")
        return Verdict(result["isAuthorized"], None, context, None)
    policy = result.get("policyDocument")
    if not isinstance(policy, dict):
        raise AuthorizerFailed("no isAuthorized (simple response) nor policyDocument (IAM policy)")
    return Verdict(None, policy, context, str(result.get("principalId")) if "principalId" in result else None)


class LambdaAuthorizers:
    """Runs Lambda authorizers through `invoke(function, payload) -> (payload, function_error)`, caching their
    verdicts by authorizer and identity for the authorizer's TTL."""

    def __init__(self, invoke: Callable[[Any, bytes], tuple[bytes, bool]]) -> None:
        """`invoke` runs the authorizer function synchronously."""
        self._invoke = invoke
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[Verdict, float]] = {}
        self._mutex = threading.Lock()

    def authorize(
        self, config: LambdaAuthorizerConfig, event: dict[str, Any], request: HttpRequest, route_arn: str
    ) -> dict[str, Any]:
        """requestContext.authorizer for an authorized request; raises Unauthorized, Forbidden or AuthorizerFailed.

        `event` is the route's payload-2.0 event, which the authorizer's event is made from.
        """
        context = {
            "httpMethod": request.method,
            "routeKey": event["routeKey"],
            "stage": event["requestContext"]["stage"],
        }
        identity = [identity_value(source, request, context) for source in config.identity_sources]
        if any(value is None or value == "" for value in identity):
            raise Unauthorized("an identity source is missing")
        key = (config.authorizer_id, tuple(str(value) for value in identity))
        verdict = self._cached(key) if config.ttl_s and identity else None
        if verdict is None:
            auth_event = {k: v for k, v in event.items() if k not in ("body", "isBase64Encoded")}
            auth_event.update({"type": "REQUEST", "routeArn": route_arn, "identitySource": identity})
            payload, failed = self._invoke(config.function, json.dumps(auth_event).encode())
            verdict = _verdict(payload, failed, config.simple_responses)
            if config.ttl_s and identity:
                with self._mutex:
                    self._cache[key] = (verdict, time.monotonic() + config.ttl_s)
        allowed = verdict.authorized if verdict.policy is None else _allows(verdict.policy, route_arn)
        if not allowed:
            raise Forbidden("the authorizer denied the request")
        authorizer: dict[str, Any] = {"lambda": verdict.context}
        if verdict.principal_id is not None:
            authorizer["principalId"] = verdict.principal_id
        return authorizer

    def _cached(self, key: tuple[str, tuple[str, ...]]) -> Verdict | None:
        with self._mutex:
            hit = self._cache.get(key)
            if hit is None or hit[1] <= time.monotonic():
                self._cache.pop(key, None)
                return None
            return hit[0]
