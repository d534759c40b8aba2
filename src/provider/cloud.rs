//! What every cloud backend does for the commands, behind one trait.
//!
//! A command never names a cloud: it asks [`crate::provider::connect`] for
//! the selected provider's [`Cloud`] and drives it — read, lock, apply,
//! verify and remove through [`crate::provider::session::Session`], and the
//! operations on a deployed app (`info`, `invoke`, `logs`, `rollback`)
//! directly. What only one cloud can do is answered by that cloud (a Flex
//! Consumption app says why it cannot roll back), not decided by an `if` in
//! a command. The types here are the neutral shapes those answers take.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use crate::events::{self, EventKind};
use crate::model::{App, Function, ProviderId};
use crate::package::Artifact;
use crate::plan::{Conflict, Kept, Plan, Resource, ResourceId};
use crate::provider::aws::backend::AwsError;
use crate::provider::azure::backend::AzureError;
use crate::provider::urls::RouteUrl;
use crate::provider::CodeDigests;

/// Reports progress of each change (`(resource, step)`).
pub type Progress = dyn Fn(&ResourceId, &str) + Send + Sync;

/// Why one provider's part failed.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Azure(#[from] AzureError),
    /// The plan needs resources that exist but are not fnctl's.
    #[error("{}", conflicts_message(*provider, conflicts))]
    Conflicts {
        provider: ProviderId,
        conflicts: Vec<Conflict>,
    },
    /// The request makes no sense for this cloud or this function (e.g. an
    /// HTTP event sent to an Azure function outside its URL).
    #[error("{message}")]
    Usage {
        message: String,
        help: Option<String>,
    },
}

fn conflicts_message(provider: ProviderId, conflicts: &[Conflict]) -> String {
    match conflicts {
        [one] => format!("{provider}: {one}"),
        many => {
            let mut s = format!(
                "{provider}: {} resources the app needs exist and are not fnctl's for this app and stage:",
                many.len()
            );
            for c in many {
                s.push_str(&format!("\n  - {c}"));
            }
            s
        }
    }
}

impl From<crate::provider::aws::backend::clients::ClientError> for CloudError {
    fn from(e: crate::provider::aws::backend::clients::ClientError) -> Self {
        CloudError::Aws(e.into())
    }
}

impl CloudError {
    pub fn usage(message: impl Into<String>, help: impl Into<Option<String>>) -> Self {
        CloudError::Usage {
            message: message.into(),
            help: help.into(),
        }
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            CloudError::Aws(e) => e.hint(),
            CloudError::Azure(e) => e.hint(),
            CloudError::Conflicts { conflicts, .. } => {
                let mut helps: Vec<&str> = conflicts.iter().map(|c| c.help.as_str()).collect();
                helps.dedup();
                Some(format!(
                    "{}; nothing was changed",
                    helps.join("; ").trim_end_matches('.')
                ))
            }
            CloudError::Usage { help, .. } => help.clone(),
        }
    }

    /// No answer at all (no credentials, no network), as opposed to the
    /// cloud answering with an error.
    pub fn is_unreachable(&self) -> bool {
        match self {
            CloudError::Aws(e) => e.is_unreachable(),
            CloudError::Azure(e) => e.is_unreachable(),
            CloudError::Conflicts { .. } | CloudError::Usage { .. } => false,
        }
    }

    /// Another fnctl command holds the app+stage's lock.
    pub fn is_locked(&self) -> bool {
        matches!(
            self,
            CloudError::Aws(AwsError::Locked(_)) | CloudError::Azure(AzureError::Locked(_))
        )
    }

    /// Ctrl-C stopped the apply between changes.
    pub fn is_interrupted(&self) -> bool {
        matches!(
            self,
            CloudError::Aws(AwsError::Interrupted(_))
                | CloudError::Azure(AzureError::Interrupted(_))
        )
    }

    /// Stable machine name for `--output json`: the cloud that failed
    /// (`aws`, `azure`), or what stopped the run.
    pub fn kind(&self) -> &'static str {
        match self {
            _ if self.is_locked() => "locked",
            _ if self.is_interrupted() => "interrupted",
            CloudError::Aws(_) => "aws",
            CloudError::Azure(_) => "azure",
            CloudError::Conflicts { .. } => "conflict",
            CloudError::Usage { .. } => "usage",
        }
    }
}

