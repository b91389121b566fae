"""API Gateway HTTP APIs served from what was deployed: `/_api/<api-id>/<path>` and
`<api-id>.execute-api.localhost/<path>` select the API, its stage and route, invoke the integration's function
with a payload-2.0 event and map its result to the HTTP response."""

import json
import logging
import queue
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from moto.apigatewayv2.models import Api, apigatewayv2_backends
from moto.awslambda.models import lambda_backends
from moto.core.exceptions import JsonRESTError

from lambdafleet.endpoint import cors, routes, sigv4
from lambdafleet.endpoint.cors import CorsRules, is_preflight
from lambdafleet.endpoint.fleet import Fleet, NotAnswered
from lambdafleet.endpoint.http_event import (
    BAD_REQUEST,
    FORBIDDEN,
    INTERNAL_ERROR,
    NOT_FOUND,
    PAYLOAD_TOO_LARGE,
    SERVICE_UNAVAILABLE,
    TOO_MANY_REQUESTS,
    UNAUTHORIZED,
    HttpRequest,
    HttpResponse,
    RouteTarget,
    build_event,
    joined,
    map_response,
)
from lambdafleet.endpoint.http_event_v1 import build_event_v1, map_response_v1
from lambdafleet.endpoint.http_server import BodyLimit, WsgiApp
from lambdafleet.endpoint.jwt_authorizer import Forbidden, JwtConfig, JwtValidator, Unauthorized
from lambdafleet.endpoint.lambda_authorizer import (
    AuthorizerFailed,
    LambdaAuthorizerConfig,
    LambdaAuthorizers,
    identity_value,
)
from lambdafleet.endpoint.throttle import Throttle
from lambdafleet.endpoint.wsgi_body import BodyTooLarge, front, read_body, request_of, sent_headers
from lambdafleet.runtime.pool import MAX_REQUEST_BYTES, PayloadTooLargeError

LOG = logging.getLogger("lambdafleet.endpoint")
PATH_PREFIX = re.compile(r"^/_api/(?P<api>[a-z0-9]+)(?P<path>/.*)?$")
HOST = re.compile(r"^(?P<api>[a-z0-9]+)\.execute-api\.localhost(:\d+)?$", re.IGNORECASE)
FUNCTION_ARN = re.compile(r"arn:[\w-]+:lambda:[\w-]+:\d{12}:function:[\w-]+(:[\w$-]+)?")
DEFAULT_STAGE = "$default"
ResponseMapper = Callable[[bytes, bool], HttpResponse]
MAX_INTEGRATION_TIMEOUT_MS = 30_000  # HTTP APIs wait 30 s at most, whatever the function's own timeout


@dataclass(frozen=True)
class Integrated:
    """A route's Lambda proxy integration: the function, how long API Gateway waits, the payload format."""

    function: Any
    timeout_ms: int
    payload_version: str


def _raw_uri(environ: dict[str, Any]) -> tuple[str, str]:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
    path, _, query = raw.partition("?")
    return path, query


def addressed_api(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(api id, path within the API) when the request is for an HTTP API, else None (a moto call)."""
    path, _ = _raw_uri(environ)
    by_host = HOST.match(environ.get("HTTP_HOST", ""))
    if by_host:
        return by_host["api"], path
    by_path = PATH_PREFIX.match(path)
    if by_path:
        return by_path["api"], by_path["path"] or "/"
    return None


def _find_api(api_id: str) -> tuple[str, str, Api] | None:
    for account, regions in list(apigatewayv2_backends.items()):
        for region, backend in list(regions.items()):
            if api_id in backend.apis:
                return account, region, backend.apis[api_id]
    return None


def _stage_and_path(api: Api, path: str) -> tuple[str, str] | None:
    first, _, rest = path.lstrip("/").partition("/")
    if first and first != DEFAULT_STAGE and first in api.stages:
        return first, "/" + rest
    return (DEFAULT_STAGE, path) if DEFAULT_STAGE in api.stages else None


def _request(environ: dict[str, Any], raw_path: str) -> HttpRequest:
    """The request as the event describes it; raises ValueError for a Content-Length that is not a number."""
    _, query = _raw_uri(environ)
    request = request_of(environ)
    return HttpRequest(
        method=request.method,
        raw_path=raw_path,
        raw_query=query,
        headers=sent_headers(environ),
        body=read_body(environ),
        source_ip=request.remote_addr or "127.0.0.1",
    )


class _Workers:
    """Daemon threads that run integrations, reused from one request to the next: starting a thread per request
    cost ~10 % of the endpoint's CPU on a busy route. A thread is added only when none is idle (an invocation
    past its integration timeout keeps its thread until the function ends), and none blocks the endpoint's exit."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._idle = 0
        self._mutex = threading.Lock()

    def run(self, job: Callable[[], None]) -> None:
        """Start `job` on an idle thread, or on a new one."""
        with self._mutex:
            spawn = self._idle == 0
            if not spawn:
                self._idle -= 1
        if spawn:
            threading.Thread(target=self._serve, args=(job,), name="http-api-invoke", daemon=True).start()
        else:
            self._jobs.put(job)

    def _serve(self, job: Callable[[], None]) -> None:
        while True:
            try:
                job()
            except Exception:  # a job reports its own outcome; this only keeps the thread alive
                LOG.exception("an HTTP API integration failed")
            with self._mutex:
                self._idle += 1
            job = self._jobs.get()


