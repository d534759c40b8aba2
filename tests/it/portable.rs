//! The portable handler contract: one handler file written for AWS runs on
//! the Lambda path (awslambdaric) and through fnctl's generated Azure entry
//! (Microsoft's azure-functions package) with the same results. Both paths
//! are driven by `fnctl invoke --local [--as azure]`; the handlers record
//! what they saw so even blob and timer runs (whose return value Azure
//! drops) can be compared.

use serde_json::{json, Value};

use crate::common::{fnctl, repo};

fn python() -> std::path::PathBuf {
    repo().join(".venv-test/bin/python")
}

struct Run {
    code: i32,
    doc: Value,
    observed: Option<Value>,
}

fn invoke(function: &str, event: &Value, azure: bool) -> Run {
    let observe = tempfile::tempdir().unwrap();
    let mut cmd = fnctl();
    cmd.env("FNCTL_PYTHON", python())
        .env("OBSERVE_DIR", observe.path())
        .arg("--manifest")
        .arg(repo().join("tests/fixtures/portable/fnctl.toml"))
        .args(["invoke", function, "--local", "--output", "json", "--data"])
        .arg(event.to_string());
    if azure {
        cmd.args(["--as", "azure"]);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let observed = std::fs::read_dir(observe.path())
        .unwrap()
        .next()
        .map(|e| serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap());
    Run {
        code: out.status.code().unwrap_or(-1),
        doc,
        observed,
    }
}

fn payload(run: &Run) -> Value {
    run.doc["invocation"]["payload"].clone()
}

/// Runs `event` on both paths and checks they agree; returns the AWS run.
fn both(function: &str, event: Value) -> (Run, Run) {
    let aws = invoke(function, &event, false);
    let azure = invoke(function, &event, true);
    assert_eq!(aws.code, 0, "AWS path: {:#}", aws.doc);
    assert_eq!(azure.code, 0, "Azure path: {:#}", azure.doc);
    assert!(aws.observed.is_some(), "the handler ran on the AWS path");
    assert_eq!(
        aws.observed, azure.observed,
        "the handler saw a different event through the Azure adapter"
    );
    (aws, azure)
}

fn http_event(method: &str, path: &str, resource: &str, params: Value) -> Value {
    json!({
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"accept": "*/*"},
        "multiValueHeaders": {"accept": ["*/*"]},
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": params,
        "stageVariables": null,
        "requestContext": {"stage": "dev", "requestId": "r1"},
        "body": null,
        "isBase64Encoded": false
    })
}

fn assert_same_response(aws: &Run, azure: &Run) {
    let (a, z) = (payload(aws), payload(azure));
    assert_eq!(a["statusCode"], z["statusCode"], "{a:#}\n{z:#}");
    assert_eq!(a["body"], z["body"], "{a:#}\n{z:#}");
    assert_eq!(
        a["headers"]["content-type"], z["headers"]["content-type"],
        "{a:#}\n{z:#}"
    );
}

#[test]
fn http_path_parameters_repeated_query_keys_and_env_agree() {
    let mut event = http_event("GET", "/items/42", "/items/{id}", json!({"id": "42"}));
    event["queryStringParameters"] = json!({"tag": "b", "q": "x y"});
    event["multiValueQueryStringParameters"] = json!({"tag": ["a", "b"], "q": ["x y"]});
    let (aws, azure) = both("api", event);
    assert_same_response(&aws, &azure);
    let seen = aws.observed.as_ref().unwrap();
    assert_eq!(seen["pathParameters"], json!({"id": "42"}));
    assert_eq!(seen["multiQuery"]["tag"], json!(["a", "b"]));
    assert_eq!(
        seen["greeting"], "hello",
        "manifest env reached the handler"
    );
    assert_eq!(seen["function"], "api");
    assert_eq!(seen["hasTime"], true, "the context has a deadline");
}

