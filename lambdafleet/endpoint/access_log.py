"""What each function's role did on the endpoint: its calls (allowed or denied) against what its policies grant.

The endpoint records every decision it makes for a function's credentials (iam_enforcement); `report` compares the
calls with the grants of the role's identity policies, the basis for `build.py access` and for trimming a policy.
Calls are aggregated per (function, action, resource, decision), so the log stays small under load.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lambdafleet.endpoint.iam_policy import Document, Grant, grants_of

MAX_ENTRIES = 10_000  # distinct (function, action, resource, decision) rows kept; past it, new rows are counted only


@dataclass
class _Entry:
    role_arn: str
    count: int = 0
    last: float = 0.0
    grants: set[Grant] = field(default_factory=set)


class AccessLog:
    """The decisions the endpoint made, per function."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, str, str], _Entry] = {}
        self._dropped = 0
        self._mutex = threading.Lock()

    def record(
        self, function: str, role_arn: str, action: str, resource: str, decision: str, grants: list[Grant]
    ) -> None:
        """Count one decision (`decision`: allowed, implicit, explicit-identity, explicit-resource)."""
        key = (function, action, resource, decision)
        with self._mutex:
            entry = self._entries.get(key)
            if entry is None:
                if len(self._entries) >= MAX_ENTRIES:
                    self._dropped += 1
                    return
                entry = self._entries[key] = _Entry(role_arn)
            entry.role_arn = role_arn
            entry.count += 1
            entry.last = time.time()
            entry.grants.update(grants)

    def report(self, policies_of: Callable[[str], list[Document]]) -> dict[str, Any]:
        """Per function: its role, its calls, the grants never used; `policies_of(role_arn)` reads the role's
        identity policies as they are now."""
        with self._mutex:
            entries = list(self._entries.items())
            dropped = self._dropped
        functions: dict[str, dict[str, Any]] = {}
        used: dict[str, set[Grant]] = {}
        for (function, action, resource, decision), entry in sorted(entries, key=lambda item: item[0]):
            summary = functions.setdefault(function, {"role": entry.role_arn, "calls": [], "unused_grants": []})
            summary["role"] = entry.role_arn
            summary["calls"].append(
                {
                    "action": action,
                    "resource": resource,
                    "allowed": decision == "allowed",
                    "decision": decision,
                    "count": entry.count,
                }
            )
            used.setdefault(function, set()).update(entry.grants)
        for function, summary in functions.items():
            grants = grants_of(policies_of(summary["role"]))
            summary["grants"] = [_grant_json(grant) for grant in grants]
            summary["unused_grants"] = [
                _grant_json(grant) for grant in grants if grant not in used.get(function, set())
            ]
            summary["denied"] = [call for call in summary["calls"] if not call["allowed"]]
        return {"functions": functions, "dropped": dropped}


def _grant_json(grant: Grant) -> dict[str, str]:
    return {"policy": grant.policy, "action": grant.action, "resource": grant.resource}
