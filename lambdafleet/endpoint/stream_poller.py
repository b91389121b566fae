"""DynamoDB Streams and Kinesis event source mappings: read each shard in order and invoke the function with batches.

As Lambda does: a shard advances only past a batch that succeeded, was discarded after MaximumRetryAttempts or
MaximumRecordAgeInSeconds, or was filtered out; a failed batch is retried (bisected first when
BisectBatchOnFunctionError is on: splitting uses none of the retry quota); with ReportBatchItemFailures the
checkpoint moves to the lowest failed sequence number; a discarded batch is described to the on-failure destination
(`DDBStreamBatchInfo` / `KinesisBatchInfo`) and the shard moves on.
"""

import copy
import datetime
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda.models import EventSourceMapping, LambdaFunction
from moto.dynamodb.models import dynamodb_backends
from moto.kinesis.models import kinesis_backends

from lambdafleet.endpoint.event_filters import Filters
from lambdafleet.endpoint.sqs_poller import RoleCall
from lambdafleet.runtime import InvokeResult

LOG = logging.getLogger("lambdafleet.endpoint")
IDLE_S = 0.05  # between reads of a shard with nothing new
MAX_RETRY_DELAY_S = 5.0

Invoke = Callable[[LambdaFunction, bytes], InvokeResult]
SendFailure = Callable[[str, dict[str, Any]], None]


@dataclass
class _Record:
    """One stream record: the event record Lambda sends, its sequence number and arrival time (epoch seconds)."""

    event: dict[str, Any]
    sequence: str
    arrival: float


@dataclass
class _Shard:
    shard_id: str
    position: int = 0
    records: list[Any] = field(default_factory=list)  # moto's raw records
    convert: Callable[[Any], _Record] = lambda raw: raw


