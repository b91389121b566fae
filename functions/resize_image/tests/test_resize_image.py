"""resize_image against S3 object-created events shaped like the AWS documentation's, on moto."""

import io
import logging
import struct
import urllib.parse
import zlib

import boto3
import pytest
from PIL import Image


@pytest.fixture
def buckets(new_bucket, monkeypatch) -> dict:
    uploads, thumbnails = new_bucket("uploads"), new_bucket("thumbnails")
    monkeypatch.setenv("BUCKET_THUMBNAILS", thumbnails)
    return {"uploads": uploads, "thumbnails": thumbnails}


def _event(bucket: str, key: str, size: int) -> dict:
    """An s3:ObjectCreated:Put notification as documented for Lambda's S3 trigger."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2019-09-03T19:37:27.192Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:AIDAINPONIXQXHT3IKHL2"},
                "requestParameters": {"sourceIPAddress": "205.255.255.255"},
                "responseElements": {
                    "x-amz-request-id": "D82B88E5F771F645",
                    "x-amz-id-2": "vlR7PnpV2Ce81l0P",
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "828aa6fc-f7b5-4305-8584-487c791949c1",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "A3I5XTEXAMAI3E"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": urllib.parse.quote_plus(key, safe="/"),
                        "size": size,
                        "eTag": "b21b84d653bb07b05b1e6b33684dc11b",
                        "sequencer": "0C0F6F405D6ED209E1",
                    },
                },
            }
        ]
    }


def _upload(bucket: str, key: str, data: bytes) -> dict:
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=data)
    return _event(bucket, key, len(data))


def _image_bytes(mode: str, size: tuple[int, int], fmt: str, **save_args) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "red").save(out, format=fmt, **save_args)
    return out.getvalue()


def _thumbnail(bucket: str, key: str) -> tuple[Image.Image, str]:
    obj = boto3.client("s3").get_object(Bucket=bucket, Key=key)
    image = Image.open(io.BytesIO(obj["Body"].read()))
    image.load()
    return image, obj["ContentType"]


def test_jpeg_upload_gets_a_jpeg_thumbnail_under_the_same_key(lambda_module, buckets):
    event = _upload(buckets["uploads"], "photos/My Photo.jpg", _image_bytes("RGB", (800, 600), "JPEG"))
    assert lambda_module.lambda_handler(event, None) == {"thumbnails": ["photos/My Photo.jpg"]}
    image, content_type = _thumbnail(buckets["thumbnails"], "photos/My Photo.jpg")
    assert (image.format, image.size, content_type) == ("JPEG", (256, 192), "image/jpeg")


def test_transparency_survives_in_png(lambda_module, buckets):
    event = _upload(buckets["uploads"], "logo.png", _image_bytes("RGBA", (300, 1000), "PNG"))
    lambda_module.lambda_handler(event, None)
    image, _ = _thumbnail(buckets["thumbnails"], "logo.png")
    assert (image.format, image.mode, image.size) == ("PNG", "RGBA", (77, 256))


def test_exif_rotation_is_applied(lambda_module, buckets):
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    event = _upload(buckets["uploads"], "phone.jpg", _image_bytes("RGB", (800, 600), "JPEG", exif=exif))
    lambda_module.lambda_handler(event, None)
    assert _thumbnail(buckets["thumbnails"], "phone.jpg")[0].size == (192, 256)


def test_small_images_are_not_enlarged(lambda_module, buckets):
    event = _upload(buckets["uploads"], "icon.gif", _image_bytes("P", (16, 16), "GIF"))
    lambda_module.lambda_handler(event, None)
    image, content_type = _thumbnail(buckets["thumbnails"], "icon.gif")
    assert (image.format, image.size, content_type) == ("GIF", (16, 16), "image/gif")


def _no_thumbnail(lambda_module, event: dict, thumbnails: str) -> None:
    assert lambda_module.lambda_handler(event, None) == {"thumbnails": []}
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=thumbnails)


def test_non_images_are_skipped_with_a_warning(lambda_module, buckets, caplog):
    event = _upload(buckets["uploads"], "notes.txt", b"not a picture")
    with caplog.at_level(logging.WARNING):
        _no_thumbnail(lambda_module, event, buckets["thumbnails"])
    assert "skipped s3://" in caplog.text and "notes.txt: not an image" in caplog.text


def test_events_from_the_thumbnails_bucket_never_loop(lambda_module, buckets, caplog):
    data = _image_bytes("RGB", (800, 600), "JPEG")
    boto3.client("s3").put_object(Bucket=buckets["thumbnails"], Key="a.jpg", Body=data)
    with caplog.at_level(logging.WARNING):
        result = lambda_module.lambda_handler(_event(buckets["thumbnails"], "a.jpg", len(data)), None)
    assert result == {"thumbnails": []}
    assert "refusing to loop" in caplog.text
    assert [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=buckets["thumbnails"])["Contents"]] == ["a.jpg"]


@pytest.mark.parametrize(
    ("limit", "value", "message"),
    [
        ("MAX_UPLOAD_BYTES", 100, "big.png: larger than 100 bytes"),
        (
            "MAX_PIXELS",
            1_999_999,
            "big.png: not an image this function can read (2000x1000 is over 1999999 pixels)",
        ),
    ],
)
def test_images_over_a_limit_are_skipped_before_decoding(
    lambda_module, buckets, caplog, monkeypatch, limit, value, message
):
    event = _upload(buckets["uploads"], "big.png", _image_bytes("L", (2000, 1000), "PNG"))
    monkeypatch.setattr(lambda_module, limit, value)
    with caplog.at_level(logging.WARNING):
        _no_thumbnail(lambda_module, event, buckets["thumbnails"])
    assert message in caplog.text


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, header_size: int = 13) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)[:header_size]
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\0" * 10))
        + _png_chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "data",
    [_png(20_000, 20_000), _png(10, 10, header_size=5)],
    ids=["header-claims-400-megapixels", "truncated-header"],
)
def test_crafted_or_damaged_images_are_skipped_not_crashed_on(lambda_module, buckets, caplog, data):
    event = _upload(buckets["uploads"], "evil.png", data)
    with caplog.at_level(logging.WARNING):
        _no_thumbnail(lambda_module, event, buckets["thumbnails"])
    assert "evil.png: not an image this function can read" in caplog.text
