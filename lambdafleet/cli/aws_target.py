"""Where commands that read a deployment look: the local endpoint by default, AWS itself with --aws.

Shared by the commands that read deployed resources (`logs`, `verify`), so each answers the same way about
endpoints, credentials and AWS errors.
"""

import argparse
import os
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from lambdafleet import DEFAULT_NAME_PREFIX
from lambdafleet.errors import UserError

DEFAULT_ENDPOINT = "http://127.0.0.1:4566"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--prefix, --endpoint-url | --aws, --region."""
    parser.add_argument(
        "--prefix", default=DEFAULT_NAME_PREFIX, help=f"name prefix of the deployment (default {DEFAULT_NAME_PREFIX})"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT,
        help=f"AWS endpoint (default: $AWS_ENDPOINT_URL, else {DEFAULT_ENDPOINT})",
    )
    where.add_argument(
        "--aws", action="store_true", help="read AWS itself: your credentials (AWS_PROFILE...), no endpoint override"
    )
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION") or "us-east-1", help="AWS region")


def check_endpoint(args: argparse.Namespace) -> None:
    """Refuse an endpoint that is not an http(s) URL before any call."""
    if args.aws:
        return
    url = urllib.parse.urlsplit(args.endpoint_url)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise UserError(f"--endpoint-url {args.endpoint_url!r} (or AWS_ENDPOINT_URL): not an http(s) URL")


def client_factory(args: argparse.Namespace) -> Callable[[str], Any]:
    """A function making boto3 clients for the chosen target; emulators get fake keys when none are set."""
    import boto3  # slow to import: only the commands that read a deployment pay for it
    import botocore.session

    core = botocore.session.Session()
    options: dict[str, Any] = {}
    if args.aws:
        # boto3 would otherwise follow AWS_ENDPOINT_URL, which usually names the local endpoint.
        core.set_config_variable("ignore_configured_endpoint_urls", True)
    else:
        options["endpoint_url"] = args.endpoint_url
    session = boto3.Session(botocore_session=core, region_name=args.region)
    if session.get_credentials() is None:
        if args.aws:
            raise UserError("--aws: no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and its secret)")
        options |= {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
    return lambda service: session.client(service, **options)


@contextmanager
def aws_errors(args: argparse.Namespace, subject: str) -> Iterator[None]:
    """AWS and connection failures as one-line user errors naming `subject`."""
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    try:
        yield
    except EndpointConnectionError as error:
        if args.aws:
            raise UserError(f"--aws: {error}") from None
        raise UserError(
            f"{args.endpoint_url} (the local endpoint; --endpoint-url or AWS_ENDPOINT_URL name another, --aws reads "
            "AWS): nothing answers (start it: python build.py local)"
        ) from None
    except ClientError as error:
        details = error.response.get("Error", {})
        code = details.get("Code") or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = " ".join(str(details.get("Message") or "").split())[:200]
        raise UserError(f"{subject}: {error.operation_name} failed: {code} {message}".rstrip()) from None
    except BotoCoreError as error:  # a missing profile, unreadable config, bad region...
        raise UserError(f"AWS configuration (AWS_PROFILE, --region): {error}") from None
