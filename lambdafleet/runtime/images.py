"""Which task root an image tag stands for, so the local endpoint runs image functions without Docker.

Terraform creates an image function with `ImageUri = <ECR repository>:<tag>`, where the tag is the digest of the
build context `build.py` wrote (manifest `image.tag`). The image is never built locally: its task root is the
image's `${LAMBDA_TASK_ROOT}` as a zip (manifest `image.task_zip`), run with the image's CMD. Every build records
each image function under its tag in the runtime cache (`.cache/lambdafleet/runtime/images/<tag>.json`), so an
endpoint started from any folder that shares the cache finds it by the tag alone.
"""

import json
import shlex
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from lambdafleet.build import atomic
from lambdafleet.build.manifest import FunctionEntry
from lambdafleet.build.paths import RUNTIMES_CACHE
from lambdafleet.runtime.spec import StartFailure

IMAGES = "images"
# The ENTRYPOINT of AWS's Python base images, which build.py's Dockerfiles keep: it execs the runtime interface
# client with its one argument as the handler, and otherwise prints this and exits 142.
LAMBDA_ENTRYPOINT = "/lambda-entrypoint.sh"
ENTRYPOINT_USAGE = "entrypoint requires the handler name to be the first argument"
_PYTHON_FOLDERS = ("", "/var/lang/bin")  # the base images' Python: on PATH, or named by its path


@dataclass(frozen=True)
class ImageTask:
    """An image build's task root and the configuration its Dockerfile gives it."""

    function: str
    task_zip: str  # absolute path
    task_sha256: str | None  # None: from a manifest written before it was recorded
    command: list[str]  # the image's CMD: the handler
    runtime: str  # the base image's Python
    architecture: str


def _index(cache_dir: Path, tag: str) -> Path:
    return cache_dir / RUNTIMES_CACHE / IMAGES / f"{tag}.json"


def register(cache_dir: Path, entry: FunctionEntry, out_dir: Path) -> None:
    """Record an image function's build under its tag (nothing for a zip function or an image without task zip)."""
    image = entry["image"]
    if image is None or "task_zip" not in image:
        return
    task = ImageTask(
        function=entry["name"],
        task_zip=str((out_dir / image["task_zip"]).resolve()),
        task_sha256=image.get("task_sha256"),
        command=list(image["command"]),
        runtime=entry["runtime"],
        architecture=entry["architecture"],
    )
    text = json.dumps(asdict(task), sort_keys=True)
    path = _index(cache_dir, image["tag"])
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass
    atomic.write_text(path, text)


def find(cache_dir: Path, image_uri: str) -> ImageTask | None:
    """The build behind `image_uri` (`<repository>:<tag>`), if one was recorded in this cache."""
    repository, _, tag = image_uri.rpartition(":")
    if not repository or "/" in tag or not tag.isalnum():
        return None  # no tag (a digest reference, or none at all): nothing built here is named so
    try:
        return ImageTask(**json.loads(_index(cache_dir, tag).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def start(task: ImageTask, entry_point: Sequence[str], command: Sequence[str]) -> tuple[str, StartFailure | None]:
    """How the image starts with ImageConfig's `entry_point` and `command` (each empty: the image's own, the base
    image's ENTRYPOINT and the Dockerfile's CMD): the handler the runtime interface client gets, or, when the
    entrypoint would not start it here, what happens instead (StartFailure).

    Without Docker only two entrypoints can run: the base image's, and the runtime interface client itself
    (`python3 -m awslambdaric`, as images built on other bases start it). Anything else fails the init phase with
    Runtime.InvalidEntrypoint rather than run the function with other settings than its own.
    """
    entry = list(entry_point) or [LAMBDA_ENTRYPOINT]
    arguments = [*entry[1:], *(command or task.command)]  # Docker passes the CMD after the ENTRYPOINT's own
    if entry[0] == LAMBDA_ENTRYPOINT:
        if len(arguments) != 1:
            return "", StartFailure(ENTRYPOINT_USAGE, exit_code=142)
        return arguments[0], None
    if _runs_the_client(entry, task.runtime):
        handler_arguments = arguments[2:]  # after `-m awslambdaric`
        if not handler_arguments:  # as awslambdaric's own check words it, on the traceback's last line
            return "", StartFailure("ValueError: Handler not set", exit_code=1)
        return handler_arguments[0], None
    message = (
        f"cannot run the entrypoint {shlex.join(entry)} without Docker: lambdafleet runs only the base image's "
        f"{LAMBDA_ENTRYPOINT} or python3 -m awslambdaric (the runtime interface client)"
    )
    return "", StartFailure(message, error_type="Runtime.InvalidEntrypoint")


def _runs_the_client(entry: list[str], runtime: str) -> bool:
    """Whether `entry` starts the runtime interface client with the base image's Python (`runtime`, python3.X)."""
    folder, _, name = entry[0].rpartition("/")
    pythons = ("python", "python3", runtime)
    return folder in _PYTHON_FOLDERS and name in pythons and entry[1:3] == ["-m", "awslambdaric"]
