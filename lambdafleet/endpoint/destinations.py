"""Where an asynchronous invocation's record goes: another function, an SQS queue or an SNS topic."""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.awslambda.utils import make_function_arn
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from lambdafleet.runtime import InvokeResult

# Conditions of events the function never ran for (reserved concurrency 0).
NEVER_RAN = frozenset({"ZeroReservedConcurrency"})


def invocation_record(
    function: LambdaFunction,
    request_id: str,
    condition: str,
    attempts: int,
    payload: bytes,
    result: InvokeResult | None,
) -> dict[str, Any]:
    """Lambda's destination record; `result` is None when the function could not run at all."""
    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": str(function.version)}
    if result is None or result.function_error:
        response_context["functionError"] = "Unhandled"
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": request_id,
            # The executed version's ARN (unqualified + ":$LATEST" or ":1"); a version object's own ARN
            # is qualified already.
            "functionArn": f"{make_function_arn(function.region, function.account_id, function.function_name)}"
            f":{function.version}",
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": _decoded(payload),
        "responseContext": response_context,
    }
    if result is not None:
        record["responsePayload"] = _decoded(result.payload)
    if condition in NEVER_RAN:
        del record["responseContext"]  # AWS's record has none: no attempt was made
    return record


def _decoded(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode("utf-8", errors="replace")


def send(
    target_arn: str, record: dict[str, Any], invoke_async: Callable[[LambdaFunction, bytes, str | None], str]
) -> None:
    """Deliver `record` to the destination ARN; raises ValueError for a service Lambda cannot target."""
    _, _, service, region, account, *rest = target_arn.split(":")
    body = json.dumps(record)
    if service == "lambda":
        invoke_async(lambda_backends[account][region].get_function(target_arn), body.encode(), target_arn)
    elif service == "sqs":
        sqs_backends[account][region].send_message(rest[0], body)
    elif service == "sns":
        sns_backends[account][region].publish(body, arn=target_arn)
    else:
        raise ValueError(f"destination {target_arn}: the embedded endpoint delivers to lambda, sqs and sns only")
