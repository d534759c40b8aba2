//! `invoke --local --as azure`: one run through the generated Azure entry.
//!
//! The app's Azure layout (host.json, function.json, entries, the shim) is
//! generated into a temporary directory, with each function's code taken
//! from its source directory in place. A small harness then does what the
//! Functions Python worker does: it imports the entry, builds the Azure input
//! with Microsoft's `azure-functions` package from the AWS-shaped event, and
//! calls `main`. So a handler can be checked on the Azure path before any
//! Function App exists.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::runtime_api::Outcome;
use super::worker::{python, WorkerError};
use super::LocalRun;
use crate::model::{App, Function, Language, Trigger};
use crate::provider::azure::package as layout;
use std::path::PathBuf;

const HARNESS: &str = include_str!("azure_harness.py");
const NODE_HARNESS: &str = include_str!("azure_harness.js");

/// Which of `f`'s triggers an AWS-shaped event stands for.
fn trigger_for<'a>(f: &'a Function, event: &Value) -> Result<&'a Trigger, String> {
    let sqs = event
        .pointer("/Records/0/eventSource")
        .and_then(Value::as_str)
        == Some("aws:sqs");
    let wanted = if event.get("httpMethod").is_some() {
        "http"
    } else if sqs {
        // Said plainly rather than as "no storage trigger": the generated
        // Azure entry has no queue binding yet.
        return Err(format!(
            "the Azure path does not run queue triggers yet, so function `{}` cannot take this SQS event as it would on Azure",
            f.name
        ));
    } else if event.get("Records").is_some() {
        "storage"
    } else if event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        "schedule"
    } else {
        return Err("on Azure a function is started by its trigger, and this event is not an API Gateway, S3 or scheduled event".into());
    };
    let resource = event.get("resource").and_then(Value::as_str);
    let mut candidates = f.triggers.iter().filter(|t| match t {
        Trigger::Http(_) => wanted == "http",
        Trigger::Storage(_) => wanted == "storage",
        Trigger::Schedule(_) => wanted == "schedule",
    });
    let first = candidates.clone().next();
    candidates
        .find(|t| match (t, resource) {
            (Trigger::Http(h), Some(r)) => h.route.to_string() == r,
            _ => false,
        })
        .or(first)
        .ok_or_else(|| format!("function `{}` has no {wanted} trigger", f.name))
}

