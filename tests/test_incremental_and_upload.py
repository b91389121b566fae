"""Incremental builds, the --json summary, and --upload against a real S3 API (moto server)."""

import base64
import hashlib
import json
import os
import subprocess
import sys

import boto3
import pytest

NUMPY_LOCK = "numpy-python3.12-x86_64.txt"


def _statuses(result):
    return {line.split()[1]: line.split()[0] for line in result.stderr.splitlines() if line.strip()}


def _cache_files(workspace):
    """The dependency cache (other parts, such as syntax verdicts of an edited handler, may grow)."""
    return {p: p.stat().st_mtime_ns for p in (workspace.cache_dir / "deps").rglob("*") if p.is_file()}


@pytest.mark.stack  # slow end to end: four builds, with real dependencies
def test_only_changed_functions_rebuild_and_deps_are_reused(workspace):
    folder = workspace.add_locked_function("numeric", NUMPY_LOCK)
    workspace.add_function("plain")
    assert workspace.run("all").returncode == 0

    noop = workspace.run("all")
    assert noop.returncode == 0
    assert _statuses(noop) == {"numeric": "cached", "plain": "cached"}

    cache_before = _cache_files(workspace)
    (folder / "lambda_function.py").write_text("def lambda_handler(event, context):\n    return 'v2'\n")
    edited = workspace.run("all")
    assert edited.returncode == 0, edited.stderr
    assert _statuses(edited) == {"numeric": "built", "plain": "cached"}
    assert _cache_files(workspace) == cache_before  # no reinstall, no recompression
    workspace.zip_names("numeric")  # still a valid zip
    with __import__("zipfile").ZipFile(workspace.root / "build/numeric.zip") as archive:
        assert b"v2" in archive.read("lambda_function.py")
        assert "numpy/__init__.py" in archive.namelist()

    forced = workspace.run("plain", "--force")
    assert _statuses(forced) == {"plain": "built"}


def test_deleted_zip_is_rebuilt(workspace):
    workspace.add_function("plain")
    assert workspace.run("all").returncode == 0
    (workspace.root / "build/plain.zip").unlink()
    result = workspace.run("all")
    assert _statuses(result) == {"plain": "built"}
    assert (workspace.root / "build/plain.zip").is_file()


def test_json_summary_and_quiet(workspace):
    workspace.add_function("plain")
    result = workspace.run("all", "--json", "--quiet")
    assert result.returncode == 0
    assert result.stderr == ""
    summary = json.loads(result.stdout)
    assert summary["ok"] is True
    [item] = summary["functions"]
    assert item["name"] == "plain"
    assert item["status"] == "built"
    assert item["sha256"] == workspace.manifest()["functions"]["plain"]["sha256"]


def test_building_one_function_keeps_the_others_in_the_manifest(workspace):
    workspace.add_function("one")
    workspace.add_function("two")
    assert workspace.run("all").returncode == 0
    assert workspace.run("one", "--force").returncode == 0
    assert set(workspace.manifest()["functions"]) == {"one", "two"}


@pytest.fixture
def bucket(aws_env):
    s3 = boto3.client("s3")
    name = "artifacts-" + hashlib.sha256(str(id(object())).encode()).hexdigest()[:10]
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def test_upload_puts_each_zip_once_with_its_checksum(workspace, bucket):
    workspace.add_function("plain")
    result = workspace.run("all", "--upload", f"s3://{bucket}/lambda")
    assert result.returncode == 0, result.stderr
    entry = workspace.manifest()["functions"]["plain"]
    key = f"lambda/plain/{entry['sha256']}.zip"
    assert entry["s3"]["bucket"] == bucket
    assert entry["s3"]["key"] == key
    s3 = boto3.client("s3")
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == entry["source_code_hash"]
    assert entry["s3"]["version_id"] == head["VersionId"]
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert base64.b64encode(hashlib.sha256(body).digest()).decode() == entry["source_code_hash"]

    again = workspace.run("all", "--upload", f"s3://{bucket}/lambda", "--force")
    assert again.returncode == 0, again.stderr
    versions = s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    assert len(versions) == 1  # the same bytes were not sent twice
    assert workspace.manifest()["functions"]["plain"]["s3"] == entry["s3"]


