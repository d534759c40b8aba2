import json
import uuid
from datetime import datetime, timezone
from decimal import Decimal

from common import orders_table, resource, response


def create_order(event, context):
    """POST /orders: stores the order as `pending` and queues a job for it."""
    try:
        order = json.loads(event.get("body") or "{}", parse_float=Decimal)
    except json.JSONDecodeError:
        return response(400, {"error": "the body must be JSON"})
    if not isinstance(order, dict):
        return response(400, {"error": "the body must be a JSON object"})

    order.update(
        id=str(uuid.uuid4()),
        status="pending",
        created=datetime.now(timezone.utc).isoformat(),
    )
    orders_table().put_item(Item=order)

    import boto3

    boto3.client("sqs").send_message(
        QueueUrl=resource("FNCTL_JOBS_URL"),
        MessageBody=json.dumps({"id": order["id"]}),
    )
    return response(201, order)


def get_order(event, context):
    """GET /orders/{id}"""
    order_id = (event.get("pathParameters") or {}).get("id", "")
    item = orders_table().get_item(Key={"id": order_id}).get("Item")
    if item is None:
        return response(404, {"error": f"no order {order_id}"})
    return response(200, item)
