//! AWS as the commands drive it: [`Cloud`] over [`AwsBackend`], holding
//! what was read and the lock between the phases of a run.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::backend::lock::AwsLock;
use super::backend::{self, AwsBackend, AwsError, Live};
use crate::model::{App, ProviderId};
use crate::plan::{Conflict, Kept, Plan, Resource};
use crate::provider::cloud::{
    manifest_order, rfc3339_ms, Cloud, CloudError, CodeVersion, Deployment, Invocation,
    InvokeRequest, LogLine, LogTail, Payload, Progress, ReadLimit, Removal, RollbackReport,
    RollbackRequest, Skipped, Versions, Via,
};
use crate::provider::http_call;
use crate::provider::urls::{self, RouteUrl};
use crate::provider::CodeDigests;

/// The AWS part of a command.
pub struct AwsCloud {
    backend: AwsBackend,
    live: Option<Live>,
    lock: Option<AwsLock>,
    /// Set when a read finds the app's routes served by the other API
    /// flavour than `[providers.aws] http` asks for: the deploy replaces
    /// the API, and says that the URLs change.
    api_switch: Option<String>,
    /// The resource types whose tagging read the last read was refused
    /// (`tag:GetResources` denied): said in the plan's notes.
    tagging_denied: BTreeSet<String>,
}

impl AwsCloud {
    /// Builds the SDK clients from the manifest and the credential chain
    /// (resolves the region; no call is made yet).
    pub async fn connect(app: &App) -> Result<AwsCloud, CloudError> {
        let settings = app.aws.clone().ok_or_else(|| {
            CloudError::usage(
                "the manifest has no [providers.aws] section",
                Some("add one, or pass --provider azure".to_string()),
            )
        })?;
        let clients = backend::clients::connect(&settings).await?;
        Ok(AwsCloud {
            backend: AwsBackend {
                clients,
                app: app.clone(),
                read_only: None,
            },
            live: None,
            lock: None,
            api_switch: None,
            tagging_denied: BTreeSet::new(),
        })
    }

    fn app(&self) -> &App {
        &self.backend.app
    }

    fn live(&self) -> &Live {
        self.live.as_ref().expect("read first")
    }

    /// An endpoint override (moto, LocalStack) serves a REST API's stage
    /// under its own path, not at the `execute-api` host AWS assigns.
    fn emulator_note(&self) -> Option<String> {
        let endpoint = self
            .app()
            .aws
            .as_ref()
            .and_then(|a| a.endpoint.clone())
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())?;
        let api = self.live.as_ref()?.ids.api_id(self.app())?.to_string();
        if self.app().gateway() == crate::model::Gateway::HttpApi {
            return Some(super::kinds::http_api::emulator_note(&endpoint));
        }
        Some(format!(
            "these are the URLs AWS assigns; the endpoint override {e} is an emulator's, and moto and LocalStack serve them at {e}/restapis/{api}/{stage}/_user_request_/...",
            e = endpoint.trim_end_matches('/'),
            stage = self.app().stage
        ))
    }
}

#[async_trait::async_trait]
impl Cloud for AwsCloud {
    fn target(&self) -> String {
        self.backend.clients.region.clone()
    }

    fn calls(&self) -> (usize, usize) {
        let r = &self.backend.clients.recorder;
        (r.total(), r.mutating().len())
    }

    async fn read(&mut self) -> Result<(), CloudError> {
        let live = self.backend.read().await?;
        self.tagging_denied = live.tagging_denied.clone();
        // Kept from the read before apply (the one after finds the old API gone).
        if self.api_switch.is_none() {
            self.api_switch = super::kinds::http_api::switch_note(self.app(), &live.ids);
        }
        self.live = Some(live);
        Ok(())
    }

