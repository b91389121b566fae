"""`build.py push NAME`: build an image function's container image and push it to ECR."""

import argparse

from lambdafleet import DEFAULT_NAME_PREFIX
from lambdafleet.cli import Commands


def _run(args: argparse.Namespace) -> int:
    from lambdafleet.build.push import push  # boto3 is slow to import: only `push` itself pays for it

    print(push(args.root, args.name, args.repository, args.prefix))
    return 0


def register(subparsers: Commands) -> None:
    """Add the push command."""
    parser = subparsers.add_parser(
        "push", help="build an image function's container image with Docker and push it to ECR"
    )
    parser.add_argument("name", metavar="NAME", help='a function with package_type = "image"')
    parser.add_argument(
        "--repository",
        metavar="URL",
        help="repository to push to (default: <account>.dkr.ecr.<region>.amazonaws.com/<prefix><name>, "
        "lower case: the one infra/ creates)",
    )
    parser.add_argument(
        "--prefix",
        default=DEFAULT_NAME_PREFIX,
        help=f"name_prefix of the Terraform deployment, for the default repository (default {DEFAULT_NAME_PREFIX})",
    )
    parser.set_defaults(run=_run)
