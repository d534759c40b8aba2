//! `fnctl dev` end to end: the real binary, the real Python runtime client,
//! HTTP on a free loopback port.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{copy_tree, repo};

struct Dev {
    child: Option<Child>,
    addr: String,
    dir: tempfile::TempDir,
}

impl Dev {
    fn start() -> Dev {
        Dev::start_fixture("tests/fixtures/dev")
    }

    fn start_fixture(fixture: &str) -> Dev {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(&repo().join(fixture), dir.path());
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("fnctl"))
            .current_dir(dir.path())
            .args(["dev", "--port", "0"])
            .env("FNCTL_PYTHON", repo().join(".venv-test/bin/python"))
            .env(
                "FNCTL_NODE_RIC",
                repo().join(".node-test/node_modules/.bin/aws-lambda-ric"),
            )
            .env("DEVTEST_EVENTS", dir.path().join("events.log"))
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        let line = String::from_utf8(line).unwrap();
        let addr = line
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_string();
        // Let the folder watcher take its first look before tests write files.
        std::thread::sleep(Duration::from_millis(700));
        Dev {
            child: Some(child),
            addr,
            dir,
        }
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let mut s = std::net::TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).unwrap();
        s.write_all(body).unwrap();
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

    fn get_json(&self, path: &str) -> (u16, Value) {
        let (status, _, body) = self.request("GET", path, &[], b"");
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    fn events(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("events.log")).unwrap_or_default()
    }

    fn wait_for(&self, what: &str, check: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !check() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; events so far:\n{}",
                self.events()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends SIGINT and waits for the exit status.
    fn interrupt(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "fnctl dev did not stop on SIGINT"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn http_requests_become_api_gateway_events() {
    let dev = Dev::start();
    let (status, headers, body) = dev.request(
        "GET",
        "/echo/ada%20l?tag=a&tag=b&q=x+y",
        &[("x-test", "yes")],
        b"",
    );
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["name"], "ada l");
    assert_eq!(v["method"], "GET");
    assert_eq!(v["query"], serde_json::json!({"tag": "b", "q": "x y"}));
    assert_eq!(v["multi"]["tag"], serde_json::json!(["a", "b"]));
    assert_eq!(v["header"], "yes");
    assert_eq!(v["resource"], "/echo/{name}");
    assert!(headers.contains(&("x-handled-by".into(), "echo".into())));
    assert_eq!(
        headers.iter().filter(|(k, _)| k == "set-cookie").count(),
        2,
        "multi-value headers"
    );

    let (_, _, body) = dev.request(
        "POST",
        "/echo/json",
        &[("content-type", "application/json")],
        br#"{"a": 1}"#,
    );
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (v["body"].as_str(), v["base64"].as_bool()),
        (Some(r#"{"a": 1}"#), Some(false))
    );

    let (_, _, body) = dev.request(
        "POST",
        "/echo/bin",
        &[("content-type", "application/octet-stream")],
        &[0, 159, 255],
    );
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["body"],
        serde_json::json!([0, 159, 255]),
        "binary bodies arrive base64-encoded and decode to the same bytes"
    );
    assert_eq!(v["base64"], true);

    assert_eq!(dev.request("GET", "/nope", &[], b"").0, 404);
    assert_eq!(dev.request("DELETE", "/echo/x", &[], b"").0, 405);
}

#[test]
fn failing_handlers_do_not_stop_the_host() {
    let dev = Dev::start();
    let (status, _, body) = dev.request("GET", "/boom", &[], b"");
    assert_eq!(status, 502);
    assert_eq!(
        String::from_utf8_lossy(&body),
        r#"{"message": "Internal server error"}"#
    );
    let (status, _, _) = dev.request("GET", "/slow", &[], b"");
    assert_eq!(status, 504, "the manifest timeout (1 s) applies");
    assert_eq!(dev.get_json("/echo/still-here").0, 200);
    assert_eq!(dev.request("GET", "/boom", &[], b"").0, 502, "and again");
}

#[test]
fn concurrent_requests_run_in_parallel_workers_without_cross_talk() {
    let dev = Dev::start();
    let dev = &dev;
    let results: Vec<(usize, Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|i| s.spawn(move || (i, dev.get_json(&format!("/pause/t{i}")).1)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, v) in &results {
        assert_eq!(
            v["tag"],
            format!("t{i}"),
            "each response answers its own request"
        );
    }
    let mut pids: Vec<u64> = results
        .iter()
        .map(|(_, v)| v["pid"].as_u64().unwrap())
        .collect();
    pids.sort();
    pids.dedup();
    assert!(
        pids.len() >= 2 && pids.len() <= 4,
        "served by several warm workers, at most --max-workers: {pids:?}"
    );
}

#[test]
fn bucket_folders_and_schedules_fire_events() {
    let dev = Dev::start();
    let inbox = dev.dir.path().join(".fnctl/buckets/inbox");
    std::fs::create_dir_all(inbox.join("in")).unwrap();
    std::fs::create_dir_all(inbox.join("out")).unwrap();
    std::fs::write(inbox.join("in/a.txt"), "hello").unwrap();
    std::fs::write(inbox.join("in/b.csv"), "filtered by suffix").unwrap();
    std::fs::write(inbox.join("out/c.txt"), "filtered by prefix").unwrap();
    dev.wait_for("the created event", || {
        dev.events().contains("ObjectCreated:Put inbox in/a.txt")
    });
    std::fs::remove_file(inbox.join("in/a.txt")).unwrap();
    dev.wait_for("the deleted event", || {
        dev.events().contains("ObjectRemoved:Delete inbox in/a.txt")
    });
    let (status, _, _) = dev.request("POST", "/_fnctl/schedule/record", &[], b"");
    assert_eq!(status, 200);
    dev.wait_for("the scheduled event", || {
        dev.events().contains("Scheduled Event")
    });
    let events = dev.events();
    assert!(
        !events.contains("b.csv") && !events.contains("c.txt"),
        "{events}"
    );
}

#[test]
fn code_changes_reload_and_sigint_stops_every_worker() {
    let mut dev = Dev::start();
    let (_, _, body) = dev.request("GET", "/version", &[], b"");
    assert_eq!(body, b"one");
    let pids: Vec<u64> = (0..2)
        .map(|i| {
            dev.get_json(&format!("/pause/p{i}")).1["pid"]
                .as_u64()
                .unwrap()
        })
        .collect();

    let handlers = dev.dir.path().join("handlers.py");
    let code = std::fs::read_to_string(&handlers)
        .unwrap()
        .replace("VERSION = \"one\"", "VERSION = \"two\"");
    std::fs::write(&handlers, code).unwrap();
    dev.wait_for("the reload", || {
        dev.request("GET", "/version", &[], b"").2 == b"two"
    });
    let fresh: Vec<u64> = (0..1)
        .map(|i| {
            dev.get_json(&format!("/pause/q{i}")).1["pid"]
                .as_u64()
                .unwrap()
        })
        .collect();

    let status = dev.interrupt();
    assert!(status.success(), "clean exit on SIGINT: {status:?}");
    std::thread::sleep(Duration::from_millis(300));
    for pid in pids.iter().chain(&fresh) {
        assert!(
            !PathBuf::from(format!("/proc/{pid}")).exists(),
            "worker {pid} is still running"
        );
    }
}

#[test]
fn node_functions_are_served_by_aws_lambda_ric_workers() {
    let mut dev = Dev::start_fixture("tests/fixtures/portable-node");
    let (status, body) = dev.get_json("/items/7?tag=a&tag=b");
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["pathParameters"]["id"], "7");
    assert_eq!(body["multiQuery"]["tag"], serde_json::json!(["a", "b"]));
    assert_eq!(body["greeting"], "hello");
    let (status, _, _) = dev.request("GET", "/broken", &[], b"");
    assert_eq!(status, 502, "a raising handler is API Gateway's 502");
    let (status, _) = dev.get_json("/items/8");
    assert_eq!(status, 200, "the host keeps serving after an error");
    assert!(dev.interrupt().success());
}
