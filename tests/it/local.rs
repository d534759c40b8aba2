//! `invoke --local`: handlers run by AWS's own Python runtime client
//! (awslambdaric, installed by .ci/run into .venv-test) against fnctl's
//! embedded Runtime API.

use serde_json::Value;

use crate::common::{fnctl, json_result, repo};

fn invoke(function: &str, extra: &[&str]) -> (i32, Value, String) {
    let out = fnctl()
        .env("FNCTL_PYTHON", repo().join(".venv-test/bin/python"))
        .arg("--manifest")
        .arg(repo().join("tests/fixtures/local/fnctl.toml"))
        .args(["invoke", function, "--local", "--output", "json"])
        .args(extra)
        .output()
        .unwrap();
    json_result(out)
}

#[test]
fn a_handler_gets_the_sample_event_env_and_context() {
    let (code, doc, stderr) = invoke(
        "echo",
        &[
            "--event",
            "http",
            "--expect-status",
            "200",
            "--expect-body",
            "\"greeting\": \"hello\"",
        ],
    );
    assert_eq!(code, 0, "{doc:#}\n{stderr}");
    let payload: Value = doc["invocation"]["payload"].clone();
    let body: Value = serde_json::from_str(payload["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        body["name"], "sample-name",
        "path parameter from the sample event"
    );
    assert_eq!(body["function"], "localtest-dev-echo");
    assert_eq!(
        body["remaining_ms_positive"], true,
        "the deadline header reached the context"
    );
    let logs: Vec<&str> = doc["invocation"]["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        logs.iter()
            .any(|l| l.contains("echo called for sample-name")),
        "{logs:?}"
    );
}

#[test]
fn a_raising_handler_exits_4_with_its_error_type() {
    let (code, doc, _) = invoke("boom", &["--data", "{}"]);
    assert_eq!(code, 4);
    assert_eq!(doc["invocation"]["function_error"], "ValueError");
    assert_eq!(
        doc["invocation"]["payload"]["errorMessage"], "this handler always fails",
        "{doc:#}"
    );
}

/// awslambdaric writes a traceback as one record with `\r` between its
/// lines; the logs show it whole, one line per line.
#[test]
fn a_traceback_keeps_its_lines() {
    let (code, doc, _) = invoke("boom", &["--data", "{}"]);
    assert_eq!(code, 4);
    let logs: Vec<&str> = doc["invocation"]["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let at = logs
        .iter()
        .position(|l| *l == "[ERROR] ValueError: this handler always fails")
        .unwrap_or_else(|| panic!("{logs:?}"));
    assert_eq!(
        logs[at + 1],
        "Traceback (most recent call last):",
        "{logs:?}"
    );
    assert!(
        logs[at + 2].contains("handlers.py") && logs[at + 2].contains("in boom"),
        "{logs:?}"
    );
    assert!(logs.iter().all(|l| !l.contains('\r')), "{logs:?}");
}

#[test]
fn a_handler_that_cannot_load_is_an_init_error() {
    let (code, doc, _) = invoke("missing", &[]);
    assert_eq!(code, 4);
    let err = doc["invocation"]["function_error"].as_str().unwrap();
    assert!(err.starts_with("init: Runtime."), "{err}");
}

#[test]
fn the_manifest_timeout_is_enforced() {
    let scratch = tempfile::tempdir().unwrap();
    let trace = scratch.path().join("slow.trace");
    let out = fnctl()
        .env("FNCTL_PYTHON", repo().join(".venv-test/bin/python"))
        .env("LOCALTEST_TRACE", &trace)
        .arg("--manifest")
        .arg(repo().join("tests/fixtures/local/fnctl.toml"))
        .args(["invoke", "slow", "--local", "--output", "json"])
        .output()
        .unwrap();
    let (code, doc, stderr) = json_result(out);
    assert_eq!(code, 4, "{doc:#}\n{stderr}");
    assert_eq!(doc["invocation"]["function_error"], "timed out after 1 s");
    // The worker loaded the handler, and by the time invoke returns it is
    // gone with the handler cut off in its sleep: stopped, not waited for.
    let trace = std::fs::read_to_string(&trace).expect("the worker started");
    let mut lines = trace.lines();
    let pid: u32 = lines.next().unwrap().parse().unwrap();
    assert_eq!(lines.next(), None, "the handler ran to its end: {trace}");
    assert!(
        !process_runs(pid),
        "worker {pid} still runs after invoke returned"
    );
}

/// True while `pid` is a process that has not exited (a zombie has).
fn process_runs(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // `pid (comm) state ...`; comm may hold spaces and parentheses.
            let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
            Some(state != 'Z' && state != 'X')
        })
        .unwrap_or(false)
}

