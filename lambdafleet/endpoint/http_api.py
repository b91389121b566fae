"""API Gateway HTTP APIs served from what was deployed: `/_api/<api-id>/<path>` and
`<api-id>.execute-api.localhost/<path>` select the API, its stage and route, invoke the integration's function
with a payload-2.0 event and map its result to the HTTP response."""

import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from moto.apigatewayv2.models import Api, apigatewayv2_backends
from moto.awslambda.models import lambda_backends
from moto.core.exceptions import JsonRESTError

from lambdafleet.endpoint import routes
from lambdafleet.endpoint.emulator import WsgiApp
from lambdafleet.endpoint.fleet import Fleet
from lambdafleet.endpoint.http_event import (
    BAD_REQUEST,
    INTERNAL_ERROR,
    NOT_FOUND,
    PAYLOAD_TOO_LARGE,
    HttpRequest,
    HttpResponse,
    RouteTarget,
    build_event,
    map_response,
)
from lambdafleet.endpoint.http_server import BodyLimit
from lambdafleet.endpoint.wsgi_body import BodyTooLarge, read_body, request_of, send
from lambdafleet.runtime.pool import MAX_REQUEST_BYTES, PayloadTooLargeError

LOG = logging.getLogger("lambdafleet.endpoint")
PATH_PREFIX = re.compile(r"^/_api/(?P<api>[a-z0-9]+)(?P<path>/.*)?$")
HOST = re.compile(r"^(?P<api>[a-z0-9]+)\.execute-api\.localhost(:\d+)?$", re.IGNORECASE)
FUNCTION_ARN = re.compile(r"arn:[\w-]+:lambda:[\w-]+:\d{12}:function:[\w-]+(:[\w$-]+)?")
DEFAULT_STAGE = "$default"


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
        headers=[(name.lower(), value) for name, value in request.headers.items() if value],
        body=read_body(environ),
        source_ip=request.remote_addr or "127.0.0.1",
    )


class HttpApiGateway:
    """Answers HTTP API requests by invoking the deployed integrations through `fleet`."""

    def __init__(self, fleet: Fleet) -> None:
        """Invocations run in `fleet`'s warm environments."""
        self._fleet = fleet

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
        routed = self._route(api_id, request, environ.get("HTTP_HOST", "localhost"))
        if isinstance(routed, HttpResponse):
            return routed
        target, function = routed
        request_id = str(uuid.uuid4())
        response = self._invoke(function, build_event(request, target, request_id))
        return HttpResponse(response.status, [*response.headers, ("apigw-requestid", request_id)], response.body)

    def _route(self, api_id: str, request: HttpRequest, host: str) -> tuple[RouteTarget, Any] | HttpResponse:
        """The selected route and its function, or the error response when there is none."""
        found = _find_api(api_id)
        staged = _stage_and_path(found[2], request.raw_path) if found else None
        if found is None or staged is None:
            return NOT_FOUND
        account, region, api = found
        stage, route_path = staged
        by_key = {route.route_key: route for route in api.routes.values()}
        match = routes.select(by_key, request.method, route_path)
        if match is None:
            return NOT_FOUND
        function = self._integration_function(api, by_key[match.route_key].target, account, region)
        if function is None:
            return INTERNAL_ERROR
        return RouteTarget(api_id, account, host, stage, match.route_key, match.path_parameters), function

    def _invoke(self, function: Any, event: dict[str, Any]) -> HttpResponse:
        try:
            result = self._fleet.invoke(function, json.dumps(event).encode())
        except JsonRESTError as error:
            LOG.warning("%s %s: %s", event["routeKey"], event["rawPath"], error.message)
            return INTERNAL_ERROR
        except PayloadTooLargeError as error:
            LOG.warning("%s %s: %s", event["routeKey"], event["rawPath"], error)
            return PAYLOAD_TOO_LARGE
        return map_response(result.payload, result.function_error)

    @staticmethod
    def _integration_function(api: Api, route_target: str | None, account: str, region: str) -> Any:
        integration = api.integrations.get((route_target or "").removeprefix("integrations/"))
        if integration is None or integration.integration_type != "AWS_PROXY":
            LOG.warning("API %s: route target %s is not a Lambda proxy integration", api.api_id, route_target)
            return None
        arn = FUNCTION_ARN.search(integration.integration_uri or "")
        if arn is None or (integration.payload_format_version or "2.0") != "2.0":
            LOG.warning("API %s: integration %s is not a payload-2.0 Lambda", api.api_id, integration.id)
            return None
        try:
            return lambda_backends[account][region].get_function(arn[0])
        except JsonRESTError as error:
            LOG.warning("API %s: %s", api.api_id, error.message)
            return None


def body_limit(method: str, path: str, host: str) -> BodyLimit | None:
    """An HTTP API request body over what Lambda takes cannot make an event: the HTTP server refuses it as API
    Gateway does before reading it."""
    if addressed_api({"RAW_URI": path, "HTTP_HOST": host}) is None:
        return None
    return BodyLimit.json(MAX_REQUEST_BYTES, 413, "Request Entity Too Large", {"message": "Request Entity Too Large"})


def wrap(app: WsgiApp, gateway: HttpApiGateway) -> WsgiApp:
    """A WSGI app that answers HTTP API requests itself and passes everything else to `app` (moto)."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        addressed = addressed_api(environ)
        if addressed is None:
            return app(environ, start_response)
        try:
            response = gateway.handle(*addressed, environ)
        except Exception:  # a fault here must cost one request, never the server
            LOG.exception("HTTP API request %s failed", environ.get("PATH_INFO"))
            response = INTERNAL_ERROR
        return send(start_response, response, environ)

    return application
