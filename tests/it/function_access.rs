//! Issue 16 on AWS, against moto: every function runs as its own role
//! holding exactly its access, receives its resources' variables, and a
//! queue trigger becomes an SQS event source mapping on the stage alias.
//! Checked by direct IAM and Lambda reads, not through fnctl's own read.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::common::{python_project, MotoClients};
use crate::faults::fnctl_json_at;
use crate::moto::Moto;

const ACCOUNT: &str = "123456789012";

/// The manifest (left out of the packages, so editing it changes no code).
fn manifest(api_orders: &str, batch_size: u32) -> String {
    format!(
        r#"[app]
name = "acc"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"

[resources.orders]
kind = "table"
partition_key = "id"

[resources.jobs]
kind = "queue"
visibility_timeout = 60

[resources.uploads]
kind = "bucket"

[functions.api]
handler = "app.handler"
exclude = ["fnctl.toml"]
access = {{ orders = "{api_orders}", jobs = "send" }}

[functions.worker]
handler = "app.handler"
exclude = ["fnctl.toml"]
access = {{ uploads = "read" }}
[[functions.worker.triggers]]
type = "queue"
queue = "jobs"
batch_size = {batch_size}
max_batching_window = 2
"#
    )
}

fn deploy(moto: &Moto, manifest: &Path) -> Value {
    let (code, doc, stderr) = fnctl_json_at(moto, &moto.endpoint, manifest, &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true, "{doc:#}");
    doc
}

/// (action, kind.name, changed) of every change that is not a no-op.
fn changes(doc: &Value) -> Vec<(String, String, Vec<String>)> {
    doc["deployments"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op" && c["action"] != "noop")
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_string(),
                format!(
                    "{}.{}",
                    c["id"]["kind"].as_str().unwrap(),
                    c["id"]["name"].as_str().unwrap()
                ),
                c["changed"]
                    .as_array()
                    .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// A role's inline policy as (actions, resources) per statement.
async fn policy(c: &MotoClients, role: &str) -> Vec<(Vec<String>, Vec<String>)> {
    let doc = c
        .iam
        .get_role_policy()
        .role_name(role)
        .policy_name("fnctl-statements")
        .send()
        .await
        .unwrap();
    let doc: Value = serde_json::from_str(
        &percent_encoding::percent_decode_str(doc.policy_document()).decode_utf8_lossy(),
    )
    .unwrap();
    let list = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            v => v
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect(),
        }
    };
    doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["Effect"], "Allow");
            (list(&s["Action"]), list(&s["Resource"]))
        })
        .collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn table(actions_write: bool) -> Vec<(Vec<String>, Vec<String>)> {
    let table = format!("arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/acc-dev-orders");
    let mut out = vec![(
        strings(&[
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:Scan",
            "dynamodb:BatchGetItem",
            "dynamodb:DescribeTable",
        ]),
        vec![table.clone(), format!("{table}/index/*")],
    )];
    if actions_write {
        out.push((
            strings(&[
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:BatchWriteItem",
            ]),
            vec![table],
        ));
    }
    out
}

fn env_of(env: Option<&aws_sdk_lambda::types::EnvironmentResponse>) -> BTreeMap<String, String> {
    env.and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect()
}

