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


def test_an_error_during_the_invocation_is_reported_with_its_traceback(workspace, tmp_path, monkeypatch) -> None:
    """A failure once the event was handed over (here a pool closed under the server) is answered with its
    traceback, as the command line prints one: not a connection closed without a word, which the client can only
    report as a server that stopped (the traceback went to the server's /dev/null)."""
    from lambdafleet.build.paths import BUILD_ENV
    from lambdafleet.runtime.warm import DONE
    from lambdafleet.runtime.warm_server import _Server

    monkeypatch.delenv(BUILD_ENV, raising=False)
    monkeypatch.setenv("LAMBDAFLEET_CACHE_DIR", str(workspace.cache_dir))
    workspace.add_function("echo")
    server = _Server(tmp_path / "warm.sock")
    request = {"argv": ["invoke", "echo", "--payload", '{"a": 1}'], "root": str(workspace.root)}
    started: list[bool] = []
    try:
        reply = server._command(request, lambda: started.append(True))
        assert reply[:2] == DONE + b"\0" and reply.endswith(b'{"a": 1}\n') and started == [True]
        (held,) = server.pools.values()
        held.pool.close()  # a pool the server still holds, closed: its next invocation raises
        reply = server._command(request, lambda: started.append(True))
        assert reply[:2] == DONE + b"\1" and len(started) == 2, reply
        assert b"Traceback (most recent call last)" in reply and b"RuntimeError: the pool of echo is closed" in reply
        message = {
            "root": str(workspace.root),
            "name": "echo",
            "payload": "e30=",
            "region": "us-east-1",
            "extra_env": {},
        }
        answer = server._answer(message, list)  # lambdafleet.cli.invoke's request
        assert "RuntimeError: the pool of echo is closed" in answer["internal_error"], answer
    finally:
        server.listener.close()
