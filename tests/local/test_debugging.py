"""`build.py local --debug NAME`: a deployed function runs under debugpy from its first invocation; a DAP client
attaches, stops at a breakpoint past both the function's timeout and the HTTP integration's, then continues."""

import json
import signal
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from lambdafleet.testing.endpoint import _wait_until_up, free_port, start_endpoint
from tests.conftest import REGION, REPO_ROOT, WAITER_POLL, Endpoint
from tests.local.conftest import LAMBDA_TRUST, _zip
from tests.runtime.conftest import needs_sandbox
from tests.runtime.dap_client import DapClient, debug_port

pytestmark = pytest.mark.stack  # slow end to end: its own build.py local with a debugged function

HANDLER = """\
def lambda_handler(event, context):
    path = event['rawPath']
    return {'statusCode': 200, 'body': path}
"""
BREAKPOINT_LINE = 3
PAUSE_S = 1.3  # longer than the function's timeout and the integration's (1 s each)


@pytest.fixture
def debugging_endpoint(tmp_path: Path) -> Any:
    """`build.py local` with `--debug dbg --debug-port N`: its Endpoint and the debugger's port."""
    port, debugger_port = free_port(), debug_port()
    log = tmp_path / "endpoint.log"
    command = ["build.py", "local", "--port", str(port), "--debug", "dbg", "--debug-port", str(debugger_port)]
    with log.open("w") as sink:
        process = start_endpoint(command, REPO_ROOT, sink)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield Endpoint(url, embedded=True, pid=process.pid), debugger_port, log
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0, log.read_text()
        assert "Traceback" not in log.read_text(), log.read_text()


@needs_sandbox  # the breakpoint names the file at /var/task
def test_a_debugged_function_waits_for_the_debugger_with_its_timeouts_lifted(debugging_endpoint) -> None:
    endpoint, debugger_port, log = debugging_endpoint
    said = f"debug         dbg on 127.0.0.1:{debugger_port}: waits for a debugger at its first invocation"
    deadline = time.monotonic() + 10
    while said not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)  # printed once the endpoint answers
    assert said in log.read_text()
    role = endpoint.client("iam").create_role(RoleName="dbg", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    client = endpoint.client("lambda")
    function = client.create_function(
        FunctionName="dbg", Runtime="python3.12", Role=role["Role"]["Arn"], Timeout=1,
        Handler="lambda_function.lambda_handler", Code={"ZipFile": _zip(HANDLER)},
    )  # fmt: skip
    client.get_waiter("function_active_v2").wait(FunctionName="dbg", WaiterConfig=WAITER_POLL)
    gateway = endpoint.client("apigatewayv2")
    api_id = gateway.create_api(Name="dbg", ProtocolType="HTTP")["ApiId"]
    uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function['FunctionArn']}/invocations"
    integration = gateway.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=uri, PayloadFormatVersion="2.0", TimeoutInMillis=1000
    )["IntegrationId"]
    gateway.create_route(ApiId=api_id, RouteKey="GET /hello", Target=f"integrations/{integration}")
    gateway.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)

    answers: list[tuple[int, bytes]] = []

    def call() -> None:
        with urllib.request.urlopen(f"{endpoint.url}/_api/{api_id}/hello", timeout=60) as response:
            answers.append((response.status, response.read()))

    caller = threading.Thread(target=call)
    caller.start()  # the first invocation starts the environment, which waits for the debugger
    debugger = DapClient(debugger_port, timeout_s=30)
    try:
        debugger.request("initialize", clientID="test", adapterID="debugpy", pathFormat="path", linesStartAt1=True)
        debugger.send("attach", justMyCode=True)
        debugger.wait_for_event("initialized")
        source = {"path": "/var/task/lambda_function.py"}
        debugger.request("setBreakpoints", source=source, breakpoints=[{"line": BREAKPOINT_LINE}])
        debugger.request("configurationDone")
        stopped = debugger.wait_for_event("stopped")
        time.sleep(PAUSE_S)
        debugger.request("continue", threadId=stopped["threadId"])  # the environment stays: it answers
    finally:
        caller.join(timeout=30)
        debugger.close()
    assert answers == [(200, b"/hello")]
