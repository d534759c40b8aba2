//! Azure as the commands drive it: [`Cloud`] over [`AzureBackend`], holding
//! what was read and the lock between the phases of a run.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::backend::lock::AzureLock;
use super::backend::logs::Since;
use super::backend::{self, AzureBackend, AzureError, Live};
use crate::events::EventKind;
use crate::model::{App, Function};
use crate::plan::{Action, Conflict, Plan, Resource};
use crate::provider::cloud::{
    manifest_order, normalize_time, Cloud, CloudError, CodeVersion, Deployment, Invocation,
    InvokeRequest, LogLine, LogTail, Payload, Progress, Removal, RollbackReport, RollbackRequest,
    Versions, Via,
};
use crate::provider::http_call;
use crate::provider::urls::{self, RouteUrl};
use crate::provider::CodeDigests;

/// The Azure part of a command.
pub struct AzureCloud {
    backend: AzureBackend,
    live: Option<Live>,
    lock: Option<AzureLock>,
}

impl AzureCloud {
    /// Builds the ARM client from the manifest and the credential chain (no
    /// call is made yet).
    pub fn connect(app: &App) -> Result<AzureCloud, CloudError> {
        Ok(AzureCloud {
            backend: AzureBackend::connect(app)?,
            live: None,
            lock: None,
        })
    }

    fn app(&self) -> &App {
        &self.backend.app
    }

    fn live(&self) -> &Live {
        self.live.as_ref().expect("read first")
    }
}

#[async_trait::async_trait]
impl Cloud for AzureCloud {
    fn target(&self) -> String {
        self.backend.target()
    }

    fn calls(&self) -> (usize, usize) {
        let c = &self.backend.arm.calls;
        (c.total(), c.mutating().len())
    }

    async fn read(&mut self) -> Result<(), CloudError> {
        self.live = Some(self.backend.read().await?);
        Ok(())
    }

    fn live_resources(&self) -> &[Resource] {
        &self.live().resources
    }

    fn live_conflicts(&self) -> &[Conflict] {
        &self.live().conflicts
    }

    fn live_kept(&self) -> Vec<crate::plan::Kept> {
        self.live().kept.clone()
    }

    async fn lock(&mut self, operation: &str, _plan: &Plan) -> Result<(), CloudError> {
        self.lock = Some(self.backend.acquire_lock(operation).await?);
        Ok(())
    }

    async fn lock_remove(&mut self) -> Result<(), CloudError> {
        // The lock lives in fnctl's storage account: never in one with
        // fnctl's name that someone else owns.
        let foreign_account = self
            .live
            .as_ref()
            .is_some_and(|l| l.conflicts.iter().any(|c| c.id.kind == "storage_account"));
        if !foreign_account {
            self.lock = self.backend.acquire_lock_if_present("remove").await?;
        }
        Ok(())
    }

    async fn release(&mut self, _failed: bool) -> Result<(), CloudError> {
        if let Some(l) = self.lock.take() {
            self.backend.release_lock(l).await?;
        }
        Ok(())
    }

    async fn apply(
        &mut self,
        plan: &Plan,
        payload: Payload,
        digests: &CodeDigests,
        _concurrency: usize,
        progress: &Progress,
    ) -> Result<Value, CloudError> {
        let Payload::Azure(zip) = payload else {
            unreachable!("the payload is built for the session's provider")
        };
        let needs_code = plan
            .changes
            .iter()
            .any(|c| c.id.kind == "function_package" && c.action != Action::NoOp);
        let upload = if needs_code {
            let bytes = std::fs::read(&zip).map_err(|e| AzureError::Config {
                reason: format!("cannot read the package {}: {e}", zip.display()),
            })?;
            Some(backend::apply::PackageUpload {
                zip: bytes,
                digest: super::resources::package_digest(self.app(), digests),
            })
        } else {
            None
        };
        let applied = self
            .backend
            .apply(plan, self.live(), upload, progress)
            .await?;
        Ok(serde_json::to_value(applied).unwrap_or_default())
    }

    fn verify_failed(&self, drift: Vec<String>) -> CloudError {
        AzureError::Verify { drift }.into()
    }

    fn urls(&self) -> Vec<RouteUrl> {
        urls::azure_urls(
            self.app(),
            self.live.as_ref().and_then(|l| l.host.as_deref()),
        )
    }

    fn found(&self) -> usize {
        self.live.as_ref().map_or(0, |l| {
            l.resources
                .iter()
                .filter(|r| r.id.kind != "resource_group" || l.resource_group_owned)
                .count()
        })
    }