@dataclass(frozen=True)
class Routed:
    """A request matched to a route of a deployed API."""

    api: Api
    route: Any
    stage: Any
    target: RouteTarget
    integrated: Integrated
    region: str


class HttpApiGateway:
    """Answers HTTP API requests by invoking the deployed integrations through `fleet`: CORS, throttling and
    authorization first, as API Gateway applies them."""

    def __init__(self, fleet: Fleet, cache_dir: Path | None = None) -> None:
        """Invocations run in `fleet`'s warm environments; `cache_dir` holds the local JWT issuer's key."""
        self._fleet = fleet
        self._throttle = Throttle()
        self._jwt = JwtValidator(cache_dir or fleet.cache_dir)
        self._lambda_authorizers = LambdaAuthorizers(self._invoke_authorizer)
        self._workers = _Workers()

    def handle(self, api_id: str, path: str, environ: dict[str, Any]) -> HttpResponse:
        """The response API Gateway would give; never raises for a bad request or a failing function."""
        try:
            request = _request(environ, path)
        except BodyTooLarge as error:
            LOG.warning("HTTP API %s %s: %s", api_id, path, error)
            return PAYLOAD_TOO_LARGE
        except ValueError as error:
            LOG.warning("HTTP API %s %s: %s", api_id, path, error)
            return BAD_REQUEST
        found = _find_api(api_id)
        if found is None:
            return NOT_FOUND
        headers = joined([(name.lower(), value) for name, value in request.headers])
        rules = CorsRules.from_config(cast(dict[str, Any] | None, found[2].cors_configuration))
        if rules is not None and is_preflight(request.method, headers):
            return cors.preflight(rules, headers)
        request_id = str(uuid.uuid4())
        response = self._serve(found, request, headers, request_id, environ)
        response = HttpResponse(response.status, [*response.headers, ("apigw-requestid", request_id)], response.body)
        return cors.decorate(rules, headers.get("origin"), response) if rules is not None else response

    def _serve(
        self,
        found: tuple[str, str, Api],
        request: HttpRequest,
        headers: dict[str, str],
        request_id: str,
        environ: dict[str, Any],
    ) -> HttpResponse:
        routed = self._route(found, request)
        if isinstance(routed, HttpResponse):
            return routed
        if not self._admitted(routed):
            return TOO_MANY_REQUESTS
        target = routed.target
        event_2 = build_event(request, target, request_id)
        authorized = self._authorize(routed, request, headers, event_2, environ)
        if isinstance(authorized, HttpResponse):
            return authorized
        if routed.integrated.payload_version == "1.0":
            event, mapper = build_event_v1(request, target, request_id, _v1_authorizer(authorized)), map_response_v1
        else:
            event, mapper = event_2, map_response
            if authorized is not None:
                event["requestContext"]["authorizer"] = authorized
        return self._invoke(routed.integrated, event, mapper)

    def _route(self, found: tuple[str, str, Api], request: HttpRequest) -> Routed | HttpResponse:
        """The selected route and its function, or the error response when there is none."""
        account, region, api = found
        staged = _stage_and_path(api, request.raw_path)
        if staged is None:
            return NOT_FOUND
        stage, route_path = staged
        by_key = {route.route_key: route for route in api.routes.values()}
        match = routes.select(by_key, request.method, route_path)
        if match is None:
            return NOT_FOUND
        route = by_key[match.route_key]
        integrated = self._integration_function(api, route.target, account, region)
        if integrated is None:
            return INTERNAL_ERROR
        # API Gateway's form whichever local address was used; a real domain name has no port either.
        domain = f"{api.api_id}.execute-api.localhost"
        target = RouteTarget(api.api_id, account, domain, stage, match.route_key, match.path_parameters)
        return Routed(api, route, api.stages[stage], target, integrated, region)

    def _admitted(self, routed: Routed) -> bool:
        """False when the route's (else the stage's) rate and burst leave no room for this request."""
        settings = (routed.stage.route_settings or {}).get(routed.route.route_key) or {}
        defaults = routed.stage.default_route_settings or {}
        rate = settings.get("throttlingRateLimit", defaults.get("throttlingRateLimit"))
        burst = settings.get("throttlingBurstLimit", defaults.get("throttlingBurstLimit"))
        if rate is None and burst is None:
            return True
        rate = float(rate if rate is not None else 10000)
        burst = int(burst if burst is not None else 5000)
        return self._throttle.admit((routed.api.api_id, routed.target.stage, routed.route.route_key), rate, burst)

    def _authorize(
        self,
        routed: Routed,
        request: HttpRequest,
        headers: dict[str, str],
        event: dict[str, Any],
        environ: dict[str, Any],
    ) -> dict[str, Any] | HttpResponse | None:
        """requestContext.authorizer for an authorized request (None for a route without authorization), or the
        401/403/500 API Gateway answers instead."""
        kind = (routed.route.authorization_type or "NONE").upper()
        if kind == "NONE":
            return None
        try:
            if kind == "AWS_IAM":
                full_path, query = _raw_uri(environ)
                url = f"http://{environ.get('HTTP_HOST', 'localhost')}{full_path}" + (f"?{query}" if query else "")
                return {"iam": sigv4.verify(request.method, url, headers, request.body).as_authorizer()}
            authorizer = routed.api.authorizers.get(routed.route.authorizer_id or "")
            if authorizer is None:
                LOG.warning("route %s: no authorizer %s", routed.route.route_key, routed.route.authorizer_id)
                return INTERNAL_ERROR
            if kind == "JWT":
                return self._jwt.authorize(
                    _jwt_config(authorizer), _first_identity(authorizer, request), _scopes(routed)
                )
            config = self._lambda_config(authorizer, routed)
            if config is None:
                return INTERNAL_ERROR
            route_arn = (
                f"arn:aws:execute-api:{routed.region}:{routed.target.account_id}:{routed.api.api_id}/"
                f"{routed.target.stage}/{request.method}{request.raw_path}"
            )
            return self._lambda_authorizers.authorize(config, event, request, route_arn)
        except Unauthorized as error:
            LOG.info("%s: 401: %s", routed.route.route_key, error)
            return UNAUTHORIZED
        except Forbidden as error:
            LOG.info("%s: 403: %s", routed.route.route_key, error)
            return FORBIDDEN
        except sigv4.SignatureRejected as error:
            return HttpResponse(
                403,
                [("content-type", "application/json")],
                json.dumps({"message": error.message}, separators=(",", ":")).encode(),
            )
        except AuthorizerFailed as error:
            LOG.warning("%s: authorizer failed: %s", routed.route.route_key, error)
            return INTERNAL_ERROR

    def _lambda_config(self, authorizer: Any, routed: Routed) -> LambdaAuthorizerConfig | None:
        arn = FUNCTION_ARN.search(authorizer.authorizer_uri or "")
        if arn is None:
            return None
        try:
            function = lambda_backends[routed.target.account_id][routed.region].get_function(arn[0])
        except JsonRESTError as error:
            LOG.warning("authorizer %s: %s", authorizer.name, error.message)
            return None
        return LambdaAuthorizerConfig(
            authorizer_id=authorizer.id,
            function=function,
            identity_sources=tuple(_identity_sources(authorizer)),
            simple_responses=bool(authorizer.enable_simple_response),
            ttl_s=int(authorizer.auth_result_ttl or 0),
        )

    def _invoke_authorizer(self, function: Any, payload: bytes) -> tuple[bytes, bool]:
        try:
            result = self._fleet.invoke(function, payload)
        except JsonRESTError as error:
            raise AuthorizerFailed(error.message) from None
        return result.payload, result.function_error

    def _invoke(self, integrated: Integrated, event: dict[str, Any], mapper: ResponseMapper) -> HttpResponse:
        """The mapped result, or 503 when the function has not answered within the integration's timeout (the
        invocation runs on, as in Lambda); a function under a debugger has no such timeout."""
        name = integrated.function.function_name
        debugged = self._fleet.debugged(name)
        if debugged or self._fleet.bounds_waits(name):
            # On this thread: handing the invocation to another cost two thread switches per request (issue 18).
            return self._invoke_now(integrated.function, event, mapper, None if debugged else integrated.timeout_ms)
        outcome: list[HttpResponse] = []
        answered = threading.Event()

        def job() -> None:
            try:
                outcome.append(self._invoke_now(integrated.function, event, mapper))
            finally:
                answered.set()

        self._workers.run(job)
        answered.wait(integrated.timeout_ms / 1000)
        if not outcome:
            LOG.warning("%s: no answer within %d ms", integrated.function.function_name, integrated.timeout_ms)
            return SERVICE_UNAVAILABLE
        return outcome[0]

    def _invoke_now(
        self, function: Any, event: dict[str, Any], mapper: ResponseMapper, timeout_ms: int | None = None
    ) -> HttpResponse:
        """The mapped result; with `timeout_ms`, 503 when the function has not answered by then (it runs on)."""
        try:
            answer_within_s = timeout_ms / 1000 if timeout_ms is not None else None
            result = self._fleet.invoke(function, json.dumps(event).encode(), answer_within_s=answer_within_s)
        except NotAnswered:
            LOG.warning("%s: no answer within %d ms", function.function_name, timeout_ms)
            return SERVICE_UNAVAILABLE
        except JsonRESTError as error:
            LOG.warning("%s: %s", function.function_name, error.message)
            return INTERNAL_ERROR
        except PayloadTooLargeError as error:
            LOG.warning("%s: %s", function.function_name, error)
            return PAYLOAD_TOO_LARGE
        return mapper(result.payload, result.function_error)

    @staticmethod
    def _integration_function(api: Api, route_target: str | None, account: str, region: str) -> Integrated | None:
        """The integration's function, timeout and payload format, or None when it is not a Lambda proxy."""
        integration = api.integrations.get((route_target or "").removeprefix("integrations/"))
        if integration is None or integration.integration_type != "AWS_PROXY":
            LOG.warning("API %s: route target %s is not a Lambda proxy integration", api.api_id, route_target)
            return None
        arn = FUNCTION_ARN.search(integration.integration_uri or "")
        version = integration.payload_format_version or "2.0"
        if arn is None or version not in ("1.0", "2.0"):
            LOG.warning("API %s: integration %s is not a payload-1.0/2.0 Lambda", api.api_id, integration.id)
            return None
        try:
            function = lambda_backends[account][region].get_function(arn[0])
        except JsonRESTError as error:
            LOG.warning("API %s: %s", api.api_id, error.message)
            return None
        timeout_ms = min(integration.timeout_in_millis or MAX_INTEGRATION_TIMEOUT_MS, MAX_INTEGRATION_TIMEOUT_MS)
        return Integrated(function, timeout_ms, version)


