import io
from urllib.parse import unquote_plus

SIZE = (256, 256)


def handler(event, context):
    """S3 ObjectCreated under `incoming/`: writes a 256 px thumbnail to
    `thumbnails/` (outside the trigger's prefix, so it does not fire again).
    Needs Pillow: add `Pillow` to src/requirements.txt (fnctl package vendors
    it for Lambda's Linux); without it the upload is only logged."""
    try:
        from PIL import Image
    except ImportError:
        Image = None

    done = []
    for record in event.get("Records", []):
        bucket = record["s3"]["bucket"]["name"]  # the uploads bucket, FNCTL_UPLOADS_NAME
        key = unquote_plus(record["s3"]["object"]["key"])
        if Image is None:
            print(f"Pillow is not installed: no thumbnail for {key}")
            continue
        import boto3

        s3 = boto3.client("s3")
        original = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        image = Image.open(io.BytesIO(original))
        image.thumbnail(SIZE)
        out = io.BytesIO()
        image.save(out, format=image.format or "PNG")
        target = "thumbnails/" + key.removeprefix("incoming/")
        s3.put_object(Bucket=bucket, Key=target, Body=out.getvalue())
        done.append(target)
    return {"thumbnails": done}