def _describes_its_zip(workspace, name: str) -> bool:
    entry = workspace.manifest()["functions"][name]
    return entry["sha256"] == hashlib.sha256((workspace.root / "build" / f"{name}.zip").read_bytes()).hexdigest()


def test_failed_upload_leaves_a_manifest_of_the_local_zips(workspace, aws_env):
    workspace.add_function("plain")
    assert workspace.run("all").returncode == 0
    (workspace.root / "functions/plain/lambda_function.py").write_text("def lambda_handler(e, c):\n    return 2\n")
    result = workspace.run("all", "--upload", "s3://no-such-bucket-here/lambda")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: --upload: s3://no-such-bucket-here: NoSuchBucket")
    assert _describes_its_zip(workspace, "plain")  # the rebuilt zip, never the previous zip's hash
    assert workspace.manifest()["functions"]["plain"]["s3"] is None


def test_a_failed_function_keeps_its_entry_while_the_others_record_their_new_zips(workspace):
    workspace.add_function("good")
    bad = workspace.add_locked_function("bad", "six-python3.12-x86_64.txt")
    assert workspace.run("all").returncode == 0
    before = workspace.manifest()["functions"]["bad"]
    (workspace.root / "functions/good/lambda_function.py").write_text("def lambda_handler(e, c):\n    return 2\n")
    lock = (bad / "requirements.txt").read_text()
    (bad / "requirements.txt").write_text(
        lock.replace("sha256:1e61c3", "sha256:0e61c3").replace("sha256:8abb2f", "sha256:0abb2f")
    )
    result = workspace.run("all")
    assert result.returncode == 2
    assert _statuses(result) == {"good": "built", "bad": "failed"}
    assert _describes_its_zip(workspace, "good")
    assert workspace.manifest()["functions"]["bad"] == before and _describes_its_zip(workspace, "bad")


def test_a_zip_changed_behind_the_manifest_is_rebuilt_even_at_the_same_size(workspace):
    workspace.add_function("plain")
    assert workspace.run("all").returncode == 0
    zip_path = workspace.root / "build/plain.zip"
    good = zip_path.read_bytes()
    zip_path.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))  # same size, other bytes
    result = workspace.run("all")
    assert _statuses(result) == {"plain": "built"}
    assert zip_path.read_bytes() == good


def test_clean_cache_deletes_only_what_lambdafleet_wrote(workspace):
    """LAMBDAFLEET_CACHE_DIR may name a shared folder such as ~/.cache; other tools' files there must survive."""
    workspace.add_locked_function("tiny", "six-python3.12-x86_64.txt")
    assert workspace.run("all").returncode == 0
    other = workspace.cache_dir / "otherapp" / "data"
    other.parent.mkdir()
    other.write_text("keep")
    assert any((workspace.cache_dir / "deps").iterdir())
    assert workspace.run("clean", "--cache").returncode == 0
    assert sorted(p.name for p in workspace.cache_dir.iterdir()) == ["otherapp"]
    assert other.read_text() == "keep"


def test_json_summary_reports_a_config_error_too(workspace):
    workspace.add_function("plain", config="timeout = 0\n")
    result = workspace.cli("all", "--json")
    assert result.returncode == 2
    summary = json.loads(result.stdout)
    assert summary["ok"] is False and summary["functions"] == []
    assert "functions/plain/function.toml" in summary["error"] and "timeout" in summary["error"]
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_reader_that_closes_the_pipe_gets_no_traceback(workspace):
    workspace.add_function("plain")
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head` that has already exited: every write now fails with EPIPE
    try:
        result = subprocess.run(
            [sys.executable, "build.py", "list", "--json"],
            cwd=workspace.root,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 1
    assert result.stderr == ""