#[test]
fn each_function_runs_as_its_own_role_with_exactly_its_access() {
    let moto = Moto::start();
    let (_dir, path) = python_project(&manifest("read-write", 5));
    let queue_arn = format!("arn:aws:sqs:us-east-1:{ACCOUNT}:acc-dev-jobs");
    let jobs_send = (
        strings(&[
            "sqs:SendMessage",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
        ]),
        vec![queue_arn.clone()],
    );

    deploy(&moto, &path);

    // An earlier fnctl ran every function as one shared role: put the api
    // function back on such a role, tagged as fnctl's. The redeploy moves
    // the function to its own role, and only then deletes the shared one.
    crate::common::block_on(async {
        let c = MotoClients::new(&moto, "us-east-1").await;
        c.iam
            .create_role()
            .role_name("acc-dev-lambda")
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
            .tags(tag("fnctl:app", "acc"))
            .tags(tag("fnctl:stage", "dev"))
            .tags(tag("managed-by", "fnctl"))
            .send()
            .await
            .unwrap();
        c.lambda
            .update_function_configuration()
            .function_name("acc-dev-api")
            .role(format!("arn:aws:iam::{ACCOUNT}:role/acc-dev-lambda"))
            .send()
            .await
            .unwrap();
    });
    let doc = deploy(&moto, &path);
    let done: Vec<(String, String)> = changes(&doc)
        .into_iter()
        .map(|(a, id, _)| (a, id))
        .collect();
    let at = |want: (&str, &str)| {
        done.iter()
            .position(|(a, id)| a == want.0 && id == want.1)
            .unwrap_or_else(|| panic!("{want:?} not in {done:?}"))
    };
    assert!(
        at(("update", "lambda_function.acc-dev-api")) < at(("delete", "iam_role.acc-dev-lambda")),
        "the function leaves the shared role before it goes: {done:?}"
    );
    // The alias's version already runs as the function's role (the role
    // was changed outside fnctl on `$LATEST` only): nothing else changes.
    assert_eq!(done.len(), 2, "{done:?}");

    crate::common::block_on(async {
        let c = MotoClients::new(&moto, "us-east-1").await;
        assert!(
            !c.role_exists("acc-dev-lambda").await,
            "shared role deleted"
        );

        let mut api_want = vec![jobs_send.clone()];
        api_want.extend(table(true));
        assert_eq!(policy(&c, "acc-dev-api-role").await, api_want);
        assert_eq!(
            policy(&c, "acc-dev-worker-role").await,
            vec![
                (
                    strings(&[
                        "sqs:ReceiveMessage",
                        "sqs:DeleteMessage",
                        "sqs:ChangeMessageVisibility",
                        "sqs:GetQueueAttributes",
                    ]),
                    vec![queue_arn.clone()],
                ),
                (
                    strings(&["s3:GetObject"]),
                    strings(&["arn:aws:s3:::acc-dev-uploads/*"]),
                ),
                (
                    strings(&["s3:ListBucket"]),
                    strings(&["arn:aws:s3:::acc-dev-uploads"]),
                ),
            ]
        );
        for role in ["acc-dev-api-role", "acc-dev-worker-role"] {
            let attached = c
                .iam
                .list_attached_role_policies()
                .role_name(role)
                .send()
                .await
                .unwrap();
            assert_eq!(
                attached
                    .attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn())
                    .collect::<Vec<_>>(),
                ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]
            );
            let got = c.iam.get_role().role_name(role).send().await.unwrap();
            let tags: BTreeMap<&str, &str> = got
                .role()
                .unwrap()
                .tags()
                .iter()
                .map(|t| (t.key(), t.value()))
                .collect();
            assert_eq!(tags.get("managed-by"), Some(&"fnctl"));
            assert_eq!(
                tags.get("fnctl:function").copied(),
                role.strip_prefix("acc-dev-")
                    .and_then(|r| r.strip_suffix("-role"))
            );
        }

        // Each function runs as its role, with its resources' variables.
        let api = c
            .lambda
            .get_function_configuration()
            .function_name("acc-dev-api")
            .send()
            .await
            .unwrap();
        assert_eq!(
            api.role(),
            Some(format!("arn:aws:iam::{ACCOUNT}:role/acc-dev-api-role").as_str())
        );
        let env = env_of(api.environment());
        assert_eq!(
            env.get("FNCTL_ORDERS_NAME").map(String::as_str),
            Some("acc-dev-orders")
        );
        assert_eq!(
            env.get("FNCTL_JOBS_NAME").map(String::as_str),
            Some("acc-dev-jobs")
        );
        assert_eq!(
            env.get("FNCTL_JOBS_URL").map(String::as_str),
            Some(format!("https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/acc-dev-jobs").as_str())
        );
        assert_eq!(
            env.get("FNCTL_UPLOADS_NAME"),
            None,
            "only what it can access"
        );
        let worker = c
            .lambda
            .get_function_configuration()
            .function_name("acc-dev-worker")
            .send()
            .await
            .unwrap();
        let env = env_of(worker.environment());
        assert_eq!(
            env.get("FNCTL_UPLOADS_NAME").map(String::as_str),
            Some("acc-dev-uploads")
        );
        assert!(
            env.contains_key("FNCTL_JOBS_URL"),
            "the trigger implies consume: {env:?}"
        );
        assert_eq!(env.get("FNCTL_ORDERS_NAME"), None);

        // The queue trigger: one mapping, on the worker's stage alias.
        let mappings = c
            .lambda
            .list_event_source_mappings()
            .event_source_arn(&queue_arn)
            .send()
            .await
            .unwrap();
        let [m] = mappings.event_source_mappings() else {
            panic!("one mapping: {mappings:?}");
        };
        assert!(
            m.function_arn()
                .unwrap()
                .contains(":function:acc-dev-worker:"),
            "{m:?}"
        );
        assert_eq!(m.batch_size(), Some(5));
        assert_eq!(m.maximum_batching_window_in_seconds(), Some(2));
        assert_eq!(
            m.function_response_types()
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>(),
            ["ReportBatchItemFailures"]
        );
    });

    // Unchanged: no mutating call at all.
    let doc = deploy(&moto, &path);
    assert_eq!(changes(&doc), vec![], "{doc:#}");
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");

    // One access level less: only that role's policy changes.
    std::fs::write(&path, manifest("read", 5)).unwrap();
    let doc = deploy(&moto, &path);
    assert_eq!(
        changes(&doc),
        vec![(
            "update".to_string(),
            "iam_role.acc-dev-api-role".to_string(),
            vec!["inline_statements".to_string()]
        )],
        "{doc:#}"
    );
    crate::common::block_on(async {
        let c = MotoClients::new(&moto, "us-east-1").await;
        let mut want = vec![jobs_send.clone()];
        want.extend(table(false));
        assert_eq!(policy(&c, "acc-dev-api-role").await, want);
    });

    // A new batch size: the mapping is updated in place, nothing else.
    std::fs::write(&path, manifest("read", 7)).unwrap();
    let doc = deploy(&moto, &path);
    assert_eq!(
        changes(&doc),
        vec![(
            "update".to_string(),
            "lambda_event_source.acc-dev-worker:dev/acc-dev-jobs".to_string(),
            vec!["batch_size".to_string()]
        )],
        "{doc:#}"
    );
    crate::common::block_on(async {
        let c = MotoClients::new(&moto, "us-east-1").await;
        let mappings = c
            .lambda
            .list_event_source_mappings()
            .event_source_arn(&queue_arn)
            .send()
            .await
            .unwrap();
        let batches: Vec<_> = mappings
            .event_source_mappings()
            .iter()
            .map(|m| m.batch_size())
            .collect();
        assert_eq!(batches, [Some(7)]);
    });

    // The plan shows the policy per role, with the account and region
    // fnctl fills in at apply written as placeholders.
    let (code, doc, stderr) = fnctl_json_at(&moto, &moto.endpoint, &path, &["plan", "--offline"]);
    assert_eq!(code, 0, "{stderr}");
    let text = doc.to_string();
    assert!(
        text.contains(&json!("arn:aws:sqs:{region}:{account}:acc-dev-jobs").to_string()),
        "{doc:#}"
    );
}

fn tag(k: &str, v: &str) -> aws_sdk_iam::types::Tag {
    aws_sdk_iam::types::Tag::builder()
        .key(k)
        .value(v)
        .build()
        .unwrap()
}
