def run(event, context):
    """Runs at 02:30 UTC (a scheduled event, EventBridge shape on every provider)."""
    print(f"nightly job fired at {event.get('time')}")
    return {"ok": True}
