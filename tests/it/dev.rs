//! `fnctl dev` end to end: the real binary, the real Python runtime client,
//! HTTP on a free loopback port.
//!
//! Every wait here is for an event (a line fnctl prints, the process
//! exiting, a handler meeting another); the only clock is a hang guard of
//! several minutes that a correct run, however slow, never reaches.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{copy_tree, repo};

/// Only stops a broken test from hanging forever.
const HANG_GUARD: Duration = Duration::from_secs(300);

/// What `fnctl dev` printed on stderr so far, and whether it has closed it.
#[derive(Default)]
struct Stderr {
    lines: Mutex<(Vec<String>, bool)>,
    changed: Condvar,
}

impl Stderr {
    /// Reads `from` to the end on a thread of its own.
    fn collect(from: impl Read + Send + 'static) -> Arc<Stderr> {
        let log = Arc::new(Stderr::default());
        let writer = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(from).lines() {
                let Ok(line) = line else { break };
                writer.lock().0.push(line);
                writer.changed.notify_all();
            }
            writer.lock().1 = true;
            writer.changed.notify_all();
        });
        log
    }

    /// Blocks until a line containing `needle` has been printed.
    fn wait_for(&self, needle: &str) {
        let guard = Instant::now() + HANG_GUARD;
        let mut state = self.lock();
        loop {
            if state.0.iter().any(|l| l.contains(needle)) {
                return;
            }
            let now = Instant::now();
            assert!(
                !state.1 && now < guard,
                "fnctl dev {} without printing `{needle}`; stderr:\n{}",
                if state.1 { "closed stderr" } else { "hung" },
                state.0.join("\n")
            );
            state = self
                .changed
                .wait_timeout(state, guard - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn text(&self) -> String {
        self.lock().0.join("\n")
    }

    /// Everything printed, once fnctl has closed stderr (or the guard passed).
    fn all(&self) -> String {
        let guard = Instant::now() + HANG_GUARD;
        let mut state = self.lock();
        while !state.1 && Instant::now() < guard {
            state = self
                .changed
                .wait_timeout(state, guard.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        state.0.join("\n")
    }

    /// The lines and the end flag (a failed test's panic leaves them usable).
    fn lock(&self) -> std::sync::MutexGuard<'_, (Vec<String>, bool)> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct Dev {
    child: Option<Child>,
    addr: String,
    dir: tempfile::TempDir,
    /// Outside the app, so what handlers write there never looks like a
    /// code change to the reload watcher.
    scratch: tempfile::TempDir,
    stderr: Arc<Stderr>,
}

impl Dev {
    fn start() -> Dev {
        Dev::start_fixture("tests/fixtures/dev")
    }

    fn start_fixture(fixture: &str) -> Dev {
        let dir = tempfile::tempdir().unwrap();
        let scratch = tempfile::tempdir().unwrap();
        copy_tree(&repo().join(fixture), dir.path());
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("fnctl"))
            .current_dir(dir.path())
            .args(["dev", "--port", "0"])
            .env("FNCTL_PYTHON", repo().join(".venv-test/bin/python"))
            .env(
                "FNCTL_NODE_RIC",
                repo().join(".node-test/node_modules/.bin/aws-lambda-ric"),
            )
            .env("DEVTEST_EVENTS", scratch.path().join("events.log"))
            .env("DEVTEST_MEET_DIR", scratch.path().join("meet"))
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Stderr::collect(child.stderr.take().unwrap());
        let mut stdout = child.stdout.take().unwrap();
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        let line = String::from_utf8(line).unwrap();
        // fnctl dev reports ready only once its watchers have taken their
        // first look, so files written from here on are changes.
        let addr = line
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("unexpected first line: {line}\n{}", stderr.all())
            })
            .to_string();
        Dev {
            child: Some(child),
            addr,
            dir,
            scratch,
            stderr,
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
        s.set_read_timeout(Some(HANG_GUARD)).unwrap();
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
        std::fs::read_to_string(self.scratch.path().join("events.log")).unwrap_or_default()
    }

    /// Sends SIGINT and waits for the exit status.
    fn interrupt(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        let guard = Instant::now() + HANG_GUARD;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > guard {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "fnctl dev did not stop on SIGINT; stderr:\n{}",
                    self.stderr.text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
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
}

/// API Gateway's REST API answers an unrouted path and a wrong method alike.
#[test]
fn unrouted_paths_and_wrong_methods_get_api_gateways_403() {
    let dev = Dev::start();
    for (method, path) in [("GET", "/nope"), ("DELETE", "/echo/x"), ("PUT", "/version")] {
        let (status, headers, body) = dev.request(method, path, &[], b"");
        assert_eq!(status, 403, "{method} {path}");
        assert_eq!(
            String::from_utf8_lossy(&body),
            r#"{"message":"Missing Authentication Token"}"#,
            "{method} {path}"
        );
        assert!(headers.contains(&("content-type".into(), "application/json".into())));
    }
    dev.stderr.wait_for("DELETE /echo/x -> 403");
}

/// What a handler prints, and the traceback of a crash, reach the terminal
/// prefixed with the function's name, one line per line of the traceback.
#[test]
fn handler_output_and_tracebacks_are_printed_prefixed() {
    let dev = Dev::start();
    assert_eq!(dev.request("GET", "/boom", &[], b"").0, 502);
    dev.stderr.wait_for("[boom] boom is about to fail");
    dev.stderr.wait_for("[boom] [ERROR] RuntimeError: boom");
    dev.stderr
        .wait_for("[boom] Traceback (most recent call last):");
    let text = dev.stderr.text();
    assert!(
        text.lines().any(|l| l.starts_with("[boom] ")
            && l.contains("handlers.py")
            && l.contains("in boom")),
        "the traceback's frame lines are there: {text}"
    );
    assert!(!text.contains('\r'), "no carriage returns: {text:?}");
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
    // `meet=2`: each handler waits until two workers have entered it, so
    // the requests overlap however slowly they arrive or start.
    let results: Vec<(usize, Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|i| s.spawn(move || (i, dev.get_json(&format!("/pause/t{i}?meet=2")).1)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, v) in &results {
        assert_eq!(
            v["tag"],
            format!("t{i}"),
            "each response answers its own request"
        );
        assert_eq!(v["met"], true, "the handlers met: {v}");
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
    // The filtered files first: a look that sees a.txt has seen them too.
    std::fs::write(inbox.join("in/b.csv"), "filtered by suffix").unwrap();
    std::fs::write(inbox.join("out/c.txt"), "filtered by prefix").unwrap();
    std::fs::write(inbox.join("in/a.txt"), "hello").unwrap();
    dev.stderr
        .wait_for("[record] created s3://inbox/in/a.txt -> ok");
    assert!(
        dev.events().contains("ObjectCreated:Put inbox in/a.txt"),
        "{}",
        dev.events()
    );
    std::fs::remove_file(inbox.join("in/a.txt")).unwrap();
    dev.stderr
        .wait_for("[record] deleted s3://inbox/in/a.txt -> ok");
    assert!(
        dev.events().contains("ObjectRemoved:Delete inbox in/a.txt"),
        "{}",
        dev.events()
    );
    // On demand, answered once the handler has run.
    let (status, _, _) = dev.request("POST", "/_fnctl/schedule/record", &[], b"");
    assert_eq!(status, 200);
    let events = dev.events();
    assert!(events.contains("Scheduled Event"), "{events}");
    assert!(
        !events.contains("b.csv") && !events.contains("c.txt"),
        "{events}"
    );
    let stderr = dev.stderr.text();
    assert!(
        !stderr.contains("b.csv") && !stderr.contains("c.txt"),
        "{stderr}"
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

    // Replace the file whole (no half-written file to reload), with a
    // modification time that differs whatever the clock's granularity.
    let handlers = dev.dir.path().join("handlers.py");
    let before = std::fs::metadata(&handlers).unwrap().modified().unwrap();
    let code = std::fs::read_to_string(&handlers)
        .unwrap()
        .replace("VERSION = \"one\"", "VERSION = \"two\"");
    let next = dev.dir.path().join("handlers.py.new");
    std::fs::write(&next, code).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&next)
        .unwrap()
        .set_modified(before + Duration::from_secs(10))
        .unwrap();
    std::fs::rename(&next, &handlers).unwrap();
    dev.stderr.wait_for("fnctl dev: reloaded");
    assert_eq!(
        dev.request("GET", "/version", &[], b"").2,
        b"two",
        "requests after the reload run the new code"
    );
    let fresh: Vec<u64> = (0..1)
        .map(|i| {
            dev.get_json(&format!("/pause/q{i}")).1["pid"]
                .as_u64()
                .unwrap()
        })
        .collect();

    let status = dev.interrupt();
    assert!(status.success(), "clean exit on SIGINT: {status:?}");
    assert!(
        dev.stderr.all().lines().any(|l| l == "fnctl dev: stopped"),
        "says it stopped: {}",
        dev.stderr.text()
    );
    // fnctl waits for each worker it kills, so they are gone by its exit.
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
