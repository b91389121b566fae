"""Build an image function's container image with Docker and push it to its ECR repository.

The image is tagged with the build context's digest (the manifest's `image.tag`), so Terraform can
compute the function's `image_uri` from the manifest alone, before or after the push.
"""

import base64
import re
import shutil
import subprocess
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from lambdafleet.api import build_functions
from lambdafleet.build.image import context_dir
from lambdafleet.build.paths import build_dir
from lambdafleet.build.project import FUNCTIONS_DIR, load_project
from lambdafleet.errors import BuildError, UserError

ECR_HOST = re.compile(r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com")
DOCKER_CHECK_SECONDS = 30


def require_docker() -> str:
    """Path of a `docker` command whose engine answers; UserError saying a Docker engine is needed otherwise."""
    docker = shutil.which("docker")
    if docker is None:
        raise UserError(
            "push needs a Docker engine to build the image, and no 'docker' command is on PATH; "
            "install Docker (the build context in build/<name>.image/ can also be built on any machine that has it)"
        )
    try:
        answer = subprocess.run(
            [docker, "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=DOCKER_CHECK_SECONDS,
        )
    except subprocess.TimeoutExpired:
        raise UserError(
            f"push needs a Docker engine, and {docker} got no answer from one within {DOCKER_CHECK_SECONDS} s"
        ) from None
    if answer.returncode != 0:
        reason = (answer.stderr.strip().splitlines() or ["no reason given"])[-1]
        raise UserError(f"push needs a Docker engine, and none answered '{docker} version': {reason}")
    return docker


def default_repository(name: str, prefix: str) -> str:
    """The URL of the ECR repository infra/ creates for the function (prefix + name, lower case), in the
    current AWS account and region."""
    session = boto3.session.Session()
    if not session.region_name:
        raise UserError("push: no AWS region configured; set AWS_REGION or pass --repository")
    try:
        account = session.client("sts").get_caller_identity()["Account"]
    except (BotoCoreError, ClientError) as exc:
        raise UserError(
            f"push: cannot tell the AWS account ({exc}); configure credentials or pass --repository"
        ) from None
    return f"{account}.dkr.ecr.{session.region_name}.amazonaws.com/{(prefix + name).lower()}"


def _docker(docker: str, *args: str, stdin: str | None = None) -> None:
    # Docker's own progress goes straight to the terminal: a failed build explains itself there.
    result = subprocess.run([docker, *args], input=stdin, text=True)
    if result.returncode != 0:
        raise BuildError(f"'docker {args[0]}' failed with exit code {result.returncode} (its output is above)")


def _login(docker: str, registry: str) -> None:
    host = ECR_HOST.fullmatch(registry)
    if host is None:
        return  # not ECR: rely on the user's own `docker login`
    try:
        data = boto3.client("ecr", region_name=host["region"]).get_authorization_token()["authorizationData"][0]
    except (BotoCoreError, ClientError) as exc:
        raise UserError(f"push: cannot get an ECR login for {registry}: {exc}") from None
    user, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
    _docker(docker, "login", "--username", user, "--password-stdin", registry, stdin=password)


def push(root: Path, name: str, repository: str | None, prefix: str) -> str:
    """Build `name`'s context, then its image, push it, and return the pushed image reference.

    Without `repository`, push to the ECR repository of a deployment whose name_prefix is `prefix`.
    """
    config = load_project(root).select([name])[0]
    if config.package_type != "image":
        raise UserError(
            f"{FUNCTIONS_DIR}/{name}/function.toml: key 'package_type': is {config.package_type!r}; "
            'push is for image functions (package_type = "image")'
        )
    docker = require_docker()
    image = build_functions(root, [name])[name]["image"]
    assert image is not None  # the entry of a package_type "image" function
    reference = f"{repository or default_repository(name, prefix)}:{image['tag']}"
    _login(docker, reference.split("/", 1)[0])
    context = context_dir(build_dir(root), name)
    _docker(docker, "build", "--platform", image["platform"], "--tag", reference, str(context))
    _docker(docker, "push", reference)
    return reference
