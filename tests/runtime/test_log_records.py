"""Cutting an environment's output into Lambda's log events: runtime frames whole, printed text by line."""

import time

from lambdafleet.runtime.log_records import as_text, split_records


def _frame(message: str, frame_type: int = 0xA55A0003, stamp: int | None = None) -> bytes:
    """A record as awslambdaric's FramedTelemetryLogSink writes it (stamped now unless given)."""
    encoded = message.encode()
    stamp = time.time_ns() // 1000 if stamp is None else stamp
    return frame_type.to_bytes(4, "big") + len(encoded).to_bytes(4, "big") + stamp.to_bytes(8, "big") + encoded


def test_frames_stay_whole_and_text_is_cut_by_line() -> None:
    data = b"printed one\nprinted two\n" + _frame("[ERROR] boom\nTraceback:\n  line") + b"tail without newline"
    assert split_records(data) == [
        "printed one\n",
        "printed two\n",
        "[ERROR] boom\nTraceback:\n  line",
        "tail without newline",
    ]


def test_json_and_leveled_frames_are_records_too() -> None:
    data = _frame('{"level": "INFO"}', 0xA55A000E) + _frame("[WARNING]\tx\n", 0xA55A0013)
    assert split_records(data) == ['{"level": "INFO"}', "[WARNING]\tx\n"]


def test_an_incomplete_frame_and_lookalike_bytes_are_text() -> None:
    assert split_records(b"yen \xc2\xa5Z\x00 sign\n") == ["yen \xa5Z\x00 sign\n"]
    # A fixed stamp: one of now's bytes is a newline 1 time in ~60, and would cut the text in two.
    truncated = _frame("cut short", stamp=1_764_950_400_000_000)[:-3]
    assert len(split_records(truncated)) == 1


def test_as_text_ends_every_record_with_a_newline() -> None:
    assert as_text(["a\n", "b\nc", "d"]) == "a\nb\nc\nd\n"
