"""Helpers shared by the handlers. boto3 (in Lambda's Python runtime) is
imported when first needed, so `fnctl dev` starts without it."""

import json
import os
from decimal import Decimal


def resource(var):
    """A resource's cloud name or URL, which fnctl sets on each deployed
    function. `fnctl dev` does not: export it to use the deployed resource,
    e.g. FNCTL_ORDERS_NAME=orders-dev-orders."""
    value = os.environ.get(var)
    if not value:
        raise RuntimeError(f"{var} is not set (fnctl sets it on deploy; export it to run locally)")
    return value


def orders_table():
    import boto3

    return boto3.resource("dynamodb").Table(resource("FNCTL_ORDERS_NAME"))


def response(status, body):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body, default=_number),
    }


def _number(value):
    # DynamoDB returns numbers as Decimal.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
