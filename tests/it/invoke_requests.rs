//! `invoke` builds the request the user asks for: a chosen route and a
//! concrete path for the sample HTTP event, an event from stdin, the
//! function's JSON payload embedded as JSON, and a 5xx through the URL is a
//! failure (exit 4) without `--expect-status`.

use std::io::Write;
use std::process::Stdio;

use serde_json::Value;

use crate::common::{fnctl_process, json_result, repo};

const MANIFEST: &str = r#"
[app]
name = "orders"
runtime = "python3.12"

[functions.orders]
handler = "handlers.echo"

[[functions.orders.triggers]]
type = "http"
method = ["GET", "PUT"]
path = "/orders/{id}"

[[functions.orders.triggers]]
type = "http"
method = "POST"
path = "/orders"

[[functions.orders.triggers]]
type = "http"
method = "GET"
path = "/orders/special"
"#;

const HANDLER: &str = r#"
def echo(event, context):
    return {"statusCode": 200, "seen": {
        "method": event.get("httpMethod"),
        "path": event.get("path"),
        "resource": event.get("resource"),
        "params": event.get("pathParameters"),
        "body": event.get("body"),
        "custom": event.get("custom"),
    }}
"#;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fnctl.toml"), MANIFEST).unwrap();
    std::fs::write(dir.path().join("handlers.py"), HANDLER).unwrap();
    dir
}

