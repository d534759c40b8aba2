//! `fnctl invoke FN`: call a deployed function once, as a smoke test.
//!
//! The payload is `--data JSON`, `--data @file`, or a realistic sample event
//! built from the function's trigger (`--event http|storage|schedule`).
//! A handler error exits with status 4, and so does a failed
//! `--expect-status` / `--expect-body`, which makes this a CI gate.

use serde_json::{json, Value};

use super::live;
use super::{CommandError, Context, ExitStatus};
use crate::events::{self, EventKind};
use crate::model::ProviderId;
use crate::project;

/// Flags of `invoke`.
#[derive(Debug, Clone)]
pub struct InvokeOptions {
    pub function: String,
    pub data: Option<String>,
    pub event: Option<EventKind>,
    pub expect_status: Option<u16>,
    pub expect_body: Option<String>,
}

pub fn run(cx: &Context, opts: &InvokeOptions) -> Result<ExitStatus, CommandError> {
    let project = project::load(cx)?;
    let provider = single_provider(cx, &project.providers)?;
    live::require_backend(provider)?;
    let app = &project.app;
    let Some(f) = app.functions.get(&opts.function) else {
        let names: Vec<&str> = app.functions.keys().map(String::as_str).collect();
        return Err(CommandError::usage(
            format!("no function named `{}`", opts.function),
            crate::suggest::did_you_mean(&opts.function, names.iter().copied())
                .or_else(|| Some(format!("functions: {}", names.join(", ")))),
        ));
    };
    let expect_body = match &opts.expect_body {
        Some(r) => Some(regex::Regex::new(r).map_err(|e| {
            CommandError::usage(
                format!("--expect-body is not a valid regular expression: {e}"),
                None,
            )
        })?),
        None => None,
    };
    let rt = live::runtime()?;
    let invocation = rt.block_on(async {
        let backend = live::connect_aws(app).await?;
        let payload = match (&opts.data, opts.event) {
            (Some(d), _) => read_data(d)?,
            (None, Some(kind)) => {
                let account = backend
                    .clients
                    .sts
                    .get_caller_identity()
                    .send()
                    .await
                    .ok()
                    .and_then(|i| i.account)
                    .unwrap_or_else(|| "123456789012".into());
                let event = events::sample(app, f, kind, &backend.clients.region, &account)
                    .map_err(|e| {
                        CommandError::usage(e.to_string(), Some("pass --data instead".to_string()))
                    })?;
                event.to_string()
            }
            (None, None) => "{}".to_string(),
        };
        backend
            .invoke(&opts.function, &payload)
            .await
            .map_err(CommandError::from)
    })?;

    let parsed: Option<Value> = serde_json::from_str(&invocation.payload).ok();
    let status = parsed
        .as_ref()
        .and_then(|p| p.get("statusCode"))
        .and_then(Value::as_u64);
    let body_text = parsed
        .as_ref()
        .and_then(|p| p.get("body"))
        .map(|b| {
            b.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| b.to_string())
        })
        .unwrap_or_else(|| invocation.payload.clone());
    let mut failures = Vec::new();
    if let Some(err) = &invocation.function_error {
        failures.push(format!("the function raised an error ({err})"));
    }
    if let Some(want) = opts.expect_status {
        match status {
            Some(s) if s == u64::from(want) => {}
            Some(s) => failures.push(format!("expected status {want}, got {s}")),
            None => failures.push(format!(
                "expected status {want}, but the response has no statusCode"
            )),
        }
    }
    if let Some(re) = &expect_body {
        if !re.is_match(&body_text) {
            failures.push(format!("the body does not match /{}/", re.as_str()));
        }
    }
    if cx.printer.is_json() {
        cx.printer.json(&json!({"provider": provider, "invocation": invocation, "status": status, "ok": failures.is_empty(), "failures": failures}));
    } else {
        cx.printer
            .data(&format!("{}\n", pretty(&invocation.payload)));
        if let Some(tail) = &invocation.log_tail {
            cx.printer
                .status(&format!("--- log tail ---\n{}", tail.trim_end()));
        }
        for f in &failures {
            cx.printer.error(f);
        }
    }
    Ok(if failures.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::FunctionFailed
    })
}

fn pretty(payload: &str) -> String {
    serde_json::from_str::<Value>(payload)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| payload.to_string())
}

/// `--data JSON` or `--data @file`; must be JSON either way.
fn read_data(data: &str) -> Result<String, CommandError> {
    let text = match data.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| CommandError::io(format!("reading --data file {path}"), e))?,
        None => data.to_string(),
    };
    serde_json::from_str::<Value>(&text).map_err(|e| {
        CommandError::usage(
            format!("--data is not valid JSON: {e}"),
            Some("pass a JSON document, or @path/to/file.json".to_string()),
        )
    })?;
    Ok(text)
}

/// Commands that act on one deployment need one provider.
pub fn single_provider(
    cx: &Context,
    configured: &[ProviderId],
) -> Result<ProviderId, CommandError> {
    match (cx.provider, configured) {
        (Some(p), _) => Ok(p),
        (None, [one]) => Ok(*one),
        (None, []) => Err(CommandError::usage(
            "the manifest configures no provider",
            Some("add `[providers.aws]`".to_string()),
        )),
        (None, _) => Err(CommandError::usage(
            "the manifest configures several providers; choose one",
            Some("pass --provider aws or --provider azure".to_string()),
        )),
    }
}