/// The code a deploy publishes, built before any cloud is contacted.
pub enum Payload {
    /// One zip per function, by manifest function name.
    Aws(BTreeMap<String, Artifact>),
    /// The Function App's one zip.
    Azure(PathBuf),
}

/// What a limited read ([`Cloud::limit_read`]) leaves out: resources of
/// `kinds` that belong to functions outside `functions`. A plan leaves them
/// out too, since nothing is known about them.
#[derive(Debug, Clone)]
pub struct ReadLimit {
    pub functions: std::collections::BTreeSet<String>,
    pub kinds: &'static [&'static str],
}

/// What an apply did, for the command's report.
pub struct Applied {
    /// The changes as made, in the provider's JSON shape.
    pub changes: Value,
    pub urls: Vec<RouteUrl>,
    /// Where the URLs are not what the endpoint in use serves (an
    /// emulator), a word saying so and where it serves them.
    pub urls_note: Option<String>,
}

/// What a remove did.
#[derive(Default)]
pub struct Removal {
    /// The deletions as made, in the provider's JSON shape.
    pub removed: Vec<Value>,
    /// Resources left in place because they hold data.
    pub kept: Vec<Kept>,
}

/// What `info` shows of a deployment.
pub struct Deployment {
    /// The whole `--output json` document.
    pub json: Value,
    /// The human-readable description, one item per line.
    pub text: String,
    /// Resources with fnctl's names that belong to something else: not
    /// shown as the app's, but said, since a deploy would refuse them.
    pub conflicts: Vec<Conflict>,
}

/// How `invoke` reaches a deployed function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Via {
    /// The cloud's invoke API (Lambda Invoke; Azure's admin endpoint)
    Direct,
    /// The function's HTTP URL, the way its clients call it
    Url,
}

/// One call of a deployed function.
pub struct InvokeRequest<'a> {
    pub function: &'a Function,
    /// The payload as JSON text (`--data`), already checked to be JSON.
    pub data: Option<String>,
    /// A sample event to build from the function's triggers instead.
    pub event: Option<EventKind>,
    /// Which route and path a sample HTTP event describes.
    pub http: events::HttpChoice,
    /// How to reach the function; `None` lets the cloud choose.
    pub via: Option<Via>,
    /// With `Via::Url`: the API's base URL instead of the cloud's own.
    pub base_url: Option<String>,
}

impl InvokeRequest<'_> {
    /// The event to send: `--data`, or a sample built from the trigger
    /// `--event` names. A call through the URL needs a request, so there the
    /// sample HTTP request of the function's first route is the default, as
    /// it is when a route or path is chosen.
    pub fn payload(
        &self,
        app: &App,
        via: Option<Via>,
        region: &str,
        account: &str,
    ) -> Result<String, CloudError> {
        let chosen = self.http.route.is_some() || self.http.path.is_some();
        let kind = match (via, &self.data, self.event) {
            (Some(Via::Url), None, None) => Some(EventKind::Http),
            (_, None, None) if chosen => Some(EventKind::Http),
            _ => self.event,
        };
        match (&self.data, kind) {
            (Some(d), _) => Ok(d.clone()),
            (None, Some(kind)) => {
                events::sample_with(app, self.function, kind, region, account, &self.http)
                    .map(|e| e.to_string())
                    .map_err(|e| CloudError::usage(e.to_string(), Some(e.hint())))
            }
            (None, None) => Ok("{}".to_string()),
        }
    }
}

/// What an invocation gave back, wherever it ran.
#[derive(Debug, Default, Serialize)]
pub struct Invocation {
    pub payload: String,
    pub function_error: Option<String>,
    pub logs: Vec<String>,
    pub duration_ms: Option<u128>,
    /// What the cloud said instead of a result (Azure's asynchronous runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The URL called, for calls through the function's URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Invocation {
    /// A reply from the function's URL: a 5xx counts as the function failing.
    pub fn from_http(
        method: &str,
        url: String,
        reply: &crate::provider::http_call::HttpReply,
    ) -> Self {
        Invocation {
            payload: reply.payload().to_string(),
            function_error: crate::provider::http_call::server_error(reply.status),
            url: Some(format!("{method} {url}")),
            ..Invocation::default()
        }
    }
}

