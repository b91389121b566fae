"""SNS → Lambda: a message published to a topic invokes each subscribed function asynchronously, as SNS does (so the
function's retries and destinations apply), with the event record the Lambda developer guide shows.

moto would invoke synchronously inside Publish, with a fixed example event; the subscription's filter policy is
still moto's to apply (it runs before delivery).
"""

import datetime
import json
import logging
from collections.abc import Callable
from typing import Any

from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.sns.models import Subscription

LOG = logging.getLogger("lambdafleet.endpoint")


def event_of(
    subscription: Subscription, message: str, message_id: str, subject: str | None, attributes: Any
) -> dict[str, Any]:
    """The SNS event Lambda receives for one message."""
    now = datetime.datetime.now(datetime.UTC)
    base = f"http://127.0.0.1/sns/{subscription.topic.arn.split(':')[3]}"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription.arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": subscription.topic.arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
                    "SignatureVersion": "1",
                    "Signature": "LOCAL",
                    "SigningCertUrl": f"{base}/SimpleNotificationService-local.pem",
                    "UnsubscribeUrl": f"{base}/?Action=Unsubscribe&SubscriptionArn={subscription.arn}",
                    "MessageAttributes": {
                        name: {"Type": value.get("Type") or value.get("DataType"), "Value": _value(value)}
                        for name, value in (attributes or {}).items()
                    },
                },
            }
        ]
    }


def _value(attribute: dict[str, Any]) -> Any:
    return attribute.get("Value", attribute.get("StringValue", attribute.get("BinaryValue")))


Publish = Callable[..., None]


def deliver(
    publish: Publish,
    invoke_async: Callable[[LambdaFunction, bytes], str],
    subscription: Subscription,
    message: str,
    message_id: str,
    subject: str | None = None,
    message_attributes: dict[str, Any] | None = None,
    *args: Any,
    **kwargs: Any,
) -> None:
    """A subscription's delivery: to a function, through `invoke_async` with SNS's event; else moto's `publish`.

    Installed into moto by lambdafleet.endpoint.moto_patches.
    """
    if subscription.protocol != "lambda":
        return publish(subscription, message, message_id, subject, message_attributes, *args, **kwargs)
    matcher = subscription._filter_policy_matcher
    if matcher is not None and not matcher.matches(message_attributes, message):
        return None
    region = subscription.endpoint.split(":")[3]
    try:
        function = lambda_backends[subscription.account_id][region].get_function(subscription.endpoint)
    except Exception as error:  # SNS drops a delivery to a function that is gone
        LOG.warning("SNS delivery to %s failed: %s", subscription.endpoint, error)
        return None
    event = event_of(subscription, message, message_id, subject, message_attributes)
    invoke_async(function, json.dumps(event).encode())
    return None
