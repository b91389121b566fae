"""The endpoint's HTTP server under malformed and hostile requests, sent with raw sockets on loopback: conflicting
framing is refused, Invoke and HTTP API bodies are bounded before they are read, slow clients are cut off, open
connections are capped, and memory stays bounded under the whole malformed set."""

import base64
import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lambdafleet.testing.endpoint import _wait_until_up, free_port, start_endpoint
from tests.conftest import WAITER_POLL

REPO_ROOT = Path(__file__).resolve().parents[2]
INVOKE = "/2015-03-31/functions/{name}/invocations"
SIGNED = "Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/lambda/aws4_request, Signature=x"


def _exchange(url: str, head: str, body: bytes = b"", *, close_after: bool = False, timeout: float = 10) -> bytes:
    """Send `head` (request line and headers, CRLF-separated, without the blank line) and `body` raw; return what
    the server answers until it closes or `timeout` passes (b"" when nothing came)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        if close_after:  # end the request early, and wait until the server has dealt with it and closed
            with contextlib.suppress(OSError):  # it may refuse and close while this is still sending
                sock.sendall(head.encode("latin-1") + b"\r\n\r\n" + body)
                sock.shutdown(socket.SHUT_WR)
                while sock.recv(65536):
                    pass
            return b""
        sock.sendall(head.encode("latin-1") + b"\r\n\r\n" + body)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if b"\r\n\r\n" in received and _complete(received):
                    break
        except TimeoutError:
            pass
        return received


def _complete(response: bytes) -> bool:
    head, _, body = response.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else 0


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


@pytest.fixture(scope="module")
def echo(deploy_function) -> str:
    return deploy_function("def lambda_handler(event, context):\n    return event\n")["FunctionName"]


def _invoke_head(url: str, name: str, *headers: str) -> str:
    host = url.removeprefix("http://")
    return "\r\n".join([f"POST {INVOKE.format(name=name)} HTTP/1.1", f"Host: {host}", SIGNED, *headers])


@pytest.mark.parametrize(
    "framing",
    [
        ["Content-Length: 2", "Transfer-Encoding: chunked"],
        ["Content-Length: 2", "Content-Length: 3"],
        ["Content-Length: 2, 2"],
        ["Content-Length: -1"],
        ["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"],
        ["Transfer-Encoding: gzip, chunked"],
    ],
)
def test_conflicting_or_duplicate_framing_is_a_bad_request(embedded, echo, framing: list[str]) -> None:
    answer = _exchange(embedded.url, _invoke_head(embedded.url, echo, *framing), b"{}")
    assert _status(answer) in (400, 501), answer  # 501: a transfer coding the server does not implement
    assert b'"message"' in answer


def test_an_http10_request_with_transfer_encoding_is_a_bad_request(embedded, echo) -> None:
    head = _invoke_head(embedded.url, echo, "Transfer-Encoding: chunked").replace("HTTP/1.1", "HTTP/1.0", 1)
    assert _status(_exchange(embedded.url, head, b"2\r\n{}\r\n0\r\n\r\n")) == 400


def test_an_oversized_invoke_is_refused_from_its_headers_without_reading_the_body(embedded, echo) -> None:
    """200 MB announced, nothing sent: the 413 comes at once, in Lambda's shape."""
    started = time.monotonic()
    answer = _exchange(embedded.url, _invoke_head(embedded.url, echo, f"Content-Length: {200 * 1024**2}"))
    assert time.monotonic() - started < 5
    assert _status(answer) == 413, answer
    assert b"x-amzn-ErrorType: RequestTooLargeException" in answer
    assert b"Request must be smaller than 6291456 bytes" in answer


def test_an_oversized_http_api_body_is_refused_from_its_headers(embedded) -> None:
    host = embedded.url.removeprefix("http://")
    head = f"POST /_api/abcdefgh/anything HTTP/1.1\r\nHost: {host}\r\nExpect: 100-continue\r\nContent-Length: 7000000"
    answer = _exchange(embedded.url, head)
    assert _status(answer) == 413, answer
    assert answer.endswith(b'{"message":"Request Entity Too Large"}')


