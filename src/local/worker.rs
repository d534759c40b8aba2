//! A function's runtime process, started against the embedded Runtime API.
//!
//! Each language uses AWS's own runtime interface client, so the handler is
//! loaded and called exactly as on Lambda: Python through `awslambdaric`,
//! Node through `aws-lambda-ric`, `provided` through the `bootstrap`
//! executable itself. Output is read line by line (a `\r`-joined log
//! record, such as a traceback, split into its lines) and either kept for
//! the caller (`invoke --local`) or printed at once on stderr, prefixed with
//! the function's name, where several share a terminal (`fnctl dev`).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::model::{App, Function, Language};

/// Why a worker could not start.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The interpreter or runtime client is not installed.
    #[error("{what} is not available ({detail})")]
    Missing {
        what: String,
        detail: String,
        install: String,
    },
    /// The process could not be spawned.
    #[error("cannot start `{program}` for function `{function}`: {source}")]
    Spawn {
        program: String,
        function: String,
        source: std::io::Error,
    },
}

impl WorkerError {
    pub fn hint(&self) -> Option<String> {
        match self {
            WorkerError::Missing { install, .. } => Some(install.clone()),
            WorkerError::Spawn { .. } => None,
        }
    }
}

/// The Python interpreter for local runs: `FNCTL_PYTHON`, else `python3`.
pub fn python() -> PathBuf {
    let p = std::env::var_os("FNCTL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| "python3".into());
    // The worker runs in the function's directory: a relative path given
    // by the user (`.venv/bin/python`) is relative to where fnctl started.
    if p.is_relative() && p.components().count() > 1 {
        if let Ok(cwd) = std::env::current_dir() {
            return cwd.join(p);
        }
    }
    p
}

/// A running runtime process.
pub struct Worker {
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
    /// The tasks copying stdout and stderr into `logs`; they end at EOF.
    readers: Vec<tokio::task::JoinHandle<()>>,
    /// Tells the readers the process is gone (see [`QUIET_AFTER_EXIT`]).
    exited: tokio::sync::watch::Sender<bool>,
}

/// Once the process is gone its pipes close, and the readers end when they
/// have read everything. A pipe stays open only while a process the
/// handler started still runs; a reader gives up on it after this long
/// with nothing to read.
const QUIET_AFTER_EXIT: std::time::Duration = std::time::Duration::from_secs(5);

impl Worker {
    /// Checks that the runtime client for `f` is installed, with an exact fix when not.
    pub async fn check(f: &Function) -> Result<(), WorkerError> {
        match f.runtime.language() {
            Language::Python => {
                let py = python();
                let out = Command::new(&py)
                    .args(["-c", "import awslambdaric"])
                    .output()
                    .await;
                match out {
                    Ok(o) if o.status.success() => Ok(()),
                    Ok(_) => Err(WorkerError::Missing {
                        what: format!("the Python runtime client (awslambdaric) for {}", py.display()),
                        detail: "import failed".into(),
                        install: format!("run `{} -m pip install awslambdaric`, or set FNCTL_PYTHON to an interpreter that has it", py.display()),
                    }),
                    Err(e) => Err(WorkerError::Missing {
                        what: format!("Python ({})", py.display()),
                        detail: e.to_string(),
                        install: "install Python 3 and `pip install awslambdaric`, or set FNCTL_PYTHON".into(),
                    }),
                }
            }
            Language::Node => {
                if node_ric(f).is_some() {
                    Ok(())
                } else {
                    Err(WorkerError::Missing {
                        what: "the Node runtime client (aws-lambda-ric)".into(),
                        detail: format!("no node_modules/.bin/aws-lambda-ric under {}", f.source.display()),
                        install: format!("run `npm install --save-dev aws-lambda-ric` in {}, or set FNCTL_NODE_RIC", f.source.display()),
                    })
                }
            }
            Language::Binary => {
                let exe = f.source.join(&f.handler);
                if exe.is_file() {
                    Ok(())
                } else {
                    Err(WorkerError::Missing {
                        what: format!("the executable `{}`", f.handler),
                        detail: format!("{} does not exist", exe.display()),
                        install: "build it first (for Rust: `cargo lambda build` or `cargo build --release` and copy the binary as `bootstrap`)".into(),
                    })
                }
            }
        }
    }

    /// Starts the runtime for `f`, polling `runtime_api` (`host:port`).
    pub fn spawn(
        app: &App,
        f: &Function,
        runtime_api: &str,
        prefix_logs: bool,
    ) -> Result<Worker, WorkerError> {
        let (program, args): (PathBuf, Vec<String>) = match f.runtime.language() {
            Language::Python => (
                python(),
                vec!["-m".into(), "awslambdaric".into(), f.handler.clone()],
            ),
            Language::Node => (
                node_ric(f).unwrap_or_else(|| "aws-lambda-ric".into()),
                vec![f.handler.clone()],
            ),
            Language::Binary => (f.source.join(&f.handler), vec![]),
        };
        let region = app
            .aws
            .as_ref()
            .and_then(|a| a.region.clone())
            .unwrap_or_else(|| "us-east-1".into());
        let name = crate::provider::aws::names::function(app, &f.name);
        let mut cmd = Command::new(&program);
        cmd.args(&args)
            .current_dir(&f.source)
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .env("_HANDLER", &f.handler)
            .env("LAMBDA_TASK_ROOT", &f.source)
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", f.memory_mb.to_string())
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_REGION", &region)
            .env("AWS_DEFAULT_REGION", &region)
            .env(
                "AWS_EXECUTION_ENV",
                format!("AWS_Lambda_{}", f.runtime.id().replace('.', "")),
            )
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .envs(f.env.iter().map(|(k, v)| (k.clone(), v.value.clone())))
            .envs(resource_env(
                app,
                f,
                &region,
                std::env::var("AWS_ACCOUNT_ID").ok().as_deref(),
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|source| WorkerError::Spawn {
            program: program.display().to_string(),
            function: f.name.clone(),
            source,
        })?;
        let logs = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        let (exited, exited_rx) = tokio::sync::watch::channel(false);
        // Under `fnctl dev` (`prefix_logs`) several functions share the
        // terminal: lines are printed as they come, each prefixed with its
        // function's name, and not kept (a long session would pile them up).
        let echo = prefix_logs;
        let prefix = if prefix_logs {
            format!("[{}] ", f.name)
        } else {
            String::new()
        };
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        {
            let logs = logs.clone();
            let prefix = prefix.clone();
            let mut exited = exited_rx.clone();
            readers.push(tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                loop {
                    let quiet = async {
                        let _ = exited.wait_for(|gone| *gone).await;
                        tokio::time::sleep(QUIET_AFTER_EXIT).await;
                    };
                    let line = tokio::select! {
                        biased;
                        line = lines.next_line() => line,
                        () = quiet => break,
                    };
                    let Ok(Some(line)) = line else { break };
                    for part in record_lines(&line) {
                        if echo {
                            eprintln!("{prefix}{part}");
                        } else {
                            logs.lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(format!("{prefix}{part}"));
                        }
                    }
                }
            }));
        }
        Ok(Worker {
            child,
            logs,
            readers,
            exited,
        })
    }

    /// Everything the process printed so far, and clears the buffer.
    pub fn take_logs(&self) -> Vec<String> {
        std::mem::take(&mut *self.logs.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Stops the process: kills it, waits for it to exit (so it is gone,
    /// not a zombie, when this returns) and for its output to be read to
    /// the end, then returns what it printed.
    pub async fn stop(mut self) -> Vec<String> {
        let _ = self.child.kill().await;
        let _ = self.exited.send(true);
        futures::future::join_all(std::mem::take(&mut self.readers)).await;
        self.take_logs()
    }
}

/// The lines of one output line as a person should see them.
///
/// The runtime clients write a multi-line log record (a traceback, a
/// logged object) as one line with `\r` between its lines, so that a log
/// service keeps it together; on a terminal, and in `invoke --local`'s
/// logs, that shows as one garbled line. Each part becomes a line of its
/// own; the empty part a `\r\n` ending leaves is dropped.
fn record_lines(line: &str) -> impl Iterator<Item = &str> {
    let mut parts: Vec<&str> = line.split('\r').collect();
    if parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    parts.into_iter()
}

/// The Node runtime client: `FNCTL_NODE_RIC`, or the project's own install.
fn node_ric(f: &Function) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FNCTL_NODE_RIC") {
        return Some(PathBuf::from(p));
    }
    let mut dir = Some(f.source.as_path());
    while let Some(d) = dir {
        let candidate = d.join("node_modules/.bin/aws-lambda-ric");
        if candidate.is_file() {
            return Some(candidate);
        }
        dir = d.parent();
    }
    None
}

/// The `FNCTL_{RESOURCE}_NAME` / `_URL` variables a function gets on AWS,
/// for a local run: the names of this stage's deployed resources, so a
/// handler run here reaches them as it would on Lambda (as `sam local`
/// hands functions the real names). A queue's URL needs the account, which
/// a local run does not look up: it is set only when `AWS_ACCOUNT_ID` is
/// (docs/local.md says so).
pub fn resource_env(
    app: &App,
    f: &Function,
    region: &str,
    account: Option<&str>,
) -> Vec<(String, String)> {
    use crate::model::ResourceEnvValue;
    use crate::provider::aws::{kinds::function::queue_url, names};
    f.resource_env(app)
        .into_iter()
        .filter_map(|e| {
            let name = names::resource(app, &e.resource);
            let value = match e.value {
                ResourceEnvValue::Name => name,
                ResourceEnvValue::Url => queue_url(region, account?, &name),
            };
            Some((e.var, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{record_lines, resource_env};

    #[test]
    fn local_runs_get_the_deployed_resources_names_and_a_queue_url_with_an_account() {
        let app = crate::manifest::test_app(
            r#"
[app]
name = "shop"
runtime = "python3.12"
[providers.aws]
region = "eu-west-1"
[resources.orders]
kind = "table"
partition_key = "id"
[resources.jobs]
kind = "queue"
[functions.api]
handler = "h.main"
access = { orders = "read", jobs = "send" }
"#,
        );
        let f = &app.functions["api"];
        let without = resource_env(&app, f, "eu-west-1", None);
        assert_eq!(
            without,
            vec![
                ("FNCTL_JOBS_NAME".to_string(), "shop-dev-jobs".to_string()),
                (
                    "FNCTL_ORDERS_NAME".to_string(),
                    "shop-dev-orders".to_string()
                ),
            ]
        );
        let with = resource_env(&app, f, "eu-west-1", Some("123456789012"));
        assert!(with.contains(&(
            "FNCTL_JOBS_URL".to_string(),
            "https://sqs.eu-west-1.amazonaws.com/123456789012/shop-dev-jobs".to_string()
        )));
    }

    #[test]
    fn a_record_with_carriage_returns_becomes_lines() {
        let record = "[ERROR] RuntimeError: boom\rTraceback (most recent call last):\r  File \"/x/handlers.py\", line 35, in boom\r    raise RuntimeError(\"boom\")";
        assert_eq!(
            record_lines(record).collect::<Vec<_>>(),
            vec![
                "[ERROR] RuntimeError: boom",
                "Traceback (most recent call last):",
                "  File \"/x/handlers.py\", line 35, in boom",
                "    raise RuntimeError(\"boom\")",
            ]
        );
        assert_eq!(record_lines("crlf\r").collect::<Vec<_>>(), vec!["crlf"]);
        assert_eq!(record_lines("").collect::<Vec<_>>(), vec![""]);
        assert_eq!(
            record_lines("a\r\rb").collect::<Vec<_>>(),
            vec!["a", "", "b"]
        );
    }
}
