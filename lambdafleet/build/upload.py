"""Upload built zips to S3 under content-addressed keys, with a verified SHA-256 checksum."""

import re
from dataclasses import dataclass
from pathlib import Path

from lambdafleet.build.manifest import FunctionEntry, S3Location
from lambdafleet.errors import BuildError, UserError

_S3_URL = re.compile(r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>.*))?")


@dataclass(frozen=True)
class Destination:
    """Where `--upload` puts zips: s3://<bucket>/<prefix>."""

    bucket: str
    prefix: str

    def key(self, name: str, sha256_hex: str) -> str:
        return "/".join(p for p in (self.prefix, name, f"{sha256_hex}.zip") if p)


def parse_destination(url: str) -> Destination:
    """Parse `--upload s3://bucket/prefix`, raising UserError for anything else."""
    match = _S3_URL.fullmatch(url)
    if not match:
        raise UserError(f"--upload: {url!r} is not s3://<bucket>/<prefix> with a valid bucket name")
    return Destination(match["bucket"], (match["prefix"] or "").strip("/"))


class Uploader:
    """Puts each zip once: an object already holding the same checksum is not sent again."""

    def __init__(self, destination: Destination) -> None:
        import boto3  # imported here: it costs ~0.3 s, and builds without --upload never need it

        self.destination = destination
        self.client = boto3.client("s3")

    def _existing_version(self, key: str, checksum: str) -> tuple[bool, str | None]:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.destination.bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False, None
            raise
        return head.get("ChecksumSHA256") == checksum, head.get("VersionId")

    def upload(self, zip_path: Path, entry: FunctionEntry) -> S3Location:
        """Upload one zip (unless already there) and return the manifest's `s3` object for it."""
        sha256, checksum = entry["sha256"], entry["source_code_hash"]
        if sha256 is None or checksum is None:
            raise ValueError(f"{entry['name']}: an image function has no zip to upload")
        key = self.destination.key(entry["name"], sha256)
        present, version = self._existing_version(key, checksum)
        if not present:
            with zip_path.open("rb") as body:
                # S3 recomputes the SHA-256 and rejects the upload if it differs; the echo is checked too.
                response = self.client.put_object(
                    Bucket=self.destination.bucket,
                    Key=key,
                    Body=body,
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=checksum,
                )
            if response.get("ChecksumSHA256") != checksum:
                raise BuildError(
                    f"--upload: s3://{self.destination.bucket}/{key}: stored checksum differs from the zip's"
                )
            version = response.get("VersionId")
        return {"bucket": self.destination.bucket, "key": key, "version_id": version}


def upload_all(destination: Destination, zips: dict[str, tuple[Path, FunctionEntry]]) -> dict[str, S3Location]:
    """Upload every zip; returns the `s3` object per function name. Errors become one-line messages."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        uploader = Uploader(destination)
        return {name: uploader.upload(path, entry) for name, (path, entry) in zips.items()}
    except NoCredentialsError:
        raise UserError("--upload: no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID)") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        message = f"--upload: s3://{destination.bucket}: {error.get('Code')}: {error.get('Message')}"
        if error.get("Code") in ("NoSuchBucket", "AccessDenied", "403", "InvalidAccessKeyId"):
            raise UserError(message) from None
        raise BuildError(message) from None
    except BotoCoreError as exc:
        raise BuildError(f"--upload: s3://{destination.bucket}: {exc}") from None
