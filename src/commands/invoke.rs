//! `fnctl invoke FN`: call a deployed function once, as a smoke test.
//!
//! The payload is `--data JSON`, `--data @file`, `--data -` (stdin), or a
//! realistic sample event built from the function's trigger (`--event
//! http|storage|schedule|queue`; for HTTP, `--route 'POST /orders/{id}'` and
//! `--path /orders/42` choose the request).
//! A handler error exits with status 4, and so does a failed
//! `--expect-status` / `--expect-body`, which makes this a CI gate.
//!
//! `--via url` sends an HTTP function's event as a real request to its
//! route (see [`crate::provider::http_call`]), which also tests the gateway
//! in front of it; on Azure that is the only way into an HTTP function.

use serde_json::{json, Value};

use super::live;
use super::{CommandError, Context, ExitStatus};
use crate::events::EventKind;
use crate::model::ProviderId;
use crate::project;
pub use crate::provider::cloud::Via;
use crate::provider::cloud::{Invocation, InvokeRequest};

/// Flags of `invoke`.
#[derive(Debug, Clone)]
pub struct InvokeOptions {
    pub function: String,
    pub data: Option<String>,
    pub event: Option<EventKind>,
    pub expect_status: Option<u16>,
    pub expect_body: Option<String>,
    /// Run on this machine through the embedded Runtime API instead of the cloud.
    pub local: bool,
    /// With `local`: `Azure` runs the generated Azure entry instead.
    pub run_as: Option<ProviderId>,
    /// How to reach the deployed function; `None` lets the provider choose.
    pub via: Option<Via>,
    /// With `Via::Url`: the API's base URL instead of the cloud's own.
    pub base_url: Option<String>,
    /// Which route and path a sample HTTP event describes.
    pub http: crate::events::HttpChoice,
}

pub fn run(cx: &Context, opts: &InvokeOptions) -> Result<ExitStatus, CommandError> {
    // A local run needs the manifest, not what a cloud would accept.
    let project = if opts.local {
        super::dev::load_local(cx)?
    } else {
        project::load(cx)?
    };
    let provider = if opts.local {
        None
    } else {
        Some(single_provider(cx, &project.providers)?)
    };
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
    let data = opts.data.as_deref().map(read_data).transpose()?;
    // --base-url alone means a call through the URL.
    let via = opts
        .via
        .or_else(|| opts.base_url.as_ref().map(|_| Via::Url));
    if opts.base_url.is_some() && via == Some(Via::Direct) {
        return Err(CommandError::usage(
            "--base-url applies to calls through the function's URL",
            Some("use --via url, or drop --base-url".to_string()),
        ));
    }
    let request = InvokeRequest {
        function: f,
        data,
        event: opts.event,
        http: opts.http.clone(),
        via,
        base_url: opts.base_url.clone(),
    };
    let rt = live::runtime()?;
    let invocation: Invocation = match provider {
        None => {
            let region = app
                .aws
                .as_ref()
                .and_then(|a| a.region.clone())
                .unwrap_or_else(|| "us-east-1".into());
            let payload = request.payload(app, None, &region, "000000000000")?;
            let run = rt.block_on(crate::local::invoke_as(
                opts.run_as,
                app,
                f,
                payload.into_bytes(),
            ))?;
            let (payload, function_error) = match run.outcome {
                Some(crate::local::Outcome::Response(b)) => {
                    (String::from_utf8_lossy(&b).into_owned(), None)
                }
                Some(crate::local::Outcome::Error { error_type, body }) => (
                    String::from_utf8_lossy(&body).into_owned(),
                    Some(error_type),
                ),
                Some(crate::local::Outcome::InitError { error_type, body }) => (
                    String::from_utf8_lossy(&body).into_owned(),
                    Some(format!("init: {error_type}")),
                ),
                None => (
                    String::new(),
                    Some(format!("timed out after {} s", f.timeout_s)),
                ),
            };
            Invocation {
                payload,
                function_error,
                logs: run.logs,
                duration_ms: Some(run.duration.as_millis()),
                ..Invocation::default()
            }
        }
        Some(provider) => rt.block_on(async {
            let cloud = crate::provider::connect(app, provider).await?;
            cloud
                .invoke(&request, &|note: &str| cx.printer.status(note))
                .await
        })?,
    };

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
        let place = match provider {
            Some(p) => p.as_str(),
            None => crate::local::run_as::label(opts.run_as),
        };
        // A JSON payload is embedded as JSON, so a script reads
        // `.invocation.payload.statusCode` without parsing a string twice.
        let mut shown = serde_json::to_value(&invocation).unwrap_or_default();
        if let Some(p) = parsed.clone() {
            shown["payload"] = p;
        }
        cx.printer.json(&json!({"provider": place, "function": opts.function, "invocation": shown, "status": status, "ok": failures.is_empty(), "failures": failures}));
    } else {
        if let Some(url) = &invocation.url {
            let answered = status.map(|s| format!(" -> HTTP {s}")).unwrap_or_default();
            cx.printer.status(&format!("{url}{answered}"));
        }
        if !invocation.payload.is_empty() {
            cx.printer
                .data(&format!("{}\n", pretty(&invocation.payload)));
        }
        if !invocation.logs.is_empty() {
            cx.printer
                .status(&format!("--- logs ---\n{}", invocation.logs.join("\n")));
        }
        if let Some(ms) = invocation.duration_ms {
            cx.printer.status(&format!("duration: {ms} ms"));
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

/// `--data JSON`, `--data @file` or `--data -` (stdin); must be JSON
/// every way.
fn read_data(data: &str) -> Result<String, CommandError> {
    let text = match data.strip_prefix('@') {
        _ if data == "-" => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .map_err(|e| CommandError::io("reading --data from stdin", e))?;
            text
        }
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| CommandError::io(format!("reading --data file {path}"), e))?,
        None => data.to_string(),
    };
    serde_json::from_str::<Value>(&text).map_err(|e| {
        CommandError::usage(
            format!("--data is not valid JSON: {e}"),
            Some("pass a JSON document, @path/to/file.json, or - for stdin".to_string()),
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
