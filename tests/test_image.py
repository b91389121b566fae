"""`package_type = "image"`: build/<name>.image/ is deterministic, complete, and recorded in the manifest."""

import os
import shutil
import stat
from pathlib import Path

import boto3
import pytest

IMAGE_TOML = 'package_type = "image"\n'
LOCK = "six-python3.12-x86_64.txt"
FILES = {
    "lambda_function.py": "from helpers import util\n\ndef lambda_handler(event, context):\n    return util.run()\n",
    "helpers/__init__.py": "",
    "helpers/util.py": "def run(event=None, context=None):\n    return 1\n",
    "bin/tool.sh": "#!/bin/sh\necho tool\n",
    "tests/test_it.py": "def test_it():\n    pass\n",
    ".env": "SECRET=1\n",
}


def _image_function(workspace, config: str = IMAGE_TOML, lock: str | None = LOCK) -> Path:
    folder = workspace.add_function("img", config=config, files=FILES)
    os.chmod(folder / "bin/tool.sh", 0o755)
    if lock:
        (folder / "requirements.in").write_text("six\n")
        (folder / "requirements.txt").write_text((Path(__file__).parent / "fixtures" / lock).read_text())
    return folder


def _snapshot(folder: Path) -> dict[str, tuple[int, int, bytes | None]]:
    """Every path below `folder` with its mode, mtime and (for files) bytes."""
    snapshot = {}
    for path in sorted([folder, *folder.rglob("*")]):
        info = path.lstat()
        data = path.read_bytes() if stat.S_ISREG(info.st_mode) else None
        snapshot[path.relative_to(folder).as_posix()] = (info.st_mode, int(info.st_mtime), data)
    return snapshot


def _build(workspace, *args: str) -> tuple[dict, dict]:
    result = workspace.run("all", *args)
    assert result.returncode == 0, result.stderr
    return _snapshot(workspace.root / "build" / "img.image"), workspace.manifest()["functions"]["img"]


def test_two_builds_give_identical_contexts(workspace, tmp_path):
    _image_function(workspace)
    first, first_entry = _build(workspace)
    # Same content written at another time, in another checkout: only bytes may matter.
    other = type(workspace)(tmp_path / "other", workspace.cache_dir)
    _image_function(other)
    os.utime(other.root / "functions/img/lambda_function.py", (1_700_000_000, 1_700_000_000))
    second, second_entry = _build(other)
    assert first == second
    assert first_entry["image"] == second_entry["image"]
    assert _build(workspace, "--force")[0] == first


def test_context_holds_dockerfile_lock_and_sources_only(workspace):
    folder = _image_function(workspace)
    snapshot, _ = _build(workspace)
    assert sorted(snapshot) == [
        ".",
        "Dockerfile",
        "function",
        "function/bin",
        "function/bin/tool.sh",
        "function/helpers",
        "function/helpers/__init__.py",
        "function/helpers/util.py",
        "function/lambda_function.py",
        "requirements.txt",
    ]
    context = workspace.root / "build/img.image"
    assert (context / "requirements.txt").read_bytes() == (folder / "requirements.txt").read_bytes()
    assert (context / "function/helpers/util.py").read_bytes() == (folder / "helpers/util.py").read_bytes()
    assert stat.S_IMODE(snapshot["function/bin/tool.sh"][0]) == 0o755
    assert stat.S_IMODE(snapshot["function/lambda_function.py"][0]) == 0o644
    assert (context / "Dockerfile").read_text().splitlines()[1:] == [
        "FROM public.ecr.aws/lambda/python:3.12",
        "COPY requirements.txt /tmp/requirements.txt",
        "RUN pip install --no-cache-dir --require-hashes --only-binary=:all: -r /tmp/requirements.txt"
        ' --target "${LAMBDA_TASK_ROOT}" && rm /tmp/requirements.txt',
        "COPY function/ ${LAMBDA_TASK_ROOT}/",
        'CMD ["lambda_function.lambda_handler"]',
    ]


def test_manifest_records_the_image_and_no_zip(workspace):
    _image_function(workspace)
    _, entry = _build(workspace)
    assert not (workspace.root / "build/img.zip").exists()
    assert {k: entry[k] for k in ("package_type", "zip", "size", "sha256", "source_code_hash", "s3")} == {
        "package_type": "image",
        "zip": None,
        "size": None,
        "sha256": None,
        "source_code_hash": None,
        "s3": None,
    }
    image = entry["image"]
    assert image["context"] == "img.image"
    assert image["base_image"] == "public.ecr.aws/lambda/python:3.12"
    assert image["platform"] == "linux/amd64"
    assert image["command"] == ["lambda_function.lambda_handler"]
    assert len(image["tag"]) == 64 and image["tag"] == image["sha256"]


def test_a_source_change_changes_the_tag(workspace):
    folder = _image_function(workspace)
    _, before = _build(workspace)
    (folder / "helpers/util.py").write_text("def run():\n    return 2\n")
    _, after = _build(workspace)
    assert before["image"]["tag"] != after["image"]["tag"]


def test_runtime_architecture_and_handler_shape_the_dockerfile(workspace):
    config = IMAGE_TOML + 'runtime = "python3.11"\narchitecture = "arm64"\nhandler = "helpers.util.run"\n'
    _image_function(workspace, config=config, lock=None)
    snapshot, entry = _build(workspace)
    dockerfile = snapshot["Dockerfile"][2].decode()
    assert "FROM public.ecr.aws/lambda/python:3.11\n" in dockerfile
    assert 'CMD ["helpers.util.run"]' in dockerfile
    # Without a lock there is nothing to install.
    assert "pip install" not in dockerfile and "requirements.txt" not in snapshot
    assert entry["image"]["platform"] == "linux/arm64"


def test_unchanged_contexts_are_cached_and_missing_ones_rebuilt(workspace):
    _image_function(workspace)
    first = workspace.run("all")
    assert "built   img" in first.stderr and "build/img.image/ (image)" in first.stderr
    assert "cached  img" in workspace.run("all").stderr
    shutil.rmtree(workspace.root / "build/img.image")
    assert "built   img" in workspace.run("all").stderr
    assert (workspace.root / "build/img.image/Dockerfile").is_file()


@pytest.mark.stack  # slow end to end: a build and an upload
def test_upload_sends_zips_and_skips_image_functions(workspace, aws_env):
    _image_function(workspace)
    workspace.add_function("plain")
    bucket = "artifacts-image-test"
    boto3.client("s3").create_bucket(Bucket=bucket)
    result = workspace.run("all", "--upload", f"s3://{bucket}/lambda")
    assert result.returncode == 0, result.stderr
    functions = workspace.manifest()["functions"]
    assert functions["img"]["s3"] is None
    assert functions["plain"]["s3"]["key"].startswith("lambda/plain/")
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("lambda/plain/")
