"""Lambda's Invoke data plane on moto: RequestResponse, Event and DryRun run the code moto stores.

moto answers Invoke by calling `LambdaFunction.invoke` (and would start a Docker container there);
lambdafleet.endpoint.moto_patches routes that method to :func:`invoke`, so every path into a function (the
Invoke API, InvokeAsync, moto's own service integrations) runs it through the fleet.
"""

import base64
import binascii
import io
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.awslambda.responses import LambdaResponse
from moto.iam.models import get_account_id_from
from moto.utilities.aws_headers import gen_amz_crc32
from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import HTTPException

from lambdafleet.endpoint import moto_patches, recursion
from lambdafleet.endpoint.fleet import Fleet, invoked_function_arn
from lambdafleet.endpoint.http_event import HttpResponse
from lambdafleet.endpoint.http_server import BodyLimit, WsgiApp
from lambdafleet.endpoint.wsgi_body import BodyTooLarge, read_body, request_of, send
from lambdafleet.runtime.pool import MAX_REQUEST_BYTES

LOG = logging.getLogger("lambdafleet.endpoint")
LOG_TAIL_BYTES = 4096  # what Lambda returns in X-Amz-Log-Result with LogType Tail
# "For asynchronous invocations, the maximum payload size is 1 MB."
# (https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html; 256 KB before 2025)
MAX_EVENT_REQUEST_BYTES = 1024 * 1024
INVOCATION_PATH = re.compile(r"^/(2015-03-31/functions/[^/]+/invocations|2014-11-13/functions/[^/]+/invoke-async)/?$")


class RequestTooLarge(LambdaClientError):
    """The request is bigger than Lambda accepts for its invocation type."""

    code = 413

    def __init__(self, message: str) -> None:
        super().__init__("RequestTooLargeException", message)


# moto's answer to a response over its size check.
_TOO_LARGE = {
    "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
    "errorType": "Function.ResponseSizeTooLarge",
}

SubmitAsync = Callable[[LambdaFunction, bytes, str | None], str]


def log_tail(logs: str) -> str:
    """X-Amz-Log-Result: the last 4 KB of the invocation's logs, base64-encoded."""
    return base64.b64encode(logs.encode()[-LOG_TAIL_BYTES:]).decode()


def request_payload(body: str | bytes | None, limit: int = MAX_REQUEST_BYTES) -> bytes:
    """The event bytes of an Invoke request; Lambda refuses a body over `limit` bytes or one that is not JSON."""
    raw = body.encode() if isinstance(body, str) else (body or b"")
    if len(raw) > limit:
        raise RequestTooLarge(f"Request must be smaller than {limit} bytes for the InvokeFunction operation")
    if not raw.strip():
        return b"{}"
    try:
        json.loads(raw)
    except ValueError as error:
        raise LambdaClientError(
            "InvalidRequestContentException", f"Could not parse request body into json: {error}"
        ) from None
    return raw


def _client_context(headers: Mapping[str, str]) -> dict[str, Any] | None:
    encoded = headers.get("X-Amz-Client-Context")
    if not encoded:
        return None
    try:
        context = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        context = None
    if not isinstance(context, dict):
        raise LambdaClientError(
            "InvalidRequestContentException", "Client context must be a valid Base64-encoded JSON object."
        )
    return context


