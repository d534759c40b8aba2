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

/// Runs `fut` to completion on a fresh current-thread runtime (direct SDK
/// calls that arrange or check the cloud around an fnctl run).
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(fut)
}

/// A loopback port nothing listens on (bound, then let go).
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// SDK clients on a moto server in one region, for reading and arranging
/// the cloud directly (not through fnctl's own read).
pub struct MotoClients {
    pub s3: aws_sdk_s3::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub iam: aws_sdk_iam::Client,
    pub apigw: aws_sdk_apigateway::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub ssm: aws_sdk_ssm::Client,
}

impl MotoClients {
    pub async fn new(moto: &crate::moto::Moto, region: &str) -> MotoClients {
        let conf = moto.sdk_config().await;
        let region = aws_config::Region::new(region.to_string());
        MotoClients {
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&conf)
                    .region(region.clone())
                    .force_path_style(true)
                    .build(),
            ),
            lambda: aws_sdk_lambda::Client::from_conf(
                aws_sdk_lambda::config::Builder::from(&conf)
                    .region(region.clone())
                    .build(),
            ),
            iam: aws_sdk_iam::Client::new(&conf),
            apigw: aws_sdk_apigateway::Client::from_conf(
                aws_sdk_apigateway::config::Builder::from(&conf)
                    .region(region.clone())
                    .build(),
            ),
            events: aws_sdk_eventbridge::Client::from_conf(
                aws_sdk_eventbridge::config::Builder::from(&conf)
                    .region(region.clone())
                    .build(),
            ),
            ssm: aws_sdk_ssm::Client::from_conf(
                aws_sdk_ssm::config::Builder::from(&conf)
                    .region(region)
                    .build(),
            ),
        }
    }

    /// Names of the Lambda functions that start with `prefix`, sorted.
    pub async fn functions(&self, prefix: &str) -> Vec<String> {
        let mut names = Vec::new();
        let mut marker = None;
        loop {
            let page = self
                .lambda
                .list_functions()
                .set_marker(marker)
                .send()
                .await
                .unwrap();
            names.extend(
                page.functions()
                    .iter()
                    .filter_map(|f| f.function_name())
                    .filter(|n| n.starts_with(prefix))
                    .map(str::to_string),
            );
            marker = page.next_marker().map(str::to_string);
            if marker.is_none() {
                break;
            }
        }
        names.sort();
        names
    }

    pub async fn role_exists(&self, name: &str) -> bool {
        self.iam.get_role().role_name(name).send().await.is_ok()
    }

    pub async fn bucket_exists(&self, name: &str) -> bool {
        self.s3.head_bucket().bucket(name).send().await.is_ok()
    }

    /// A bucket's tags as `key=value`, sorted (empty when it has none).
    pub async fn bucket_tags(&self, bucket: &str) -> Vec<String> {
        match self.s3.get_bucket_tagging().bucket(bucket).send().await {
            Ok(t) => {
                let mut tags: Vec<String> = t
                    .tag_set()
                    .iter()
                    .map(|t| format!("{}={}", t.key(), t.value()))
                    .collect();
                tags.sort();
                tags
            }
            Err(_) => Vec::new(),
        }
    }

    /// The ids of a bucket's Lambda notification configurations, sorted.
    pub async fn notification_ids(&self, bucket: &str) -> Vec<String> {
        let n = match self
            .s3
            .get_bucket_notification_configuration()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(n) => n,
            // moto answers an empty configuration with a root element the
            // SDK does not parse.
            Err(e)
                if e.raw_response().is_some_and(|r| {
                    r.status().is_success()
                        && r.body().bytes().is_some_and(|b| {
                            let text = String::from_utf8_lossy(b);
                            text.contains("<GetBucketNotificationResponse")
                                && text.trim_end().ends_with("/>")
                        })
                }) =>
            {
                return Vec::new()
            }
            Err(e) => panic!("GetBucketNotificationConfiguration {bucket}: {e:?}"),
        };
        let mut ids: Vec<String> = n
            .lambda_function_configurations()
            .iter()
            .filter_map(|c| c.id().map(str::to_string))
            .collect();
        ids.sort();
        ids
    }

    /// The keys of a bucket's objects, sorted.
    pub async fn object_keys(&self, bucket: &str) -> Vec<String> {
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
        let mut keys: Vec<String> = listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect();
        keys.sort();
        keys
    }

    /// Whether an SSM parameter (the deploy lock) exists.
    pub async fn parameter_exists(&self, name: &str) -> bool {
        self.ssm.get_parameter().name(name).send().await.is_ok()
    }
}

/// Runs `fnctl --manifest PATH ARGS...` with `env` added and returns
/// (exit code, stdout, stderr).
pub fn run_with(manifest: &Path, env: &[(&str, String)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = fnctl();
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
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

/// A project in a fresh temporary directory: `manifest` as its fnctl.toml
/// and `app.py` with a handler every function can name (`app.handler`).
pub fn python_project(manifest: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("app.py"),
        "def handler(event, context):\n    return event\n",
    )
    .unwrap();
    let path = dir.path().join("fnctl.toml");
    std::fs::write(&path, manifest).unwrap();
    (dir, path)
}
