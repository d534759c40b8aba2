def run(event, context):
    return {"sent": True, "at": event.get("time")}