def test_a_chunked_invoke_over_6_mb_is_refused_once_it_passes_the_limit(embedded, echo) -> None:
    megabyte = b"a" * 1024**2
    chunks = b"".join(b"100000\r\n" + megabyte + b"\r\n" for _ in range(7)) + b"0\r\n\r\n"
    answer = _exchange(embedded.url, _invoke_head(embedded.url, echo, "Transfer-Encoding: chunked"), chunks)
    assert _status(answer) == 413, answer
    assert b"RequestTooLargeException" in answer


def test_a_chunked_invoke_under_the_limit_runs(embedded, echo) -> None:
    body = b'{"k": "v"}'
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    answer = _exchange(embedded.url, _invoke_head(embedded.url, echo, "Transfer-Encoding: chunked"), chunked)
    assert _status(answer) == 200, answer
    assert answer.endswith(body)


def test_connections_are_kept_alive(embedded) -> None:
    connection = http.client.HTTPConnection(embedded.url.removeprefix("http://"), timeout=10)
    connection.request("GET", "/moto-api/")
    first = connection.getresponse()
    first.read()
    local_port = connection.sock.getsockname()[1]
    connection.request("GET", "/moto-api/")
    second = connection.getresponse()
    second.read()
    assert first.getheader("Connection") != "close" and second.status == 200
    assert connection.sock is not None and connection.sock.getsockname()[1] == local_port  # the same connection
    connection.close()


def _malformed_set(url: str, name: str) -> list[tuple[str, bytes]]:
    """The hostile requests of issue 12: a huge chunk size then an early close, a 200 MB Content-Length with a
    partial body, conflicting framing, oversized headers, garbage."""
    host = url.removeprefix("http://")
    s3_put = f"PUT /soak-bucket/key HTTP/1.1\r\nHost: {host}"
    return [
        (f"{s3_put}\r\nTransfer-Encoding: chunked", b"fffffffffffff\r\n" + b"x" * 65536),
        (_invoke_head(url, name, "Transfer-Encoding: chunked"), b"fffffffffffff\r\n" + b"x" * 65536),
        (_invoke_head(url, name, f"Content-Length: {200 * 1024**2}"), b"x" * 65536),
        (f"{s3_put}\r\nContent-Length: {500 * 1024**2}", b"x" * 65536),
        (_invoke_head(url, name, "Content-Length: 5", "Transfer-Encoding: chunked"), b"0\r\n\r\n"),
        (f"GET / HTTP/1.1\r\nHost: {host}\r\nX-Big: {'a' * 70000}", b""),
        ("\x00\x01garbage", b""),
    ]


def test_memory_stays_bounded_under_the_malformed_set(embedded, echo) -> None:
    """A soak: 30 rounds of the malformed set, each request closed early; the endpoint's RSS grows by less than
    40 MB and it still answers."""
    assert embedded.pid is not None
    requests = _malformed_set(embedded.url, echo)
    for head, body in requests:  # one warm-up round: first-use allocations are not growth
        _exchange(embedded.url, head, body, close_after=True)
    time.sleep(0.5)
    before = _rss_kb(embedded.pid)
    for _ in range(30):
        for head, body in requests:
            _exchange(embedded.url, head, body, close_after=True)
    time.sleep(0.5)
    grown_mb = (_rss_kb(embedded.pid) - before) / 1024
    assert grown_mb < 40, f"RSS grew by {grown_mb:.0f} MB"
    assert _status(_exchange(embedded.url, f"GET /moto-api/ HTTP/1.1\r\nHost: {embedded.url[7:]}")) == 200


STRICT_SERVER = """
import sys
from lambdafleet.endpoint import emulator
from lambdafleet.endpoint.http_server import Limits
server = emulator.start(0, limits=Limits(read_timeout_s=1, idle_timeout_s=2, connection_limit=8))
print(server.url, flush=True)
sys.stdin.read()
server.stop()
"""


