//! `invoke --local` gives a handler the `FNCTL_{RESOURCE}_*` variables it
//! has on Lambda: the deployed stage's resource names, and a queue's URL
//! when the account is known (`AWS_ACCOUNT_ID`), so code that reaches its
//! table or queue runs the same here.

use serde_json::Value;

use crate::common::{fnctl, json_result, repo};

const MANIFEST: &str = r#"
[app]
name = "shop"
runtime = "python3.12"

[providers.aws]
region = "eu-west-1"

[resources.orders]
kind = "table"
partition_key = "id"

[resources.jobs]
kind = "queue"

[functions.api]
handler = "app.handler"
access = { orders = "read-write", jobs = "send" }
"#;

const HANDLER: &str = r#"
import os

def handler(event, context):
    return {k: v for k, v in os.environ.items() if k.startswith("FNCTL_")}
"#;

fn run(account: Option<&str>) -> Value {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fnctl.toml"), MANIFEST).unwrap();
    std::fs::write(dir.path().join("app.py"), HANDLER).unwrap();
    let mut cmd = fnctl();
    cmd.env("FNCTL_PYTHON", repo().join(".venv-test/bin/python"))
        .env_remove("AWS_ACCOUNT_ID")
        .current_dir(dir.path())
        .args(["invoke", "api", "--local", "--output", "json"]);
    if let Some(a) = account {
        cmd.env("AWS_ACCOUNT_ID", a);
    }
    let (code, doc, stderr) = json_result(cmd.output().unwrap());
    assert_eq!(code, 0, "{doc:#}\n{stderr}");
    doc["invocation"]["payload"].clone()
}

#[test]
fn a_local_run_sees_the_resource_variables_lambda_sets() {
    let env = run(None);
    assert_eq!(env["FNCTL_ORDERS_NAME"], "shop-dev-orders", "{env:#}");
    assert_eq!(env["FNCTL_JOBS_NAME"], "shop-dev-jobs", "{env:#}");
    assert!(env.get("FNCTL_JOBS_URL").is_none(), "{env:#}");
    let env = run(Some("123456789012"));
    assert_eq!(
        env["FNCTL_JOBS_URL"],
        "https://sqs.eu-west-1.amazonaws.com/123456789012/shop-dev-jobs"
    );
}
