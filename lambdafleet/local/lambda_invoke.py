"""Lambda's Invoke data plane on moto: RequestResponse, Event and DryRun run the code moto stores.

moto answers Invoke by calling `LambdaFunction.invoke` (and would start a Docker container there); this
module replaces that method, so every path into a function (the Invoke API, InvokeAsync, moto's own
service integrations) runs it through the fleet.
"""

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from typing import Any

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.awslambda.utils import make_function_arn

from lambdafleet.local.fleet import Fleet

LOG_TAIL_BYTES = 4096  # what Lambda returns in X-Amz-Log-Result with LogType Tail

SubmitAsync = Callable[[LambdaFunction, bytes], str]


def log_tail(logs: str) -> str:
    """X-Amz-Log-Result: the last 4 KB of the invocation's logs, base64-encoded."""
    return base64.b64encode(logs.encode()[-LOG_TAIL_BYTES:]).decode()


def request_payload(body: str | bytes | None) -> bytes:
    """The event bytes of an Invoke request; Lambda refuses a body that is not JSON."""
    raw = body.encode() if isinstance(body, str) else (body or b"")
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
        return json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        raise LambdaClientError(
            "InvalidRequestContentException", "Client context must be a valid Base64-encoded JSON object."
        ) from None


def _invoke(
    fleet: Fleet, submit_async: SubmitAsync, function: LambdaFunction, body: Any, headers: Any, response_headers: Any
) -> bytes:
    headers = headers or {}
    payload = request_payload(body)
    invocation_type = headers.get("X-Amz-Invocation-Type") or "RequestResponse"
    if invocation_type == "DryRun":
        return b""  # moto answers 204: the caller may invoke
    if invocation_type == "Event":
        submit_async(function, payload)
        return b""  # moto answers 202
    if invocation_type != "RequestResponse":
        raise LambdaClientError("InvalidParameterValueException", f"Unsupported invocation type {invocation_type}")
    result = fleet.invoke(function, payload, _client_context(headers))
    response_headers["X-Amz-Executed-Version"] = str(function.version)
    response_headers["x-amz-log-result"] = log_tail(result.logs)  # moto drops it unless LogType is Tail
    if result.function_error:
        response_headers["X-Amz-Function-Error"] = "Unhandled"
    return result.payload


def install(fleet: Fleet, submit_async: SubmitAsync) -> None:
    """Route moto's Lambda invocations to `fleet`, and Event invocations to `submit_async`; a deleted
    function's warm environments stop with it."""
    delete_function = LambdaBackend.delete_function

    def invoke(self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        return _invoke(fleet, submit_async, self, body, request_headers, response_headers)

    def delete(self: LambdaBackend, function_name: str, qualifier: str | None = None) -> None:
        function = self.get_function(function_name, qualifier)
        delete_function(self, function_name, qualifier)
        # Unqualified, every version goes: so does every pool under the function's ARN.
        unqualified = make_function_arn(self.region_name, self.account_id, function.function_name)
        fleet.discard(function.function_arn if qualifier else unqualified)

    LambdaFunction.invoke = invoke
    LambdaBackend.delete_function = delete