    /// Functions, aliases, permissions and rules are read one function at
    /// a time: only the selected functions' are read, and those of every
    /// function sharing a bucket with them (the bucket's notifications
    /// depend on their permissions). The API and buckets are read whole.
    fn limit_read(&mut self, functions: &BTreeSet<String>) -> Option<ReadLimit> {
        let app = &self.backend.app;
        let buckets = |f: &crate::model::Function| -> BTreeSet<String> {
            f.triggers
                .iter()
                .filter_map(|t| match t {
                    crate::model::Trigger::Storage(s) => Some(s.bucket.clone()),
                    _ => None,
                })
                .collect()
        };
        let selected: BTreeSet<String> = app
            .functions_for(ProviderId::Aws)
            .filter(|f| functions.contains(&f.name))
            .flat_map(buckets)
            .collect();
        let mut read: BTreeSet<String> = functions.clone();
        read.extend(
            app.functions_for(ProviderId::Aws)
                .filter(|f| !buckets(f).is_disjoint(&selected))
                .map(|f| f.name.clone()),
        );
        self.backend.read_only = Some(read.clone());
        Some(ReadLimit {
            functions: read,
            kinds: &[
                "lambda_function",
                "lambda_alias",
                "lambda_permission",
                "eventbridge_rule",
            ],
        })
    }

    /// What the plan did not touch was read under the lock moments ago:
    /// only the functions it changed (with the role, the API and the
    /// buckets) are read again (see `AwsBackend::read_changed`).
    async fn read_after_apply(&mut self, plan: &Plan) -> Result<(), CloudError> {
        let after = self.backend.read_changed(plan, self.live()).await?;
        self.live = Some(after);
        Ok(())
    }

    fn live_resources(&self) -> &[Resource] {
        &self.live().resources
    }

    fn live_conflicts(&self) -> &[Conflict] {
        &self.live().conflicts
    }

    fn live_kept(&self) -> Vec<Kept> {
        self.live().kept.iter().map(|(_, k)| k.clone()).collect()
    }