    async fn remove(
        &mut self,
        delete_data: bool,
        progress: &Progress,
    ) -> Result<Removal, CloudError> {
        let out = self
            .backend
            .remove_keeping_data(progress, delete_data)
            .await?;
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
        Ok(describe(
            self.app(),
            self.live(),
            &self.target(),
            self.urls(),
        ))
    }

    async fn invoke(
        &self,
        request: &InvokeRequest<'_>,
        status: &(dyn for<'s> Fn(&'s str) + Sync),
    ) -> Result<Invocation, CloudError> {
        let app = self.app();
        let f = request.function;
        let region = app
            .azure
            .as_ref()
            .map(|a| a.location.as_str())
            .unwrap_or("azure");
        let via = request.via.unwrap_or_else(|| default_via(f, request));
        let payload = request.payload(app, Some(via), region, "000000000000")?;
        let event: Value = serde_json::from_str(&payload).unwrap_or(Value::Null);
        if via == Via::Direct && event.get("httpMethod").is_some() {
            return Err(CloudError::usage(
                "Azure runs HTTP functions only through their URL",
                Some("drop --via direct".to_string()),
            ));
        }
        match via {
            Via::Url => {
                let call = http_call::from_event(f, &event)
                    .map_err(|e| CloudError::usage(e.to_string(), Some(e.hint().to_string())))?;
                let (url, reply) = self
                    .backend
                    .invoke_http(&call, request.base_url.as_deref())
                    .await?;
                Ok(Invocation::from_http(&call.method, url, &reply))
            }
            Via::Direct => {
                let note = self.backend.invoke_admin(&f.name, &event).await?;
                status(&note);
                Ok(Invocation {
                    note: Some(note),
                    ..Invocation::default()
                })
            }
        }
    }

    async fn tail_logs(
        &self,
        function: &str,
        since_secs: u64,
    ) -> Result<Box<dyn LogTail + '_>, CloudError> {
        if self.app().azure.as_ref().is_some_and(|az| !az.app_insights) {
            return Err(CloudError::usage(
                "`fnctl logs` cannot show Azure logs for this app: `app_insights = false` in [providers.azure], so its logs go nowhere fnctl can read",
                Some("set `app_insights = true` (the default) and deploy again".to_string()),
            ));
        }
        Ok(Box::new(AzureLogTail {
            backend: &self.backend,
            function: function.to_string(),
            since: Since::Ago {
                seconds: since_secs,
            },
            seen: BTreeSet::new(),
        }))
    }

    async fn rollback(&self, request: &RollbackRequest<'_>) -> Result<RollbackReport, CloudError> {
        // One package holds every function: naming one is refused rather
        // than ignored.
        if let Some(f) = request.function {
            return Err(CloudError::usage(
                format!("on Azure all functions share one package, so `{f}` cannot be rolled back alone"),
                Some("run `fnctl rollback --provider azure` without a function name to roll back the whole Function App".to_string()),
            ));
        }
        let done = self.backend.rollback(request.to).await?;
        Ok(RollbackReport {
            lines: vec![format!(
                "{}: now runs package {} (was {})",
                done.function_app, done.to_package, done.from_package
            )],
            json: vec![serde_json::to_value(&done).unwrap_or_default()],
            skipped: Vec::new(),
        })
    }

    async fn versions(&self, _function: Option<&str>) -> Result<Versions, CloudError> {
        let kept = self.backend.packages().await?;
        Ok(Versions {
            versions: kept
                .history
                .iter()
                .map(|blob| CodeVersion {
                    function: kept.function_app.clone(),
                    version: blob.clone(),
                    deployed: None,
                    digest: blob
                        .trim_start_matches("fnctl-")
                        .trim_end_matches(".zip")
                        .to_string(),
                    current: *blob == kept.current,
                })
                .collect(),
            note: Some(format!(
                "one package holds every function of `{}`; fnctl keeps the last {} deployed packages, newest first",
                kept.function_app,
                super::backend::PACKAGES_KEPT
            )),
        })
    }
}

/// On Azure an HTTP function is called through its URL, unless the event
/// given is not an HTTP request (then the admin endpoint starts the
/// function's blob or timer trigger).
fn default_via(f: &Function, request: &InvokeRequest<'_>) -> Via {
    let has_http = !http_call::http_triggers(f).is_empty();
    let other_event = matches!(
        request.event,
        Some(EventKind::Storage | EventKind::Schedule | EventKind::Queue)
    ) || request.data.as_deref().is_some_and(|d| {
        serde_json::from_str::<Value>(d).is_ok_and(|e| e.get("httpMethod").is_none())
    });
    if has_http && !other_event {
        Via::Url
    } else {
        Via::Direct
    }
}

