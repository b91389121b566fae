#!/usr/bin/env python3
"""Embedded endpoint soak (issue 12): RSS of `build.py local` under rounds of the malformed-request set, on loopback.

    python benchmarks/local_soak_bench.py [--rounds 200]

Each round sends, on new connections closed early: a chunked S3 PUT and a chunked Invoke announcing a chunk of
~4 PB, a 200 MB Invoke and a 500 MB S3 PUT with 64 KB sent, Content-Length beside Transfer-Encoding, 70 KB of
headers, and garbage. Prints the endpoint's RSS before, at its peak (sampled each round) and after, and whether it
still answers. Before the waitress server, the first request of the set alone grew the process until the kernel
killed it.
"""

import argparse
import contextlib
import io
import json
import socket
import sys
import time
import zipfile
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lambdafleet.testing.endpoint import start_build_py_local  # noqa: E402

OPTIONS = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
SIGNED = "Authorization: AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/lambda/aws4_request, Signature=x"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def _malformed(port: int) -> list[bytes]:
    host = f"127.0.0.1:{port}"
    invoke = f"POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nHost: {host}\r\n{SIGNED}"
    s3_put = f"PUT /soak-bucket/key HTTP/1.1\r\nHost: {host}"
    huge_chunk = b"fffffffffffff\r\n" + b"x" * 65536
    return [
        f"{s3_put}\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + huge_chunk,
        f"{invoke}\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + huge_chunk,
        f"{invoke}\r\nContent-Length: {200 * 1024**2}\r\n\r\n".encode() + b"x" * 65536,
        f"{s3_put}\r\nContent-Length: {500 * 1024**2}\r\n\r\n".encode() + b"x" * 65536,
        f"{invoke}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".encode(),
        f"GET / HTTP/1.1\r\nHost: {host}\r\nX-Big: {'a' * 70000}\r\n\r\n".encode(),
        b"\x00\x01garbage\r\n\r\n",
    ]


def _send_and_close(port: int, data: bytes) -> None:
    """Send `data`, end the connection's sending side early, and wait for the server to close it: the server has
    dealt with the request before the next is sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock, contextlib.suppress(OSError):
        sock.sendall(data)  # OSError: the server refused and closed first
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(65536):
            pass


def _deploy_echo(url: str) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("lambda_function.py", "def lambda_handler(event, context):\n    return event\n")
    role = boto3.client("iam", endpoint_url=url, **OPTIONS).create_role(RoleName="soak", AssumeRolePolicyDocument="{}")
    boto3.client("lambda", endpoint_url=url, **OPTIONS).create_function(
        FunctionName="echo",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": archive.getvalue()},
    )
    boto3.client("lambda", endpoint_url=url, **OPTIONS).get_waiter("function_active_v2").wait(FunctionName="echo")
    boto3.client("s3", endpoint_url=url, **OPTIONS).create_bucket(Bucket="soak-bucket")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    url, server = start_build_py_local(ROOT)
    port = int(url.rsplit(":", 1)[1])
    try:
        _deploy_echo(url)
        requests = _malformed(port)
        for data in requests:  # first-use allocations are not growth
            _send_and_close(port, data)
        time.sleep(0.5)
        before = peak = _rss_mb(server.pid)
        started = time.monotonic()
        for _ in range(args.rounds):
            for data in requests:
                _send_and_close(port, data)
            peak = max(peak, _rss_mb(server.pid))
        elapsed = time.monotonic() - started
        time.sleep(1)
        after = _rss_mb(server.pid)
        answers = boto3.client("lambda", endpoint_url=url, **OPTIONS).invoke(FunctionName="echo", Payload=b'{"a":1}')
        answer = answers["Payload"].read()
        still_answers = json.loads(answer) == {"a": 1}
        if not still_answers:
            print(f"unexpected answer: {answers.get('FunctionError')} {answer[:300]!r}", file=sys.stderr)
    finally:
        server.terminate()
        server.wait(timeout=30)
    figures = {
        "requests": args.rounds * len(requests),
        "seconds": round(elapsed, 1),
        "RSS before MB": round(before, 1),
        "RSS peak MB": round(peak, 1),
        "RSS after MB": round(after, 1),
        "still answers": still_answers,
    }
    print(json.dumps(figures))
    print(
        f"{figures['requests']} malformed requests: RSS {before:.0f} MB -> peak {peak:.0f} MB -> {after:.0f} MB "
        f"(grew {after - before:+.0f} MB); endpoint still answers: {still_answers}"
    )
    return 0 if still_answers else 1


if __name__ == "__main__":
    sys.exit(main())
