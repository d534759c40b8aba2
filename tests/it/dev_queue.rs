//! Issue 16, the local side of queue triggers: `fnctl dev` runs a local
//! queue for each queue a function is triggered by. Messages enqueued
//! through `POST /@fnctl/queues/NAME` reach the handler (under AWS's own
//! Python runtime client) as SQS events; failures are retried with
//! `ApproximateReceiveCount` one higher, then end in the dead-letter list.
//!
//! Every wait is for an event (a line on fnctl's stderr, a line a handler
//! wrote); `--queue-retry-delay 0` removes the retry delay, so no test
//! waits on the clock. The only timeout is a hang guard a correct run,
//! however slow, never reaches.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{copy_tree, repo};

const HANG_GUARD: Duration = Duration::from_secs(300);

/// dev's stderr lines so far, and whether it has exited; the condvar
/// wakes a waiter when a line arrives.
type Lines = Arc<(Mutex<(Vec<String>, bool)>, Condvar)>;

/// `fnctl dev` on the queue fixture, with its stderr collected.
struct Dev {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
    /// Outside the app: where the handlers write what they saw.
    scratch: tempfile::TempDir,
    stderr: Lines,
}

impl Dev {
    fn start() -> Dev {
        let dir = tempfile::tempdir().unwrap();
        let scratch = tempfile::tempdir().unwrap();
        copy_tree(&repo().join("tests/fixtures/dev-queue"), dir.path());
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("fnctl"))
            .current_dir(dir.path())
            .args([
                "dev",
                "--port",
                "0",
                "--no-watch",
                "--queue-retry-delay",
                "0",
            ])
            .env("FNCTL_PYTHON", repo().join(".venv-test/bin/python"))
            .env("QUEUETEST_SEEN", scratch.path().join("seen.log"))
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
            panic!("unexpected first line: {line}");
        };
        Dev {
            addr: addr.to_string(),
            child,
            _dir: dir,
            scratch,
            stderr,
        }
    }

    /// Blocks until fnctl dev prints a line containing `needle`; that line.
    fn wait_for(&self, needle: &str) -> String {
        let guard = Instant::now() + HANG_GUARD;
        let mut state = self.stderr.0.lock().unwrap();
        loop {
            if let Some(l) = state.0.iter().find(|l| l.contains(needle)) {
                return l.clone();
            }
            let now = Instant::now();
            assert!(
                !state.1 && now < guard,
                "fnctl dev never printed `{needle}`; stderr:\n{}",
                state.0.join("\n")
            );
            state = self.stderr.1.wait_timeout(state, guard - now).unwrap().0;
        }
    }

    fn request(&self, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
        let mut s = std::net::TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(HANG_GUARD)).unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let status = String::from_utf8_lossy(&raw[9..12]).parse().unwrap();
        let body = serde_json::from_slice(&raw[split + 4..]).unwrap_or(Value::Null);
        (status, body)
    }

    /// Enqueues `body` on `queue`; its messageId.
    fn send(&self, queue: &str, body: &str) -> String {
        let (status, answer) =
            self.request("POST", &format!("/@fnctl/queues/{queue}"), body.as_bytes());
        assert_eq!(status, 202, "{answer}");
        answer["messageId"].as_str().unwrap().to_string()
    }

    /// The ApproximateReceiveCounts the handlers saw for `body` on `queue`,
    /// in the order they saw them.
    fn seen(&self, queue: &str, body: &str) -> Vec<u32> {
        std::fs::read_to_string(self.scratch.path().join("seen.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut parts = l.split(' ');
                let (q, b, n) = (parts.next()?, parts.next()?, parts.next()?);
                (q == queue && b == body).then(|| n.parse().unwrap())
            })
            .collect()
    }

    /// Blocks until a handler has seen `body` on `queue` at least once.
    fn wait_seen(&self, queue: &str, body: &str) {
        let guard = Instant::now() + HANG_GUARD;
        while self.seen(queue, body).is_empty() {
            assert!(
                Instant::now() < guard,
                "no handler saw `{body}` on `{queue}`"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The queue names in the event are the stage-scoped ones the AWS provider
/// derives (`{app}-{stage}-{queue}`).
fn scoped(queue: &str) -> String {
    format!("queuetest-dev-{queue}")
}

#[test]
fn a_partial_batch_response_retries_only_the_failed_messages_until_the_dead_letter_list() {
    let dev = Dev::start();
    dev.wait_for("queue jobs (batches of up to 5)  -> partial");
    let (status, answer) = dev.request("POST", "/@fnctl/queues/jobs", b"good-1");
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["md5OfBody"], "32af76acfcd991139f2f408056b4ec80");
    let bad = dev.send("jobs", "bad-1");

    let line = dev.wait_for(&format!("message {bad} moved to the dead-letter queue"));
    assert!(
        line.contains("queue jobs") && line.contains("after 3 receives"),
        "{line}"
    );
    dev.wait_seen(&scoped("jobs"), "good-1");
    assert_eq!(dev.seen(&scoped("jobs"), "good-1"), [1], "handled once");
    assert_eq!(dev.seen(&scoped("jobs"), "bad-1"), [1, 2, 3]);
    dev.wait_for("queue jobs -> partial ");

    let (status, listing) = dev.request("GET", "/@fnctl/queues/jobs/dead-letter", b"");
    assert_eq!(status, 200);
    assert_eq!(listing["dead_letter_after"], 3);
    let messages = listing["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{listing}");
    assert_eq!(messages[0]["messageId"], bad.as_str());
    assert_eq!(messages[0]["body"], "bad-1");
    assert_eq!(messages[0]["approximateReceiveCount"], 3);

    // fnctl's endpoints answer for themselves; anything else under no
    // route still gets API Gateway's 403.
    let (status, answer) = dev.request("POST", "/@fnctl/queues/jbos", b"x");
    assert_eq!(status, 404);
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains("no queue `jbos`") && message.contains("jobs"),
        "{message}"
    );
    let (status, answer) = dev.request("POST", "/@fnctl/queues/jobs", b"");
    assert_eq!(status, 400, "{answer}");
    let (status, _) = dev.request("GET", "/@fnctl/queues/jobs", b"");
    assert_eq!(status, 405);
    let (status, answer) = dev.request("GET", "/@fnctl/other", b"");
    assert_eq!(
        (status, answer),
        (
            403,
            serde_json::json!({"message": "Missing Authentication Token"})
        )
    );
}

#[test]
fn a_handler_error_fails_the_batch_and_a_queue_without_dead_letter_stops_at_dev_bound() {
    let dev = Dev::start();
    dev.wait_for("queue loose (batches of up to 1)  -> strict");
    dev.send("strict", "good-2");
    let bad = dev.send("strict", "bad-2");
    dev.wait_for(&format!(
        "message {bad} moved to the dead-letter queue after 2 receives"
    ));
    dev.wait_seen(&scoped("strict"), "good-2");
    assert_eq!(dev.seen(&scoped("strict"), "good-2"), [1]);
    assert_eq!(dev.seen(&scoped("strict"), "bad-2"), [1, 2]);
    let line = dev.wait_for("queue strict -> strict 1 message: error ");
    assert!(line.contains(", 1 failed ("), "{line}");
    let (_, listing) = dev.request("GET", "/@fnctl/queues/strict/dead-letter", b"");
    assert_eq!(listing["messages"][0]["messageId"], bad.as_str());

    let lost = dev.send("loose", "bad-3");
    let line = dev.wait_for(&format!("message {lost} dropped after 10 receives"));
    assert!(line.contains("no dead_letter"), "{line}");
    assert_eq!(
        dev.seen(&scoped("loose"), "bad-3"),
        (1..=10).collect::<Vec<u32>>()
    );
    let (_, listing) = dev.request("GET", "/@fnctl/queues/loose/dead-letter", b"");
    assert_eq!(listing["dead_letter_after"], Value::Null);
    assert_eq!(listing["dropped_after"], 10);
    assert_eq!(listing["messages"][0]["messageId"], lost.as_str());
}