def _identity_sources(authorizer: Any) -> list[str]:
    sources = authorizer.identity_source or []
    return [sources] if isinstance(sources, str) else list(sources)


def _first_identity(authorizer: Any, request: HttpRequest) -> str | None:
    sources = _identity_sources(authorizer) or ["$request.header.Authorization"]
    return identity_value(sources[0], request, {})


def _jwt_config(authorizer: Any) -> JwtConfig:
    config = authorizer.jwt_config or {}
    audiences = config.get("audience") or config.get("Audience") or []
    issuer = config.get("issuer") or config.get("Issuer") or ""
    return JwtConfig(issuer, tuple(audiences), (_identity_sources(authorizer) or [""])[0])


def _scopes(routed: Routed) -> list[str]:
    return list(routed.route.authorization_scopes or [])


def _v1_authorizer(authorized: dict[str, Any] | None) -> dict[str, Any] | None:
    """requestContext.authorizer of a format-1.0 event: JWT claims and scopes, a Lambda authorizer's context at
    the top level, or the IAM caller."""
    if authorized is None:
        return None
    if "jwt" in authorized:
        return {"claims": authorized["jwt"]["claims"], "scopes": authorized["jwt"]["scopes"]}
    if "lambda" in authorized:
        return {**authorized["lambda"], "principalId": authorized.get("principalId")}
    return dict(authorized)


def body_limit(method: str, path: str, host: str) -> BodyLimit | None:
    """An HTTP API request body over what Lambda takes cannot make an event: the HTTP server refuses it as API
    Gateway does before reading it."""
    if addressed_api({"RAW_URI": path, "HTTP_HOST": host}) is None:
        return None
    return BodyLimit.json(MAX_REQUEST_BYTES, 413, "Request Entity Too Large", {"message": "Request Entity Too Large"})


def wrap(app: WsgiApp, gateway: HttpApiGateway) -> WsgiApp:
    """A WSGI app that answers HTTP API requests itself and passes everything else to `app` (moto)."""
    return front(app, addressed_api, gateway.handle, INTERNAL_ERROR, "HTTP API")
