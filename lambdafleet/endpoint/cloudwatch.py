"""Invocation logs into moto's CloudWatch Logs, where Lambda would put them."""

import threading
import time
import uuid

from moto.logs.models import logs_backends

# moto's log streams are not thread-safe; invocations finish on many threads.
_write_mutex = threading.Lock()


def new_stream_name() -> str:
    """A log stream name in Lambda's format: `YYYY/MM/DD/[$LATEST]<hex>`."""
    return time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + uuid.uuid4().hex


def write(account_id: str, region: str, group: str, stream: str, logs: str) -> None:
    """Append each line of `logs` as one event, creating the group and stream on first use."""
    lines = [line for line in logs.splitlines() if line.strip()]
    if not lines:
        return
    backend = logs_backends[account_id][region]
    now = int(time.time() * 1000)
    with _write_mutex:
        backend.ensure_log_group(group)
        if stream not in backend.groups[group].streams:
            backend.create_log_stream(group, stream)
        backend.put_log_events(group, stream, [{"timestamp": now, "message": line} for line in lines])
