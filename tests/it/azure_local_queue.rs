//! `fnctl invoke --local --as azure` of a queue-triggered function: the SQS
//! event runs through the generated Azure entry and fnctl_azure_queue.py
//! under Microsoft's azure-functions package (a `QueueMessage`, as the
//! Python worker builds it), one message per run as the Functions host
//! hands them. A multi-record event is one run per record, and a record
//! that fails is reported as that record failing.

use std::path::Path;

use serde_json::{json, Value};

use crate::common::{fnctl, json_result, repo};

const MANIFEST: &str = r#"[app]
name = "lq"
runtime = "python3.12"
timeout = 10

[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "lq-rg"
location = "westeurope"

[resources.jobs]
kind = "queue"

[functions.worker]
handler = "handlers.worker"

[[functions.worker.triggers]]
type = "queue"
queue = "jobs"
"#;

/// Appends each event it gets to $OBSERVE_DIR/events.jsonl; fails a
/// message whose body says "bad" by raising, and one whose body says
/// "partial" through a partial batch response.
const HANDLERS: &str = r#"
import json, os

def worker(event, context):
    with open(os.path.join(os.environ["OBSERVE_DIR"], "events.jsonl"), "a") as fh:
        fh.write(json.dumps(event) + "\n")
    for r in event["Records"]:
        if r["body"] == "bad":
            raise ValueError("cannot process " + r["messageId"])
    return {"batchItemFailures": [
        {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "partial"
    ]}
"#;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fnctl.toml"), MANIFEST).unwrap();
    std::fs::write(dir.path().join("handlers.py"), HANDLERS).unwrap();
    dir
}

fn invoke(dir: &Path, observe: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = fnctl()
        .env("FNCTL_PYTHON", repo().join(".venv-test/bin/python"))
        .env("OBSERVE_DIR", observe)
        .arg("--manifest")
        .arg(dir.join("fnctl.toml"))
        .args([
            "invoke", "worker", "--local", "--as", "azure", "--output", "json",
        ])
        .args(args)
        .output()
        .unwrap();
    json_result(out)
}

fn observed(observe: &Path) -> Vec<Value> {
    std::fs::read_to_string(observe.join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn record(id: &str, body: &str, receives: u32) -> Value {
    json!({
        "messageId": id,
        "receiptHandle": format!("receipt-{id}"),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": receives.to_string(),
            "SentTimestamp": "1767225600000",
            "SenderId": "x",
            "ApproximateFirstReceiveTimestamp": "1767225600020",
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:westeurope:000000000000:lq-dev-jobs",
        "awsRegion": "westeurope",
    })
}

#[test]
fn the_sample_queue_event_runs_through_the_azure_queue_adapter() {
    let dir = project();
    let observe = tempfile::tempdir().unwrap();
    let (code, doc, stderr) = invoke(dir.path(), observe.path(), &["--event", "queue"]);
    assert_eq!(code, 0, "{doc:#}\n{stderr}");
    let events = observed(observe.path());
    assert_eq!(events.len(), 1, "{events:#?}");
    let r = &events[0]["Records"][0];
    // What the adapter rebuilt from the QueueMessage: the sample's id,
    // body and receive count, and the Azure queue as the source.
    assert_eq!(r["messageId"], "c0ffee00-0000-4000-8000-000000000001");
    assert_eq!(r["body"], "{\"id\": \"1\"}");
    assert_eq!(r["receiptHandle"], "fnctl-sample-receipt-handle");
    assert_eq!(r["attributes"]["ApproximateReceiveCount"], "1");
    assert_eq!(r["attributes"]["SentTimestamp"], "1767225600000");
    assert_eq!(r["eventSource"], "aws:sqs");
    assert_eq!(r["eventSourceARN"], "azure:storage:queue:lq-dev-jobs");
    assert_eq!(doc["invocation"]["payload"], Value::Null, "{doc:#}");
}

#[test]
fn each_record_is_one_run_and_a_failing_record_is_named() {
    let dir = project();
    let observe = tempfile::tempdir().unwrap();
    let event = json!({"Records": [
        record("m-1", "fine", 1),
        record("m-2", "bad", 3),
        record("m-3", "partial", 1),
        record("m-4", "fine too", 2),
    ]});
    let (code, doc, stderr) = invoke(dir.path(), observe.path(), &["--data", &event.to_string()]);
    assert_eq!(code, 4, "{doc:#}\n{stderr}");
    // Four runs of one record each, in order, with their own receive counts.
    let events = observed(observe.path());
    let seen: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            let records = e["Records"].as_array().unwrap();
            assert_eq!(records.len(), 1, "{e:#}");
            (
                records[0]["messageId"].as_str().unwrap().to_string(),
                records[0]["attributes"]["ApproximateReceiveCount"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [("m-1", "1"), ("m-2", "3"), ("m-3", "1"), ("m-4", "2")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    // The raise and the partial batch response fail their own messages only.
    let inv = &doc["invocation"];
    assert_eq!(inv["function_error"], "QueueMessagesFailed", "{doc:#}");
    let failed: Vec<(&str, &str)> = inv["payload"]["failedMessages"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc:#}"))
        .iter()
        .map(|f| {
            (
                f["messageId"].as_str().unwrap(),
                f["errorType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(failed, [("m-2", "ValueError"), ("m-3", "RuntimeError")]);
    let message = inv["payload"]["errorMessage"].as_str().unwrap();
    assert!(message.contains("2 of 4 messages failed"), "{message}");
    assert!(message.contains("m-2, m-3"), "{message}");
}

#[test]
fn a_single_failing_message_keeps_its_error_type() {
    let dir = project();
    let observe = tempfile::tempdir().unwrap();
    let event = json!({"Records": [record("only", "bad", 1)]});
    let (code, doc, stderr) = invoke(dir.path(), observe.path(), &["--data", &event.to_string()]);
    assert_eq!(code, 4, "{doc:#}\n{stderr}");
    assert_eq!(doc["invocation"]["function_error"], "ValueError", "{doc:#}");
    assert_eq!(
        doc["invocation"]["payload"]["failedMessages"][0]["errorMessage"],
        "cannot process only"
    );
}
