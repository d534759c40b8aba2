//! `invoke --local --as azure`: one run through the generated Azure entry.
//!
//! The app's Azure layout (host.json, function.json, entries, the shim) is
//! generated into a temporary directory, with each function's code taken
//! from its source directory in place. A small harness then does what the
//! Functions Python worker does: it imports the entry, builds the Azure input
//! with Microsoft's `azure-functions` package from the AWS-shaped event, and
//! calls `main`. So a handler can be checked on the Azure path before any
//! Function App exists. A queue trigger gets one message per run, as on
//! Azure: an SQS event of several records runs the entry once per record.

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

/// What an AWS-shaped event starts on Azure: one of `f`'s triggers, or
/// (an SQS event) its queue trigger.
enum Target<'a> {
    Trigger(&'a Trigger),
    Queue,
}

/// Which of `f`'s triggers an AWS-shaped event stands for.
fn trigger_for<'a>(f: &'a Function, event: &Value) -> Result<Target<'a>, String> {
    let sqs = event
        .pointer("/Records/0/eventSource")
        .and_then(Value::as_str)
        == Some("aws:sqs");
    // An HTTP API's payload format 2.0 event has no `httpMethod`; its
    // route is the path part of `routeKey` (`GET /orders/{id}`).
    let v2 = event.get("version").and_then(Value::as_str) == Some("2.0")
        && (event.get("routeKey").is_some() || event.pointer("/requestContext/http").is_some());
    let wanted = if event.get("httpMethod").is_some() || v2 {
        "http"
    } else if sqs {
        if f.queue_triggers.is_empty() {
            return Err(format!("function `{}` has no queue trigger", f.name));
        }
        return Ok(Target::Queue);
    } else if event.get("Records").is_some() {
        "storage"
    } else if event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
        "schedule"
    } else {
        return Err("on Azure a function is started by its trigger, and this event is not an API Gateway, S3 or scheduled event, nor an SQS event".into());
    };
    let resource = event.get("resource").and_then(Value::as_str).or_else(|| {
        event
            .get("routeKey")
            .and_then(Value::as_str)
            .and_then(|k| k.split_once(' '))
            .map(|(_, route)| route)
    });
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
        .map(Target::Trigger)
        .ok_or_else(|| format!("function `{}` has no {wanted} trigger", f.name))
}

