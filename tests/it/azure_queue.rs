//! Queue triggers on Azure (issue 16): the generated package binds each
//! queue trigger (function.json `queueTrigger` on the app-data connection,
//! host.json `extensions.queues`), and the generated adapter turns a Storage
//! queue message into the SQS event the handler gets on AWS. The handler
//! runs under Microsoft's azure-functions package (`azure.functions.queue.
//! QueueMessage`, the type the Python worker builds) and is compared with
//! the same handler called with the SQS event `--event queue` sends on AWS.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::common::repo;
use fnctl::model::App;
use fnctl::provider::azure::package as layout;

fn python() -> PathBuf {
    repo().join(".venv-test/bin/python")
}

fn fixture() -> PathBuf {
    repo().join("tests/fixtures/portable-queue")
}

fn load() -> App {
    let path = fixture().join("fnctl.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let source = fnctl::manifest::Source::new(&path, text);
    let env: std::collections::BTreeMap<String, String> = Default::default();
    fnctl::manifest::load_source(
        &source,
        &fnctl::manifest::LoadOptions {
            stage: "dev",
            env: &env,
            check_files: false,
        },
    )
    .unwrap()
}

/// Calls the handler as Lambda's Python runtime does: `handler(event, context)`.
const AWS_RUNNER: &str = r#"
import importlib, json, sys
code, spec = sys.argv[1], sys.argv[2]
sys.path.insert(0, code)
module, _, name = spec.rpartition(".")
class Context:
    function_name = "direct"
    aws_request_id = "direct"
    def get_remaining_time_in_millis(self):
        return 10000
result = getattr(importlib.import_module(module), name)(json.load(sys.stdin), Context())
print(json.dumps(result))
"#;

/// Does what the Functions Python worker does for a queue trigger: imports
/// the generated entry and calls `main` with a `QueueMessage`.
const AZURE_RUNNER: &str = r#"
import datetime, importlib.util, json, sys, traceback
from azure.functions.queue import QueueMessage
root, name = sys.argv[1], sys.argv[2]
sys.path.insert(0, root)
m = json.load(sys.stdin)
msg = QueueMessage(
    id=m["id"], body=m["body"].encode("utf-8"), pop_receipt=m["pop_receipt"],
    dequeue_count=m["dequeue_count"],
    insertion_time=datetime.datetime.fromtimestamp(m["inserted_ms"] / 1000, datetime.timezone.utc),
)
spec = importlib.util.spec_from_file_location("entry", "%s/%s/__init__.py" % (root, name))
entry = importlib.util.module_from_spec(spec)
spec.loader.exec_module(entry)
class Context:
    invocation_id = "inv-1"
try:
    entry.main(msg, Context())
except Exception:
    traceback.print_exc()
    sys.exit(5)
"#;

fn run(program: &Path, args: &[&str], stdin: &Value, env: &[(&str, &Path)]) -> (i32, String) {
    let mut child = Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, *v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The app's generated Azure files, with the code read from the fixture.
fn stage(app: &App) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let code = |f: &fnctl::model::Function| {
        std::fs::canonicalize(fixture().join(&f.source))
            .unwrap()
            .display()
            .to_string()
    };
    for g in layout::generated_files(app, &code) {
        let path = dir.path().join(&g.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, g.contents).unwrap();
    }
    dir
}

/// Runs the Azure entry `name` on one message; returns (exit code, output).
fn azure(dir: &Path, name: &str, message: &Value, observe: &Path) -> (i32, String) {
    let runner = dir.join("runner.py");
    std::fs::write(&runner, AZURE_RUNNER).unwrap();
    run(
        &python(),
        &[runner.to_str().unwrap(), dir.to_str().unwrap(), name],
        message,
        &[("OBSERVE_DIR", observe)],
    )
}

fn message(body: &str) -> Value {
    json!({
        "id": "7f0c3a2e-1111-4222-8333-444455556666",
        "body": body,
        "pop_receipt": "AgAAAAMAAAAAAAAA",
        "dequeue_count": 2,
        "inserted_ms": 1_767_225_600_000u64,
    })
}

#[test]
fn the_azure_adapter_gives_the_handler_the_sqs_event_aws_gives() {
    let app = load();
    let f = &app.functions["worker"];
    let aws_event =
        fnctl::events::queue_event(&app, &f.queue_triggers[0], "eu-west-1", "123456789012");

    let observe_aws = tempfile::tempdir().unwrap();
    let runner = observe_aws.path().join("aws_runner.py");
    std::fs::write(&runner, AWS_RUNNER).unwrap();
    let code = fixture().join("src");
    let (rc, out) = run(
        &python(),
        &[
            runner.to_str().unwrap(),
            code.to_str().unwrap(),
            "handlers.worker",
        ],
        &aws_event,
        &[("OBSERVE_DIR", observe_aws.path())],
    );
    assert_eq!(rc, 0, "{out}");
    let seen_aws: Value =
        serde_json::from_slice(&std::fs::read(observe_aws.path().join("worker.json")).unwrap())
            .unwrap();

    let dir = stage(&app);
    let observe_az = tempfile::tempdir().unwrap();
    let body = aws_event["Records"][0]["body"].as_str().unwrap();
    let (rc, out) = azure(dir.path(), "worker", &message(body), observe_az.path());
    assert_eq!(rc, 0, "{out}");
    let seen_az: Value =
        serde_json::from_slice(&std::fs::read(observe_az.path().join("worker.json")).unwrap())
            .unwrap();

    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    let (a, z) = (&seen_aws["Records"][0], &seen_az["Records"][0]);
    assert_eq!(seen_az["Records"].as_array().unwrap().len(), 1);
    assert_eq!(keys(a), keys(z), "{a:#}\n{z:#}");
    assert_eq!(keys(&a["attributes"]), keys(&z["attributes"]));
    for same in ["body", "eventSource", "md5OfBody", "messageAttributes"] {
        assert_eq!(a[same], z[same], "{same}");
    }
    assert_eq!(z["eventSource"], "aws:sqs");
    assert_eq!(z["messageId"], "7f0c3a2e-1111-4222-8333-444455556666");
    assert_eq!(z["receiptHandle"], "AgAAAAMAAAAAAAAA");
    assert_eq!(z["attributes"]["ApproximateReceiveCount"], "2");
    assert_eq!(z["attributes"]["SentTimestamp"], "1767225600000");
    assert_eq!(z["eventSourceARN"], "azure:storage:queue:pq-dev-jobs");
}

#[test]
fn a_raising_handler_or_a_reported_failure_fails_the_azure_invocation() {
    let app = load();
    let dir = stage(&app);
    let observe = tempfile::tempdir().unwrap();
    let (rc, out) = azure(dir.path(), "broken", &message("{}"), observe.path());
    assert_eq!(rc, 5, "{out}");
    assert!(out.contains("cannot process"), "{out}");
    let (rc, out) = azure(dir.path(), "picky", &message("{}"), observe.path());
    assert_eq!(rc, 5, "{out}");
    assert!(out.contains("batchItemFailures"), "{out}");
    let (rc, out) = azure(dir.path(), "worker", &message("{}"), observe.path());
    assert_eq!(rc, 0, "{out}");
}

#[test]
fn the_package_binds_each_queue_trigger_and_sets_the_host_queue_settings() {
    let app = load();
    let files = layout::generated_files(&app, &layout::code_path);
    let get = |p: &str| -> Value {
        serde_json::from_str(&files.iter().find(|f| f.path == p).unwrap().contents).unwrap()
    };
    assert_eq!(
        get("host.json")["extensions"]["queues"],
        json!({"batchSize": 4, "maxDequeueCount": 3})
    );
    for name in ["worker", "picky", "broken"] {
        let b = &get(&format!("{name}/function.json"))["bindings"][0];
        assert_eq!(b["type"], "queueTrigger");
        assert_eq!(b["queueName"], "pq-dev-jobs");
        assert_eq!(b["connection"], "FNCTL_DATA");
    }
}

/// The Node adapter (fnctl_azure_queue.js) with what the v4 model passes: a
/// JSON message already parsed, and `context.triggerMetadata`.
const NODE_RUNNER: &str = r#"
const [shim, queueShim, code, spec] = process.argv.slice(2);
const { Function } = require(shim);
const { queue } = require(queueShim);
const fn = new Function({ name: 'worker', app: 'pq', stage: 'dev', code, handler: spec,
  memoryMb: 128, timeoutS: 10 });
const m = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const context = { invocationId: 'inv-1', triggerMetadata: { id: m.id, popReceipt: m.pop_receipt,
  dequeueCount: m.dequeue_count, insertionTime: new Date(m.inserted_ms).toISOString() } };
queue(fn, JSON.parse(m.body), context, 'pq-dev-jobs')
  .then(() => process.exit(0), (e) => { console.error(String(e)); process.exit(5); });
"#;

const NODE_HANDLERS: &str = r#"
const fs = require('fs');
exports.worker = async (event) => {
  if (process.env.OBSERVE_DIR) fs.writeFileSync(process.env.OBSERVE_DIR + '/worker.json', JSON.stringify(event));
  return { batchItemFailures: [] };
};
exports.picky = async (event) => ({ batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) });
exports.broken = async () => { throw new Error('cannot process'); };
"#;

