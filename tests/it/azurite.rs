//! Azurite, Microsoft's Azure Storage emulator (npm `azurite`, installed by
//! .ci/run into .node-test), as the blob service of the classic Consumption
//! tests: one process per test, on a free loopback port, with the accounts
//! the test needs, stopped when dropped.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::repo;

pub struct Azurite {
    /// `http://127.0.0.1:PORT` (accounts are path-style below it).
    pub url: String,
    child: Child,
    _data: tempfile::TempDir,
}

impl Azurite {
    /// Starts Azurite with these `(account, base64 key)` pairs.
    pub fn start(accounts: &[(&str, &str)]) -> Azurite {
        let bin = repo().join(".node-test/node_modules/.bin/azurite-blob");
        assert!(
            bin.exists(),
            "{} is missing: run `bash .ci/run` once (it installs the test tools)",
            bin.display()
        );
        let list: Vec<String> = accounts.iter().map(|(a, k)| format!("{a}:{k}")).collect();
        // A free port can be taken between probing and binding; try a few.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let data = tempfile::tempdir().unwrap();
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
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start azurite-blob");
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Azurite {
                        url: format!("http://127.0.0.1:{port}"),
                        child,
                        _data: data,
                    };
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("azurite-blob did not start");
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
