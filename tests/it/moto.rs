//! A moto_server per test, on a free loopback port, stopped when dropped.
//!
//! moto is installed by `.ci/run` into `.venv-test/` (or point
//! `FNCTL_MOTO_SERVER` at a `moto_server` binary). Lambda runs without Docker,
//! so Invoke echoes its payload.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::repo;

/// Only stops a broken test from hanging: a slow start or a slow answer is
/// waited for, however long it takes, up to this.
const HANG_GUARD: Duration = Duration::from_secs(300);

pub struct Moto {
    child: Child,
    pub endpoint: String,
    /// What the server printed (for the failure message when it dies).
    _log: tempfile::NamedTempFile,
}

fn server_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("FNCTL_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    let local = repo().join(".venv-test/bin/moto_server");
    assert!(
        local.is_file(),
        "moto_server not found at {}: run `bash .ci/run` once (it installs moto into .venv-test), or set FNCTL_MOTO_SERVER",
        local.display()
    );
    local
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An appending handle on `path`, so stdout and stderr can share the file.
fn appending(path: &Path) -> File {
    File::options().append(true).open(path).unwrap()
}

impl Moto {
    /// Starts a server and waits until it answers, or fails with what it
    /// printed if it exits first.
    pub fn start() -> Moto {
        // A free port can be taken between probing and binding; then the
        // server exits saying so, and another port is tried.
        for attempt in 1.. {
            let port = free_port();
            let log = tempfile::NamedTempFile::new().unwrap();
            let mut child = Command::new(server_binary())
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
                .stdout(Stdio::from(appending(log.path())))
                .stderr(Stdio::from(appending(log.path())))
                .spawn()
                .expect("moto_server starts");
            let endpoint = format!("http://127.0.0.1:{port}");
            let guard = Instant::now() + HANG_GUARD;
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    let printed = std::fs::read_to_string(log.path()).unwrap_or_default();
                    if printed.contains("in use") && attempt < 5 {
                        break;
                    }
                    panic!(
                        "moto_server exited ({status}) before answering on {endpoint}:\n{printed}"
                    );
                }
                if post(
                    &format!("{endpoint}/moto-api/config"),
                    r#"{"lambda":{"use_docker":false}}"#,
                )
                .is_ok()
                {
                    return Moto {
                        child,
                        endpoint,
                        _log: log,
                    };
                }
                if Instant::now() > guard {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "moto_server did not answer on {endpoint} in {HANG_GUARD:?}:\n{}",
                        std::fs::read_to_string(log.path()).unwrap_or_default()
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        unreachable!()
    }

    /// Environment for an fnctl process (or SDK client) talking to this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// SDK configuration for direct reads in assertions.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "test", "test", None, None, "tests",
            ))
            .load()
            .await
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// POSTs JSON to a moto control endpoint.
pub fn post_json(url: &str, body: &str) -> std::io::Result<()> {
    post(url, body)
}

/// A minimal HTTP/1.1 POST with a JSON body (no client library needed for one call).
fn post(url: &str, body: &str) -> std::io::Result<()> {
    use std::io::{Read, Write};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = std::net::TcpStream::connect(host)?;
    stream.set_read_timeout(Some(HANG_GUARD))?;
    write!(stream, "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    if response
        .split(' ')
        .nth(1)
        .is_some_and(|code| code.starts_with('2'))
    {
        Ok(())
    } else {
        Err(std::io::Error::other(response))
    }
}