/// The function's traces from the app's Application Insights (through its
/// Log Analytics workspace).
struct AzureLogTail<'a> {
    backend: &'a AzureBackend,
    function: String,
    since: Since,
    seen: BTreeSet<String>,
}

#[async_trait::async_trait]
impl LogTail for AzureLogTail<'_> {
    async fn next_batch(&mut self) -> Result<Vec<LogLine>, CloudError> {
        let lines = self
            .backend
            .logs(&self.function, &self.since, &mut self.seen)
            .await?;
        Ok(lines
            .into_iter()
            .map(|l| {
                let line = LogLine {
                    time: normalize_time(&l.time),
                    part: Some(l.operation),
                    stream: None,
                    message: l.message,
                };
                self.since = Since::After { time: l.time };
                line
            })
            .collect())
    }

    /// Application Insights ingests with a delay: no point asking often.
    fn poll_every(&self) -> std::time::Duration {
        std::time::Duration::from_secs(5)
    }

    fn source(&self) -> String {
        format!(
            "the traces of `{}` in Application Insights {} (Log Analytics workspace {}), which shows lines a few minutes after they are written",
            self.function,
            super::names::app_insights(&self.backend.app),
            super::names::log_workspace(&self.backend.app)
        )
    }
}

/// What `info` shows of an Azure deployment: the Function App, its
/// functions and URLs.
fn describe(app: &App, found: &Live, target: &str, urls: Vec<RouteUrl>) -> Deployment {
    let site = found.resources.iter().find(|r| r.id.kind == "function_app");
    let insights = found
        .resources
        .iter()
        .find(|r| r.id.kind == "app_insights")
        .map(|r| r.id.name.clone());
    let functions: Vec<Value> = found
        .resources
        .iter()
        .filter(|r| r.id.kind == "function")
        .map(|r| {
            json!({
                "function": r.function,
                "name": r.id.name.rsplit('/').next(),
                "binding": r.attrs.get("binding"),
                "disabled": r.attrs.get("disabled"),
            })
        })
        .collect();
    let mut text = format!(
        "azure ({target}): app `{}`, stage `{}`\n",
        app.name, app.stage
    );
    match site {
        None => text.push_str("  nothing deployed\n"),
        Some(s) => text.push_str(&format!(
            "  Function App {}  {} {}\n",
            s.id.name,
            s.attrs["runtime"]["name"].as_str().unwrap_or("?"),
            s.attrs["runtime"]["version"].as_str().unwrap_or("?")
        )),
    }
    // Each manifest function with its Azure functions (one per trigger)
    // under it, in manifest order.
    let mut by_function: Vec<(&str, Vec<&Value>)> = Vec::new();
    for f in &functions {
        let owner = f["function"].as_str().unwrap_or_default();
        match by_function.iter_mut().find(|(name, _)| *name == owner) {
            Some((_, list)) => list.push(f),
            None => by_function.push((owner, vec![f])),
        }
    }
    by_function.sort_by_key(|(name, _)| manifest_order(app, Some(name)));
    for (owner, list) in &by_function {
        text.push_str(&format!("  {owner}\n"));
        for f in list {
            let b = &f["binding"];
            let what = match b["type"].as_str().unwrap_or_default() {
                "httpTrigger" => format!("http /{}", b["route"].as_str().unwrap_or_default()),
                "blobTrigger" => format!("blob {}", b["path"].as_str().unwrap_or_default()),
                "timerTrigger" => format!("timer {}", b["schedule"].as_str().unwrap_or_default()),
                other => other.to_string(),
            };
            text.push_str(&format!(
                "      {what} ({}){}\n",
                f["name"].as_str().unwrap_or_default(),
                if f["disabled"] == true {
                    ", disabled"
                } else {
                    ""
                }
            ));
        }
    }
    for u in &urls {
        text.push_str(&format!("  {:<7} {}\n", u.method, u.url));
    }
    if let Some(name) = &insights {
        text.push_str(&format!(
            "  logs and telemetry: Application Insights {name}\n"
        ));
    }
    Deployment {
        json: json!({
            "provider": "azure", "app": app.name, "stage": app.stage, "target": target,
            "deployed": site.is_some(),
            "function_app": site.map(|s| s.id.name.clone()),
            "runtime": site.map(|s| s.attrs["runtime"].clone()),
            "package": found.package_digest,
            "app_insights": insights,
            "functions": functions, "urls": urls,
        }),
        text,
        conflicts: found.conflicts.clone(),
    }
}
