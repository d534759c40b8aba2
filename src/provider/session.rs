//! One provider's part in a command that reads or changes the cloud, cut
//! into the phases a run over several clouds needs.
//!
//! "Every cloud before any change": `deploy` and `remove` first connect to,
//! read, plan and lock *every* selected provider, and only then change the
//! first one. A cloud that cannot be read (no credentials, no network), a
//! plan that would take over something fnctl does not own, or a lock held by
//! someone else therefore stops the run before its first change anywhere.
//! The commands drive these phases without knowing which cloud they talk to;
//! this module is where the provider is chosen.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::model::{App, ProviderId};
use crate::package::Artifact;
use crate::plan::{self, Action, Conflict, Kept, LiveState, Plan, ResourceId};
use crate::provider::aws::backend::{self as aws, AwsBackend, AwsError};
use crate::provider::azure::backend::{self as azure, AzureBackend, AzureError};
use crate::provider::urls::{self, RouteUrl};
use crate::provider::{self, CodeDigests};

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

impl From<aws::clients::ClientError> for CloudError {
    fn from(e: aws::clients::ClientError) -> Self {
        CloudError::Aws(e.into())
    }
}

impl CloudError {
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
        }
    }

    /// No answer at all (no credentials, no network), as opposed to the
    /// cloud answering with an error.
    pub fn is_unreachable(&self) -> bool {
        match self {
            CloudError::Aws(e) => e.is_unreachable(),
            CloudError::Azure(e) => e.is_unreachable(),
            CloudError::Conflicts { .. } => false,
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

/// What an apply did, for the command's report.
pub struct Applied {
    /// The changes as made, in the provider's JSON shape.
    pub changes: serde_json::Value,
    pub urls: Vec<RouteUrl>,
}

/// What a remove did.
#[derive(Default)]
pub struct Removal {
    /// The deletions as made, in the provider's JSON shape.
    pub removed: Vec<serde_json::Value>,
    /// Resources left in place because they hold data.
    pub kept: Vec<Kept>,
}

enum Cloud {
    Aws {
        backend: Box<AwsBackend>,
        live: Option<aws::Live>,
        lock: Option<aws::lock::AwsLock>,
    },
    Azure {
        backend: Box<AzureBackend>,
        live: Option<azure::Live>,
        lock: Option<azure::lock::AzureLock>,
    },
}

/// One provider's connection, what was read from it, its plan and its lock.
pub struct Session {
    pub provider: ProviderId,
    app: App,
    cloud: Cloud,
    plan: Option<Plan>,
    /// Whether this provider's apply has started (only then can a failure
    /// have left something half-made that the next run must know about).
    applying: bool,
}

impl Session {
    /// Builds the provider's clients from the manifest and the credential
    /// chain (no call is made yet for Azure; AWS resolves its region).
    pub async fn connect(app: &App, provider: ProviderId) -> Result<Session, CloudError> {
        let cloud = match provider {
            ProviderId::Aws => {
                let settings = app.aws.clone().expect("the provider is configured");
                let clients = aws::clients::connect(&settings).await?;
                Cloud::Aws {
                    backend: Box::new(AwsBackend {
                        clients,
                        app: app.clone(),
                    }),
                    live: None,
                    lock: None,
                }
            }
            ProviderId::Azure => Cloud::Azure {
                backend: Box::new(AzureBackend::connect(app)?),
                live: None,
                lock: None,
            },
        };
        Ok(Session {
            provider,
            app: app.clone(),
            cloud,
            plan: None,
            applying: false,
        })
    }

    /// Where the app lives on this cloud, for status lines.
    pub fn target(&self) -> String {
        match &self.cloud {
            Cloud::Aws { backend, .. } => backend.clients.region.clone(),
            Cloud::Azure { backend, .. } => backend.target(),
        }
    }

    /// The plan computed by the last [`Session::prepare`] or [`Session::lock`].
    pub fn plan(&self) -> &Plan {
        self.plan.as_ref().expect("prepare() runs first")
    }

    /// Calls made so far: (all, mutating).
    pub fn calls(&self) -> (usize, usize) {
        match &self.cloud {
            Cloud::Aws { backend, .. } => {
                let r = &backend.clients.recorder;
                (r.total(), r.mutating().len())
            }
            Cloud::Azure { backend, .. } => {
                let c = &backend.arm.calls;
                (c.total(), c.mutating().len())
            }
        }
    }

    async fn read(&mut self) -> Result<(), CloudError> {
        match &mut self.cloud {
            Cloud::Aws { backend, live, .. } => *live = Some(backend.read().await?),
            Cloud::Azure { backend, live, .. } => *live = Some(backend.read().await?),
        }
        Ok(())
    }

    /// The plan against what was read last.
    fn plan_against_live(&self, digests: &CodeDigests) -> Plan {
        let p = provider::for_id(self.provider);
        let desired = p.desired(&self.app, digests);
        let (resources, conflicts) = match &self.cloud {
            Cloud::Aws { live, .. } => {
                let live = live.as_ref().expect("read first");
                (&live.resources, live.conflicts.clone())
            }
            Cloud::Azure { live, .. } => {
                let live = live.as_ref().expect("read first");
                (&live.resources, live.conflicts.clone())
            }
        };
        Plan {
            app: self.app.name.clone(),
            stage: self.app.stage.clone(),
            provider: self.provider,
            target: p.target(&self.app),
            live: LiveState::Read,
            changes: plan::diff(&desired, Some(resources)),
            conflicts,
        }
    }

    /// Reads the cloud and plans against it. The plan is returned even when
    /// it cannot be applied; [`Session::check`] says whether it can.
    pub async fn prepare(&mut self, digests: &CodeDigests) -> Result<&Plan, CloudError> {
        self.read().await?;
        self.plan = Some(self.plan_against_live(digests));
        Ok(self.plan())
    }

    /// Whether the plan can be applied: nothing fnctl does not own is in the
    /// way, and what the app uses but does not create exists (or is created
    /// by the plan itself).
    pub fn check(&self) -> Result<(), CloudError> {
        let plan = self.plan();
        if !plan.conflicts.is_empty() {
            return Err(CloudError::Conflicts {
                provider: self.provider,
                conflicts: plan.conflicts.clone(),
            });
        }
        if let Cloud::Aws { backend, live, .. } = &self.cloud {
            backend.preflight(live.as_ref().expect("read first"))?;
        }
        Ok(())
    }

    /// Takes the deploy lock when the plan has changes, then reads and plans
    /// again under it (another run may have changed things in between) and
    /// checks the new plan. A plan with nothing to change takes no lock.
    pub async fn lock(&mut self, operation: &str, digests: &CodeDigests) -> Result<(), CloudError> {
        if self.plan().is_noop() {
            return Ok(());
        }
        match &mut self.cloud {
            Cloud::Aws { backend, lock, .. } => {
                let creating =
                    aws::apply::created_without_tags(self.plan.as_ref().expect("planned"));
                *lock = Some(backend.acquire_lock_creating(operation, creating).await?);
            }
            Cloud::Azure { backend, lock, .. } => {
                *lock = Some(backend.acquire_lock(operation).await?);
            }
        }
        self.prepare(digests).await?;
        self.check()
    }

    /// Gives the lock back, if one was taken; `failed` when the work under
    /// it did not finish (the lock may then keep what a rerun must know, if
    /// this provider's apply had started).
    pub async fn release(&mut self, failed: bool) -> Result<(), CloudError> {
        let failed = failed && self.applying;
        match &mut self.cloud {
            Cloud::Aws { backend, lock, .. } => {
                if let Some(l) = lock.take() {
                    backend.release_lock_after(l, failed).await?;
                }
            }
            Cloud::Azure { backend, lock, .. } => {
                if let Some(l) = lock.take() {
                    backend.release_lock(l).await?;
                }
            }
        }
        Ok(())
    }

    /// Applies the plan, then verifies: what the cloud reports afterwards
    /// must match the plan exactly. An unchanged plan made no call, so the
    /// read it came from is its own verification.
    pub async fn apply(
        &mut self,
        payload: Payload,
        digests: &CodeDigests,
        concurrency: usize,
        progress: &Progress,
    ) -> Result<Applied, CloudError> {
        let plan = self.plan.clone().expect("prepare() runs first");
        self.applying = true;
        let changes = match (&self.cloud, payload) {
            (Cloud::Aws { backend, live, .. }, Payload::Aws(artifacts)) => {
                let before = live.as_ref().expect("read first");
                let applied = backend
                    .apply(&plan, before, artifacts, concurrency, progress)
                    .await?;
                serde_json::to_value(applied).unwrap_or_default()
            }
            (Cloud::Azure { backend, live, .. }, Payload::Azure(zip)) => {
                let needs_code = plan
                    .changes
                    .iter()
                    .any(|c| c.id.kind == "function_package" && c.action != Action::NoOp);
                let upload = if needs_code {
                    let bytes = std::fs::read(&zip).map_err(|e| AzureError::Config {
                        reason: format!("cannot read the package {}: {e}", zip.display()),
                    })?;
                    Some(azure::apply::PackageUpload {
                        zip: bytes,
                        digest: crate::provider::azure::resources::package_digest(
                            &self.app, digests,
                        ),
                    })
                } else {
                    None
                };
                let before = live.as_ref().expect("read first");
                let applied = backend.apply(&plan, before, upload, progress).await?;
                serde_json::to_value(applied).unwrap_or_default()
            }
            _ => unreachable!("the payload is built for the session's provider"),
        };
        if !plan.is_noop() {
            self.read().await?;
        }
        let check = self.plan_against_live(digests);
        let drift = drift(&check);
        if !drift.is_empty() {
            return Err(match self.provider {
                ProviderId::Aws => AwsError::Verify { drift }.into(),
                ProviderId::Azure => AzureError::Verify { drift }.into(),
            });
        }
        let urls = match &self.cloud {
            Cloud::Aws { backend, live, .. } => urls::aws_urls(
                &self.app,
                live.as_ref().and_then(|l| l.ids.rest_api_id.as_deref()),
                &backend.clients.region,
            ),
            Cloud::Azure { live, .. } => {
                urls::azure_urls(&self.app, live.as_ref().and_then(|l| l.host.as_deref()))
            }
        };
        Ok(Applied { changes, urls })
    }

    /// Reads what a remove would delete; the count of resources found.
    pub async fn prepare_remove(&mut self) -> Result<usize, CloudError> {
        self.read().await?;
        Ok(self.found())
    }

    fn found(&self) -> usize {
        match &self.cloud {
            Cloud::Aws { live, .. } => live.as_ref().map_or(0, |l| l.resources.len()),
            Cloud::Azure { live, .. } => live.as_ref().map_or(0, |l| {
                l.resources
                    .iter()
                    .filter(|r| r.id.kind != "resource_group" || l.resource_group_owned)
                    .count()
            }),
        }
    }

    /// Takes the lock for a remove when there is something to remove, and
    /// reads again under it.
    pub async fn lock_remove(&mut self) -> Result<usize, CloudError> {
        if self.found() == 0 {
            return Ok(0);
        }
        match &mut self.cloud {
            Cloud::Aws { backend, lock, .. } => {
                *lock = Some(backend.acquire_lock("remove").await?);
            }
            Cloud::Azure {
                backend,
                lock,
                live,
            } => {
                // The lock lives in fnctl's storage account: never in one
                // with fnctl's name that someone else owns.
                let foreign_account = live
                    .as_ref()
                    .is_some_and(|l| l.conflicts.iter().any(|c| c.id.kind == "storage_account"));
                if !foreign_account {
                    *lock = backend.acquire_lock_if_present("remove").await?;
                }
            }
        }
        self.prepare_remove().await
    }

    /// Deletes what fnctl owns for the app+stage, in dependency order, and
    /// checks that nothing of it is left. Data (a bucket or container that
    /// still holds objects) is kept unless `delete_data`.
    pub async fn remove(
        &mut self,
        delete_data: bool,
        progress: &Progress,
    ) -> Result<Removal, CloudError> {
        self.applying = true;
        match &self.cloud {
            Cloud::Aws { backend, live, .. } => {
                let found = live.as_ref().expect("read first");
                let out = backend.remove(found, delete_data, progress).await?;
                Ok(Removal {
                    removed: out
                        .removed
                        .iter()
                        .map(|a| serde_json::to_value(a).unwrap_or_default())
                        .collect(),
                    kept: out.kept,
                })
            }
            Cloud::Azure { backend, .. } => {
                let out = backend.remove_keeping_data(progress, delete_data).await?;
                Ok(Removal {
                    removed: out
                        .removed
                        .iter()
                        .map(|a| serde_json::to_value(a).unwrap_or_default())
                        .collect(),
                    kept: out.kept,
                })
            }
        }
    }
}

/// What still differs from the plan after an apply ("verify"), one line per
/// resource; empty when the cloud reports exactly what was planned.
fn drift(check: &Plan) -> Vec<String> {
    check
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| format!("{} {} ({})", c.action.symbol(), c.id, c.changed.join(", ")))
        .collect()
}
