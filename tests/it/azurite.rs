//! Azurite, Microsoft's Azure Storage emulator (npm `azurite`, installed by
//! .ci/run into .node-test), as the blob service of the classic Consumption
//! tests: one process per test, on a free loopback port, with the accounts
//! the test needs, stopped when dropped.

use std::fs::File;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::repo;

/// Only stops a broken test from hanging: a slow start is waited for,
/// however long it takes, up to this.
const HANG_GUARD: Duration = Duration::from_secs(300);

pub struct Azurite {
    /// `http://127.0.0.1:PORT` (accounts are path-style below it).
    pub url: String,
    child: Child,
    _data: tempfile::TempDir,
}

/// An appending handle on `path`, so stdout and stderr can share the file.
fn appending(path: &Path) -> File {
    File::options().append(true).open(path).unwrap()
}

impl Azurite {
    /// Starts Azurite with these `(account, base64 key)` pairs and waits
    /// until its port answers, or fails with what it printed if it exits
    /// first.
    pub fn start(accounts: &[(&str, &str)]) -> Azurite {
        let bin = repo().join(".node-test/node_modules/.bin/azurite-blob");
        assert!(
            bin.exists(),
            "{} is missing: run `bash .ci/run` once (it installs the test tools)",
            bin.display()
        );
        let list: Vec<String> = accounts.iter().map(|(a, k)| format!("{a}:{k}")).collect();
        // A free port can be taken between probing and binding; then
        // Azurite exits saying so, and another port is tried.
        for attempt in 1.. {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let data = tempfile::tempdir().unwrap();
            let log = data.path().join("azurite.log");
            File::create(&log).unwrap();
            let mut child = Command::new(&bin)
                .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
                .arg("--location")
                .arg(data.path())
                .args([
                    "--skipApiVersionCheck",
                    "--loose",
                    "--silent",
                    "--disableTelemetry",
                ])
                .env("AZURITE_ACCOUNTS", list.join(";"))
                .stdout(Stdio::from(appending(&log)))
                .stderr(Stdio::from(appending(&log)))
                .spawn()
                .expect("start azurite-blob");
            let guard = Instant::now() + HANG_GUARD;
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    let printed = std::fs::read_to_string(&log).unwrap_or_default();
                    if printed.contains("EADDRINUSE") && attempt < 5 {
                        break;
                    }
                    panic!("azurite-blob exited ({status}) before listening on port {port}:\n{printed}");
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Azurite {
                        url: format!("http://127.0.0.1:{port}"),
                        child,
                        _data: data,
                    };
                }
                if Instant::now() > guard {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "azurite-blob did not listen on port {port} in {HANG_GUARD:?}:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        unreachable!()
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
