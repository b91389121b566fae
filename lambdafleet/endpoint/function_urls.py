"""Lambda function URLs served from what was deployed: `<url-id>.lambda-url.<region>.localhost:<port>` invokes
the function whose URL config has that id, with the function-URL event (payload 2.0 shaped, routeKey and stage
`$default`, domainName `<url-id>.lambda-url.<region>.on.aws`), honouring its AuthType (NONE or AWS_IAM, SigV4
for service `lambda`) and its own CORS configuration.
"""

import json
import logging
import re
import uuid
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.core.exceptions import JsonRESTError

from lambdafleet.endpoint import cors, iam_enforcement, sigv4
from lambdafleet.endpoint.cors import CorsRules, is_preflight
from lambdafleet.endpoint.fleet import Fleet
from lambdafleet.endpoint.http_event import (
    BAD_REQUEST,
    PAYLOAD_TOO_LARGE,
    HttpRequest,
    HttpResponse,
    RouteTarget,
    build_event,
    joined,
    map_response,
)
from lambdafleet.endpoint.http_server import BodyLimit, WsgiApp
from lambdafleet.endpoint.wsgi_body import BodyTooLarge, front, read_body, sent_headers
from lambdafleet.runtime.pool import MAX_REQUEST_BYTES, PayloadTooLargeError

LOG = logging.getLogger("lambdafleet.endpoint")
HOST = re.compile(r"^(?P<id>[a-z0-9]+)\.lambda-url\.(?P<region>[a-z0-9-]+)\.localhost(:\d+)?$", re.IGNORECASE)
JSON = [("content-type", "application/json"), ("x-amzn-errortype", "AccessDeniedException")]
# AWS does not say whether a URL exists: an unknown one is refused like an unsigned one.
NOT_FOUND = HttpResponse(403, JSON, b'{"Message":null}')
FORBIDDEN = HttpResponse(403, JSON, b'{"Message":"Forbidden"}')
# An unhandled error or a result the URL cannot map: the client sees a bad gateway, not the function's error.
BAD_GATEWAY = HttpResponse(502, [("content-type", "text/plain")], b"Internal Server Error")


def addressed_url(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(url id, region) when the request is for a function URL, else None."""
    match = HOST.match(environ.get("HTTP_HOST", ""))
    return (match["id"].lower(), match["region"].lower()) if match else None


def _find_function(url_id: str, region: str) -> Any:
    for regions in list(lambda_backends.values()):
        backend = regions.get(region) if hasattr(regions, "get") else None
        if backend is None:
            continue
        for function in list(backend._lambdas.all()):
            config = getattr(function, "url_config", None)
            if config is not None and config.url.startswith(f"https://{url_id}.lambda-url."):
                return function
    return None


class FunctionUrls:
    """Answers function-URL requests by invoking the function through `fleet`."""

    def __init__(self, fleet: Fleet) -> None:
        """Invocations run in `fleet`'s warm environments."""
        self._fleet = fleet

    def handle(self, url_id: str, region: str, environ: dict[str, Any]) -> HttpResponse:
        """The response Lambda would give; never raises for a bad request or a failing function."""
        function = _find_function(url_id, region)
        if function is None:
            return NOT_FOUND
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        path, _, query = raw.partition("?")
        try:
            body = read_body(environ)
        except BodyTooLarge:
            return PAYLOAD_TOO_LARGE
        except ValueError:
            return BAD_REQUEST
        header_pairs = [(name.lower(), value) for name, value in sent_headers(environ)]
        headers = joined(header_pairs)
        config = function.url_config.config
        rules = CorsRules.from_config(config.get("Cors"))
        if rules is not None and is_preflight(environ["REQUEST_METHOD"], headers):
            return cors.preflight(rules, headers)
        response = self._invoke(function, url_id, region, environ, path, query, header_pairs, headers, body)
        return cors.decorate(rules, headers.get("origin"), response) if rules is not None else response

    def _invoke(
        self,
        function: Any,
        url_id: str,
        region: str,
        environ: dict[str, Any],
        path: str,
        query: str,
        header_pairs: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes,
    ) -> HttpResponse:
        method = environ["REQUEST_METHOD"]
        authorizer = None
        if (function.url_config.config.get("AuthType") or "NONE") == "AWS_IAM":
            url = f"http://{environ.get('HTTP_HOST', '')}{path}" + (f"?{query}" if query else "")
            try:
                caller = sigv4.verify(method, url, headers, body)
            except sigv4.SignatureRejected as error:
                LOG.info("function URL %s: 403: %s", url_id, error.message)
                return FORBIDDEN
            if not iam_enforcement.function_url_call_allowed(self._fleet.sessions, caller.access_key, function):
                LOG.info("function URL %s: 403: the caller's role does not allow lambda:InvokeFunctionUrl", url_id)
                return FORBIDDEN
            authorizer = {"iam": caller.as_authorizer()}
        request = HttpRequest(method, path, query, header_pairs, body, environ.get("REMOTE_ADDR", "127.0.0.1"))
        domain = f"{url_id}.lambda-url.{region}.on.aws"
        account = authorizer["iam"]["accountId"] if authorizer else "anonymous"
        target = RouteTarget(url_id, account, domain, "$default", "$default")
        request_id = str(uuid.uuid4())
        event = build_event(request, target, request_id, authorizer)
        try:
            result = self._fleet.invoke(function, json.dumps(event).encode())
        except JsonRESTError as error:
            LOG.warning("function URL %s: %s", url_id, error.message)
            return BAD_GATEWAY
        except PayloadTooLargeError:
            return PAYLOAD_TOO_LARGE
        response = map_response(result.payload, result.function_error)
        if response.status == 500 and (
            result.function_error or response.body == b'{"message":"Internal Server Error"}'
        ):
            return BAD_GATEWAY
        return HttpResponse(response.status, [*response.headers, ("x-amzn-requestid", request_id)], response.body)


def body_limit(method: str, path: str, host: str) -> BodyLimit | None:
    """A function URL request body over what Lambda takes cannot make an event: refused before it is read."""
    if addressed_url({"HTTP_HOST": host}) is None:
        return None
    return BodyLimit.json(MAX_REQUEST_BYTES, 413, "Request Entity Too Large", {"Message": "Request Entity Too Large"})


def wrap(app: WsgiApp, urls: FunctionUrls) -> WsgiApp:
    """A WSGI app that answers function-URL requests itself and passes everything else to `app`."""
    return front(app, addressed_url, urls.handle, BAD_GATEWAY, "function URL")
