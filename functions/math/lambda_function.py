"""Small arithmetic service: {"action": "square", "number": 3} -> 9."""

ACTIONS = {
    "square": lambda n: n * n,
    "double": lambda n: n * 2,
    "negate": lambda n: -n,
}


def lambda_handler(event, context):
    action = event.get("action")
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; expected one of {sorted(ACTIONS)}")
    number = event.get("number")
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        raise ValueError(f"number must be a number, got {number!r}")
    return ACTIONS[action](number)