/// One line of a function's log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogLine {
    /// When it was written: RFC 3339 in UTC with milliseconds
    /// ([`rfc3339_ms`]), or the cloud's own text if it was not a time.
    pub time: String,
    /// The part of the function that wrote it, where a cloud runs one
    /// function as several (Azure: one function per trigger).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    /// The log stream it was read from (one per Lambda execution environment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    pub message: String,
}

/// Where a function is written in the manifest, so listings follow it
/// (`f1, f2, …, f10`, not `f1, f10, f2`); what is not the manifest's last.
pub fn manifest_order(app: &App, function: Option<&str>) -> (usize, String) {
    let name = function.unwrap_or_default();
    let at = app
        .functions
        .get(name)
        .map_or(usize::MAX, |f| f.name_span.start);
    (at, name.to_string())
}

/// `2026-12-04T13:01:02.123Z`: a log time with its date and UTC offset,
/// the same on every cloud.
pub fn rfc3339_ms(unix_ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// A log time a cloud wrote in RFC 3339 (any precision, any offset), in
/// the form of [`rfc3339_ms`]; the text as it was if it is not one.
pub fn normalize_time(text: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(text, &Rfc3339) {
        Ok(t) => rfc3339_ms((t.unix_timestamp_nanos() / 1_000_000) as i64),
        Err(_) => text.to_string(),
    }
}

/// A function's log, read in batches (`--follow` asks again and again).
#[async_trait::async_trait]
pub trait LogTail: Send {
    /// The lines written since the last batch (the first: since the time
    /// the tail was opened with), oldest first.
    async fn next_batch(&mut self) -> Result<Vec<LogLine>, CloudError>;

    /// How long to wait between batches when following: the cloud's
    /// ingestion delay makes asking more often pointless.
    fn poll_every(&self) -> std::time::Duration;

    /// Where the lines are read from, in words, for "nothing there" (so a
    /// wrong function, stage or region does not look like silence).
    fn source(&self) -> String;
}

/// What `rollback` is asked to do.
#[derive(Debug, Clone, Copy, Default)]
pub struct RollbackRequest<'a> {
    /// One function, or every function with an earlier version.
    pub function: Option<&'a str>,
    /// A version to go to instead of the one before the current one.
    pub to: Option<&'a str>,
}

/// What a rollback did, as printed.
#[derive(Debug, Default)]
pub struct RollbackReport {
    /// The `--output json` document's `rollbacks`.
    pub json: Vec<Value>,
    /// One line per thing rolled back.
    pub lines: Vec<String>,
    /// Functions left as they are, with why (no earlier version).
    pub skipped: Vec<Skipped>,
}

/// A function a rollback left alone.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub function: String,
    pub reason: String,
}

/// One deployed version of a function's code, for `rollback --list`.
#[derive(Debug, Clone, Serialize)]
pub struct CodeVersion {
    /// The manifest function (Azure: every function shares the package).
    pub function: String,
    /// What `--to` takes.
    pub version: String,
    /// When it was published, as the cloud reports it, where it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployed: Option<String>,
    /// The code's digest.
    pub digest: String,
    /// Whether this is what runs now.
    pub current: bool,
}

/// The versions `rollback` can go to.
#[derive(Debug, Default)]
pub struct Versions {
    pub versions: Vec<CodeVersion>,
    /// What the cloud keeps, in words (e.g. how many packages).
    pub note: Option<String>,
}

/// One provider's backend as the commands drive it. A value holds the
/// connection and what was read and locked so far, so the phases of a
/// deploy ([`crate::provider::session::Session`]) can run one after another.
#[async_trait::async_trait]
pub trait Cloud: Send + Sync {
    /// Where the app lives on this cloud, for status lines.
    fn target(&self) -> String;

    /// Calls made so far: (all, mutating).
    fn calls(&self) -> (usize, usize);

    /// Reads what exists of the app+stage; kept until the next read.
    async fn read(&mut self) -> Result<(), CloudError>;

