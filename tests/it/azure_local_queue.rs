//! `fnctl invoke --local --as azure` of a queue-triggered function: the SQS
//! event runs through the generated Azure entry and fnctl_azure_queue.py
//! under Microsoft's azure-functions package (a `QueueMessage`, as the
//! Python worker builds it), one message per run as the Functions host
//! hands them. A multi-record event is one run per record, and a record
//! that fails is reported as that record failing. The Node twin runs the
//! same events through fnctl_azure_queue.js under Microsoft's
//! @azure/functions (the message and trigger metadata the v4 model passes)
//! and is compared with the Python run.

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

/// The Node twin of [`HANDLERS`]: the same observations and failures (a
/// throw for "bad", a partial batch response for "partial").
const NODE_HANDLERS: &str = r#"
const fs = require('fs');
const path = require('path');
exports.worker = async (event) => {
  fs.appendFileSync(path.join(process.env.OBSERVE_DIR, 'events.jsonl'), JSON.stringify(event) + '\n');
  for (const r of event.Records) {
    if (r.body === 'bad') throw new TypeError('cannot process ' + r.messageId);
  }
  return { batchItemFailures: event.Records.filter((r) => r.body === 'partial')
    .map((r) => ({ itemIdentifier: r.messageId })) };
};
"#;