#[test]
fn http_text_and_binary_bodies_agree() {
    let mut json_post = http_event("POST", "/items/7", "/items/{id}", json!({"id": "7"}));
    json_post["headers"] = json!({"content-type": "application/json"});
    json_post["body"] = json!("{\"name\": \"pen\"}");
    let (aws, azure) = both("api", json_post);
    assert_same_response(&aws, &azure);
    assert_eq!(
        aws.observed.as_ref().unwrap()["body"],
        "{\"name\": \"pen\"}"
    );

    let mut binary = http_event("POST", "/items/7", "/items/{id}", json!({"id": "7"}));
    binary["headers"] = json!({"content-type": "application/octet-stream"});
    binary["body"] = json!("AP8QgA=="); // 00 ff 10 80
    binary["isBase64Encoded"] = json!(true);
    let (aws, _) = both("api", binary);
    assert_eq!(
        aws.observed.as_ref().unwrap()["body"],
        json!([0, 255, 16, 128])
    );
}

#[test]
fn greedy_paths_binary_responses_and_error_statuses_agree() {
    let (aws, azure) = both(
        "api",
        http_event(
            "GET",
            "/files/docs/report.bin",
            "/files/{path+}",
            json!({"path": "docs/report.bin"}),
        ),
    );
    let (a, z) = (payload(&aws), payload(&azure));
    assert_eq!(a["statusCode"], 200);
    assert_eq!(z["statusCode"], 200);
    // The handler's base64 body is decoded by the adapter into raw bytes
    // (00 ff 10); the harness reports non-UTF-8 bodies base64-encoded again.
    assert_eq!(a["body"], "AP8Q");
    assert_eq!(z["body"], "AP8Q");
    assert_eq!(z["isBase64Encoded"], true);

    let (aws, azure) = both(
        "api",
        http_event(
            "GET",
            "/items/missing",
            "/items/{id}",
            json!({"id": "missing"}),
        ),
    );
    assert_same_response(&aws, &azure);
    assert_eq!(payload(&azure)["statusCode"], 404);
}

#[test]
fn storage_events_agree_and_keys_stay_s3_encoded() {
    let event = json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1",
        "eventTime": "2026-01-01T00:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "c",
               "bucket": {"name": "incoming", "arn": "arn:aws:s3:::incoming"},
               "object": {"key": "in/my+report%282%29.csv", "size": 12, "eTag": "e", "sequencer": "1"}}
    }]});
    let (aws, _) = both("upload", event);
    let seen = aws.observed.unwrap();
    assert_eq!(seen["key"], "in/my+report%282%29.csv");
    assert_eq!(seen["bucket"], "incoming");
    assert_eq!(seen["size"], 12);
    assert_eq!(seen["eventName"], "ObjectCreated:Put");
}

#[test]
fn scheduled_events_agree() {
    let event = json!({
        "version": "0", "id": "e1", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "000000000000", "time": "2026-01-01T00:00:00Z", "region": "eu-west-1",
        "resources": ["arn:aws:events:eu-west-1:000000000000:rule/r"], "detail": {}
    });
    let (aws, _) = both("tick", event);
    assert_eq!(aws.observed.unwrap()["detail-type"], "Scheduled Event");
}

#[test]
fn a_raising_handler_fails_both_paths_and_azure_answers_502_like_api_gateway() {
    let event = http_event("GET", "/broken", "/broken", Value::Null);
    let aws = invoke("broken", &event, false);
    let azure = invoke("broken", &event, true);
    assert_eq!(aws.code, 4, "{:#}", aws.doc);
    assert_eq!(azure.code, 4, "{:#}", azure.doc);
    assert!(azure.doc["invocation"]["function_error"].is_string());
    let logs = azure.doc["invocation"]["logs"].to_string();
    assert!(logs.contains("broken on purpose"), "{logs}");
}

