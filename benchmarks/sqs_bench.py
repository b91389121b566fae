#!/usr/bin/env python3
"""Local SQS event source figures: throughput end to end, and the latency from SendMessage to the handler.

    python benchmarks/sqs_bench.py [--messages 2000] [--latency-samples 200]

Starts `build.py local` on a free loopback port, deploys a function reading a queue through an event source
mapping (batch size 10, no batching window), as Terraform would with boto3. Latency: messages sent one at a time,
each carrying its send time; the handler notes when it started on it. Throughput: `--messages` sent in batches of 10
as fast as one client can, timed until the handler has seen every one.
Goal (issue 15): latency p50 < 50 ms with no batching window.
"""

import argparse
import io
import json
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _stats import median, percentile  # noqa: E402

from lambdafleet.testing.endpoint import start_build_py_local  # noqa: E402

# Reports, per batch, how long after its send each message reached the handler (ms) on a results queue.
HANDLER = """
import json, os, time, boto3
sqs = boto3.client("sqs")

def lambda_handler(event, context):
    now = time.time()
    seen = [(json.loads(r["body"])["n"], (now - json.loads(r["body"])["t"]) * 1000) for r in event["Records"]]
    sqs.send_message(QueueUrl=os.environ["RESULTS"], MessageBody=json.dumps(seen))
"""
TRUST = {
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
}


def _clients(url: str) -> dict[str, Any]:
    options = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    return {name: boto3.client(name, **options) for name in ("iam", "lambda", "sqs")}


def _deploy(clients: dict[str, Any]) -> tuple[str, str]:
    """The work queue and the results queue, with the function reading the first; returns their URLs."""
    sqs = clients["sqs"]
    work = sqs.create_queue(QueueName="bench-work")["QueueUrl"]
    results = sqs.create_queue(QueueName="bench-results")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=work, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("lambda_function.py", HANDLER)
    role = clients["iam"].create_role(RoleName="bench", AssumeRolePolicyDocument=json.dumps(TRUST))
    clients["lambda"].create_function(
        FunctionName="bench",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": archive.getvalue()},
        Timeout=30,
        Environment={"Variables": {"RESULTS": results}},
    )
    clients["lambda"].create_event_source_mapping(
        EventSourceArn=arn, FunctionName="bench", BatchSize=10, ScalingConfig={"MaximumConcurrency": 4}
    )
    return work, results


def _collect(sqs: Any, results: str, wanted: set[int], timeout: float = 300) -> dict[int, float]:
    """Latency per message number, once the handler has seen every number in `wanted`."""
    seen: dict[int, float] = {}
    deadline = time.monotonic() + timeout
    while not wanted <= seen.keys():
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(wanted & seen.keys())} of {len(wanted)} messages reached the handler")
        for message in sqs.receive_message(QueueUrl=results, MaxNumberOfMessages=10).get("Messages", []):
            for number, latency in json.loads(message["Body"]):
                seen.setdefault(number, latency)
            sqs.delete_message(QueueUrl=results, ReceiptHandle=message["ReceiptHandle"])
    return seen


def _send(sqs: Any, work: str, numbers: range) -> None:
    for start in range(numbers.start, numbers.stop, 10):
        entries = [
            {"Id": str(n), "MessageBody": json.dumps({"n": n, "t": time.time()})}
            for n in range(start, min(start + 10, numbers.stop))
        ]
        sqs.send_message_batch(QueueUrl=work, Entries=entries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--latency-samples", type=int, default=200)
    args = parser.parse_args()
    url, server = start_build_py_local(ROOT)
    try:
        clients = _clients(url)
        sqs = clients["sqs"]
        work, results = _deploy(clients)
        for n in range(20):  # warm the environments and the pollers
            sqs.send_message(QueueUrl=work, MessageBody=json.dumps({"n": -1 - n, "t": time.time()}))
        _collect(sqs, results, set(range(-20, 0)))
        latencies = []
        for n in range(args.latency_samples):
            sqs.send_message(QueueUrl=work, MessageBody=json.dumps({"n": n, "t": time.time()}))
            latencies.append(_collect(sqs, results, {n})[n])
        first = 100_000
        start = time.perf_counter()
        _send(sqs, work, range(first, first + args.messages))
        _collect(sqs, results, set(range(first, first + args.messages)))
        elapsed = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=30)
    latencies.sort()
    figures = {
        "latency p50 ms": round(median(latencies), 1),
        "latency p99 ms": round(percentile(latencies, 0.99), 1),
        "latency samples": len(latencies),
        "messages": args.messages,
        "throughput messages/s": round(args.messages / elapsed, 1),
    }
    print(json.dumps(figures))
    print(
        f"SendMessage -> handler: p50 {figures['latency p50 ms']} ms, p99 {figures['latency p99 ms']} ms "
        f"(goal p50 < 50 ms); {args.messages} messages end to end: {figures['throughput messages/s']} messages/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