    /// A switch between a REST API and an HTTP API (every URL changes, and
    /// so does the event handlers get), and a tagging read that was denied
    /// (resources dropped from the manifest are then not found).
    fn plan_notes(&self) -> Vec<String> {
        let Some(live) = self.live.as_ref() else {
            return Vec::new();
        };
        [
            api_switch_plan_note(self.app(), &live.ids),
            super::kinds::common::tagging_denied_note(&self.tagging_denied),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    fn preflight(&self) -> Result<(), CloudError> {
        Ok(self.backend.preflight(self.live())?)
    }

    async fn lock(&mut self, operation: &str, plan: &Plan) -> Result<(), CloudError> {
        let creating = backend::apply::created_without_tags(plan);
        self.lock = Some(
            self.backend
                .acquire_lock_creating(operation, creating)
                .await?,
        );
        Ok(())
    }

    async fn lock_remove(&mut self) -> Result<(), CloudError> {
        self.lock = Some(self.backend.acquire_lock("remove").await?);
        Ok(())
    }

    async fn release(&mut self, failed: bool) -> Result<(), CloudError> {
        if let Some(l) = self.lock.take() {
            self.backend.release_lock_after(l, failed).await?;
        }
        Ok(())
    }

    async fn apply(
        &mut self,
        plan: &Plan,
        payload: Payload,
        _digests: &CodeDigests,
        concurrency: usize,
        progress: &Progress,
    ) -> Result<Value, CloudError> {
        let Payload::Aws(artifacts) = payload else {
            unreachable!("the payload is built for the session's provider")
        };
        let applied = self
            .backend
            .apply(plan, self.live(), artifacts, concurrency, progress)
            .await?;
        Ok(serde_json::to_value(applied).unwrap_or_default())
    }

    fn verify_failed(&self, drift: Vec<String>) -> CloudError {
        AwsError::Verify { drift }.into()
    }

    fn urls(&self) -> Vec<RouteUrl> {
        urls::aws_urls(
            self.app(),
            self.live.as_ref().and_then(|l| l.ids.api_id(self.app())),
            &self.backend.clients.region,
        )
    }

    /// What the URLs do not say on their own: that they changed because the
    /// app moved between a REST API and an HTTP API, and where an emulator
    /// serves them.
    fn urls_note(&self) -> Option<String> {
        let notes: Vec<String> = [self.api_switch.clone(), self.emulator_note()]
            .into_iter()
            .flatten()
            .collect();
        (!notes.is_empty()).then(|| notes.join("; "))
    }

    fn found(&self) -> usize {
        self.live
            .as_ref()
            .map_or(0, |l| l.resources.len() + l.kept.len())
    }

    async fn remove(
        &mut self,
        delete_data: bool,
        progress: &Progress,
    ) -> Result<Removal, CloudError> {
        // What a deploy keeps because it holds data (a resource dropped
        // from the manifest) is removed like the rest: kept again unless
        // `delete_data`, with remove's own words.
        let mut found = self.live().clone();
        let dropped = std::mem::take(&mut found.kept);
        found.resources.extend(dropped.into_iter().map(|(r, _)| r));
        let out = self.backend.remove(&found, delete_data, progress).await?;
        Ok(Removal {
            removed: out
                .removed
                .iter()
                .map(|a| serde_json::to_value(a).unwrap_or_default())
                .collect(),
            kept: out.kept,
        })
    }

    async fn describe(&mut self) -> Result<Deployment, CloudError> {
        self.read().await?;
        let (app, found, region) = (self.app(), self.live(), &self.backend.clients.region);
        Ok(describe(app, found, region, self.urls()))
    }

    async fn invoke(
        &self,
        request: &InvokeRequest<'_>,
        _status: &(dyn for<'s> Fn(&'s str) + Sync),
    ) -> Result<Invocation, CloudError> {
        let (app, backend) = (self.app(), &self.backend);
        let via = request.via.unwrap_or(Via::Direct);
        let account = match request.event {
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
        let payload = request.payload(app, Some(via), &backend.clients.region, &account)?;
        let f = request.function;
        if via == Via::Url {
            let event: Value = serde_json::from_str(&payload).unwrap_or(Value::Null);
            let gateway = app.gateway();
            let call = http_call::from_event(f, &event)
                .and_then(|c| {
                    let name = match gateway {
                        crate::model::Gateway::Rest => "a REST API",
                        crate::model::Gateway::HttpApi => "an HTTP API",
                    };
                    c.check_size(gateway.max_payload_bytes(), name).map(|_| c)
                })
                .map_err(|e| CloudError::usage(e.to_string(), Some(e.hint().to_string())))?;
            // The gateway gives an integration at most its limit (29 s on a
            // REST API by default, 30 s on an HTTP API).
            let timeout = std::time::Duration::from_secs(
                u64::from(f.timeout_s.max(gateway.integration_timeout_s())) + 5,
            );
            let (url, reply) = backend
                .invoke_url(&call, request.base_url.as_deref(), timeout)
                .await?;
            return Ok(Invocation::from_http(&call.method, url, &reply));
        }
        let remote = backend.invoke(&f.name, &payload).await?;
        Ok(Invocation {
            payload: remote.payload,
            function_error: remote.function_error,
            logs: remote
                .log_tail
                .map(|t| t.lines().map(str::to_string).collect())
                .unwrap_or_default(),
            ..Invocation::default()
        })
    }

    async fn tail_logs(
        &self,
        function: &str,
        since_secs: u64,
    ) -> Result<Box<dyn LogTail + '_>, CloudError> {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Ok(Box::new(AwsLogTail {
            backend: &self.backend,
            function: function.to_string(),
            start_ms: now_ms - (since_secs as i64) * 1000,
            seen: BTreeSet::new(),
        }))
    }

    async fn rollback(&self, request: &RollbackRequest<'_>) -> Result<RollbackReport, CloudError> {
        let app = self.app();
        let targets = self.targets(request.function);
        // A version number belongs to one function.
        if request.to.is_some() && targets.len() > 1 {
            return Err(CloudError::usage(
                "--to names a version of one function",
                Some("name the function: `fnctl rollback FUNCTION --to VERSION`".to_string()),
            ));
        }
        let mut report = RollbackReport::default();
        for f in targets {
            match self.backend.rollback(&f, request.to).await? {
                Ok(r) => {
                    report.lines.push(format!(
                        "{}: alias `{}` now points at version {} (was {})",
                        r.function, app.stage, r.to_version, r.from_version
                    ));
                    report
                        .json
                        .push(serde_json::to_value(&r).unwrap_or_default());
                }
                // Named: nothing to go back to is an error; over the whole
                // app: said, and the others still roll back.
                Err(reason) if request.function.is_some() => {
                    return Err(AwsError::Api {
                        operation: "Rollback",
                        resource: super::names::function(app, &f),
                        message: format!("there is nothing to roll back to: {reason}"),
                        hint: Some("each deploy that changes the function publishes a new version; `fnctl rollback --list` shows them".to_string()),
                    }
                    .into())
                }
                Err(reason) => report.skipped.push(Skipped {
                    function: f,
                    reason,
                }),
            }
        }
        Ok(report)
    }

    async fn versions(&self, function: Option<&str>) -> Result<Versions, CloudError> {
        let mut out = Versions::default();
        for f in self.targets(function) {
            let (versions, current) = self.backend.versions(&f).await?;
            out.versions
                .extend(versions.into_iter().map(|v| CodeVersion {
                    function: f.clone(),
                    version: v.number.to_string(),
                    deployed: Some(v.last_modified),
                    digest: format!("sha256:{}", v.code_sha256),
                    current: v.number == current,
                }));
        }
        out.note = Some(format!(
            "Lambda keeps every published version; the `{}` alias says which one runs",
            self.app().stage
        ));
        Ok(out)
    }
}