#[test]
fn an_event_without_a_matching_trigger_is_refused_with_a_fix() {
    let out = fnctl()
        .env("FNCTL_PYTHON", python())
        .arg("--manifest")
        .arg(repo().join("tests/fixtures/portable/fnctl.toml"))
        .args([
            "invoke",
            "tick",
            "--local",
            "--as",
            "azure",
            "--data",
            "{\"x\": 1}",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("not an API Gateway, S3 or scheduled event"),
        "{stderr}"
    );
    assert!(stderr.contains("--event"), "{stderr}");
}

/// The package itself: unzip what `fnctl package` built for Azure and run
/// its generated entry with the harness, as the Functions worker would load
/// it — code found at its packaged path, not in the project.
#[test]
fn the_packaged_azure_app_runs_from_its_own_files() {
    let project = tempfile::tempdir().unwrap();
    crate::common::copy_tree(&repo().join("tests/fixtures/portable"), project.path());
    let out = fnctl()
        .current_dir(project.path())
        .args(["package", "--provider", "azure", "--output", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let zip_path = doc["artifacts"][0]["path"].as_str().unwrap().to_string();

    let unpacked = tempfile::tempdir().unwrap();
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    archive.extract(unpacked.path()).unwrap();
    let mut names: Vec<String> = archive
        .file_names()
        .map(|n| n.unwrap().to_string())
        .collect();
    names.sort();
    for expected in [
        "host.json",
        "fnctl_azure_shim.py",
        "api-http1/function.json",
        "api-http2/__init__.py",
        "upload/function.json",
        "tick/function.json",
        "fnctl_code/api/handlers.py",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing: {names:?}"
        );
    }
    // The project directory is gone: only the package's files can be used.
    drop(project);

    let result = unpacked.path().join("result.json");
    let mut child = std::process::Command::new(python())
        .arg(repo().join("src/local/azure_harness.py"))
        .arg(unpacked.path())
        .arg("api-http1")
        .arg(&result)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let event = http_event("GET", "/items/5", "/items/{id}", json!({"id": "5"}));
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(event.to_string().as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let outcome: Value = serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap();
    assert_eq!(outcome["payload"]["statusCode"], 200, "{outcome:#}");
    let body: Value = serde_json::from_str(outcome["payload"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["pathParameters"], json!({"id": "5"}));
    assert_eq!(body["resource"], "/items/{id}");
}

// ---- Node: the handler called directly (as Lambda's Node runtime calls it)
// and through the generated @azure/functions app.

const NODE_DIRECT: &str = r#"
const [file, name] = process.argv.slice(1);
const event = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const fn = require(file)[name];
const deadline = Date.now() + 10000;
const context = { functionName: 'portable-node-dev-' + name, awsRequestId: 'direct',
  getRemainingTimeInMillis: () => deadline - Date.now() };
const done = (v) => process.stdout.write(JSON.stringify(v === undefined ? null : v));
const r = fn.length >= 3
  ? new Promise((ok, no) => fn(event, context, (e, v) => (e ? no(e) : ok(v))))
  : Promise.resolve(fn(event, context));
r.then(done, (e) => { console.error(e); process.exit(4); });
"#;

fn node_fixture() -> std::path::PathBuf {
    repo().join("tests/fixtures/portable-node")
}

/// The Node handler called directly with `event`: (payload, observation).
fn node_direct(function: &str, event: &Value) -> (Value, Option<Value>) {
    use std::io::Write;
    let observe = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new("node")
        .args(["-e", NODE_DIRECT])
        .arg(node_fixture().join("src/handlers.js"))
        .arg(function)
        .env("OBSERVE_DIR", observe.path())
        .env("GREETING", "hello")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(event.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "direct call of {function} failed");
    let observed = std::fs::read_dir(observe.path())
        .unwrap()
        .next()
        .map(|e| serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap());
    (serde_json::from_slice(&out.stdout).unwrap(), observed)
}

fn node_azure(function: &str, event: &Value) -> Run {
    let observe = tempfile::tempdir().unwrap();
    let out = fnctl()
        .env("OBSERVE_DIR", observe.path())
        .arg("--manifest")
        .arg(node_fixture().join("fnctl.toml"))
        .args([
            "invoke", function, "--local", "--as", "azure", "--output", "json", "--data",
        ])
        .arg(event.to_string())
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    let observed = std::fs::read_dir(observe.path())
        .unwrap()
        .next()
        .map(|e| serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap());
    Run {
        code: out.status.code().unwrap_or(-1),
        doc,
        observed,
    }
}

fn node_both(function: &str, event: Value) -> (Value, Run) {
    let (direct, seen_direct) = node_direct(function, &event);
    let azure = node_azure(function, &event);
    assert_eq!(azure.code, 0, "Azure path: {:#}", azure.doc);
    assert!(seen_direct.is_some(), "the handler ran on the direct path");
    assert_eq!(
        seen_direct, azure.observed,
        "the Node handler saw a different event through the Azure adapter"
    );
    (direct, azure)
}

#[test]
fn node_http_events_and_responses_agree() {
    let mut get = http_event("GET", "/items/42", "/items/{id}", json!({"id": "42"}));
    get["queryStringParameters"] = json!({"tag": "b"});
    get["multiValueQueryStringParameters"] = json!({"tag": ["a", "b"]});
    let (direct, azure) = node_both("api", get);
    let z = payload(&azure);
    assert_eq!(direct["statusCode"], z["statusCode"]);
    assert_eq!(direct["body"], z["body"]);

    let mut binary = http_event("POST", "/items/7", "/items/{id}", json!({"id": "7"}));
    binary["headers"] = json!({"content-type": "application/octet-stream"});
    binary["body"] = json!("AP8QgA==");
    binary["isBase64Encoded"] = json!(true);
    let (_, azure) = node_both("api", binary);
    assert_eq!(azure.observed.unwrap()["body"], json!([0, 255, 16, 128]));

    let (direct, azure) = node_both(
        "api",
        http_event(
            "GET",
            "/files/docs/report.bin",
            "/files/{path+}",
            json!({"path": "docs/report.bin"}),
        ),
    );
    assert_eq!(direct["body"], "AP8Q");
    assert_eq!(
        payload(&azure)["body"],
        "AP8Q",
        "decoded to bytes by the adapter"
    );
    assert_eq!(payload(&azure)["isBase64Encoded"], true);
}

#[test]
fn node_storage_schedule_and_errors_agree() {
    let storage = json!({"Records": [{
        "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "incoming"},
               "object": {"key": "in/my+report%282%29.csv", "size": 12}}
    }]});
    let (_, azure) = node_both("upload", storage);
    assert_eq!(azure.observed.unwrap()["key"], "in/my+report%282%29.csv");

    let tick = json!({"version": "0", "id": "e", "detail-type": "Scheduled Event",
        "source": "aws.events", "time": "2026-01-01T00:00:00Z", "resources": [], "detail": {}});
    node_both("tick", tick);

    let broken = node_azure(
        "broken",
        &http_event("GET", "/broken", "/broken", Value::Null),
    );
    assert_eq!(broken.code, 4, "{:#}", broken.doc);
    assert!(broken.doc["invocation"]["logs"]
        .to_string()
        .contains("broken on purpose"));
}

#[test]
fn the_packaged_node_app_runs_from_its_own_files() {
    let project = tempfile::tempdir().unwrap();
    crate::common::copy_tree(&node_fixture(), project.path());
    let out = fnctl()
        .current_dir(project.path())
        .args(["package", "--provider", "azure", "--output", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let zip_path = doc["artifacts"][0]["path"].as_str().unwrap().to_string();
    let unpacked = tempfile::tempdir().unwrap();
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    archive.extract(unpacked.path()).unwrap();
    for expected in [
        "host.json",
        "package.json",
        "fnctl_azure_app.js",
        "fnctl_azure_shim.js",
        "node_modules/@azure/functions/package.json",
        "fnctl_code/api/handlers.js",
    ] {
        assert!(
            unpacked.path().join(expected).is_file(),
            "{expected} missing"
        );
    }
    assert!(
        !unpacked.path().join("api/function.json").exists(),
        "the v4 model declares bindings in code"
    );
    drop(project);

    use std::io::Write;
    let result = unpacked.path().join("result.json");
    let mut child = std::process::Command::new("node")
        .arg(repo().join("src/local/azure_harness.js"))
        .arg(unpacked.path())
        .arg("api-http1")
        .arg(&result)
        .env("GREETING", "from-settings")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let event = http_event("GET", "/items/5", "/items/{id}", json!({"id": "5"}));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(event.to_string().as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let outcome: Value = serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap();
    assert_eq!(outcome["payload"]["statusCode"], 200, "{outcome:#}");
    let body: Value = serde_json::from_str(outcome["payload"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["pathParameters"], json!({"id": "5"}));
    assert_eq!(body["greeting"], "from-settings");
}
