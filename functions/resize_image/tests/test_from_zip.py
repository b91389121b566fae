"""resize_image from its built zip (Pillow for Lambda's platform), through the local runtime."""

import io

import boto3
from PIL import Image


def test_thumbnail_through_the_runtime(zip_invoke, new_bucket):
    uploads, thumbnails = new_bucket("uploads"), new_bucket("thumbnails")
    image = io.BytesIO()
    Image.new("RGB", (800, 400), "blue").save(image, "PNG")
    boto3.client("s3").put_object(Bucket=uploads, Key="photo.png", Body=image.getvalue())
    event = {"Records": [{"s3": {"bucket": {"name": uploads}, "object": {"key": "photo.png", "size": 100}}}]}
    result = zip_invoke("resize_image", event, BUCKET_THUMBNAILS=thumbnails)
    assert result.error is None, result.logs
    assert result.response == {"thumbnails": ["photo.png"]}
    thumbnail = boto3.client("s3").get_object(Bucket=thumbnails, Key="photo.png")["Body"].read()
    assert Image.open(io.BytesIO(thumbnail)).size == (256, 128)
