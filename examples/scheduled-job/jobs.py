def nightly_report(event, context):
    print(f"building the report for {event.get('time')}")
    return {"ok": True}


def heartbeat(event, context):
    return {"alive": True}
