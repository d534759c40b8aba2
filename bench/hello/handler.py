import json


def hello(event, context):
    name = (event.get("pathParameters") or {}).get("name", "world")
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"hello": name}),
    }
