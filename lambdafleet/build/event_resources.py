"""`functions/resources.toml`: the queues, topics, streams and buses that triggers name, declared once.

They go into the manifest (top-level `queues`, `topics`, `streams`, `buses`), which Terraform provisions with
for_each, so `check` can refuse a trigger naming an undeclared queue, or a batching window on a FIFO queue, before
anything is built. Tables and buckets stay in infra/variables.tf (`var.tables`, `var.buckets`).
"""

import re
from pathlib import Path
from typing import Any

from lambdafleet.build.config import read_toml
from lambdafleet.errors import UserError

RESOURCES_FILE = "resources.toml"
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
# Each kind's keys: (default, low, high) for integers, default only for booleans.
KINDS: dict[str, dict[str, Any]] = {
    "queues": {
        "fifo": False,
        "content_based_deduplication": False,
        "visibility_timeout": (30, 0, 43200),
        "message_retention": (345600, 60, 1209600),
        "delay": (0, 0, 900),
        # Receives before a message moves to the queue's dead-letter queue <name>-dlq; 0: no DLQ.
        "max_receive_count": (0, 0, 1000),
    },
    "topics": {"fifo": False},
    "streams": {"shard_count": (1, 1, 100), "retention_hours": (24, 24, 8760)},
    "buses": {},
}


def load_resources(functions_dir: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """The declarations of `functions_dir/resources.toml` (optional), every key filled in."""
    path = functions_dir / RESOURCES_FILE
    source = f"{functions_dir.name}/{RESOURCES_FILE}"
    raw = read_toml(path, source) if path.is_file() else {}
    resources: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
    for kind, table in raw.items():
        if kind not in KINDS:
            raise UserError(
                f"{source}: key '{kind}': unknown key; expected {', '.join(f'[{k}.<name>]' for k in KINDS)}"
            )
        if not isinstance(table, dict):
            raise UserError(f"{source}: key '{kind}': must be tables like [{kind}.<name>]")
        for name, body in table.items():
            resources[kind][name] = _declaration(source, kind, name, body)
    return resources


def _declaration(source: str, kind: str, name: str, body: Any) -> dict[str, Any]:
    key = f"{kind}.{name}"
    if not NAME.fullmatch(name) or not isinstance(body, dict):
        raise UserError(f"{source}: key '{key}': must be a table named with lower-case letters, digits, '-' or '_'")
    if kind == "buses" and name == "default":
        raise UserError(f"{source}: key '{key}': the default bus always exists; do not declare it")
    spec = KINDS[kind]
    result: dict[str, Any] = {"name": name}
    for option in body:
        if option not in spec:
            known = ", ".join(spec) or "none"
            raise UserError(f"{source}: key '{key}.{option}': unknown key; known keys: {known}")
    for option, rule in spec.items():
        value = body.get(option, rule[0] if isinstance(rule, tuple) else rule)
        if isinstance(rule, tuple):
            low, high = rule[1], rule[2]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise UserError(
                    f"{source}: key '{key}.{option}': must be an integer between {low} and {high}; got {value!r}"
                )
        elif not isinstance(value, bool):
            raise UserError(f"{source}: key '{key}.{option}': must be true or false; got {value!r}")
        result[option] = value
    if result.get("content_based_deduplication") and not result.get("fifo"):
        raise UserError(f"{source}: key '{key}.content_based_deduplication': only a FIFO queue (fifo = true) has it")
    return result
