"""SQS event source mappings: poll a queue, invoke the function with a batch, delete what succeeded.

As Lambda does: a batch holds up to BatchSize messages, or what arrived within MaximumBatchingWindowInSeconds; a
received message stays invisible for the queue's visibility timeout, so a failed batch comes back; with
ReportBatchItemFailures only the messages the function did not list are deleted; the queue's redrive policy moves a
message to its dead-letter queue once it was received maxReceiveCount times (moto's ReceiveMessage does that); a
FIFO queue hands out no message of a group while an earlier one of that group is in flight; messages that match
none of the filter patterns are deleted without an invocation.
"""

import base64
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from moto.awslambda.models import EventSourceMapping, LambdaFunction
from moto.sqs.models import Message, Queue, sqs_backends

from lambdafleet.endpoint.event_filters import Filters
from lambdafleet.runtime import InvokeResult

LOG = logging.getLogger("lambdafleet.endpoint")
# (function, action, resource) -> allowed: records what Lambda's poller does with the function's role.
RoleCall = Callable[[LambdaFunction, str, str], bool]
FIRST_WAIT_S = 1  # long poll: a SendMessage wakes the receive at once
FIFO_IDLE_S = 0.02  # FIFO groups in flight: moto's receive would spin, so wait between short receives
_queue_locks: dict[str, threading.Lock] = {}
_locks_mutex = threading.Lock()

Invoke = Callable[[LambdaFunction, bytes], InvokeResult]


def queue_lock(queue_arn: str) -> threading.Lock:
    """One lock per queue: moto's ReceiveMessage is not atomic, so two pollers could both take one message."""
    with _locks_mutex:
        return _queue_locks.setdefault(queue_arn, threading.Lock())


def find_queue(esm: EventSourceMapping) -> Queue | None:
    """The queue `esm` reads, or None once it was deleted."""
    backend = sqs_backends[esm.account_id][esm.region]
    return next((q for q in list(backend.queues.values()) if q.queue_arn == esm.event_source_arn), None)


def record_of(message: Message, queue: Queue) -> dict[str, Any]:
    """The message as Lambda passes it (the developer guide's SQS event record)."""
    attributes = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": message.sender_id,
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    if queue.fifo_queue:
        attributes.update(
            SequenceNumber=str(message.sequence_number),
            MessageGroupId=str(message.group_id),
            MessageDeduplicationId=str(message.deduplication_id),
        )
    record: dict[str, Any] = {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": {name: _attribute(value) for name, value in message.message_attributes.items()},
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.queue_arn,
        "awsRegion": queue.region,
    }
    if message.message_attributes:
        record["md5OfMessageAttributes"] = message.attribute_md5
    return record


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    data_type = value.get("DataType") or value.get("data_type")
    attribute: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": data_type}
    if "StringValue" in value or "string_value" in value:
        attribute["stringValue"] = value.get("StringValue", value.get("string_value"))
    binary = value.get("BinaryValue", value.get("binary_value"))
    if binary is not None:
        attribute["binaryValue"] = binary if isinstance(binary, str) else base64.b64encode(binary).decode()
    return attribute


