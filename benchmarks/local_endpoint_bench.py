#!/usr/bin/env python3
"""Embedded endpoint figures beside their floors (issue 18): warm boto3 Invoke latency, and an HTTP API route
under 8 concurrent keep-alive clients.

    python benchmarks/local_endpoint_bench.py [--invokes 400] [--clients 8] [--requests 200]

Starts `build.py local` on a free loopback port and a bare `http.server` (HTTP/1.1, answering a fixed body, with
the endpoint's listen backlog) as the floor; each measurement runs against both in the same run, and the ratio is
printed. Goals: Invoke p50 <= 3 ms;
8 clients >= 0.9x the floor's requests per second with p99 <= 15 ms; no `Connection: close` on the route.
"""

import argparse
import http.client
import http.server
import io
import json
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _stats import median, percentile  # noqa: E402

from lambdafleet.testing.endpoint import _wait_until_up, free_port, start_build_py_local  # noqa: E402

HANDLER = "def lambda_handler(event, context):\n    return {'statusCode': 200, 'body': 'pong'}\n"
TRUST = {
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
}
OPTIONS = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}


class _FloorServer(http.server.ThreadingHTTPServer):
    """The floor's server. The standard library's backlog of 5 made 2 or 3 of the 8 clients' connections wait for a
    SYN retransmission (1 s) in most runs, so the floor's figure was mostly that second (~1,500 req/s instead of
    5,000-8,000): it listens with the endpoint's backlog instead."""

    request_queue_size = 1024


class _Bare(http.server.BaseHTTPRequestHandler):
    """The floor: the standard library's server answering a fixed JSON body, keep-alive."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    body = b'{"statusCode": 200, "body": "pong"}'

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


def _deploy(url: str) -> str:
    """A function `ping` behind GET /ping on a $default stage; returns the API id."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("lambda_function.py", HANDLER)
    role = boto3.client("iam", endpoint_url=url, **OPTIONS).create_role(
        RoleName="bench", AssumeRolePolicyDocument=json.dumps(TRUST)
    )
    function = boto3.client("lambda", endpoint_url=url, **OPTIONS).create_function(
        FunctionName="ping",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": archive.getvalue()},
    )
    boto3.client("lambda", endpoint_url=url, **OPTIONS).get_waiter("function_active_v2").wait(FunctionName="ping")
    gateway = boto3.client("apigatewayv2", endpoint_url=url, **OPTIONS)
    api_id = gateway.create_api(Name="bench", ProtocolType="HTTP")["ApiId"]
    integration = gateway.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=function["FunctionArn"], PayloadFormatVersion="2.0"
    )
    gateway.create_route(ApiId=api_id, RouteKey="GET /ping", Target=f"integrations/{integration['IntegrationId']}")
    gateway.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    return api_id


def _invoke_latencies(url: str, count: int) -> list[float]:
    """Milliseconds per boto3 Invoke of `ping` (one client, its pooled keep-alive connection), after 30 warm-ups."""
    client = boto3.client("lambda", endpoint_url=url, **OPTIONS)
    samples = []
    for index in range(count + 30):
        started = time.perf_counter()
        client.invoke(FunctionName="ping", Payload=b"{}")["Payload"].read()
        if index >= 30:
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def _concurrent(port: int, path: str, clients: int, per_client: int) -> dict[str, Any]:
    """`clients` threads, each with one keep-alive connection, GET `path` `per_client` times; requests per second,
    p50/p99 ms and how many responses said Connection: close."""
    latencies: list[float] = []
    closes = [0]
    mutex = threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        barrier.wait()
        for _ in range(per_client):
            started = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            if response.getheader("Connection", "").lower() == "close":
                with mutex:
                    closes[0] += 1
        connection.close()
        with mutex:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "req/s": round(len(latencies) / elapsed),
        "p50 ms": round(median(latencies), 2),
        "p99 ms": round(percentile(latencies, 0.99), 2),
        "Connection: close": closes[0],
    }


