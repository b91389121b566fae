"""Filter criteria of event source mappings: a record is passed to the function when it matches any pattern.

Patterns use EventBridge's syntax; moto's EventBridge matcher evaluates them. As in Lambda, an SQS `body` (or a
Kinesis `data`) that is JSON is matched as the object it holds; otherwise only as the plain string.
"""

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from moto.events.models import EventPattern


class Filters:
    """The FilterCriteria of one mapping; with no pattern every record passes."""

    def __init__(self, criteria: Mapping[str, Any] | None) -> None:
        patterns = [f.get("Pattern", "") for f in (criteria or {}).get("Filters", [])]
        self._patterns = [EventPattern.load(p) for p in patterns if p]

    def matches(self, record: Mapping[str, Any], data_key: str | None = None) -> bool:
        """Whether `record` passes; `data_key` names its payload field ("body" for SQS, "kinesis.data")."""
        if not self._patterns:
            return True
        subject = _with_decoded_payload(record, data_key)
        return any(pattern.matches_event(subject) for pattern in self._patterns)  # type: ignore[arg-type]


def _with_decoded_payload(record: Mapping[str, Any], data_key: str | None) -> dict[str, Any]:
    subject: dict[str, Any] = json.loads(json.dumps(record, default=str))
    if data_key == "body":
        subject["body"] = _json_or_text(subject.get("body", ""))
    elif data_key == "kinesis.data":
        try:
            text = base64.b64decode(subject["kinesis"]["data"]).decode()
        except (binascii.Error, UnicodeDecodeError, KeyError):
            return subject
        subject["data"] = _json_or_text(text)  # Lambda's Kinesis filters address the payload as `data`
    return subject


def _json_or_text(text: str) -> Any:
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return text
    return value if isinstance(value, dict | Sequence) and not isinstance(value, str) else text
