"""Which task root an image tag stands for, so the local endpoint runs image functions without Docker.

Terraform creates an image function with `ImageUri = <ECR repository>:<tag>`, where the tag is the digest of the
build context `build.py` wrote (manifest `image.tag`). The image is never built locally: its task root is the
image's `${LAMBDA_TASK_ROOT}` as a zip (manifest `image.task_zip`), run with the image's CMD. Every build records
each image function under its tag in the runtime cache (`.cache/lambdafleet/runtime/images/<tag>.json`), so an
endpoint started from any folder that shares the cache finds it by the tag alone.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from lambdafleet.build import atomic
from lambdafleet.build.manifest import FunctionEntry
from lambdafleet.build.paths import RUNTIMES_CACHE

IMAGES = "images"


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
