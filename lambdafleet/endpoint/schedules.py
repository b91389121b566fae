"""EventBridge schedules on the endpoint: every enabled rule with a ScheduleExpression fires its Lambda targets on
time (UTC) while the endpoint runs, with the target's Input or the "Scheduled Event" EventBridge sends.

A rule first seen (e.g. created by terraform apply) fires at its next due time, not at once; `python build.py
trigger` fires one now through the Lambda API instead.
"""

import datetime
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.events.models import Rule, events_backends

from lambdafleet.build import schedule_expression
from lambdafleet.endpoint import eventbridge

LOG = logging.getLogger("lambdafleet.endpoint")
TICK_S = 0.5


def scheduled_event(rule_arn: str, account: str, region: str, when: datetime.datetime) -> dict[str, Any]:
    """The event EventBridge sends a target of a schedule rule that has no Input."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


def _schedule_rules() -> list[Rule]:
    rules = []
    for account in list(events_backends.keys()):
        for region in list(events_backends[account].keys()):
            for bus in list(events_backends[account][region].event_buses.values()):
                rules += [r for r in list(bus.rules.values()) if r.scheduled_expression and r.state == "ENABLED"]
    return rules


class Scheduler:
    """Fires schedule rules on a background thread."""

    def __init__(
        self,
        invoke_async: Callable[[LambdaFunction, bytes], str],
        clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
    ) -> None:
        self._invoke_async = invoke_async
        self._clock = clock
        self._due: dict[str, tuple[str, datetime.datetime | None]] = {}  # rule ARN -> (expression, next fire)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="schedules", daemon=True)

    def start(self) -> None:
        """Start firing."""
        self._thread.start()

    def stop(self) -> None:
        """Stop firing."""
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(TICK_S):
            try:
                self.tick()
            except Exception:
                LOG.exception("schedules")

    def tick(self) -> None:
        """Fire every rule that is due now; note new rules and forget deleted ones."""
        now = self._clock()
        seen = set()
        for rule in _schedule_rules():
            seen.add(rule.arn)
            wanted = str(rule.scheduled_expression)
            expression, due = self._due.get(rule.arn, ("", None))
            if expression != wanted:
                try:
                    parsed = schedule_expression.parse(wanted)
                except schedule_expression.ScheduleError as error:
                    LOG.warning("schedule %s never fires: %s", rule.arn, error)
                    self._due[rule.arn] = (wanted, None)
                    continue
                self._due[rule.arn] = (wanted, parsed.next_after(now))
                continue
            if due is not None and due <= now:
                self.fire(rule, due)
                self._due[rule.arn] = (expression, schedule_expression.parse(expression).next_after(due))
        for gone in set(self._due) - seen:
            del self._due[gone]

    def fire(self, rule: Rule, when: datetime.datetime) -> None:
        """Send the rule's Lambda targets their input."""
        event = scheduled_event(rule.arn, rule.account_id, rule.region_name, when)
        for target in rule.targets:
            if eventbridge.is_lambda(target):
                eventbridge.deliver(self._invoke_async, target, event)