    /// `deploy -f`: from now on, read only what `functions` need where
    /// this cloud reads function by function (so a one-function deploy
    /// does not pay for reading the whole app); what is left out, or `None`
    /// when the cloud reads the whole app anyway.
    fn limit_read(&mut self, functions: &std::collections::BTreeSet<String>) -> Option<ReadLimit> {
        let _ = functions;
        None
    }

    /// Reads again after `plan` was applied, to verify it. By default a
    /// full read; a cloud may read only what the plan touched and keep the
    /// rest from the read under the lock.
    async fn read_after_apply(&mut self, _plan: &Plan) -> Result<(), CloudError> {
        self.read().await
    }

    /// What the last read found as fnctl's.
    fn live_resources(&self) -> &[Resource];

    /// What the last read found with fnctl's names that is not fnctl's.
    fn live_conflicts(&self) -> &[Conflict];

    /// What the last read found of this app+stage that the manifest no
    /// longer names but that still holds data: the plan leaves it in place
    /// and says so ([`Plan::kept`]) instead of deleting it.
    fn live_kept(&self) -> Vec<Kept> {
        Vec::new()
    }

    /// What a plan against the last read should say in words beyond its
    /// changes: what a change means for the app's users (e.g. that every
    /// URL changes), or what the read could not see and why. `plan` prints
    /// these under the changes (and as `notes` in its JSON), `deploy` with
    /// its summary before applying.
    fn plan_notes(&self) -> Vec<String> {
        Vec::new()
    }

    /// Fails before any change when the planned state cannot work (e.g. a
    /// bucket the app uses but does not create is missing).
    fn preflight(&self) -> Result<(), CloudError> {
        Ok(())
    }

    /// Takes the deploy lock for `plan`.
    async fn lock(&mut self, operation: &str, plan: &Plan) -> Result<(), CloudError>;

    /// Takes the lock for a remove (where there is a place to keep it).
    async fn lock_remove(&mut self) -> Result<(), CloudError>;

    /// Gives the lock back, if one was taken; `failed` when the work under
    /// it started and did not finish.
    async fn release(&mut self, failed: bool) -> Result<(), CloudError>;

    /// Applies the plan's changes; the changes as made, in the provider's
    /// JSON shape.
    async fn apply(
        &mut self,
        plan: &Plan,
        payload: Payload,
        digests: &CodeDigests,
        concurrency: usize,
        progress: &Progress,
    ) -> Result<Value, CloudError>;

    /// The error for a deploy whose result differs from its plan.
    fn verify_failed(&self, drift: Vec<String>) -> CloudError;

    /// The public URLs of the app's HTTP routes, from what the last read found.
    fn urls(&self) -> Vec<RouteUrl>;

    /// Said beside [`Cloud::urls`] when the endpoint in use does not serve
    /// them there (an emulator behind an endpoint override).
    fn urls_note(&self) -> Option<String> {
        None
    }

    /// How many resources a remove would delete, from the last read.
    fn found(&self) -> usize;

    /// Deletes what fnctl owns for the app+stage, keeping data unless
    /// `delete_data`.
    async fn remove(
        &mut self,
        delete_data: bool,
        progress: &Progress,
    ) -> Result<Removal, CloudError>;

    /// What is deployed, for `info`.
    async fn describe(&mut self) -> Result<Deployment, CloudError>;

    /// Calls one deployed function once; `status` receives what the cloud
    /// says along the way.
    async fn invoke(
        &self,
        request: &InvokeRequest<'_>,
        status: &(dyn for<'s> Fn(&'s str) + Sync),
    ) -> Result<Invocation, CloudError>;

    /// Opens a function's log from `since_secs` ago.
    async fn tail_logs(
        &self,
        function: &str,
        since_secs: u64,
    ) -> Result<Box<dyn LogTail + '_>, CloudError>;

    /// Goes back to the code deployed before (or to `request.to`), for one
    /// function or every function that has an earlier version.
    async fn rollback(&self, request: &RollbackRequest<'_>) -> Result<RollbackReport, CloudError>;

    /// The versions a rollback can go to, for one function or all.
    async fn versions(&self, function: Option<&str>) -> Result<Versions, CloudError>;
}
