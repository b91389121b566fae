"""An environment's output cut into log records as Lambda cuts it: one record per runtime frame, one per line
of everything else.

awslambdaric frames each logging record and each error report (`_LAMBDA_TELEMETRY_LOG_FD`: a 4-byte type
0xA55A00xx, a 4-byte length, an 8-byte timestamp, the message), so a traceback or a message with newlines stays
one CloudWatch event. What the function prints to stdout/stderr has no frame: Lambda makes each line an event.
Both arrive on the same pipe, in the order they were written.
"""

_MAGIC = b"\xa5\x5a\x00"
_HEADER = 16


def split_records(data: bytes) -> list[str]:
    """The records in `data`; unframed text is cut after each newline, which stays on its line."""
    records: list[str] = []
    position = 0
    while position < len(data):
        frame = _next_frame(data, position)
        records += _lines(data[position:frame])
        if frame == len(data):
            break
        length = int.from_bytes(data[frame + 4 : frame + 8], "big")
        start = frame + _HEADER
        records.append(data[start : start + length].decode("utf-8", errors="replace"))
        position = start + length
    return records


def _next_frame(data: bytes, position: int) -> int:
    """Where the next complete frame starts, or len(data) when no complete frame follows."""
    found = data.find(_MAGIC, position)
    while found != -1:
        length = int.from_bytes(data[found + 4 : found + 8], "big")
        if found + _HEADER <= len(data) and found + _HEADER + length <= len(data):
            return found
        found = data.find(_MAGIC, found + 1)
    return len(data)


def _lines(text: bytes) -> list[str]:
    lines = text.decode("utf-8", errors="replace").split("\n")
    return [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def as_text(records: list[str]) -> str:
    """The records as one text, each ending with a newline."""
    return "".join(record if record.endswith("\n") else record + "\n" for record in records)
