def on_upload(event, context):
    keys = [r["s3"]["object"]["key"] for r in event.get("Records", [])]
    return {"indexed": keys}
