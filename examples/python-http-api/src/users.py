import json

USERS = {"1": {"id": "1", "name": "Ada"}, "2": {"id": "2", "name": "Grace"}}


def _json(status, body):
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def list_users(event, context):
    return _json(200, {"users": list(USERS.values())})


def get_user(event, context):
    params = event.get("pathParameters") or {}
    user = USERS.get(params.get("id", ""))
    if user is None:
        return _json(404, {"error": "no such user"})
    if "path" in params:
        return _json(200, {"user": user["id"], "file": params["path"]})
    return _json(200, user)
