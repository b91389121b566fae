"""Writes a thumbnail of every image uploaded to the uploads bucket into the thumbnails bucket.

Triggered by the uploads bucket's object-created notifications. Objects Pillow cannot read, and images
too large to decode in the function's memory, are skipped with a logged warning rather than failing (a
failed asynchronous invocation would be retried for nothing). The thumbnail keeps the upload's key and,
where Pillow can write it, its format; an event from the thumbnails bucket itself is refused, so a
misconfigured trigger cannot make the function feed on its own output.
"""

import io
import logging
import os
import urllib.parse

import boto3
from PIL import Image, ImageOps

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

THUMBNAIL_SIZE = int(os.environ.get("THUMBNAIL_SIZE", "256"))
MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", str(25 * 1024 * 1024)))
# Decoding allocates up to width * height * 4 bytes; 40 Mpx keeps a 512 MB function clear of running out.
MAX_PIXELS = int(os.environ.get("MAX_PIXELS", str(40_000_000)))


class TooLarge(ValueError):
    """The image's header declares more pixels than the function will decode."""


def lambda_handler(event: dict, context: object) -> dict:
    """Thumbnails every object of an S3 event; returns the keys written."""
    written = [_thumbnail(record["s3"]) for record in event.get("Records", [])]
    return {"thumbnails": [key for key in written if key is not None]}


def _thumbnail(s3_record: dict) -> str | None:
    source = s3_record["bucket"]["name"]
    # Keys arrive URL-encoded, with spaces as '+'.
    key = urllib.parse.unquote_plus(s3_record["object"]["key"])
    target = os.environ["BUCKET_THUMBNAILS"]
    if source == target:
        logger.warning("skipped s3://%s/%s: it is in the thumbnails bucket, refusing to loop", source, key)
        return None
    if s3_record["object"].get("size", 0) > MAX_UPLOAD_BYTES:
        logger.warning("skipped s3://%s/%s: larger than %d bytes", source, key, MAX_UPLOAD_BYTES)
        return None
    s3 = boto3.client("s3")
    data = s3.get_object(Bucket=source, Key=key)["Body"].read()
    try:
        body, content_type = _shrink(data)
    # Pillow reports damaged files as OSError, ValueError or SyntaxError, and headers far over its own pixel limit as
    # DecompressionBombError, raised while it opens them, before the TooLarge check can run.
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        logger.warning("skipped s3://%s/%s: not an image this function can read (%s)", source, key, error)
        return None
    s3.put_object(Bucket=target, Key=key, Body=body, ContentType=content_type)
    logger.info("wrote s3://%s/%s (%d bytes)", target, key, len(body))
    return key


def _shrink(data: bytes) -> tuple[bytes, str]:
    with Image.open(io.BytesIO(data)) as image:
        # Only the header has been read so far: refuse before decoding, not after.
        if image.width * image.height > MAX_PIXELS:
            raise TooLarge(f"{image.width}x{image.height} is over {MAX_PIXELS} pixels")
        source_format = image.format
        # Shrink first (a JPEG even decodes at a reduced scale), then turn: transposing the full image would hold a
        # second full-size copy in memory. The box is square, so the order does not change the result.
        image.draft("RGB", (THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        # Phones store rotation in EXIF; apply it so the thumbnail is upright.
        thumbnail = ImageOps.exif_transpose(image)
    output_format = source_format if source_format in Image.SAVE else "PNG"
    out = io.BytesIO()
    thumbnail.save(out, format=output_format)
    return out.getvalue(), Image.MIME.get(output_format, "application/octet-stream")