@pytest.fixture(scope="module")
def strict_server() -> Iterator[str]:
    """A bare emulator process on loopback with short limits: 1 s to send a request, 8 connections; it stops
    when its standard input closes."""
    process = subprocess.Popen(
        [sys.executable, "-c", STRICT_SERVER], cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        yield process.stdout.readline().strip()
    finally:
        process.stdin.close()
        assert process.wait(timeout=20) == 0


def test_a_client_trickling_its_request_is_cut_off(strict_server: str) -> None:
    host, port = strict_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /moto-api/ HTTP/1.1\r\n")
        started = time.monotonic()
        try:
            for _ in range(20):  # a byte every 0.25 s keeps the connection active, never completes the request
                sock.sendall(b"X")
                time.sleep(0.25)
            closed = sock.recv(1) == b""
        except OSError:  # reset while sending
            closed = True
    assert closed and time.monotonic() - started < 5


def test_open_connections_are_capped(strict_server: str) -> None:
    """Past the cap, a new connection waits in the backlog until one closes; the server keeps serving."""
    host, port = strict_server.removeprefix("http://").split(":")
    idle = [socket.create_connection((host, int(port))) for _ in range(12)]
    time.sleep(0.3)
    request = f"GET /moto-api/ HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    with socket.create_connection((host, int(port)), timeout=1) as waiting:
        waiting.sendall(request)
        with pytest.raises(TimeoutError):
            waiting.recv(1)
        for sock in idle:
            sock.close()
        waiting.settimeout(10)
        assert waiting.recv(12).startswith(b"HTTP/1.1 200")


SELF_EVENT = """
import boto3

def lambda_handler(event, context):
    boto3.client("lambda").invoke(FunctionName=context.function_name, InvocationType="Event", Payload=b"{}")
    return "again"
"""
TRACE = "import os\n\ndef lambda_handler(event, context):\n    return os.environ.get('_X_AMZN_TRACE_ID')\n"
# Not an echo: each destination record nests the last one, and an echoed one twice (it would double per hop).
OK_SRC = "def lambda_handler(event, context):\n    return 'ok'\n"


def _reports(endpoint, name: str) -> int:
    logs = endpoint.client("logs")
    try:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern="REPORT")["events"]
    except logs.exceptions.ResourceNotFoundException:
        return 0
    return len(events)


def _settled(endpoint, wait_for, *names: str) -> list[int]:
    """REPORT counts of `names` once they stop growing for 2 s."""
    counts: list[list[int]] = [[-1]]

    def stable() -> list[int] | None:
        """the invocation counts stop growing"""
        now = [_reports(endpoint, name) for name in names]
        if now == counts[-1] and any(now):
            return now
        counts.append(now)
        time.sleep(2)
        return None

    return wait_for(stable, timeout=90)


@pytest.mark.stack  # slow end to end: 16 and more asynchronous invocations
def test_a_function_invoking_itself_asynchronously_is_stopped_after_16(embedded, deploy_function, wait_for) -> None:
    name = deploy_function(SELF_EVENT, Timeout=10)["FunctionName"]
    embedded.client("lambda").invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
    assert _settled(embedded, wait_for, name) == [16]


@pytest.mark.stack  # slow end to end: a long wait: 16 rounds of asynchronous destinations
def test_a_destination_cycle_is_stopped_after_16_of_each(embedded, deploy_function, wait_for) -> None:
    client = embedded.client("lambda")
    first, second = (deploy_function(OK_SRC) for _ in range(2))
    for source, target in [(first, second), (second, first)]:
        client.put_function_event_invoke_config(
            FunctionName=source["FunctionName"],
            MaximumRetryAttempts=0,
            DestinationConfig={"OnSuccess": {"Destination": target["FunctionArn"]}},
        )
    client.invoke(FunctionName=first["FunctionName"], InvocationType="Event", Payload=b'{"n": 1}')
    assert _settled(embedded, wait_for, first["FunctionName"], second["FunctionName"]) == [16, 16]


def test_a_synchronous_chain_past_16_is_refused_with_recursive_invocation_exception(embedded, deploy_function) -> None:
    """The test plays the function's SDK: it invokes with the trace header the last invocation ran with."""
    name = deploy_function(TRACE)["FunctionName"]
    client = embedded.client("lambda")
    trace: list[str] = []

    def forward(params: dict, **_: object) -> None:
        if trace:
            params["headers"]["X-Amzn-Trace-Id"] = trace[-1]

    client.meta.events.register("before-call.lambda.Invoke", forward)
    for _ in range(16):
        trace.append(json.loads(client.invoke(FunctionName=name)["Payload"].read()))
    assert "Lineage=" in trace[-1]
    with pytest.raises(ClientError) as caught:
        client.invoke(FunctionName=name)
    assert caught.value.response["Error"]["Code"] == "RecursiveInvocationException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    trace.clear()  # a new chain runs again
    assert client.invoke(FunctionName=name)["StatusCode"] == 200


