#!/usr/bin/env bash
# Baseline for bench/deploy-aws.sh: what fnctl creates for an app of N
# functions (HTTP route + schedule each), done with the AWS CLI one call at a
# time, as a hand-written deploy script would: role, then per function a
# function, version and alias; the REST API with two resources, a method,
# an integration and a permission per function; a deployment; and per
# function a schedule rule, its target and a permission.
#
#   bash bench/baseline-awscli.sh DIR N     # DIR holds the app made by deploy-aws.sh
#
# Needs AWS_ENDPOINT_URL and credentials in the environment, and the AWS CLI
# at $AWS (deploy-aws.sh installs it into .venv-bench).
set -euo pipefail
dir=$1 n=$2
aws=${AWS:-aws}
export AWS_DEFAULT_REGION=${AWS_REGION:-us-east-1}
q() { "$aws" --output text "$@"; }
role_arn=$(q iam create-role --role-name bench-baseline-lambda \
    --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}' \
    --query Role.Arn)
q iam attach-role-policy --role-name bench-baseline-lambda \
    --policy-arn arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole >/dev/null
api=$(q apigateway create-rest-api --name bench-baseline --query id)
root=$(q apigateway get-resources --rest-api-id "$api" --query 'items[0].id')
account=$(q sts get-caller-identity --query Account)
for i in $(seq 1 "$n"); do
    (cd "$dir/src/f$i" && zip -qX "/tmp/bench-baseline-f$i.zip" handler.py)
    fn="bench-baseline-f$i"
    fn_arn=$(q lambda create-function --function-name "$fn" --runtime python3.12 \
        --handler handler.handler --role "$role_arn" --zip-file "fileb:///tmp/bench-baseline-f$i.zip" \
        --query FunctionArn)
    version=$(q lambda publish-version --function-name "$fn" --query Version)
    q lambda create-alias --function-name "$fn" --name live --function-version "$version" >/dev/null
    part=$(q apigateway create-resource --rest-api-id "$api" --parent-id "$root" --path-part "f$i" --query id)
    leaf=$(q apigateway create-resource --rest-api-id "$api" --parent-id "$part" --path-part '{id}' --query id)
    q apigateway put-method --rest-api-id "$api" --resource-id "$leaf" --http-method GET \
        --authorization-type NONE >/dev/null
    q apigateway put-integration --rest-api-id "$api" --resource-id "$leaf" --http-method GET \
        --type AWS_PROXY --integration-http-method POST \
        --uri "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/$fn_arn:live/invocations" >/dev/null
    q lambda add-permission --function-name "$fn" --qualifier live --statement-id apigw \
        --action lambda:InvokeFunction --principal apigateway.amazonaws.com \
        --source-arn "arn:aws:execute-api:us-east-1:$account:$api/*" >/dev/null
    rule_arn=$(q events put-rule --name "$fn-schedule" --schedule-expression 'rate(1 hour)' --query RuleArn)
    q events put-targets --rule "$fn-schedule" --targets "Id=1,Arn=$fn_arn:live" >/dev/null
    q lambda add-permission --function-name "$fn" --qualifier live --statement-id events \
        --action lambda:InvokeFunction --principal events.amazonaws.com --source-arn "$rule_arn" >/dev/null
done
q apigateway create-deployment --rest-api-id "$api" --stage-name dev >/dev/null
rm -f /tmp/bench-baseline-f*.zip