/// Runs `invoke orders --local` with `args`, `stdin` piped in.
fn invoke(dir: &tempfile::TempDir, args: &[&str], stdin: Option<&str>) -> (i32, Value, String) {
    let mut child = fnctl_process()
        .env("FNCTL_PYTHON", repo().join(".venv-test/bin/python"))
        .current_dir(dir.path())
        .args(["--output", "json", "invoke", "orders", "--local"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    json_result(child.wait_with_output().unwrap())
}

fn seen(doc: &Value) -> &Value {
    // The payload is JSON, so it is embedded as JSON (not a string).
    &doc["invocation"]["payload"]["seen"]
}

#[test]
fn the_sample_request_follows_route_and_path() {
    let dir = project();

    // By default: the first route, its first method, sample parameters.
    let (code, doc, stderr) = invoke(&dir, &["--event", "http"], None);
    assert_eq!(code, 0, "{stderr}{doc:#}");
    assert_eq!(seen(&doc)["resource"], "/orders/{id}", "{doc:#}");
    assert_eq!(seen(&doc)["method"], "GET");
    assert_eq!(
        doc["status"], 200,
        "statusCode read from the embedded payload"
    );

    // A route and a method of one's choosing (no --event needed).
    let (code, doc, stderr) = invoke(&dir, &["--route", "POST /orders"], None);
    assert_eq!(code, 0, "{stderr}{doc:#}");
    assert_eq!(seen(&doc)["resource"], "/orders");
    assert_eq!(seen(&doc)["method"], "POST");
    assert_eq!(seen(&doc)["body"], "{}", "a POST sample carries a body");

    // Route and concrete path: parameters come from the path.
    let (code, doc, stderr) = invoke(
        &dir,
        &["--route", "PUT /orders/{id}", "--path", "/orders/42"],
        None,
    );
    assert_eq!(code, 0, "{stderr}{doc:#}");
    assert_eq!(seen(&doc)["method"], "PUT");
    assert_eq!(seen(&doc)["path"], "/orders/42");
    assert_eq!(seen(&doc)["params"]["id"], "42");

    // A path alone picks the route API Gateway would: the literal wins.
    let (_, doc, _) = invoke(&dir, &["--path", "/orders/special"], None);
    assert_eq!(seen(&doc)["resource"], "/orders/special", "{doc:#}");
    assert!(seen(&doc)["params"].is_null());
    let (_, doc, _) = invoke(&dir, &["--path", "/orders/7"], None);
    assert_eq!(seen(&doc)["resource"], "/orders/{id}");
    assert_eq!(seen(&doc)["params"]["id"], "7");
}

#[test]
fn a_route_the_function_does_not_have_is_refused_with_its_routes() {
    let dir = project();
    let (code, doc, stderr) = invoke(&dir, &["--route", "DELETE /orders/{id}"], None);
    assert_eq!(code, 2, "{stderr}{doc:#}");
    let text = format!("{doc}{stderr}");
    assert!(text.contains("has no route DELETE /orders/{id}"), "{text}");
    assert!(text.contains("POST /orders"), "lists the routes: {text}");
    let (code, doc, stderr) = invoke(&dir, &["--path", "/customers/1"], None);
    assert_eq!(code, 2, "{stderr}{doc:#}");
}

#[test]
fn data_dash_reads_the_event_from_stdin() {
    let dir = project();
    let (code, doc, stderr) = invoke(&dir, &["--data", "-"], Some(r#"{"custom": "from stdin"}"#));
    assert_eq!(code, 0, "{stderr}{doc:#}");
    assert_eq!(seen(&doc)["custom"], "from stdin");
    let (code, doc, _) = invoke(&dir, &["--data", "-"], Some("not json"));
    assert_eq!(code, 2, "{doc:#}");
}

/// Through the function's URL, an answer of 500 is the function failing:
/// exit 4 without any `--expect-*` flag.
#[test]
fn a_5xx_through_the_url_exits_4() {
    let moto = crate::moto::Moto::start();
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_tree(
        crate::common::example("python-http-api").parent().unwrap(),
        dir.path(),
    );
    let manifest = dir.path().join("fnctl.toml");
    let api = crate::stand_in::StandIn::start();
    let base = format!("{}/v1", api.url);
    api.answer(
        500,
        "application/json",
        r#"{"message": "Internal server error"}"#,
    );
    let (code, doc, stderr) = crate::faults::fnctl_json_at(
        &moto,
        &moto.endpoint,
        &manifest,
        &["invoke", "get-user", "-p", "aws", "--base-url", &base],
    );
    assert_eq!(code, 4, "{stderr}{doc:#}");
    assert_eq!(doc["ok"], false);
    assert!(
        doc["failures"][0]
            .as_str()
            .unwrap()
            .contains("answered HTTP 500"),
        "{doc:#}"
    );
    assert_eq!(api.take().len(), 1);
}

/// Issue 17: an app whose AWS gateway is an HTTP API gets the payload
/// format 2.0 sample event (route key, stage-prefixed raw path, the
/// method under `requestContext.http`), so `invoke --local --event http`
/// tries a handler with the event it will receive once deployed.
#[test]
fn http_api_apps_get_a_payload_2_0_sample() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = MANIFEST.replace(
        "[functions.orders]",
        "[providers.aws]\nregion = \"eu-west-1\"\nhttp = \"http-api\"\n\n[functions.orders]",
    );
    std::fs::write(dir.path().join("fnctl.toml"), manifest).unwrap();
    std::fs::write(
        dir.path().join("handlers.py"),
        "def echo(event, context):\n    return {\"statusCode\": 200, \"seen\": event}\n",
    )
    .unwrap();
    let (code, doc, stderr) = invoke(
        &dir,
        &["--route", "PUT /orders/{id}", "--path", "/orders/42"],
        None,
    );
    assert_eq!(code, 0, "{stderr}{doc:#}");
    let event = seen(&doc);
    assert_eq!(event["version"], "2.0", "{doc:#}");
    assert_eq!(event["routeKey"], "PUT /orders/{id}");
    assert_eq!(event["rawPath"], "/dev/orders/42");
    assert_eq!(event["pathParameters"]["id"], "42");
    assert_eq!(event["requestContext"]["http"]["method"], "PUT");
    assert_eq!(event["body"], "{}");
    assert!(
        event.get("httpMethod").is_none() && event.get("multiValueHeaders").is_none(),
        "no 1.0 fields: {event:#}"
    );

    // The default sample: the first route and method.
    let (code, doc, stderr) = invoke(&dir, &["--event", "http"], None);
    assert_eq!(code, 0, "{stderr}{doc:#}");
    assert_eq!(seen(&doc)["routeKey"], "GET /orders/{id}");
    assert_eq!(seen(&doc)["rawPath"], "/dev/orders/1");
}
