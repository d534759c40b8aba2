def handle(event, context):
    """Called once per batch of object events (S3 event shape on every provider)."""
    keys = [r["s3"]["object"]["key"] for r in event.get("Records", [])]
    for key in keys:
        print(f"processing {key}")
    return {"processed": keys}
