import json
from datetime import datetime, timezone

from common import orders_table


def handler(event, context):
    """SQS batch: marks each order `processed`. A message that fails is
    reported in `batchItemFailures`, so only it is received again (and moves
    to the dead-letter queue after 3 receives); the rest of the batch is done."""
    failures = []
    table = None
    for record in event.get("Records", []):
        try:
            order_id = json.loads(record["body"])["id"]
            table = table or orders_table()
            table.update_item(
                Key={"id": order_id},
                UpdateExpression="SET #status = :done, #processed = :now",
                ConditionExpression="attribute_exists(#id)",  # a missing order fails the message
                ExpressionAttributeNames={"#id": "id", "#status": "status", "#processed": "processed"},
                ExpressionAttributeValues={
                    ":done": "processed",
                    ":now": datetime.now(timezone.utc).isoformat(),
                },
            )
        except Exception as err:  # noqa: BLE001 - any failure retries this message only
            print(f"message {record.get('messageId')} failed: {err!r}")
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