def _iso(epoch: float) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _epoch(value: Any) -> float:
    if isinstance(value, datetime.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        return aware.timestamp()
    return float(value)


# A shard's raw records (moto's own list, read-only here) and how one becomes the record Lambda sends.
Shards = dict[str, tuple[list[Any], Callable[[Any], _Record]]]


def dynamodb_records(esm: EventSourceMapping) -> Shards | None:
    """The records of the table stream `esm` reads, by shard; None once the table or its stream is gone."""
    backend = dynamodb_backends[esm.account_id][esm.region]
    for table in list(backend.tables.values()):
        shard = table.stream_shard
        if shard is None or not table.latest_stream_label:
            continue
        if f"{table.table_arn}/stream/{table.latest_stream_label}" != esm.event_source_arn:
            continue

        def convert(item: Any) -> _Record:
            event = copy.deepcopy(item.to_json())
            arrival = _epoch(event["dynamodb"]["ApproximateCreationDateTime"])
            event["dynamodb"]["ApproximateCreationDateTime"] = int(arrival)
            event.update(eventVersion="1.1", awsRegion=esm.region, eventSourceARN=esm.event_source_arn)
            return _Record(event, event["dynamodb"]["SequenceNumber"], arrival)

        return {shard.id: (shard.items, convert)}
    return None


def kinesis_records(esm: EventSourceMapping, role: str) -> Shards | None:
    """The records of the Kinesis stream `esm` reads, by shard; None once the stream is gone."""
    backend = kinesis_backends[esm.account_id][esm.region]
    stream = next((s for s in list(backend.streams.values()) if s.arn == esm.event_source_arn), None)
    if stream is None:
        return None
    shards: Shards = {}
    for shard in list(stream.shards.values()):

        def convert(record: Any, shard_id: str = shard.shard_id) -> _Record:
            event = {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": record.partition_key,
                    "sequenceNumber": str(record.sequence_number),
                    "data": record.data,
                    "approximateArrivalTimestamp": record.created_at,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{shard_id}:{record.sequence_number}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": role,
                "awsRegion": esm.region,
                "eventSourceARN": esm.event_source_arn,
            }
            return _Record(event, str(record.sequence_number), record.created_at)

        shards[shard.shard_id] = (list(shard.records.values()), convert)
    return shards


class StreamPoller:
    """Runs one stream mapping on one thread, shard after shard."""

    def __init__(
        self,
        esm: EventSourceMapping,
        function: Callable[[], LambdaFunction],
        invoke: Invoke,
        send_failure: SendFailure,
        *,
        retry_delay_s: float,
        role_call: RoleCall | None = None,
    ) -> None:
        self.esm = esm
        self._role_call = role_call
        self._function = function
        self._invoke = invoke
        self._send_failure = send_failure
        self._retry_delay_s = retry_delay_s
        self._kinesis = esm.event_source_arn.split(":")[2] == "kinesis"
        self._shards: dict[str, _Shard] | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"stream-poller-{esm.uuid[:8]}", daemon=True)

    def start(self) -> None:
        """Start reading; LATEST starts after the records already in the stream."""
        self._read()  # positions are fixed now, when the mapping was created
        self._thread.start()

    def stop(self) -> None:
        """Stop after the batch in hand."""
        self._stopped.set()

    def _read(self) -> bool:
        role = self._function().role if self._kinesis else ""
        found = kinesis_records(self.esm, role) if self._kinesis else dynamodb_records(self.esm)
        if found is None:
            return False
        if self._shards is None:
            latest = self.esm.starting_position == "LATEST"
            self._shards = {sid: _Shard(sid, len(records) if latest else 0) for sid, records in found.items()}
        for shard_id, (records, convert) in found.items():
            shard = self._shards.setdefault(shard_id, _Shard(shard_id))
            shard.records, shard.convert = records, convert
        return True

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                shards = list(self._shards.values()) if self._read() and self._shards else []
                busy = bool(self.esm.enabled) and any(self._step(shard) for shard in shards)
            except Exception:
                LOG.exception("stream poller of %s", self.esm.event_source_arn)
                busy = False
            if not busy:
                self._stopped.wait(IDLE_S)

    def _step(self, shard: _Shard) -> bool:
        """Deliver the next batch of `shard`; False when it had nothing new."""
        size = int(self.esm.batch_size)
        raw = shard.records[shard.position : shard.position + size]
        if not raw:
            return False
        batch = [shard.convert(record) for record in raw]
        window = float(self.esm.max_batch_window or 0)
        if len(batch) < size and window and time.time() - batch[0].arrival < window:
            return False  # wait for a fuller batch, at most the window after the first record arrived
        self._record_role_use()
        filters = Filters(self.esm.filter_criteria)
        data_key = "kinesis.data" if self._kinesis else None
        admitted = [r for r in batch if filters.matches(r.event, data_key)]
        if admitted:
            self._deliver(shard, admitted, 0)
        shard.position += len(batch)
        return True

    def _record_role_use(self) -> None:
        """The reads Lambda's poller makes with the function's role (infra/triggers.tf's source_actions), recorded
        for `build.py access`; not refused (AWS checks the role when the mapping is created)."""
        if self._role_call is None:
            return
        function, stream = self._function(), self.esm.event_source_arn
        if self._kinesis:
            actions = ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords"]
            actions += ["kinesis:GetShardIterator", "kinesis:ListShards", "kinesis:SubscribeToShard"]
        else:
            actions = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
            self._role_call(function, "dynamodb:ListStreams", "*")
        for action in actions:
            self._role_call(function, action, stream)

    def _deliver(self, shard: _Shard, batch: list[_Record], retries: int) -> None:
        """Invoke until `batch` succeeds, bisecting and retrying as configured, else send it to on-failure."""
        max_retries = self.esm.max_retry_attempts if self.esm.max_retry_attempts is not None else -1
        max_age = self.esm.max_record_age if self.esm.max_record_age is not None else -1
        bisect = bool(self.esm.bisect_on_error)
        while not self._stopped.is_set():
            failed_from, result = self._attempt(batch)
            if failed_from is None:
                return
            batch = batch[failed_from:]
            if bisect and len(batch) > 1:
                middle = len(batch) // 2
                self._deliver(shard, batch[:middle], retries)  # a split uses none of the retry quota
                self._deliver(shard, batch[middle:], retries)
                return
            if max_age != -1 and time.time() - batch[0].arrival > max_age:
                self._discard(shard, batch, "RecordAgeExceeded", retries + 1, result)
                return
            if max_retries != -1 and retries >= max_retries:
                self._discard(shard, batch, "RetryAttemptsExhausted", retries + 1, result)
                return
            retries += 1
            self._stopped.wait(min(self._retry_delay_s * 2 ** (retries - 1), MAX_RETRY_DELAY_S))

    def _attempt(self, batch: list[_Record]) -> tuple[int | None, InvokeResult | None]:
        """Invoke once; returns the index the batch failed from (None: success) and the result."""
        function = self._function()
        try:
            result = self._invoke(function, json.dumps({"Records": [r.event for r in batch]}).encode())
        except Exception as error:
            LOG.warning("%s: stream batch failed: %s", function.function_name, error)
            return 0, None
        if result.function_error:
            return 0, result
        if "ReportBatchItemFailures" not in (self.esm.function_response_types or []):
            return None, result
        return _checkpoint(result, [r.sequence for r in batch]), result

    def _discard(
        self, shard: _Shard, batch: list[_Record], condition: str, invocations: int, result: InvokeResult | None
    ) -> None:
        target = ((self.esm.destination_config or {}).get("OnFailure") or {}).get("Destination")
        function = self._function()
        LOG.warning("%s: %d stream record(s) discarded: %s", function.function_name, len(batch), condition)
        if not target:
            return
        if self._role_call is not None:  # Lambda sends the record with the function's role
            action = "sqs:SendMessage" if target.split(":")[2] == "sqs" else "sns:Publish"
            self._role_call(function, action, target)
        info_key = "KinesisBatchInfo" if self._kinesis else "DDBStreamBatchInfo"
        record = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": function.function_arn,
                "condition": condition,
                "approximateInvokeCount": invocations,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": _iso(time.time()),
            info_key: {
                "shardId": shard.shard_id,
                "startSequenceNumber": batch[0].sequence,
                "endSequenceNumber": batch[-1].sequence,
                "approximateArrivalOfFirstRecord": _iso(batch[0].arrival),
                "approximateArrivalOfLastRecord": _iso(batch[-1].arrival),
                "batchSize": len(batch),
                "streamArn": self.esm.event_source_arn,
            },
        }
        try:
            self._send_failure(target, record)
        except Exception as error:
            LOG.warning("%s: on-failure destination %s failed: %s", function.function_name, target, error)


def _checkpoint(result: InvokeResult, sequences: list[str]) -> int | None:
    """Where a partial batch response puts the checkpoint: the index of the lowest failed sequence number, 0 when the
    response is malformed (the whole batch failed), None when everything succeeded."""
    try:
        response = json.loads(result.payload or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return None
    items = response["batchItemFailures"]
    ids = [item.get("itemIdentifier") if isinstance(item, dict) else None for item in items]
    if not isinstance(items, list) or not all(isinstance(i, str) and i in sequences for i in ids):
        return 0
    return min(sequences.index(str(i)) for i in ids)