/// The Node app, named as the portable-node fixture (same stage), so its
/// generated package.json, and the cache key of its vendored
/// @azure/functions, are the fixture's.
fn node_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let manifest = MANIFEST
        .replace("name = \"lq\"", "name = \"portable-node\"")
        .replace("python3.12", "nodejs22");
    std::fs::write(dir.path().join("fnctl.toml"), manifest).unwrap();
    std::fs::write(dir.path().join("handlers.js"), NODE_HANDLERS).unwrap();
    // The @azure/functions a Node test run vendored for the portable-node
    // fixture (`invoke --local --as azure` fills that cache), copied into
    // this app's cache so the run needs no registry.
    let fixture = repo().join("tests/fixtures/portable-node");
    let cache = fixture.join(".fnctl/cache/node");
    let find = || {
        std::fs::read_dir(&cache).ok()?.find_map(|e| {
            let d = e.ok()?.path();
            d.join("node_modules/@azure/functions")
                .is_dir()
                .then_some(d)
        })
    };
    let vendored = find().unwrap_or_else(|| {
        let out = fnctl()
            .arg("--manifest")
            .arg(fixture.join("fnctl.toml"))
            .args([
                "invoke", "tick", "--local", "--as", "azure", "--event", "schedule",
            ])
            .output()
            .unwrap();
        find().unwrap_or_else(|| {
            panic!(
                "@azure/functions was not vendored: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
    });
    let mine = dir.path().join(".fnctl/cache/node");
    std::fs::create_dir_all(&mine).unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(&vendored)
        .arg(&mine)
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

fn sorted_keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("{v:#}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

#[test]
fn a_node_queue_function_runs_through_the_azure_queue_adapter_as_the_python_one_does() {
    let py = project();
    let node = node_project();

    // The sample event: one run each, with the same record.
    let (py_obs, node_obs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (code, py_doc, stderr) = invoke(py.path(), py_obs.path(), &["--event", "queue"]);
    assert_eq!(code, 0, "{py_doc:#}\n{stderr}");
    let (code, node_doc, stderr) = invoke(node.path(), node_obs.path(), &["--event", "queue"]);
    assert_eq!(code, 0, "{node_doc:#}\n{stderr}");
    assert_eq!(
        node_doc["invocation"]["payload"],
        Value::Null,
        "{node_doc:#}"
    );
    let (py_events, node_events) = (observed(py_obs.path()), observed(node_obs.path()));
    assert_eq!(node_events.len(), 1, "{node_events:#?}");
    assert_eq!(sorted_keys(&node_events[0]), sorted_keys(&py_events[0]));
    let (p, n) = (&py_events[0]["Records"][0], &node_events[0]["Records"][0]);
    assert_eq!(node_events[0]["Records"].as_array().unwrap().len(), 1);
    assert_eq!(sorted_keys(n), sorted_keys(p), "{p:#}\n{n:#}");
    assert_eq!(sorted_keys(&n["attributes"]), sorted_keys(&p["attributes"]));
    for same in [
        "messageId",
        "receiptHandle",
        "eventSource",
        "messageAttributes",
    ] {
        assert_eq!(n[same], p[same], "{same}");
    }
    for same in ["ApproximateReceiveCount", "SentTimestamp", "SenderId"] {
        assert_eq!(n["attributes"][same], p["attributes"][same], "{same}");
    }
    // The v4 model hands a JSON message parsed: the same data comes back
    // as text (the Python worker keeps the bytes as they were).
    let parse = |v: &Value| serde_json::from_str::<Value>(v.as_str().unwrap()).unwrap();
    assert_eq!(parse(&n["body"]), parse(&p["body"]));
    assert_eq!(
        n["eventSourceARN"],
        "azure:storage:queue:portable-node-dev-jobs"
    );

    // Several records: one run each, and the same records named as failed.
    let event = json!({"Records": [
        record("m-1", "fine", 1),
        record("m-2", "bad", 3),
        record("m-3", "partial", 1),
        record("m-4", "fine too", 2),
    ]})
    .to_string();
    let (py_obs, node_obs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (py_code, py_doc, _) = invoke(py.path(), py_obs.path(), &["--data", &event]);
    let (code, doc, stderr) = invoke(node.path(), node_obs.path(), &["--data", &event]);
    assert_eq!(code, 4, "{doc:#}\n{stderr}");
    assert_eq!(code, py_code);
    let runs = |events: Vec<Value>| -> Vec<Value> {
        events
            .iter()
            .map(|e| {
                let records = e["Records"].as_array().unwrap();
                assert_eq!(records.len(), 1, "{e:#}");
                let r = &records[0];
                json!([
                    r["messageId"],
                    r["body"],
                    r["receiptHandle"],
                    r["attributes"]["ApproximateReceiveCount"],
                    r["attributes"]["SentTimestamp"],
                ])
            })
            .collect()
    };
    let node_runs = runs(observed(node_obs.path()));
    assert_eq!(node_runs.len(), 4, "{node_runs:#?}");
    assert_eq!(node_runs, runs(observed(py_obs.path())));
    let (inv, py_inv) = (&doc["invocation"], &py_doc["invocation"]);
    assert_eq!(inv["function_error"], "QueueMessagesFailed", "{doc:#}");
    assert_eq!(
        sorted_keys(&inv["payload"]),
        sorted_keys(&py_inv["payload"])
    );
    let failed = |inv: &Value| -> Vec<(String, Vec<String>)> {
        inv["payload"]["failedMessages"]
            .as_array()
            .unwrap_or_else(|| panic!("{inv:#}"))
            .iter()
            .map(|f| (f["messageId"].as_str().unwrap().to_string(), sorted_keys(f)))
            .collect()
    };
    assert_eq!(failed(inv), failed(py_inv));
    let f = &inv["payload"]["failedMessages"];
    // The handler's throw keeps its type; the reported failure is the
    // adapter's throw.
    assert_eq!(f[0]["errorType"], "TypeError", "{doc:#}");
    assert_eq!(f[0]["errorMessage"], "cannot process m-2");
    assert_eq!(f[1]["errorType"], "Error", "{doc:#}");
    assert!(
        f[1]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("batchItemFailures"),
        "{doc:#}"
    );
    let message = inv["payload"]["errorMessage"].as_str().unwrap();
    assert!(message.contains("2 of 4 messages failed"), "{message}");
    assert!(message.contains("m-2, m-3"), "{message}");
}
