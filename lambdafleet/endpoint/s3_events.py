"""S3 → Lambda notifications: an object event on a bucket whose notification configuration targets a function
invokes it asynchronously (moto would invoke it synchronously, inside the PutObject request)."""

import itertools
import json
import logging
from collections.abc import Callable
from typing import Any

from moto.awslambda.models import LambdaFunction, lambda_backends

LOG = logging.getLogger("lambdafleet.endpoint")
_sequencer = itertools.count(1)  # S3 orders events on one key by this value


def _complete(event: dict[str, Any], account_id: str) -> dict[str, Any]:
    """Add the fields of S3's event record that moto leaves out."""
    for record in event.get("Records", []):
        record.setdefault("userIdentity", {"principalId": f"AWS:{account_id}"})
        record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
        record.setdefault("responseElements", {"x-amz-request-id": "LOCAL", "x-amz-id-2": "LOCAL"})
        record["s3"]["bucket"].setdefault("ownerIdentity", {"principalId": account_id})
        record["s3"]["object"].setdefault("sequencer", f"{next(_sequencer):016X}")
    return event


def deliver(
    account_id: str,
    event_body: Any,
    fn_arn: str,
    region_name: str,
    invoke_async: Callable[[LambdaFunction, bytes], str],
) -> None:
    """Hand an S3 notification to `invoke_async` (moto_patches routes moto's notifications to Lambda here)."""
    try:
        function = lambda_backends[account_id][region_name].get_function(fn_arn)
    except Exception as error:  # S3 still stores the object when its notification target is gone
        LOG.warning("S3 notification to %s not delivered: %s", fn_arn, error)
        return
    invoke_async(function, json.dumps(_complete(event_body, account_id)).encode())