/// Runs `f` once through its generated Azure entry.
pub async fn invoke_once(app: &App, f: &Function, event: Vec<u8>) -> Result<LocalRun, WorkerError> {
    let missing = |detail: String, install: &str| WorkerError::Missing {
        what: format!("the Azure path for function `{}`", f.name),
        detail,
        install: install.to_string(),
    };
    let node = f.runtime.language() == Language::Node;
    if f.runtime.language() == Language::Binary {
        return Err(missing(
            "`provided` binaries cannot run on Azure Functions".into(),
            "run it without --as azure",
        ));
    }
    let program: PathBuf = if node { "node".into() } else { python() };
    let probe = if node {
        Command::new(&program)
            .args(["-e", "process.exit(0)"])
            .output()
            .await
    } else {
        Command::new(&program)
            .args(["-c", "import azure.functions"])
            .output()
            .await
    };
    if !matches!(probe, Ok(ref o) if o.status.success()) {
        return Err(if node {
            WorkerError::Missing {
                what: "Node.js (`node`)".into(),
                detail: "not found".into(),
                install: "install Node.js 20 or later".into(),
            }
        } else {
            WorkerError::Missing {
                what: format!(
                    "Microsoft's azure-functions package for {}",
                    program.display()
                ),
                detail: "import failed".into(),
                install: format!(
                    "run `{} -m pip install azure-functions`, or set FNCTL_PYTHON to an interpreter that has it",
                    program.display()
                ),
            }
        });
    }
    let parsed: Value = serde_json::from_slice(&event)
        .map_err(|e| missing(format!("the event is not JSON: {e}"), "pass a JSON event"))?;
    let trigger = trigger_for(f, &parsed).map_err(|why| {
        let sqs = parsed
            .pointer("/Records/0/eventSource")
            .and_then(Value::as_str)
            == Some("aws:sqs");
        missing(
            why,
            if sqs {
                "run it as Lambda runs it: drop --as azure"
            } else {
                "pass --event http|storage|schedule, or --data with an event of that shape"
            },
        )
    })?;
    let azure_name = layout::azure_functions(app)
        .into_iter()
        .find(|af| af.function.name == f.name && std::ptr::eq(af.trigger, trigger))
        .map(|af| af.name)
        .ok_or_else(|| {
            missing(
                "it is not deployed to Azure".into(),
                "add \"azure\" to its `providers`",
            )
        })?;

    let spawn_err = |source: std::io::Error| WorkerError::Spawn {
        program: program.display().to_string(),
        function: f.name.clone(),
        source,
    };
    let stage = tempfile::Builder::new()
        .prefix("fnctl-azure-")
        .tempdir()
        .map_err(spawn_err)?;
    // Absolute, so the entries find the code wherever the stage is.
    let code = |func: &Function| {
        std::fs::canonicalize(&func.source)
            .unwrap_or_else(|_| func.source.clone())
            .display()
            .to_string()
    };
    for g in layout::generated_files(app, &code) {
        let path = stage.path().join(&g.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(spawn_err)?;
        }
        std::fs::write(&path, g.contents).map_err(spawn_err)?;
    }
    let harness = if node {
        // The generated app needs @azure/functions beside it, as in the package.
        let vendored = crate::package::deps::vendor_node(
            stage.path(),
            &app.root.join(crate::package::build::CACHE_DIR),
            &crate::package::deps::Tool::npm(),
        )
        .map_err(|e| missing(e.to_string(), "check that npm can reach its registry"))?;
        let modules = std::fs::canonicalize(vendored.join("node_modules")).map_err(spawn_err)?;
        std::os::unix::fs::symlink(modules, stage.path().join("node_modules"))
            .map_err(spawn_err)?;
        let h = stage.path().join("fnctl_azure_harness.js");
        std::fs::write(&h, NODE_HARNESS).map_err(spawn_err)?;
        h
    } else {
        let h = stage.path().join("fnctl_azure_harness.py");
        std::fs::write(&h, HARNESS).map_err(spawn_err)?;
        h
    };
    let result_file = stage.path().join("result.json");

    let started = Instant::now();
    let mut child = Command::new(&program)
        .arg(&harness)
        .arg(stage.path())
        .arg(&azure_name)
        .arg(&result_file)
        .current_dir(&f.source)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("AZURE_FUNCTIONS_ENVIRONMENT", "Development")
        .envs(f.env.iter().map(|(k, v)| (k.clone(), v.value.clone())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(spawn_err)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&event).await.map_err(spawn_err)?;
    }
    let timeout = Duration::from_secs(u64::from(f.timeout_s));
    let output = tokio::time::timeout(timeout, child.wait_with_output()).await;
    let duration = started.elapsed();
    let (outcome, logs) = match output {
        Err(_) => (None, Vec::new()),
        Ok(Err(e)) => return Err(spawn_err(e)),
        Ok(Ok(out)) => {
            let mut logs: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_string)
                .collect();
            logs.extend(
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .map(str::to_string),
            );
            let result: Value = std::fs::read(&result_file)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or(Value::Null);
            let outcome = match (result.get("error"), result.get("payload")) {
                (Some(err), _) => Outcome::Error {
                    error_type: err
                        .get("errorType")
                        .and_then(Value::as_str)
                        .unwrap_or("Error")
                        .to_string(),
                    body: err.to_string().into_bytes(),
                },
                (None, Some(payload)) => Outcome::Response(payload.to_string().into_bytes()),
                (None, None) => Outcome::InitError {
                    error_type: "Runtime.ExitError".into(),
                    body: format!("the Azure harness exited with {} and no result", out.status)
                        .into_bytes(),
                },
            };
            (Some(outcome), logs)
        }
    };
    Ok(LocalRun {
        outcome,
        logs,
        duration,
    })
}
