"""Event source mappings on the endpoint: one poller per mapping moto holds, started when the mapping appears
(CreateEventSourceMapping, e.g. from terraform apply) and stopped when it goes.

moto would run a mapping itself, synchronously inside SendMessage or PutItem, with none of Lambda's batching,
retries or partial failures; `install` detaches moto's mappings from queues and tables so that only the pollers run.
"""

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from moto.awslambda.models import EventSourceMapping, LambdaFunction, lambda_backends

from lambdafleet.endpoint.sqs_poller import Invoke, RoleCall, SqsPoller
from lambdafleet.endpoint.stream_poller import StreamPoller

LOG = logging.getLogger("lambdafleet.endpoint")
SCAN_INTERVAL_S = 0.2
MAX_WORKERS = 4  # pollers per SQS mapping: the fleet keeps 4 warm environments per function
DEFAULT_WORKERS = 2


class Poller(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


def _mappings() -> dict[str, EventSourceMapping]:
    found: dict[str, EventSourceMapping] = {}
    for account_id, regions in list(lambda_backends.items()):
        for region in list(regions.keys()):
            found.update(lambda_backends[account_id][region]._event_source_mappings)
    return found


def _unrecorded(function: LambdaFunction, action: str, resource: str) -> bool:
    return True


class EventSources:
    """Watches moto's event source mappings and runs a poller for each."""

    def __init__(
        self,
        invoke: Invoke,
        send_failure: Callable[[str, dict[str, Any]], None],
        *,
        retry_delay_s: float,
        role_call: RoleCall | None = None,
    ):
        """`invoke` runs a function synchronously; `send_failure(arn, record)` delivers an on-failure record;
        `role_call(function, action, resource)` records what the poller does with the function's role."""
        self._invoke = invoke
        self._role_call = role_call or _unrecorded
        self._send_failure = send_failure
        self._retry_delay_s = retry_delay_s
        self._pollers: dict[str, tuple[EventSourceMapping, Poller]] = {}
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="event-sources", daemon=True)

    def start(self) -> None:
        """Start watching."""
        self._thread.start()

    def _watch(self) -> None:
        while not self._stopped.wait(SCAN_INTERVAL_S):
            try:
                self._sync(_mappings())
            except Exception:
                LOG.exception("event source mappings")

    def _sync(self, mappings: dict[str, EventSourceMapping]) -> None:
        for uuid, (esm, poller) in list(self._pollers.items()):
            if mappings.get(uuid) is not esm:
                poller.stop()
                del self._pollers[uuid]
        for uuid, esm in mappings.items():
            if uuid not in self._pollers:
                poller = self._poller(esm)
                poller.start()
                self._pollers[uuid] = (esm, poller)

    def _poller(self, esm: EventSourceMapping) -> Poller:
        def function() -> LambdaFunction:
            return lambda_backends[esm.account_id][esm.region].get_function(esm.function_arn)

        if esm.event_source_arn.split(":")[2] == "sqs":
            concurrency = (esm.scaling_config or {}).get("MaximumConcurrency") or DEFAULT_WORKERS
            workers = min(int(concurrency), MAX_WORKERS)
            return SqsPoller(esm, function, self._invoke, workers, role_call=self._role_call)
        return StreamPoller(
            esm,
            function,
            self._invoke,
            self._send_failure,
            retry_delay_s=self._retry_delay_s,
            role_call=self._role_call,
        )

    def stop(self) -> None:
        """Stop watching and every poller."""
        self._stopped.set()
        for _, poller in self._pollers.values():
            poller.stop()
