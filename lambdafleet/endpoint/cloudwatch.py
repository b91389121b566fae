"""Invocation logs into moto's CloudWatch Logs, where Lambda would put them."""

import threading
import time
from collections.abc import Sequence

from moto.logs.models import logs_backends

# moto's log streams are not thread-safe; invocations finish on many threads.
_write_mutex = threading.Lock()


def write(account_id: str, region: str, group: str, stream: str, events: Sequence[str]) -> None:
    """Append each of `events` (one per log record, as Lambda frames them) as one CloudWatch event, creating the
    group and stream on first use; blank ones are dropped."""
    lines = [event for event in events if event.strip()]
    if not lines:
        return
    backend = logs_backends[account_id][region]
    now = int(time.time() * 1000)
    with _write_mutex:
        backend.ensure_log_group(group)
        if stream not in backend.groups[group].streams:
            backend.create_log_stream(group, stream)
        backend.put_log_events(group, stream, [{"timestamp": now, "message": line} for line in lines])
