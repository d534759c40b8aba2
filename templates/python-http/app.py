import json


def hello(event, context):
    """Answers GET /hello/{name} with a JSON greeting.

    `event` is an API Gateway proxy event; fnctl gives the same shape on
    every provider and locally, so this code runs unchanged everywhere.
    """
    name = (event.get("pathParameters") or {}).get("name", "world")
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"message": f"hello, {name}"}),
    }
