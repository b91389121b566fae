"""Container-image packaging: a deterministic Docker build context for each `package_type = "image"` function.

`build/<name>.image/` holds a Dockerfile FROM AWS's Lambda Python base image, the function's lock (installed
with `pip --require-hashes --target ${LAMBDA_TASK_ROOT}` inside the build) and its sources under `function/`.
Every file gets a fixed mode and timestamp, so equal inputs give byte-identical contexts. The context's
digest is the image tag: a changed function gets a new image URI, an unchanged one keeps it.
"""

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from lambdafleet.build.archive import entries_under
from lambdafleet.build.manifest import FunctionEntry

if TYPE_CHECKING:
    from lambdafleet.build.plan import Plan

BASE_IMAGE = "public.ecr.aws/lambda/python"
PLATFORMS = {"x86_64": "linux/amd64", "arm64": "linux/arm64"}
CODE_DIR = "function"
LOCK_NAME = "requirements.txt"
FIXED_MTIME = 315_532_800  # 1980-01-01T00:00:00Z, the zips' timestamp too


def context_dir(out_dir: Path, name: str) -> Path:
    """Where the build context of function `name` is written."""
    return out_dir / f"{name}.image"


def dockerfile(plan: "Plan") -> str:
    """The Dockerfile text for `plan`: dependencies first, so code edits reuse the cached pip layer."""
    lines = [
        f"# Written by build.py from functions/{plan.name}/; edit the function, not this file.",
        f"FROM {base_image(plan)}",
    ]
    if plan.lock:
        lines += [
            f"COPY {LOCK_NAME} /tmp/{LOCK_NAME}",
            f"RUN pip install --no-cache-dir --require-hashes --only-binary=:all: -r /tmp/{LOCK_NAME}"
            ' --target "${LAMBDA_TASK_ROOT}" && rm /tmp/' + LOCK_NAME,
        ]
    lines += [f"COPY {CODE_DIR}/ ${{LAMBDA_TASK_ROOT}}/", f'CMD ["{plan.config.handler}"]']
    return "\n".join(lines) + "\n"


def base_image(plan: "Plan") -> str:
    """The AWS base image for the function's runtime, e.g. public.ecr.aws/lambda/python:3.12."""
    return f"{BASE_IMAGE}:{plan.target.python_version}"


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.chmod(path, mode)


def _populate(folder: Path, plan: "Plan") -> None:
    _write(folder / "Dockerfile", dockerfile(plan).encode())
    if plan.lock:
        _write(folder / LOCK_NAME, plan.lock.path.read_bytes())
    for entry in plan.sources:
        _write(folder / CODE_DIR / entry.name, entry.path.read_bytes(), 0o755 if entry.executable else 0o644)
    # Everything is written by now: setting times cannot be undone by a later write.
    for path in (folder, *folder.rglob("*")):
        if path.is_dir():
            os.chmod(path, 0o755)
        os.utime(path, (FIXED_MTIME, FIXED_MTIME))


def context_digest(folder: Path) -> str:
    """SHA-256 over every file's path, mode and bytes below `folder`: equal contexts, equal digests."""
    digest = hashlib.sha256()
    for entry in entries_under(folder):
        digest.update(f"{entry.name}\0{entry.executable}\0".encode())
        digest.update(entry.path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _replace_dir(new: Path, final: Path) -> None:
    # A folder cannot be renamed over a non-empty one: move the old one aside first, then drop it.
    if final.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old.", dir=final.parent))
        os.replace(final, old / "context")
        os.replace(new, final)
        shutil.rmtree(old)
    else:
        os.replace(new, final)


def build_image_context(plan: "Plan", out_dir: Path) -> FunctionEntry:
    """Write `out_dir/<name>.image/` atomically and return the function's manifest entry."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{plan.name}.image.", dir=out_dir))
    try:
        _populate(tmp, plan)
        digest = context_digest(tmp)
        _replace_dir(tmp, context_dir(out_dir, plan.name))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        **plan.config.to_manifest(),
        "zip": None,
        "size": None,
        "unzipped_size": None,
        "sha256": None,
        "source_code_hash": None,
        "build_key": plan.key,
        "sbom": None,
        "s3": None,
        "image": {
            "context": context_dir(out_dir, plan.name).name,
            "base_image": base_image(plan),
            "platform": PLATFORMS[plan.config.architecture],
            "command": [plan.config.handler],
            "sha256": digest,
            "tag": digest,
        },
    }