impl AwsCloud {
    /// The functions a rollback looks at: the one named, or every AWS one.
    fn targets(&self, function: Option<&str>) -> Vec<String> {
        match function {
            Some(f) => vec![f.to_string()],
            None => self
                .app()
                .functions_for(ProviderId::Aws)
                .map(|f| f.name.clone())
                .collect(),
        }
    }
}

/// CloudWatch Logs events of one function, polled from a start time.
struct AwsLogTail<'a> {
    backend: &'a AwsBackend,
    function: String,
    start_ms: i64,
    /// Event ids already printed (queries overlap at the boundary).
    seen: BTreeSet<String>,
}

#[async_trait::async_trait]
impl LogTail for AwsLogTail<'_> {
    async fn next_batch(&mut self) -> Result<Vec<LogLine>, CloudError> {
        let lines = self
            .backend
            .logs(&self.function, self.start_ms, &mut self.seen)
            .await?;
        Ok(lines
            .into_iter()
            .map(|l| {
                self.start_ms = self.start_ms.max(l.timestamp_ms);
                LogLine {
                    time: rfc3339_ms(l.timestamp_ms),
                    part: None,
                    stream: Some(l.stream),
                    message: l.message,
                }
            })
            .collect())
    }

    fn poll_every(&self) -> std::time::Duration {
        std::time::Duration::from_secs(2)
    }

    fn source(&self) -> String {
        format!(
            "the CloudWatch Logs group {} in {}",
            super::names::log_group(&self.backend.app, &self.function),
            self.backend.clients.region
        )
    }
}

/// The plan's word on a switch between a REST API and an HTTP API: the
/// same switch the deploy reports once applied
/// (`kinds::http_api::switch_note`, whose test of "is this a switch" it
/// reuses), said before anything changes.
fn api_switch_plan_note(app: &App, ids: &backend::LiveIds) -> Option<String> {
    use crate::model::Gateway;
    super::kinds::http_api::switch_note(app, ids)?;
    let (old, new, payload, was) = match app.gateway() {
        Gateway::HttpApi => (ids.rest_api_id.as_deref()?, "an HTTP API", "2.0", "1.0"),
        Gateway::Rest => (ids.http_api_id.as_deref()?, "a REST API", "1.0", "2.0"),
    };
    Some(format!(
        "this plan moves the routes from API {old} to {new} (`[providers.aws] http = \"{}\"`): the old API is deleted, so every URL changes (deploy prints the new ones; clients must be pointed at them), and handlers then receive payload format {payload} events instead of {was}",
        app.gateway().as_str()
    ))
}

