//! Issue 17, the local side: `fnctl dev` on an app whose AWS gateway is an
//! HTTP API (`[providers.aws] http = "http-api"`) gives the handler (under
//! AWS's own Python runtime client) payload format 2.0 events, answers an
//! unrouted request with the HTTP API's 404, and reads a result by 2.0's
//! rules (valid JSON without `statusCode` is a 200 JSON answer).
//!
//! [`DevApp`] is the harness dev_cors.rs and dev_jwt.rs use too: an app
//! written into a temporary directory, `fnctl dev --port 0 --no-watch`
//! on it, and its stderr collected. Every wait is for an event (a line
//! fnctl prints); the only clock is a hang guard a correct run never
//! reaches.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::repo;

/// Only stops a broken test from hanging forever.
const HANG_GUARD: Duration = Duration::from_secs(300);

/// dev's stderr lines so far, and whether it has closed stderr.
type Lines = Arc<(Mutex<(Vec<String>, bool)>, Condvar)>;

/// `fnctl dev` serving an app written for the test.
pub(crate) struct DevApp {
    child: Child,
    pub(crate) addr: String,
    _dir: tempfile::TempDir,
    stderr: Lines,
}

/// An answer: status, headers (names lower-cased), body.
pub(crate) type Answer = (u16, Vec<(String, String)>, Vec<u8>);

impl DevApp {
    /// Writes `manifest` and `handlers` (as handlers.py) and starts dev.
    pub(crate) fn start(manifest: &str, handlers: &str) -> DevApp {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("fnctl.toml"), manifest).unwrap();
        std::fs::write(dir.path().join("handlers.py"), handlers).unwrap();
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("fnctl"))
            .current_dir(dir.path())
            .args(["dev", "--port", "0", "--no-watch"])
            .env("FNCTL_PYTHON", repo().join(".venv-test/bin/python"))
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr: Lines = Arc::default();
        let writer = stderr.clone();
        let from = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(from).lines() {
                let Ok(line) = line else { break };
                writer.0.lock().unwrap().0.push(line);
                writer.1.notify_all();
            }
            writer.0.lock().unwrap().1 = true;
            writer.1.notify_all();
        });
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(addr) = line.trim().strip_prefix("listening on http://") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "unexpected first line: {line:?}\nstderr:\n{}",
                stderr.0.lock().unwrap().0.join("\n")
            );
        };
        DevApp {
            addr: addr.to_string(),
            child,
            _dir: dir,
            stderr,
        }
    }

    /// Sends one request and reads the whole answer.
    pub(crate) fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut s = std::net::TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(HANG_GUARD)).unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: 0\r\n",
            self.addr
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.lines();
        let status = lines.next().unwrap()[9..12].parse().unwrap();
        let headers = lines
            .filter_map(|l| {
                l.split_once(": ")
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            })
            .collect();
        (status, headers, raw[split + 4..].to_vec())
    }

    /// Blocks until `count` lines containing `needle` have been printed.
    pub(crate) fn wait_for_count(&self, needle: &str, count: usize) {
        let guard = Instant::now() + HANG_GUARD;
        let (lock, changed) = &*self.stderr;
        let mut state = lock.lock().unwrap();
        loop {
            if state.0.iter().filter(|l| l.contains(needle)).count() >= count {
                return;
            }
            let now = Instant::now();
            assert!(
                !state.1 && now < guard,
                "fnctl dev {} without printing `{needle}` {count} times; stderr:\n{}",
                if state.1 { "closed stderr" } else { "hung" },
                state.0.join("\n")
            );
            state = changed.wait_timeout(state, guard - now).unwrap().0;
        }
    }

    pub(crate) fn wait_for(&self, needle: &str) {
        self.wait_for_count(needle, 1);
    }

    /// Everything printed on stderr so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.0.lock().unwrap().0.join("\n")
    }
}

impl Drop for DevApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A header's value in an answer.
pub(crate) fn header<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
    answer
        .1
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub(crate) fn json_body(answer: &Answer) -> Value {
    serde_json::from_slice(&answer.2)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&answer.2)))
}

