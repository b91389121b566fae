"""`triggers = [...]` in function.toml: what invokes a function besides HTTP routes.

One list, one shape for every kind: each entry is a table with `type` and the keys of that kind; every key has
AWS's default, and the service's limits are checked here so that `check` refuses what CreateEventSourceMapping,
Subscribe or PutRule would refuse later. Whether the named queue, topic, stream or bus is declared is checked
for the whole project (lambdafleet.build.project), against functions/resources.toml.
"""

import json
import re
from typing import TYPE_CHECKING, Any

from lambdafleet.build import schedule_expression

if TYPE_CHECKING:
    from lambdafleet.build.config import _Checker

TRIGGER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
STARTING_POSITIONS = ("TRIM_HORIZON", "LATEST")
FILTER_POLICY_SCOPES = ("MessageAttributes", "MessageBody")
MAX_FILTERS = 5  # Lambda's quota of filter patterns per event source mapping
INPUT_LIMIT = 8192  # characters of a target's constant Input

# Keys every kind takes, then each kind's own keys with AWS's defaults (None: required, or absent).
COMMON = {"type": None, "name": None, "enabled": True}
STREAM_KEYS: dict[str, Any] = {
    "starting_position": "TRIM_HORIZON",
    "batch_size": 100,
    "maximum_batching_window": 0,
    "bisect_batch_on_function_error": False,
    "maximum_retry_attempts": -1,
    "maximum_record_age": -1,
    "on_failure": None,
    "report_batch_item_failures": False,
    "filters": [],
}
KINDS: dict[str, dict[str, Any]] = {
    "sqs": {
        "queue": None,
        "batch_size": 10,
        "maximum_batching_window": 0,
        "report_batch_item_failures": False,
        "maximum_concurrency": None,
        "filters": [],
    },
    "dynamodb_stream": {"table": None, **STREAM_KEYS},
    "kinesis": {"stream": None, **STREAM_KEYS},
    "sns": {"topic": None, "filter_policy": None, "filter_policy_scope": "MessageAttributes"},
    "eventbridge": {"bus": "default", "pattern": None},
    "schedule": {"expression": None, "input": None},
    "s3": {"bucket": None, "events": ["s3:ObjectCreated:*"], "prefix": "", "suffix": ""},
}
# The key naming what each kind listens to; it also names the trigger unless `name` does.
SOURCE_KEY = {"sqs": "queue", "dynamodb_stream": "table", "kinesis": "stream", "sns": "topic", "s3": "bucket"}
DEFAULT_NAME = {"eventbridge": "rule", "schedule": "schedule"}


def parse_triggers(check: "_Checker", value: Any) -> tuple[dict[str, Any], ...]:
    """Validate the `triggers` list; each entry comes back with every key of its kind filled in."""
    check.of_type("triggers", value, list, 'a list of tables like { type = "sqs", queue = "jobs" }')
    triggers = [_trigger(check, f"triggers[{index}]", entry) for index, entry in enumerate(value)]
    names = [t["name"] for t in triggers]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise check.fail(f"triggers[{index}].name", f"{name!r} is used twice; give each trigger a distinct name")
    return tuple(triggers)


def _trigger(check: "_Checker", key: str, entry: Any) -> dict[str, Any]:
    check.of_type(key, entry, dict, "a table with a type")
    kind = check.choice(f"{key}.type", entry.get("type"), tuple(KINDS))
    known = {**COMMON, **KINDS[kind]}
    for name in entry:
        if name not in known:
            raise check.fail(f"{key}.{name}", f"unknown key for a {kind} trigger; known: {', '.join(known)}")
    trigger = {**{k: (list(v) if isinstance(v, list) else v) for k, v in known.items()}, **entry}
    for required in (k for k, v in KINDS[kind].items() if v is None and k in _REQUIRED):
        if trigger[required] is None:
            raise check.fail(f"{key}.{required}", f"is required for a {kind} trigger")
    trigger["name"] = trigger["name"] or trigger.get(SOURCE_KEY.get(kind, "")) or DEFAULT_NAME[kind]
    if not isinstance(trigger["name"], str) or not TRIGGER_NAME.fullmatch(trigger["name"]):
        raise check.fail(f"{key}.name", f"{trigger['name']!r} must be 1-32 lower-case letters, digits, '-' or '_'")
    check.of_type(f"{key}.enabled", trigger["enabled"], bool, "true or false")
    _CHECKS[kind](check, key, trigger)
    return trigger


_REQUIRED = {"queue", "table", "stream", "topic", "bucket", "pattern", "expression"}


def _name(check: "_Checker", key: str, value: Any) -> None:
    check.of_type(key, value, str, "a name declared in functions/resources.toml")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", value):
        raise check.fail(key, f"{value!r} must be a lower-case name (letters, digits, '-', '_')")


def _filters(check: "_Checker", key: str, value: Any) -> None:
    check.of_type(f"{key}.filters", value, list, "a list of filter patterns (tables)")
    if len(value) > MAX_FILTERS:
        raise check.fail(f"{key}.filters", f"has {len(value)} patterns; Lambda allows {MAX_FILTERS}")
    for index, pattern in enumerate(value):
        _pattern(check, f"{key}.filters[{index}]", pattern)


