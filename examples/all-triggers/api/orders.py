import json


def handler(event, context):
    method = event.get("httpMethod")
    order_id = (event.get("pathParameters") or {}).get("id")
    if method == "POST":
        return {"statusCode": 201, "body": json.dumps({"created": json.loads(event.get("body") or "{}")})}
    if order_id:
        return {"statusCode": 200, "body": json.dumps({"id": order_id})}
    return {"statusCode": 200, "body": json.dumps({"orders": []})}