/// What `info` shows of an AWS deployment: each function with its alias,
/// version and triggers, the buckets with fnctl's notifications, the URLs.
fn describe(app: &App, found: &Live, region: &str, urls: Vec<RouteUrl>) -> Deployment {
    let mut lambdas: Vec<&Resource> = found
        .resources
        .iter()
        .filter(|r| r.id.kind == "lambda_function")
        .collect();
    lambdas.sort_by_key(|r| manifest_order(app, r.function.as_deref()));
    let functions: Vec<Value> = lambdas
        .into_iter()
        .map(|r| {
            let alias = found.resources.iter().find(|a| {
                a.id.kind == "lambda_alias" && a.id.name.starts_with(&format!("{}:", r.id.name))
            });
            let triggers: Vec<String> = found
                .resources
                .iter()
                .filter(|t| {
                    t.function == r.function
                        && matches!(t.id.kind.as_str(), "api_method" | "eventbridge_rule")
                })
                .map(|t| match t.id.kind.as_str() {
                    "api_method" => format!(
                        "http {} {}",
                        t.attrs["http_method"].as_str().unwrap_or_default(),
                        t.attrs["path"].as_str().unwrap_or_default()
                    ),
                    _ => format!(
                        "schedule {} ({})",
                        t.attrs["schedule_expression"].as_str().unwrap_or_default(),
                        t.attrs["state"].as_str().unwrap_or_default().to_lowercase()
                    ),
                })
                .collect();
            json!({
                "function": r.function,
                "name": r.id.name,
                "runtime": r.attrs["runtime"],
                "memory_size": r.attrs["memory_size"],
                "timeout": r.attrs["timeout"],
                "alias": alias.map(|a| a.id.name.clone()),
                "version": alias.and_then(|a| a.attrs.get("published_version").cloned()),
                "triggers": triggers,
            })
        })
        .collect();
    let storage: Vec<Value> = found
        .resources
        .iter()
        .filter(|r| r.id.kind == "s3_notification")
        .map(|r| json!({"bucket": r.id.name, "notifications": r.attrs["owned_configurations"]}))
        .collect();
    let mut text = format!(
        "aws ({region}): app `{}`, stage `{}`\n",
        app.name, app.stage
    );
    if functions.is_empty() {
        text.push_str("  nothing deployed\n");
    }
    for f in &functions {
        text.push_str(&format!(
            "  {} ({})  {} {} MB {} s  alias {} -> version {}\n",
            f["function"].as_str().unwrap_or_default(),
            f["name"].as_str().unwrap_or_default(),
            f["runtime"].as_str().unwrap_or_default(),
            f["memory_size"],
            f["timeout"],
            f["alias"].as_str().unwrap_or("(none)"),
            f["version"].as_str().unwrap_or("?")
        ));
        for t in f["triggers"].as_array().into_iter().flatten() {
            text.push_str(&format!("      {}\n", t.as_str().unwrap_or_default()));
        }
    }
    for s in &storage {
        text.push_str(&format!(
            "  bucket {}: {} notification(s)\n",
            s["bucket"].as_str().unwrap_or_default(),
            s["notifications"].as_array().map(Vec::len).unwrap_or(0)
        ));
    }
    for u in &urls {
        text.push_str(&format!("  {:<7} {}\n", u.method, u.url));
    }
    Deployment {
        json: json!({"provider": "aws", "app": app.name, "stage": app.stage, "region": region, "deployed": !functions.is_empty(), "functions": functions, "storage": storage, "urls": urls}),
        text,
        conflicts: found.conflicts.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(http: &str) -> App {
        crate::manifest::test_app(format!(
            "[app]\nname = \"shop\"\nruntime = \"python3.12\"\n\n[providers.aws]\nregion = \"us-east-1\"\n{http}\n[functions.items]\nhandler = \"app.handler\"\n[[functions.items.triggers]]\ntype = \"http\"\nmethod = \"GET\"\npath = \"/items/{{id}}\"\n"
        ))
    }

    #[test]
    fn a_plan_that_switches_the_api_flavour_says_every_url_and_the_payload_change() {
        let rest_live = backend::LiveIds {
            rest_api_id: Some("abc123".into()),
            ..backend::LiveIds::default()
        };
        let note = api_switch_plan_note(&app("http = \"http-api\"\n"), &rest_live)
            .expect("REST to HTTP API is a switch");
        assert!(
            note.contains("from API abc123 to an HTTP API")
                && note.contains("every URL changes")
                && note.contains("payload format 2.0 events instead of 1.0"),
            "{note}"
        );

        let http_live = backend::LiveIds {
            http_api_id: Some("xyz789".into()),
            ..backend::LiveIds::default()
        };
        let note = api_switch_plan_note(&app(""), &http_live).expect("and back");
        assert!(
            note.contains("from API xyz789 to a REST API")
                && note.contains("`[providers.aws] http = \"rest\"`")
                && note.contains("payload format 1.0 events instead of 2.0"),
            "{note}"
        );

        // The same flavour, or nothing deployed yet: nothing to say.
        assert_eq!(api_switch_plan_note(&app(""), &rest_live), None);
        assert_eq!(
            api_switch_plan_note(&app(""), &backend::LiveIds::default()),
            None
        );
    }
}
