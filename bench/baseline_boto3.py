"""Baseline for bench/deploy-aws.sh: what fnctl creates for an app of N
functions (an HTTP route and a schedule each), done with boto3 one call at
a time in one Python process, as a hand-written deploy script would: the
role and its policy; per function the function, a published version and
the stage alias; the REST API with two resources, a method, a Lambda proxy
integration and an invoke permission per function; per function a schedule
rule, its target and a permission; then the deployment of the stage.

    python bench/baseline_boto3.py DIR N    # DIR holds the app made by deploy-aws.sh

Needs AWS_ENDPOINT_URL, credentials and AWS_REGION in the environment (the
harness sets them). The same work as bench/baseline-awscli.sh without an
interpreter start per call, so the comparison is with the calls themselves.
Like that script it does not poll for functions to become active (moto
answers Active at once). Prints the number of calls it made on stderr.
"""

import io
import json
import sys
import zipfile

import boto3
from botocore.config import Config

app_dir, n = sys.argv[1], int(sys.argv[2])
calls = 0


def count(**_):
    global calls
    calls += 1


cfg = Config(retries={"max_attempts": 8, "mode": "standard"})
session = boto3.session.Session()
clients = {s: session.client(s, config=cfg) for s in ("iam", "lambda", "apigateway", "events", "sts")}
for c in clients.values():
    c.meta.events.register("before-send", count)
iam, lam, apigw, events, sts = (clients[s] for s in ("iam", "lambda", "apigateway", "events", "sts"))
region = session.region_name
prefix = "bench-baseline"

role_arn = iam.create_role(
    RoleName=f"{prefix}-lambda",
    AssumeRolePolicyDocument=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    ),
)["Role"]["Arn"]
iam.attach_role_policy(
    RoleName=f"{prefix}-lambda",
    PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
)
api = apigw.create_rest_api(name=prefix, endpointConfiguration={"types": ["REGIONAL"]})["id"]
root = apigw.get_resources(restApiId=api)["items"][0]["id"]
account = sts.get_caller_identity()["Account"]

for i in range(1, n + 1):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(f"{app_dir}/src/f{i}/handler.py", "handler.py")
    fn = f"{prefix}-f{i}"
    fn_arn = lam.create_function(
        FunctionName=fn,
        Runtime="python3.12",
        Handler="handler.handler",
        Role=role_arn,
        Code={"ZipFile": buf.getvalue()},
    )["FunctionArn"]
    version = lam.publish_version(FunctionName=fn)["Version"]
    lam.create_alias(FunctionName=fn, Name="live", FunctionVersion=version)
    part = apigw.create_resource(restApiId=api, parentId=root, pathPart=f"f{i}")["id"]
    leaf = apigw.create_resource(restApiId=api, parentId=part, pathPart="{id}")["id"]
    apigw.put_method(restApiId=api, resourceId=leaf, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(
        restApiId=api,
        resourceId=leaf,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{fn_arn}:live/invocations",
    )
    lam.add_permission(
        FunctionName=fn,
        Qualifier="live",
        StatementId="apigw",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{region}:{account}:{api}/*",
    )
    rule_arn = events.put_rule(Name=f"{fn}-schedule", ScheduleExpression="rate(1 hour)")["RuleArn"]
    events.put_targets(Rule=f"{fn}-schedule", Targets=[{"Id": "1", "Arn": f"{fn_arn}:live"}])
    lam.add_permission(
        FunctionName=fn,
        Qualifier="live",
        StatementId="events",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule_arn,
    )
apigw.create_deployment(restApiId=api, stageName="dev")
print(f"calls={calls}", file=sys.stderr)
