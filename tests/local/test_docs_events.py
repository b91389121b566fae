"""Every event file docs/runtime.md passes to `build.py invoke --event` exists and is an HTTP API payload-2.0
event for a route its function declares."""

import json
import re
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENT_COMMAND = re.compile(r"python build\.py invoke (?P<name>\S+) --event (?P<path>[^\s-]\S*)")


def test_documented_event_files_are_http_api_events() -> None:
    commands = list(EVENT_COMMAND.finditer((REPO_ROOT / "docs" / "runtime.md").read_text()))
    assert commands, "docs/runtime.md shows no invoke --event FILE command"
    for command in commands:
        event = json.loads((REPO_ROOT / command["path"]).read_text())
        routes = tomllib.loads((REPO_ROOT / "functions" / command["name"] / "function.toml").read_text())["routes"]
        http = event["requestContext"]["http"]
        assert event["version"] == "2.0" and event["routeKey"] in routes
        assert event["routeKey"] == f"{http['method']} {event['rawPath']}" == event["requestContext"]["routeKey"]
