def _keys(event):
    return [r["s3"]["object"]["key"] for r in event.get("Records", [])]


def on_upload(event, context):
    keys = _keys(event)
    for key in keys:
        print(f"would resize {key}")
    return {"resized": keys}


def on_delete(event, context):
    keys = _keys(event)
    for key in keys:
        print(f"would delete thumbnails of {key}")
    return {"cleaned": keys}
