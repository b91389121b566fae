"""EventBridge → Lambda: PutEvents runs each matching rule's function targets asynchronously, as EventBridge does,
with the target's constant Input, its InputTransformer's output, or the event itself.

moto matches rules and delivers to its other targets (queues, log groups, buses) but has no Lambda target.
"""

import datetime
import json
import logging
from collections.abc import Callable
from typing import Any

from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.events.models import EventTemplateParser, Rule  # type: ignore[attr-defined]
from moto.utilities.arns import parse_arn

LOG = logging.getLogger("lambdafleet.endpoint")

InvokeAsync = Callable[[LambdaFunction, bytes], str]


def aws_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event as EventBridge delivers it: `time` in ISO 8601 (moto keeps epoch seconds), no moto-only keys."""
    delivered = {key: value for key, value in event.items() if key != "ingestion-time"}
    when = delivered.get("time")
    if isinstance(when, int | float):
        delivered["time"] = datetime.datetime.fromtimestamp(when, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return delivered


def payload_of(target: dict[str, Any], event: dict[str, Any]) -> bytes:
    """What a target receives: Input (constant JSON), InputPath, InputTransformer's result, or the event."""
    if target.get("Input"):
        return str(target["Input"]).encode()
    if target.get("InputTransformer"):
        transformer = target["InputTransformer"]
        result = EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=event,  # type: ignore[arg-type]
        )
        text: object = result
        return (text if isinstance(text, str) else json.dumps(text)).encode()
    return json.dumps(event).encode()


def deliver(invoke_async: InvokeAsync, target: dict[str, Any], event: dict[str, Any]) -> None:
    """Invoke the function `target` names with `event`; a missing function is logged, as EventBridge counts it."""
    arn = parse_arn(target["Arn"])
    try:
        function = lambda_backends[arn.account][arn.region].get_function(target["Arn"])
    except Exception as error:
        LOG.warning("EventBridge target %s failed: %s", target["Arn"], error)
        return
    invoke_async(function, payload_of(target, event))


def is_lambda(target: dict[str, Any]) -> bool:
    """Whether `target` is a Lambda function."""
    return str(target.get("Arn", "")).split(":")[2:3] == ["lambda"]


SendToTargets = Callable[[Rule, Any, bool], None]


def send_to_targets(
    send: SendToTargets, invoke_async: InvokeAsync, rule: Rule, original_event: Any, transform_input: bool = True
) -> None:
    """A matching rule's delivery: its function targets through `invoke_async`, its other targets through moto's
    `send`. Installed into moto by lambdafleet.endpoint.moto_patches."""
    # A disabled rule, or a schedule (a rule without a pattern), matches no event.
    if rule.state != "ENABLED" or not rule.event_pattern.get_pattern():
        return
    if not rule.event_pattern.matches_event(original_event):
        return
    functions = [t for t in rule.targets if is_lambda(t)]
    others = [t for t in rule.targets if not is_lambda(t)]
    for target in functions:
        deliver(invoke_async, target, aws_event(original_event))
    if others:
        rule.targets, everything = others, rule.targets
        try:
            send(rule, original_event, transform_input)
        finally:
            rule.targets = everything
