#!/usr/bin/env python3
"""Which resources a plan may refresh without reading a stored value: `terraform state list` in, `-target=ADDRESS`
lines out (scripts/deploy.sh plan's drift report).

Refreshing an aws_secretsmanager_secret_version calls GetSecretValue, and refreshing an aws_ssm_parameter calls
GetParameter with decryption (AWS provider 5.100): both return the value, which the pull-request plan role may not
read (infra/ci). Every other managed resource is listed; data sources are read by every plan anyway.
"""

import re
import sys
from collections.abc import Iterable

VALUE_READING_TYPES = frozenset({"aws_secretsmanager_secret_version", "aws_ssm_parameter"})


def resource_type(address: str) -> str | None:
    """The managed resource type of a state address (None for a data source); for_each keys may hold dots."""
    parts = re.sub(r"\[[^]]*\]", "", address).split(".")
    if len(parts) < 2 or parts[-3:-2] == ["data"]:
        return None
    return parts[-2]


def targets(addresses: Iterable[str]) -> list[str]:
    """The addresses whose refresh reads no value, in state order."""
    kept = []
    for address in (line.strip() for line in addresses):
        kind = resource_type(address) if address else None
        if kind is not None and kind not in VALUE_READING_TYPES:
            kept.append(address)
    return kept


def main() -> int:
    for address in targets(sys.stdin):
        print(f"-target={address}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