SLEEPER = "import time\n\ndef lambda_handler(event, context):\n    time.sleep(event['sleep'])\n    return 'slept'\n"


def _own_endpoint(tmp_path: Path, *options: str) -> tuple[subprocess.Popen, str, Path]:
    """A `build.py local` process of the test's own (it will be stopped), its URL and its log."""
    port = free_port()
    log = tmp_path / "endpoint.log"
    with log.open("w") as sink:
        process = start_endpoint(["build.py", "local", "--port", str(port), *options], REPO_ROOT, sink)
    url = f"http://127.0.0.1:{port}"
    _wait_until_up(url, process)
    return process, url, log


def _queue_sleepers(url: str, zip_of, count: int, sleep_s: float) -> str:
    """Deploy a function that sleeps `sleep_s`, warm it, and queue `count` Event invocations of it."""
    options = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": "t", "aws_secret_access_key": "t"}
    role = boto3.client("iam", **options).create_role(RoleName="drain", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client = boto3.client("lambda", **options)
    client.create_function(
        FunctionName="sleeper",
        Runtime="python3.12",
        Role=role,
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": zip_of(SLEEPER)},
    )
    client.get_waiter("function_active_v2").wait(
        FunctionName="sleeper", WaiterConfig=WAITER_POLL
    )  # Pending at first, as on AWS
    client.invoke(FunctionName="sleeper", Payload=b'{"sleep": 0}')
    for _ in range(count):
        client.invoke(FunctionName="sleeper", InvocationType="Event", Payload=json.dumps({"sleep": sleep_s}))
    return "sleeper"


@pytest.mark.stack  # slow end to end: its own build.py local, stopped with Ctrl-C
def test_ctrl_c_runs_the_queued_asynchronous_invocations_first(tmp_path: Path, zip_of) -> None:
    process, url, log = _own_endpoint(tmp_path)
    try:
        name = _queue_sleepers(url, zip_of, 20, 1.0)  # 5 s of work for 4 workers: some still queued at Ctrl-C
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    output = log.read_text()
    assert "queued asynchronous invocation(s)" in output, output
    assert output.count(f"{name} success") == 21, output  # the warm-up, then every queued one
    assert "dropped" not in output and "Traceback" not in output, output


@pytest.mark.stack  # slow end to end: its own build.py local, stopped with Ctrl-C
def test_ctrl_c_gives_up_after_the_drain_timeout_and_says_how_many_are_lost(tmp_path: Path, zip_of) -> None:
    process, url, log = _own_endpoint(tmp_path, "--drain-timeout", "0.5")
    try:
        _queue_sleepers(url, zip_of, 20, 0.5)
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    output = log.read_text()
    lost = re.search(r"stopped with (\d+) asynchronous invocation\(s\) not run or not finished: dropped", output)
    assert lost is not None and 0 < int(lost[1]) <= 20, output
    assert "Traceback" not in output, output  # stopped with invocations still running: nothing breaks


S3_WRITER = """
import uuid
import boto3

def lambda_handler(event, context):
    bucket = event["Records"][0]["s3"]["bucket"]["name"]
    boto3.client("s3").put_object(Bucket=bucket, Key=f"out/{uuid.uuid4()}", Body=b"x")
    return "wrote"
"""


@pytest.mark.stack  # slow end to end: 16 and more invocations through S3
def test_a_function_writing_to_the_bucket_that_triggers_it_is_stopped_after_16(
    embedded, deploy_function, wait_for
) -> None:
    function = deploy_function(S3_WRITER, Timeout=10)
    s3 = embedded.client("s3")
    bucket = f"loop-{function['FunctionName']}"
    s3.create_bucket(Bucket=bucket)
    embedded.client("lambda").add_permission(  # S3 refuses the notification without it, as on AWS
        FunctionName=function["FunctionName"],
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn=f"arn:aws:s3:::{bucket}",
    )
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": function["FunctionArn"], "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    s3.put_object(Bucket=bucket, Key="in/first", Body=b"x")
    assert _settled(embedded, wait_for, function["FunctionName"]) == [16]


CALLS_BACK = """
import boto3

def lambda_handler(event, context):
    return len(boto3.client("s3").list_buckets()["Buckets"])
"""


@pytest.mark.stack  # slow end to end: a burst of concurrent environments
def test_many_concurrent_invocations_calling_the_endpoint_back_all_finish(embedded, deploy_function) -> None:
    """40 synchronous invocations at once hold 40 server threads while 4 environments run; the functions' own
    calls to the endpoint must still find a thread (a smaller pool deadlocks until the functions time out)."""
    name = deploy_function(CALLS_BACK, Timeout=20)["FunctionName"]
    client = embedded.client(
        "lambda", config=Config(max_pool_connections=40, read_timeout=60, retries={"total_max_attempts": 1})
    )
    with ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(pool.map(lambda _: client.invoke(FunctionName=name), range(40)))
    assert [answer.get("FunctionError") for answer in answers] == [None] * 40


def test_headers_over_64_kb_are_refused(embedded) -> None:
    answer = _exchange(embedded.url, f"GET /moto-api/ HTTP/1.1\r\nHost: {embedded.url[7:]}\r\nX-Big: {'a' * 70000}")
    assert _status(answer) == 431, answer[:200]


def test_pipelined_requests_on_one_connection_are_answered_in_order(embedded) -> None:
    host, port = embedded.url.removeprefix("http://").split(":")
    request = f"GET /moto-api/ HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request * 3)
        received = b""
        while received.count(b"HTTP/1.1 200") < 3:
            chunk = sock.recv(65536)
            assert chunk, received[:300]
            received += chunk


def _pool_host(endpoint_pid: int) -> int:
    """The pid of the endpoint's pool host (lambdafleet.runtime.pool_host), its child."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if parent == endpoint_pid and b"lambdafleet.runtime.pool_host" in (entry / "cmdline").read_bytes():
                    return int(entry.name)
    raise AssertionError(f"endpoint {endpoint_pid} has no pool host")


@pytest.mark.stack  # slow end to end: its own build.py local, whose pool host is killed
def test_a_pool_host_that_died_is_replaced(tmp_path: Path, zip_of) -> None:
    """The functions' pools run in a child process of the endpoint: killed while idle, the next invocation runs in
    a new one (a cold start); killed during an invocation, that one fails as Lambda's ServiceException, the next
    runs. Nothing of it is a traceback."""
    process, url, log = _own_endpoint(tmp_path)
    try:
        name = _queue_sleepers(url, zip_of, 0, 0)
        options = {"region_name": "us-east-1", "aws_access_key_id": "t", "aws_secret_access_key": "t"}
        client = boto3.client("lambda", endpoint_url=url, config=Config(retries={"total_max_attempts": 1}), **options)
        first_host = _pool_host(process.pid)
        os.kill(first_host, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(first_host, 0)  # not ours to reap: the endpoint does; this only waits for it to end
        time.sleep(0.5)
        answer = client.invoke(FunctionName=name, Payload=b'{"sleep": 0}', LogType="Tail")
        assert answer["Payload"].read() == b'"slept"' and "FunctionError" not in answer
        assert "Init Duration" in base64.b64decode(answer["LogResult"]).decode()  # a cold start
        second_host = _pool_host(process.pid)
        assert second_host != first_host
        with ThreadPoolExecutor(max_workers=1) as pool:
            running = pool.submit(client.invoke, FunctionName=name, Payload=b'{"sleep": 3}')
            time.sleep(1.0)
            os.kill(second_host, signal.SIGKILL)
            with pytest.raises(ClientError) as lost:
                running.result(timeout=30)
        assert lost.value.response["Error"]["Code"] == "ServiceException"
        assert client.invoke(FunctionName=name, Payload=b'{"sleep": 0}')["Payload"].read() == b'"slept"'
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    assert "Traceback" not in log.read_text(), log.read_text()