#[test]
fn a_missing_runtime_client_says_what_to_install() {
    let out = fnctl()
        .env("FNCTL_PYTHON", "/nonexistent/python3")
        .arg("--manifest")
        .arg(repo().join("tests/fixtures/local/fnctl.toml"))
        .args(["invoke", "echo", "--local"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Python (/nonexistent/python3) is not available"),
        "{stderr}"
    );
    assert!(stderr.contains("pip install awslambdaric"), "{stderr}");
}

/// Node handlers under AWS's own Node runtime client (aws-lambda-ric,
/// installed by .ci/run into .node-test), against the embedded Runtime API.
fn invoke_node(function: &str, extra: &[&str]) -> (i32, Value, String) {
    let observe = tempfile::tempdir().unwrap();
    let out = fnctl()
        .env(
            "FNCTL_NODE_RIC",
            repo().join(".node-test/node_modules/.bin/aws-lambda-ric"),
        )
        .env("OBSERVE_DIR", observe.path())
        .arg("--manifest")
        .arg(repo().join("tests/fixtures/portable-node/fnctl.toml"))
        .args(["invoke", function, "--local", "--output", "json"])
        .args(extra)
        .output()
        .unwrap();
    json_result(out)
}

#[test]
fn node_handlers_run_under_aws_lambda_ric() {
    let (code, doc, stderr) = invoke_node(
        "api",
        &[
            "--event",
            "http",
            "--expect-status",
            "200",
            "--expect-body",
            "\"greeting\":\"hello\"",
        ],
    );
    assert_eq!(code, 0, "{doc:#}\n{stderr}");
    let logs = doc["invocation"]["logs"].to_string();
    assert!(
        logs.contains("Executing 'handlers.api'"),
        "the RIC ran it: {logs}"
    );

    // A callback-style handler with an S3 event.
    let (code, doc, stderr) = invoke_node("upload", &["--event", "storage"]);
    assert_eq!(code, 0, "{doc:#}\n{stderr}");
    let payload: Value = doc["invocation"]["payload"].clone();
    assert_eq!(payload["bucket"], "incoming");
    assert_eq!(payload["eventName"], "ObjectCreated:Put");

    // A raising handler: the RIC reports the error, fnctl exits 4.
    let (code, doc, _) = invoke_node("broken", &["--event", "http"]);
    assert_eq!(code, 4, "{doc:#}");
    assert!(
        doc["invocation"]["payload"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("broken on purpose"),
        "{doc:#}"
    );
}

/// A `provided` function: its own `bootstrap` executable polls the embedded
/// Runtime API, as a custom runtime does on Lambda.
#[test]
fn a_provided_bootstrap_runs_against_the_runtime_api() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_tree(&repo().join("tests/fixtures/custom-runtime"), dir.path());
    let run = |data: &str| {
        let out = fnctl()
            .current_dir(dir.path())
            .args([
                "invoke", "shout", "--local", "--output", "json", "--data", data,
            ])
            .output()
            .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap_or(-1), doc)
    };
    let (code, doc) = run(r#"{"say": "hi"}"#);
    assert_eq!(code, 0, "{doc:#}");
    let payload: Value = doc["invocation"]["payload"].clone();
    assert_eq!(payload["event"]["say"], "hi");
    assert_eq!(
        payload["prefix"], "custom",
        "manifest env reached the binary"
    );
    assert_eq!(payload["function"], "custom-dev-shout");
    assert_eq!(payload["has_deadline"], true);
    assert!(doc["invocation"]["logs"].to_string().contains("handling "));

    let (code, doc) = run(r#"{"please": "fail"}"#);
    assert_eq!(code, 4, "{doc:#}");
    assert_eq!(doc["invocation"]["function_error"], "Custom.Failure");
}
