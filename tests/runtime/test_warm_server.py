"""The warm server's replies stay within the client's bound (lambdafleet/runtime/warm_server.py)."""

import json

from lambdafleet.runtime.warm import MAX_MESSAGE
from lambdafleet.runtime.warm_server import _fitted_logs


def test_logs_over_the_limit_lose_their_beginning_in_a_json_reply() -> None:
    """lambdafleet.cli.invoke's JSON reply escapes what is not ASCII (up to 12 bytes a character): still within
    the bound, the end of the logs kept."""
    logs = "é" * (MAX_MESSAGE // 4) + "\U0001f600" * 1000 + "the end\n"

    def reply(text: str) -> bytes:
        return json.dumps({"payload": "x" * 1000, "logs": text}).encode()

    fitted = _fitted_logs(logs, reply)
    assert MAX_MESSAGE // 2 < len(reply(fitted)) <= MAX_MESSAGE and fitted.endswith("\U0001f600the end\n")
    assert fitted.startswith("[the first ") and "characters of these logs are cut" in fitted.splitlines()[0]
    assert _fitted_logs("small\n", reply) == "small\n"