def _pattern(check: "_Checker", key: str, pattern: Any) -> None:
    """An event pattern / filter: nested tables whose leaves are lists of values or matchers (AWS's rule)."""
    check.of_type(key, pattern, dict, "a table of field = [values]")
    if not pattern:
        raise check.fail(key, "is empty; a pattern needs at least one field")
    for field_name, inner in pattern.items():
        if isinstance(inner, dict):
            _pattern(check, f"{key}.{field_name}", inner)
        elif not isinstance(inner, list):
            raise check.fail(f"{key}.{field_name}", f"must be a list of values to match, got {inner!r}")


def _sqs(check: "_Checker", key: str, t: dict[str, Any]) -> None:
    _name(check, f"{key}.queue", t["queue"])
    check.int_range(f"{key}.batch_size", t["batch_size"], 1, 10000)
    check.int_range(f"{key}.maximum_batching_window", t["maximum_batching_window"], 0, 300, " seconds")
    if t["batch_size"] > 10 and t["maximum_batching_window"] < 1:
        raise check.fail(
            f"{key}.batch_size", "over 10 needs maximum_batching_window of at least 1 second (Lambda's rule)"
        )
    check.of_type(f"{key}.report_batch_item_failures", t["report_batch_item_failures"], bool, "true or false")
    if t["maximum_concurrency"] is not None:
        check.int_range(f"{key}.maximum_concurrency", t["maximum_concurrency"], 2, 1000)
    _filters(check, key, t["filters"])


def _stream(check: "_Checker", key: str, t: dict[str, Any]) -> None:
    source = "table" if "table" in t else "stream"
    _name(check, f"{key}.{source}", t[source])
    check.choice(f"{key}.starting_position", t["starting_position"], STARTING_POSITIONS)
    check.int_range(f"{key}.batch_size", t["batch_size"], 1, 10000)
    check.int_range(f"{key}.maximum_batching_window", t["maximum_batching_window"], 0, 300, " seconds")
    for flag in ("bisect_batch_on_function_error", "report_batch_item_failures"):
        check.of_type(f"{key}.{flag}", t[flag], bool, "true or false")
    check.int_range(f"{key}.maximum_retry_attempts", t["maximum_retry_attempts"], -1, 10000, " (-1: until expired)")
    age = t["maximum_record_age"]
    check.of_type(f"{key}.maximum_record_age", age, int, "an integer")
    if age != -1 and not 60 <= age <= 604800:
        raise check.fail(
            f"{key}.maximum_record_age", f"must be -1 (no limit) or between 60 and 604800 seconds; got {age}"
        )
    target = t["on_failure"]
    if target is not None and not (
        isinstance(target, str) and re.fullmatch(r"(queue|topic):[a-z0-9][a-z0-9_-]{0,62}", target)
    ):
        raise check.fail(f"{key}.on_failure", f"{target!r} must be 'queue:<name>' or 'topic:<name>'")
    _filters(check, key, t["filters"])


def _sns(check: "_Checker", key: str, t: dict[str, Any]) -> None:
    _name(check, f"{key}.topic", t["topic"])
    if t["filter_policy"] is not None:
        _pattern(check, f"{key}.filter_policy", t["filter_policy"])
    check.choice(f"{key}.filter_policy_scope", t["filter_policy_scope"], FILTER_POLICY_SCOPES)


def _eventbridge(check: "_Checker", key: str, t: dict[str, Any]) -> None:
    _name(check, f"{key}.bus", t["bus"])
    _pattern(check, f"{key}.pattern", t["pattern"])


def _schedule(check: "_Checker", key: str, t: dict[str, Any]) -> None:
    check.of_type(f"{key}.expression", t["expression"], str, "a string like 'rate(5 minutes)'")
    try:
        schedule_expression.parse(t["expression"])
    except schedule_expression.ScheduleError as error:
        raise check.fail(f"{key}.expression", str(error)) from None
    if t["input"] is not None:
        check.of_type(f"{key}.input", t["input"], dict, "a table (sent as the event, JSON)")
        if len(json.dumps(t["input"])) > INPUT_LIMIT:
            raise check.fail(f"{key}.input", f"is over the {INPUT_LIMIT} characters EventBridge allows as JSON")


def _s3(check: "_Checker", key: str, t: dict[str, Any]) -> None:
    _name(check, f"{key}.bucket", t["bucket"])
    for event in check.string_list(f"{key}.events", t["events"]):
        if not re.fullmatch(r"s3:[A-Za-z]+:(\*|[A-Za-z]+)", event):
            raise check.fail(f"{key}.events", f"{event!r} is not an S3 event name such as 's3:ObjectCreated:*'")
    check.of_type(f"{key}.prefix", t["prefix"], str, "a string")
    check.of_type(f"{key}.suffix", t["suffix"], str, "a string")


_CHECKS = {
    "sqs": _sqs,
    "dynamodb_stream": _stream,
    "kinesis": _stream,
    "sns": _sns,
    "eventbridge": _eventbridge,
    "schedule": _schedule,
    "s3": _s3,
}