#[test]
fn the_node_queue_adapter_builds_the_same_sqs_record_and_fails_on_failures() {
    let app = load();
    let f = &app.functions["worker"];
    let aws_event =
        fnctl::events::queue_event(&app, &f.queue_triggers[0], "eu-west-1", "123456789012");
    let a = &aws_event["Records"][0];
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("handlers.js"), NODE_HANDLERS).unwrap();
    std::fs::write(dir.path().join("runner.js"), NODE_RUNNER).unwrap();
    let shim = repo().join("src/provider/azure/shim/fnctl_azure_shim.js");
    let queue_shim = repo().join("src/provider/azure/shim/fnctl_azure_queue.js");
    let node = |spec: &str, observe: &Path| {
        run(
            Path::new("node"),
            &[
                dir.path().join("runner.js").to_str().unwrap(),
                shim.to_str().unwrap(),
                queue_shim.to_str().unwrap(),
                dir.path().to_str().unwrap(),
                spec,
            ],
            &message(a["body"].as_str().unwrap()),
            &[("OBSERVE_DIR", observe)],
        )
    };
    let observe = tempfile::tempdir().unwrap();
    let (rc, out) = node("handlers.worker", observe.path());
    assert_eq!(rc, 0, "{out}");
    let seen: Value =
        serde_json::from_slice(&std::fs::read(observe.path().join("worker.json")).unwrap())
            .unwrap();
    let z = &seen["Records"][0];
    let keys = |v: &Value| {
        let mut k = v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        k.sort();
        k
    };
    assert_eq!(keys(a), keys(z), "{a:#}\n{z:#}");
    assert_eq!(keys(&a["attributes"]), keys(&z["attributes"]));
    // The v4 model parses a JSON message: the same data comes back as text.
    let parse = |v: &Value| serde_json::from_str::<Value>(v.as_str().unwrap()).unwrap();
    assert_eq!(parse(&a["body"]), parse(&z["body"]));
    assert_eq!(z["eventSource"], "aws:sqs");
    assert_eq!(z["messageId"], "7f0c3a2e-1111-4222-8333-444455556666");
    assert_eq!(z["receiptHandle"], "AgAAAAMAAAAAAAAA");
    assert_eq!(z["attributes"]["ApproximateReceiveCount"], "2");
    assert_eq!(z["attributes"]["SentTimestamp"], "1767225600000");
    assert_eq!(z["eventSourceARN"], "azure:storage:queue:pq-dev-jobs");

    let (rc, out) = node("handlers.broken", observe.path());
    assert_eq!(rc, 5, "{out}");
    assert!(out.contains("cannot process"), "{out}");
    let (rc, out) = node("handlers.picky", observe.path());
    assert_eq!(rc, 5, "{out}");
    assert!(out.contains("batchItemFailures"), "{out}");
}