/// The Azure queue function an SQS record is for: the queue trigger its
/// `eventSourceARN` names (the AWS ARN `invoke --event queue` builds, or
/// the adapter's `azure:storage:queue:NAME`), else `f`'s first.
fn queue_function_for(app: &App, f: &Function, record: &Value) -> Option<String> {
    let arn = record
        .get("eventSourceARN")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let functions: Vec<_> = layout::queue_functions(app)
        .into_iter()
        .filter(|qf| qf.function.name == f.name)
        .collect();
    functions
        .iter()
        .find(|qf| {
            let aws = crate::provider::aws::names::resource(app, &qf.trigger.queue);
            arn.ends_with(&format!(":{aws}")) || arn.ends_with(&format!(":{}", qf.queue_name))
        })
        .or(functions.first())
        .map(|qf| qf.name.clone())
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
    let target = trigger_for(f, &parsed).map_err(|why| {
        missing(
            why,
            "pass --event http|storage|schedule|queue, or --data with an event of that shape",
        )
    })?;
    let not_on_azure = || {
        missing(
            "it is not deployed to Azure".into(),
            "add \"azure\" to its `providers`",
        )
    };
    // One run per Azure invocation: an SQS event becomes one run per
    // record, each with a one-record event, as the Functions host hands a
    // queue-triggered function one message at a time.
    let runs: Vec<(String, Value)> = match target {
        Target::Trigger(trigger) => {
            let azure_name = layout::azure_functions(app)
                .into_iter()
                .find(|af| af.function.name == f.name && std::ptr::eq(af.trigger, trigger))
                .map(|af| af.name)
                .ok_or_else(not_on_azure)?;
            vec![(azure_name, parsed.clone())]
        }
        Target::Queue => {
            let records = parsed
                .get("Records")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut runs = Vec::new();
            for record in records {
                let name = queue_function_for(app, f, &record).ok_or_else(not_on_azure)?;
                runs.push((name, serde_json::json!({"Records": [record]})));
            }
            runs
        }
    };

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

    let started = Instant::now();
    let mut logs = Vec::new();
    let mut outcomes = Vec::new();
    for (i, (azure_name, event)) in runs.iter().enumerate() {
        let result_file = stage.path().join(format!("result-{i}.json"));
        let mut child = Command::new(&program)
            .arg(&harness)
            .arg(stage.path())
            .arg(azure_name)
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
            stdin
                .write_all(event.to_string().as_bytes())
                .await
                .map_err(spawn_err)?;
        }
        let timeout = Duration::from_secs(u64::from(f.timeout_s));
        let output = tokio::time::timeout(timeout, child.wait_with_output()).await;
        match output {
            // The function's timeout holds for each invocation; one that
            // runs out ends the whole run, as the others would wait.
            Err(_) => {
                return Ok(LocalRun {
                    outcome: None,
                    logs,
                    duration: started.elapsed(),
                })
            }
            Ok(Err(e)) => return Err(spawn_err(e)),
            Ok(Ok(out)) => {
                logs.extend(
                    String::from_utf8_lossy(&out.stdout)
                        .lines()
                        .map(str::to_string),
                );
                logs.extend(
                    String::from_utf8_lossy(&out.stderr)
                        .lines()
                        .map(str::to_string),
                );
                let result: Value = std::fs::read(&result_file)
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .unwrap_or(Value::Null);
                outcomes.push(outcome_of(&result, &out.status));
            }
        }
    }
    let outcome = match target {
        Target::Queue => queue_outcome(&runs, outcomes),
        Target::Trigger(_) => outcomes
            .pop()
            .unwrap_or(Outcome::Response(b"null".to_vec())),
    };
    Ok(LocalRun {
        outcome: Some(outcome),
        logs,
        duration: started.elapsed(),
    })
}

/// The outcome of one harness run, from its result file.
fn outcome_of(result: &Value, status: &std::process::ExitStatus) -> Outcome {
    match (result.get("error"), result.get("payload")) {
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
            body: format!("the Azure harness exited with {status} and no result").into_bytes(),
        },
    }
}

/// One outcome for the messages of an SQS event run one by one, as Azure
/// runs them: every message handled is a `null` response; a message that
/// failed is named, by its `messageId`, in the error (the messages that
/// failed are the ones Azure would retry and then move to the poison
/// queue; the others are done).
fn queue_outcome(runs: &[(String, Value)], outcomes: Vec<Outcome>) -> Outcome {
    let mut failed = Vec::new();
    let mut init = None;
    for ((_, event), outcome) in runs.iter().zip(outcomes) {
        let id = event
            .pointer("/Records/0/messageId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        match outcome {
            Outcome::Response(_) => {}
            Outcome::Error { error_type, body } => {
                let error: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                failed.push(serde_json::json!({
                    "messageId": id,
                    "errorType": error_type,
                    "errorMessage": error.get("errorMessage").cloned().unwrap_or(Value::Null),
                }));
            }
            init_error @ Outcome::InitError { .. } => {
                init.get_or_insert(init_error);
            }
        }
    }
    if let Some(init) = init {
        return init;
    }
    if failed.is_empty() {
        return Outcome::Response(b"null".to_vec());
    }
    let ids: Vec<&str> = failed
        .iter()
        .filter_map(|f| f["messageId"].as_str())
        .collect();
    let error_type = if failed.len() == 1 {
        failed[0]["errorType"]
            .as_str()
            .unwrap_or("Error")
            .to_string()
    } else {
        "QueueMessagesFailed".to_string()
    };
    let body = serde_json::json!({
        "errorType": error_type,
        "errorMessage": format!(
            "{} of {} messages failed on the Azure path ({}); Azure would retry each of them and then move it to the poison queue",
            failed.len(),
            runs.len(),
            ids.join(", ")
        ),
        "failedMessages": failed,
    });
    Outcome::Error {
        error_type,
        body: body.to_string().into_bytes(),
    }
}