const MANIFEST: &str = r#"
[app]
name = "httpapi"
runtime = "python3.12"
timeout = 10

[providers.aws]
region = "eu-west-1"
http = "http-api"

[functions.echo]
handler = "handlers.echo"

[[functions.echo.triggers]]
type = "http"
method = ["GET", "POST"]
path = "/orders/{id}"

[functions.plain]
handler = "handlers.plain"

[[functions.plain.triggers]]
type = "http"
method = "GET"
path = "/plain"
"#;

const HANDLERS: &str = r#"
import json

def echo(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event), "cookies": ["s=1", "t=2"]}

def plain(event, context):
    # No statusCode: an HTTP API (2.0) answers 200 with this as JSON.
    return {"id": 7, "ok": True}
"#;

#[test]
fn http_api_apps_get_payload_2_0_events_and_answers() {
    let dev = DevApp::start(MANIFEST, HANDLERS);

    let answer = dev.request(
        "GET",
        "/orders/42?tag=a&tag=b&q=x+y",
        &[
            ("Cookie", "a=1; b=2"),
            ("X-Multi", "1"),
            ("X-Multi", "2"),
            ("User-Agent", "dev-test"),
        ],
    );
    assert_eq!(answer.0, 200, "{}", dev.stderr());
    let event = json_body(&answer);
    assert_eq!(event["version"], "2.0", "{event:#}");
    assert_eq!(event["routeKey"], "GET /orders/{id}");
    assert_eq!(
        event["rawPath"], "/dev/orders/42",
        "the stage prefixes the path"
    );
    assert_eq!(event["rawQueryString"], "tag=a&tag=b&q=x+y");
    assert_eq!(
        event["queryStringParameters"],
        serde_json::json!({"tag": "a,b", "q": "x y"})
    );
    assert_eq!(event["cookies"], serde_json::json!(["a=1", "b=2"]));
    assert_eq!(event["headers"]["x-multi"], "1,2");
    assert_eq!(event["pathParameters"], serde_json::json!({"id": "42"}));
    let cx = &event["requestContext"];
    assert_eq!(cx["http"]["method"], "GET");
    assert_eq!(cx["http"]["path"], "/dev/orders/42");
    assert_eq!(cx["http"]["userAgent"], "dev-test");
    assert_eq!(cx["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(cx["routeKey"], "GET /orders/{id}");
    assert_eq!(cx["stage"], "dev");
    assert!(cx["timeEpoch"].as_u64().unwrap() > 1_700_000_000_000);
    for v1 in [
        "httpMethod",
        "multiValueHeaders",
        "multiValueQueryStringParameters",
        "resource",
    ] {
        assert!(event.get(v1).is_none(), "{v1} is not in 2.0: {event:#}");
    }
    // The result's cookies become Set-Cookie headers.
    let cookies: Vec<&str> = answer
        .1
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(cookies, ["s=1", "t=2"]);

    // Valid JSON without statusCode: 200, application/json, the JSON.
    let answer = dev.request("GET", "/plain", &[]);
    assert_eq!(answer.0, 200, "{}", dev.stderr());
    assert_eq!(header(&answer, "content-type"), Some("application/json"));
    assert_eq!(json_body(&answer), serde_json::json!({"id": 7, "ok": true}));

    // Unrouted: an HTTP API says 404 Not Found (a REST API says 403),
    // for an unknown path and for a known path with another method.
    for (method, path) in [("GET", "/nope"), ("POST", "/plain")] {
        let answer = dev.request(method, path, &[]);
        assert_eq!(answer.0, 404, "{method} {path}");
        assert_eq!(
            json_body(&answer),
            serde_json::json!({"message": "Not Found"})
        );
    }
    dev.wait_for("POST /plain -> 404 (no route)");
    assert!(
        dev.stderr().contains("HTTP API gateway (payload 2.0)"),
        "dev says which gateway it plays:\n{}",
        dev.stderr()
    );
}
