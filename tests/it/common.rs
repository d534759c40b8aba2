//! Shared helpers: a `fnctl` command with a clean, deterministic environment.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository root (where Cargo.toml is).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn example(name: &str) -> PathBuf {
    repo().join("examples").join(name).join("fnctl.toml")
}

/// `fnctl` with no colour, not under CI rules, and no inherited fnctl settings.
pub fn fnctl() -> Command {
    Command::from_std(fnctl_process())
}

/// The same command as a plain `std::process::Command`, for tests that need
/// to spawn fnctl and signal it.
pub fn fnctl_process() -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("fnctl"));
    cmd.env("NO_COLOR", "1")
        .env_remove("FNCTL_STAGE")
        .env_remove("FNCTL_MANIFEST")
        .env_remove("SHOP_PAYMENT_KEY")
        .env_remove("USERS_API_TOKEN");
    // No real AWS from tests: no credentials, no profile files, no metadata service.
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/fnctl-test/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/fnctl-test/credentials",
        );
    cmd
}

/// A small seeded generator (xorshift64) for tests that draw random
/// delays or faults and must be replayable from the seed.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// (exit code, stdout parsed as JSON, stderr) of a finished
/// `--output json` run; panics with the output when stdout is not JSON.
pub fn json_result(out: std::process::Output) -> (i32, serde_json::Value, String) {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
    (out.status.code().unwrap_or(-1), doc, stderr)
}

/// Runs `fnctl --manifest PATH ARGS...` and returns (exit code, stdout, stderr).
pub fn run(manifest: &Path, args: &[&str]) -> (i32, String, String) {
    let out = fnctl()
        .arg("--manifest")
        .arg(manifest)
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Copies a directory tree (for tests that write into an example).
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walk(from) {
        let rel = entry.strip_prefix(from).unwrap();
        let target = to.join(rel);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &target).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().is_some_and(|n| n == ".fnctl") {
            continue;
        }
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// An axum app served on a free loopback port from a thread of its own,
/// until dropped (the test servers: ARM, the stand-in API).
pub struct Served {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    _shutdown: tokio::sync::oneshot::Sender<()>,
    _thread: std::thread::JoinHandle<()>,
}

pub fn serve(app: axum::Router) -> Served {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel::<std::net::SocketAddr>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
    });
    let addr = addr_rx.recv().unwrap();
    Served {
        url: format!("http://{addr}"),
        _shutdown: tx,
        _thread: thread,
    }
}
