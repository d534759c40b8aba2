//! `fnctl invoke FN`: call a deployed function once, as a smoke test.
//!
//! The payload is `--data JSON`, `--data @file`, or a realistic sample event
//! built from the function's trigger (`--event http|storage|schedule`).
//! A handler error exits with status 4, and so does a failed
//! `--expect-status` / `--expect-body`, which makes this a CI gate.
//!
//! `--via url` sends an HTTP function's event as a real request to its
//! route (see [`crate::provider::http_call`]), which also tests the gateway
//! in front of it; on Azure that is the only way into an HTTP function.

use serde_json::{json, Value};

use super::live;
use super::{CommandError, Context, ExitStatus};
use crate::events::{self, EventKind};
use crate::model::{Function, ProviderId};
use crate::project;
use crate::provider::http_call;

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
}

/// How `invoke` reaches a deployed function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Via {
    /// The cloud's invoke API (Lambda Invoke; Azure's admin endpoint)
    Direct,
    /// The function's HTTP URL, the way its clients call it
    Url,
}

/// What an invocation gave back, wherever it ran.
#[derive(Debug, serde::Serialize)]
struct Result_ {
    payload: String,
    function_error: Option<String>,
    logs: Vec<String>,
    duration_ms: Option<u128>,
    /// What the cloud said instead of a result (Azure's asynchronous runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    /// The URL called, for calls through the function's URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

impl Result_ {
    /// A reply from the function's URL: a 5xx counts as the function failing.
    fn from_http(method: &str, url: String, reply: &http_call::HttpReply) -> Self {
        Result_ {
            payload: reply.payload().to_string(),
            function_error: http_call::server_error(reply.status),
            logs: Vec::new(),
            duration_ms: None,
            note: None,
            url: Some(format!("{method} {url}")),
        }
    }
}

pub fn run(cx: &Context, opts: &InvokeOptions) -> Result<ExitStatus, CommandError> {
    let project = project::load(cx)?;
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
    // The event: --data, or a sample built from the trigger --event names.
    // A call through the URL needs a request, so there the sample HTTP
    // request of the function's first route is the default.
    let sample = |via: Option<Via>, region: &str, account: &str| {
        let kind = match (via, &opts.data, opts.event) {
            (Some(Via::Url), None, None) => Some(EventKind::Http),
            _ => opts.event,
        };
        match (&opts.data, kind) {
            (Some(d), _) => read_data(d),
            (None, Some(kind)) => events::sample(app, f, kind, region, account)
                .map(|e| e.to_string())
                .map_err(|e| {
                    CommandError::usage(e.to_string(), Some("pass --data instead".to_string()))
                }),
            (None, None) => Ok("{}".to_string()),
        }
    };
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
    let rt = live::runtime()?;
    let invocation: Result_ = if opts.local {
        let region = app
            .aws
            .as_ref()
            .and_then(|a| a.region.clone())
            .unwrap_or_else(|| "us-east-1".into());
        let payload = sample(None, &region, "000000000000")?;
        let run = if opts.run_as == Some(ProviderId::Azure) {
            rt.block_on(crate::local::azure::invoke_once(
                app,
                f,
                payload.into_bytes(),
            ))?
        } else {
            rt.block_on(crate::local::invoke_once(app, f, payload.into_bytes()))?
        };
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
        Result_ {
            payload,
            function_error,
            logs: run.logs,
            duration_ms: Some(run.duration.as_millis()),
            note: None,
            url: None,
        }
    } else if provider == Some(ProviderId::Azure) {
        let region = app
            .azure
            .as_ref()
            .map(|a| a.location.as_str())
            .unwrap_or("azure");
        let via = via.unwrap_or_else(|| azure_default_via(f, opts));
        let payload = sample(Some(via), region, "000000000000")?;
        let event = event_value(&payload);
        if via == Via::Direct && event.get("httpMethod").is_some() {
            return Err(CommandError::usage(
                "Azure runs HTTP functions only through their URL",
                Some("drop --via direct".to_string()),
            ));
        }
        let call = match via {
            Via::Url => Some(http_request(f, &event)?),
            Via::Direct => None,
        };
        rt.block_on(async {
            let backend = crate::provider::azure::backend::AzureBackend::connect(app)?;
            let result = match &call {
                Some(call) => {
                    let (url, reply) = backend.invoke_http(call, opts.base_url.as_deref()).await?;
                    Result_::from_http(&call.method, url, &reply)
                }
                None => {
                    let note = backend.invoke_admin(&opts.function, &event).await?;
                    cx.printer.status(&note);
                    Result_ {
                        payload: String::new(),
                        function_error: None,
                        logs: Vec::new(),
                        duration_ms: None,
                        note: Some(note),
                        url: None,
                    }
                }
            };
            Ok::<_, CommandError>(result)
        })?
    } else {
        let via = via.unwrap_or(Via::Direct);
        rt.block_on(async {
            let backend = live::connect_aws(app).await?;
            let account = match opts.event {
                Some(_) => backend
                    .clients
                    .sts
                    .get_caller_identity()
                    .send()
                    .await
                    .ok()
                    .and_then(|i| i.account)
                    .unwrap_or_else(|| "123456789012".into()),
                None => String::new(),
            };
            let payload = sample(Some(via), &backend.clients.region, &account)?;
            if via == Via::Url {
                let call = http_request(f, &event_value(&payload))?;
                // API Gateway gives an integration 29 s by default.
                let timeout = std::time::Duration::from_secs(u64::from(f.timeout_s.max(29)) + 5);
                let (url, reply) = backend
                    .invoke_url(&call, opts.base_url.as_deref(), timeout)
                    .await?;
                return Ok::<_, CommandError>(Result_::from_http(&call.method, url, &reply));
            }
            let remote = backend.invoke(&opts.function, &payload).await?;
            Ok(Result_ {
                payload: remote.payload,
                function_error: remote.function_error,
                logs: remote
                    .log_tail
                    .map(|t| t.lines().map(str::to_string).collect())
                    .unwrap_or_default(),
                duration_ms: None,
                note: None,
                url: None,
            })
        })?
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
        let place = match (provider, opts.run_as) {
            (Some(p), _) => p.as_str(),
            (None, Some(ProviderId::Azure)) => "local-azure",
            (None, _) => "local",
        };
        cx.printer.json(&json!({"provider": place, "function": opts.function, "invocation": invocation, "status": status, "ok": failures.is_empty(), "failures": failures}));
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

/// On Azure an HTTP function is called through its URL, unless the event
/// given is not an HTTP request (then the admin endpoint starts the
/// function's blob or timer trigger).
fn azure_default_via(f: &Function, opts: &InvokeOptions) -> Via {
    let has_http = !http_call::http_triggers(f).is_empty();
    let other_event = matches!(opts.event, Some(EventKind::Storage | EventKind::Schedule))
        || opts.data.as_deref().is_some_and(|d| {
            read_data(d).is_ok_and(|t| event_value(&t).get("httpMethod").is_none())
        });
    if has_http && !other_event {
        Via::Url
    } else {
        Via::Direct
    }
}

/// The event as JSON (it was checked to be JSON when read).
fn event_value(payload: &str) -> Value {
    serde_json::from_str(payload).unwrap_or(Value::Null)
}

/// The HTTP request an event describes, or a usage error saying what to pass.
fn http_request<'f>(
    f: &'f Function,
    event: &Value,
) -> Result<http_call::HttpCall<'f>, CommandError> {
    http_call::from_event(f, event)
        .map_err(|e| CommandError::usage(e.to_string(), Some(e.hint().to_string())))
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