def invoke(
    fleet: Fleet, submit_async: SubmitAsync, function: LambdaFunction, body: Any, headers: Any, response_headers: Any
) -> bytes:
    """moto's `LambdaFunction.invoke` on the endpoint: run `function` in `fleet` (Event invocations through
    `submit_async`) and return the response body."""
    headers = headers or {}
    invocation_type = headers.get("X-Amz-Invocation-Type") or "RequestResponse"
    payload = request_payload(body, MAX_EVENT_REQUEST_BYTES if invocation_type == "Event" else MAX_REQUEST_BYTES)
    if invocation_type == "DryRun":
        return b""  # moto answers 204: the caller may invoke
    invoked_arn = invoked_function_arn(function, moto_patches.INVOKED_QUALIFIER.get())
    if invocation_type == "Event":
        # The 202's request id is the one the function's context and the destination record will carry.
        response_headers[moto_patches.REQUEST_ID_HEADER] = submit_async(function, payload, invoked_arn)
        return b""  # moto answers 202
    if invocation_type != "RequestResponse":
        raise LambdaClientError("InvalidParameterValueException", f"Unsupported invocation type {invocation_type}")
    try:
        trace = recursion.trace_for(function)
    except recursion.RecursiveInvocation:
        LOG.warning(
            "%s: recursive loop detected: the chain invoked it more than %d times; answered "
            "RecursiveInvocationException",
            function.function_name,
            recursion.MAX_INVOCATIONS,
        )
        raise
    result = fleet.invoke(function, payload, _client_context(headers), invoked_arn=invoked_arn, trace_id=trace)
    response_headers[moto_patches.REQUEST_ID_HEADER] = result.request_id
    response_headers["X-Amz-Executed-Version"] = str(function.version)
    response_headers["x-amz-log-result"] = log_tail(result.logs)  # moto drops it unless LogType is Tail
    if result.function_error:
        response_headers["X-Amz-Function-Error"] = "Unhandled"
    return result.payload


def body_limit(method: str, path: str, host: str) -> BodyLimit | None:
    """Invoke's body limit, answered as Lambda answers it, for the HTTP server to refuse a bigger body before
    reading it (the Event limit needs the invocation type: `request_payload` checks it once the body is read)."""
    if method != "POST" or not INVOCATION_PATH.match(path):
        return None
    message = f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the InvokeFunction operation"
    document = {"Type": "User", "message": message}
    return BodyLimit.json(
        MAX_REQUEST_BYTES, 413, "Request Entity Too Large", document, x_amzn_ErrorType="RequestTooLargeException"
    )


