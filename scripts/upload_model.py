#!/usr/bin/env python3
"""Put models/iris.npz into the applied local stack's `models` bucket, where predict reads it (boto3: no AWS CLI).

    python scripts/upload_model.py [--endpoint-url http://127.0.0.1:4566]

The bucket's name comes from `terraform -chdir=infra/envs/local output -json bucket_names`.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lambdafleet.dev.stack import LOCAL_ENV, upload_model  # noqa: E402  (needs ROOT on sys.path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("AWS_ENDPOINT_URL") or "http://127.0.0.1:4566"
    parser.add_argument(
        "--endpoint-url", default=default, help="the endpoint (default $AWS_ENDPOINT_URL or %(default)s)"
    )
    args = parser.parse_args()
    command = ["terraform", f"-chdir={ROOT / LOCAL_ENV}", "output", "-json", "bucket_names"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        print(f"error: {' '.join(command[:3])} output failed (applied yet?): {result.stderr.strip()}", file=sys.stderr)
        return 2
    where = upload_model(ROOT, args.endpoint_url, {"bucket_names": json.loads(result.stdout)})
    if where is None:
        print("error: the stack has no models bucket, or models/iris.npz is missing", file=sys.stderr)
        return 2
    print(where)
    return 0


if __name__ == "__main__":
    sys.exit(main())
