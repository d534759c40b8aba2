"""Handlers behind an API Gateway HTTP API (payload format 2.0 events).

A 2.0 event differs from a REST API's 1.0 event: the method and path are
under `requestContext.http` and `rawPath`, query parameters are
`queryStringParameters` with repeated names joined by commas, and a JWT
authorizer's verified claims are at `requestContext.authorizer.jwt.claims`.
The gateway adds the CORS headers from [http.cors] itself (and ignores any
the handler returns), so these handlers set none.
"""

import json


def _reply(status, body):
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }


def list_orders(event, context):
    http = event["requestContext"]["http"]
    return _reply(200, {"method": http["method"], "path": event["rawPath"], "orders": []})


def create_order(event, context):
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    order = json.loads(event.get("body") or "{}")
    return _reply(201, {"created": order, "by": claims.get("sub")})