def wrap(app: WsgiApp) -> WsgiApp:
    """A WSGI layer that refuses an Invoke body that is not UTF-8 (moto cannot decode it) with Lambda's error,
    answers an ordinary synchronous Invoke itself (`_direct`), and passes every other one to `app` (moto) as JSON,
    whatever its Content-Type."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST" and INVOCATION_PATH.match(environ.get("PATH_INFO", "")):
            refusal = _unsigned(environ) or _accept_invocation(environ)
            if refusal is not None:
                return send(start_response, refusal, environ)
            answer = _direct(environ)
            if answer is not None:
                return send(start_response, answer, environ)
        return app(environ, start_response)

    return application


def _direct(environ: dict[str, Any]) -> HttpResponse | None:
    """The answer to a synchronous Invoke signed with SigV4, by the calls moto's Invoke handler makes and with the
    headers it answers with, without moto's request dispatch (Flask, routing, parameter parsing: ~40 % of a warm
    Invoke's endpoint CPU). None for anything less ordinary (another invocation type, a browser's Origin, an
    unknown function...), which moto answers."""
    headers = EnvironHeaders(environ)
    authorization = headers.get("Authorization", "")
    raw_path, _, query = (environ.get("RAW_URI") or "").partition("?")
    if (
        (headers.get("X-Amz-Invocation-Type") or "RequestResponse") != "RequestResponse"
        or "AWS4" not in authorization
        or "Origin" in headers
        or "x-moto-account-id" in headers
        or not raw_path.startswith("/2015-03-31/functions/")
        or not raw_path.endswith("/invocations")
    ):
        return None
    region = _region(headers, authorization)
    key = LambdaResponse.access_key_regex.search(authorization)
    account = os.environ.get("MOTO_ACCOUNT_ID") or get_account_id_from(key.group(1) if key else "AKIAEXAMPLE")
    function_name = unquote(raw_path.rsplit("/", 2)[-2])
    qualifier = (parse_qs(query).get("Qualifier") or [None])[0]
    backend = lambda_backends[account][region]
    try:
        backend.get_function(function_name, qualifier)
    except Exception:
        return None  # moto answers with its error
    response_headers = {"server": "amazon.com"}  # moto's answers all start with this one
    token = moto_patches.INVOKED_QUALIFIER.set(moto_patches.qualifier_of(function_name, qualifier))
    try:
        payload = backend.invoke(function_name, qualifier, environ["wsgi.input"].getvalue(), headers, response_headers)
    except HTTPException as error:  # as moto's dispatch answers one (LambdaClientError and the like)
        failed = {"server": "amazon.com", **dict(error.get_headers() or []), "status": str(error.code)}
        failed, body = LambdaResponse._enrich_response(failed, error.description)
        return _moto_shaped(int(error.code or 500), failed, body.encode())
    finally:
        moto_patches.INVOKED_QUALIFIER.reset(token)
    payload = payload.encode() if isinstance(payload, str) else payload or b""
    if sys.getsizeof(payload) > 6000000:  # moto's check (the runtime refuses such a response first)
        response_headers |= {"Content-Length": "142", "x-amz-function-error": "Unhandled"}
        payload = json.dumps(_TOO_LARGE).encode()
    response_headers["content-type"] = "application/json"
    if headers.get("X-Amz-Log-Type") != "Tail":
        response_headers.pop("x-amz-log-result", None)
    gen_amz_crc32(payload, response_headers)
    # What moto's _enrich_response ends with here (the data plane always names the request id), without its
    # search of the payload for an XML <RequestId>.
    response_headers["x-amzn-requestid"] = response_headers.pop(moto_patches.REQUEST_ID_HEADER)
    return _moto_shaped(200, response_headers, payload)


def _region(headers: EnvironHeaders, authorization: str) -> str:
    """The region moto takes: from an amazonaws.com host, else the SDK's user agent, else the credential scope."""
    host_match = LambdaResponse.region_regex.search(headers.get("Host", ""))
    agent_match = LambdaResponse.region_from_useragent_regex.search(headers.get("User-Agent", ""))
    if host_match:
        return host_match.group(1)
    if agent_match:
        return agent_match.group(1)
    return authorization.split(",")[0].split("/")[2]


def _moto_shaped(status: int, headers: dict[str, str], body: bytes) -> HttpResponse:
    """The response as moto's Flask app sends it (its CORS extension adds `Access-Control-Allow-Origin: *`)."""
    return HttpResponse(status, [*headers.items(), ("Access-Control-Allow-Origin", "*")], body)


def _unsigned(environ: dict[str, Any]) -> HttpResponse | None:
    """Lambda's 403 for a request without a SigV4 signature; moto would take it for S3, whose default it is."""
    request = request_of(environ)
    if request.headers.get("Authorization") or "X-Amz-Credential" in request.args:
        return None
    headers = [("content-type", "application/json"), ("x-amzn-ErrorType", "MissingAuthenticationTokenException")]
    return HttpResponse(403, headers, json.dumps({"message": "Missing Authentication Token"}).encode())


def _accept_invocation(environ: dict[str, Any]) -> HttpResponse | None:
    """Buffer an invocation's body (in `wsgi.input`, a BytesIO) for moto, or the 400 answer when it cannot be an
    event."""
    try:
        body = read_body(environ)
        body.decode()
    except BodyTooLarge:
        limit = body_limit("POST", environ.get("PATH_INFO", ""), "")
        assert limit is not None  # an invocation path
        return HttpResponse(limit.status, limit.headers, limit.body)
    except ValueError as error:  # UnicodeDecodeError included
        document = {"__type": "InvalidRequestContentException", "message": f"Could not read request body: {error}"}
        return HttpResponse(400, [("content-type", "application/json")], json.dumps(document).encode())
    environ.pop("wsgi.input_terminated", None)
    # Lambda takes the body as the event whatever its type; moto would parse a form body as parameters.
    environ |= {"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json"}
    return None
