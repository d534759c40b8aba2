"""Builds moto's service backends after a reset, before anything is timed.

    python bench/warm_moto.py ENDPOINT

moto creates a service's backend on the first request to it after a reset,
and some take long: SSM loads its public parameters (about 1.4 s on the
reference machine), IAM its managed policies, Lambda, API Gateway and
EventBridge about a second between them. AWS has no such cost, and it
would land on whoever calls a service first (fnctl's lock is the only SSM
user), so the harness pays it here, outside both fnctl's and the
baselines' timings. One cheap read per service the deploys use, sent to
moto directly (not through the latency proxy).
"""

import sys

import boto3
from botocore.exceptions import ClientError

endpoint = sys.argv[1]
session = boto3.session.Session()


def client(service):
    return session.client(service, endpoint_url=endpoint)


client("sts").get_caller_identity()
client("iam").list_roles()
client("lambda").list_functions()
client("apigateway").get_rest_apis()
client("events").list_rules()
client("resourcegroupstaggingapi").get_resources()
client("s3").list_buckets()
try:
    client("ssm").get_parameter(Name="/fnctl/bench/warm-up")
except ClientError:
    pass  # not there: the backend is built all the same