def _runtime_floor(clients: int, per_client: int) -> dict[str, Any]:
    """The same function run by the local runtime directly from `clients` threads, no HTTP at all: what any
    server in front of it must pay (the function runs in its own process). Four environments, as the endpoint's."""
    from lambdafleet.build.paths import cache_root
    from lambdafleet.runtime import FunctionPool, FunctionSpec

    with tempfile.TemporaryDirectory() as folder:
        zip_path = Path(folder) / "ping.zip"
        with zipfile.ZipFile(zip_path, "w") as zipped:
            zipped.writestr("lambda_function.py", HANDLER)
        spec = FunctionSpec(name="ping", runtime="python3.12", handler="lambda_function.lambda_handler")
        pool = FunctionPool(spec, zip_path, cache_dir=cache_root(ROOT), max_environments=4)
        try:
            latencies: list[float] = []
            mutex = threading.Lock()

            def client(count: int) -> None:
                mine = []
                for _ in range(count):
                    started = time.perf_counter()
                    pool.invoke(payload=b"{}")
                    mine.append((time.perf_counter() - started) * 1000)
                with mutex:
                    latencies.extend(mine)

            warm = [threading.Thread(target=client, args=(10,)) for _ in range(clients)]
            for thread in warm:
                thread.start()
            for thread in warm:
                thread.join()
            latencies.clear()
            threads = [threading.Thread(target=client, args=(per_client,)) for _ in range(clients)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
        finally:
            pool.close()
    return {
        "req/s": round(len(latencies) / elapsed),
        "p50 ms": round(median(latencies), 2),
        "p99 ms": round(percentile(latencies, 0.99), 2),
    }


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks (100 Hz)


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds of `pid` and every live process under it (the endpoint's function environments), plus what its
    ended children used."""
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended since the listing
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / 100
    tree, grew = {pid}, True
    while grew:
        below = {child for child, parent in parents.items() if parent in tree} - tree
        tree |= below
        grew = bool(below)
    return sum(used.get(member, 0.0) for member in tree)


def _pool_host_pid(server_pid: int) -> int | None:
    """The endpoint's pool host (lambdafleet.runtime.pool_host), whose CPU is the functions' pools' share."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == server_pid and b"lambdafleet.runtime.pool_host" in (entry / "cmdline").read_bytes():
                return int(entry.name)
        except OSError:
            continue  # ended since the listing
    return None


def _all_cpu_ms(server_pid: int, run: Callable[[], dict[str, Any]], requests: int) -> dict[str, Any]:
    """`run`'s figures plus the CPU per request of every process it takes: the server's process tree and this one
    (the clients), so a route and its floor compare in what the 2 cores must do for one request."""
    before = _tree_cpu_s(server_pid) + time.process_time()
    figures = run()
    figures["all processes CPU ms"] = round(
        (_tree_cpu_s(server_pid) + time.process_time() - before) * 1000 / requests, 2
    )
    return figures


def _measure(label: str, run: Callable[[], Any]) -> Any:
    print(f"... {label}", file=sys.stderr, flush=True)
    return run()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invokes", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=200, help="per client")
    parser.add_argument("--serve-floor", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the floor's process
    args = parser.parse_args()
    if args.serve_floor is not None:
        _FloorServer(("127.0.0.1", args.serve_floor), _Bare).serve_forever()
        return 0
    bare_port = free_port()
    bare_url = f"http://127.0.0.1:{bare_port}"
    # Its own process, as the endpoint is: in this one it would share the clients' interpreter lock.
    bare = subprocess.Popen([sys.executable, __file__, "--serve-floor", str(bare_port)])
    url, server = start_build_py_local(ROOT)
    port = int(url.rsplit(":", 1)[1])
    try:
        _wait_until_up(bare_url, bare)
        path = f"/_api/{_deploy(url)}/ping"
        cpu_before = _cpu_s(server.pid)
        invoke = _measure("Invoke", lambda: _invoke_latencies(url, args.invokes))
        cpu_per_invoke_ms = (_cpu_s(server.pid) - cpu_before) * 1000 / (args.invokes + 30)
        # boto3 signs and parses the same way against the floor: Invoke's path is just another POST there.
        floor = _measure("Invoke floor", lambda: _invoke_latencies(bare_url, args.invokes))
        _concurrent(port, path, args.clients, 20)  # warm every environment the clients will use
        host = _pool_host_pid(server.pid)
        cpu_before = _cpu_s(server.pid)
        host_before = _cpu_s(host) if host else 0.0
        total = args.clients * args.requests
        routed = _measure(
            "HTTP route",
            lambda: _all_cpu_ms(server.pid, lambda: _concurrent(port, path, args.clients, args.requests), total),
        )
        routed["endpoint CPU ms"] = round((_cpu_s(server.pid) - cpu_before) * 1000 / total, 2)
        if host:
            routed["pool host CPU ms"] = round((_cpu_s(host) - host_before) * 1000 / total, 2)
        bare_routed = _measure(
            "HTTP floor",
            lambda: _all_cpu_ms(bare.pid, lambda: _concurrent(bare_port, path, args.clients, args.requests), total),
        )
        runtime_floor = _measure("runtime floor", lambda: _runtime_floor(args.clients, args.requests))
    finally:
        server.terminate()
        server.wait(timeout=30)
        bare.terminate()
        bare.wait(timeout=30)
    figures = {
        "invoke p50 ms": round(median(invoke), 2),
        "invoke p99 ms": round(percentile(invoke, 0.99), 2),
        "invoke endpoint CPU ms": round(cpu_per_invoke_ms, 2),
        "invoke floor p50 ms": round(median(floor), 2),
        f"route x{args.clients}": routed,
        f"route floor x{args.clients}": bare_routed,
        f"runtime floor x{args.clients}": runtime_floor,
    }
    print(json.dumps(figures))
    ratio = routed["req/s"] / bare_routed["req/s"]
    print(
        f"boto3 Invoke warm p50 {figures['invoke p50 ms']} ms (floor {figures['invoke floor p50 ms']} ms, "
        f"{median(invoke) / median(floor):.2f}x; goal <= 3 ms)"
    )
    print(
        f"HTTP route, {args.clients} clients: {routed['req/s']} req/s = {ratio:.2f}x the floor's {bare_routed['req/s']}"
        f" (goal >= 0.9x), p99 {routed['p99 ms']} ms (goal <= 15 ms), Connection: close on "
        f"{routed['Connection: close']} responses (goal 0)"
    )
    print(
        f"  CPU per request, all processes (clients, server, function environments): route "
        f"{routed['all processes CPU ms']} ms, floor {bare_routed['all processes CPU ms']} ms "
        f"({routed['all processes CPU ms'] / bare_routed['all processes CPU ms']:.2f}x)"
    )
    print(
        f"  the function alone, run by the local runtime from {args.clients} threads without HTTP: "
        f"{runtime_floor['req/s']} req/s; the endpoint reaches {routed['req/s'] / runtime_floor['req/s']:.2f}x of that"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