def failed_ids(result: InvokeResult | None, batch_ids: set[str], report_failures: bool) -> set[str] | None:
    """The message ids to keep: None when the whole batch failed, else those the response lists as failed.

    Lambda treats a response naming an id outside the batch, or an item without an id, as a failed batch.
    """
    if result is None or result.function_error:
        return None
    if not report_failures:
        return set()
    try:
        response = json.loads(result.payload or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return set()
    if not isinstance(response, dict) or response.get("batchItemFailures") is None:
        return set()
    items = response["batchItemFailures"]
    if not isinstance(items, list):
        return None
    ids = {item.get("itemIdentifier") if isinstance(item, dict) else None for item in items}
    if not all(isinstance(i, str) and i in batch_ids for i in ids):
        return None
    return {str(i) for i in ids}


class SqsPoller:
    """Runs one mapping on `workers` threads (its maximum concurrency, at most the fleet's pool size)."""

    def __init__(
        self,
        esm: EventSourceMapping,
        function: Callable[[], LambdaFunction],
        invoke: Invoke,
        workers: int,
        *,
        role_call: RoleCall | None = None,
    ):
        self.esm = esm
        self._function = function
        self._invoke = invoke
        self._role_call = role_call
        self._stopped = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, name=f"sqs-poller-{esm.uuid[:8]}-{i}", daemon=True)
            for i in range(workers)
        ]

    def start(self) -> None:
        """Start polling."""
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop after the batch in hand (its undeleted messages reappear after the visibility timeout)."""
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self._poll_once()
            except Exception:  # a deleted queue or function: log, wait, try again (or be stopped)
                LOG.exception("SQS poller of %s", self.esm.event_source_arn)
                self._stopped.wait(1.0)

    def _poll_once(self) -> None:
        queue = find_queue(self.esm)
        if queue is None or not self.esm.enabled:
            self._stopped.wait(0.5)
            return
        messages = self._receive(queue)
        if not messages:
            return
        self._handle(queue, messages)

    def _receive(self, queue: Queue) -> list[Message]:
        backend = sqs_backends[queue.account_id][queue.region]
        size = int(self.esm.batch_size)
        window = float(self.esm.max_batch_window or 0)
        timeout = int(queue.visibility_timeout)  # type: ignore[attr-defined]
        lock = queue_lock(queue.queue_arn)
        wait = 0 if queue.fifo_queue else FIRST_WAIT_S
        with lock:
            batch = backend.receive_message(queue.name, size, wait, timeout, ["All"])
        if not batch:
            if queue.fifo_queue:
                self._stopped.wait(FIFO_IDLE_S)
            return []
        deadline = time.monotonic() + window
        while len(batch) < size and time.monotonic() < deadline and not self._stopped.is_set():
            self._stopped.wait(min(0.05, max(0.0, deadline - time.monotonic())))
            with lock:
                batch += backend.receive_message(queue.name, size - len(batch), 0, timeout, ["All"])
        return batch

    def _handle(self, queue: Queue, messages: list[Message]) -> None:
        filters = Filters(self.esm.filter_criteria)
        records: list[dict[str, Any]] = []
        dropped: list[dict[str, Any]] = []
        for message in messages:
            record = record_of(message, queue)
            (records if filters.matches(record, "body") else dropped).append(record)
        function = self._function()
        self._record_role_use(function, queue, messages)
        self._delete(queue, dropped)  # Lambda deletes the messages no filter admits
        if not records:
            return
        try:
            result: InvokeResult | None = self._invoke(function, json.dumps({"Records": records}).encode())
        except Exception as error:
            LOG.warning("%s: SQS batch from %s failed: %s", function.function_name, queue.name, error)
            result = None
        report = "ReportBatchItemFailures" in (self.esm.function_response_types or [])
        keep = failed_ids(result, {r["messageId"] for r in records}, report)
        if keep is None:
            return  # the whole batch reappears after the visibility timeout
        self._delete(queue, [r for r in records if r["messageId"] not in keep])

    def _record_role_use(self, function: LambdaFunction, queue: Queue, messages: list[Message]) -> None:
        """Lambda's poller reads the queue's attributes, receives and deletes with the function's role: recorded
        for `build.py access` (not refused: AWS checks the role when the mapping is created)."""
        if self._role_call is None or not messages:
            return
        for action in ("sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:DeleteMessage"):
            self._role_call(function, action, queue.queue_arn)

    def _delete(self, queue: Queue, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        backend = sqs_backends[queue.account_id][queue.region]
        with queue_lock(queue.queue_arn):
            for record in records:
                backend.delete_message(queue.name, record["receiptHandle"])
