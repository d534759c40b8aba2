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

use std::collections::BTreeSet;

use crate::model::{App, ProviderId};
use crate::plan::scope::{self, Shared};
use crate::plan::{Action, LiveState, Plan, ResourceId};
use crate::provider::{self, CodeDigests};

use crate::provider::cloud::Cloud;
pub use crate::provider::cloud::{Applied, CloudError, Payload, Progress, ReadLimit, Removal};

/// One provider's connection, what was read from it, its plan and its lock.
pub struct Session {
    pub provider: ProviderId,
    app: App,
    cloud: Box<dyn Cloud>,
    plan: Option<Plan>,
    /// `deploy -f`: the functions the run is limited to; `None` for the
    /// whole app.
    only: Option<BTreeSet<String>>,
    /// What the cloud's reads leave out since the run is limited.
    read_limit: Option<ReadLimit>,
    /// Whether this provider's apply has started (only then can a failure
    /// have left something half-made that the next run must know about).
    applying: bool,
}

impl Session {
    /// Builds the provider's clients from the manifest and the credential
    /// chain (no call is made yet for Azure; AWS resolves its region).
    pub async fn connect(app: &App, provider: ProviderId) -> Result<Session, CloudError> {
        let cloud = provider::connect(app, provider).await?;
        Ok(Session {
            provider,
            app: app.clone(),
            cloud,
            plan: None,
            only: None,
            read_limit: None,
            applying: false,
        })
    }

    /// Limits the plan, the apply and the verification to these functions
    /// and the shared resources their changes need ([`scope::scope`]).
    /// Functions this provider does not run are ignored here.
    pub fn only(&mut self, functions: &[String]) {
        let mine: BTreeSet<String> = self
            .app
            .functions_for(self.provider)
            .map(|f| f.name.clone())
            .filter(|f| functions.contains(f))
            .collect();
        self.read_limit = self.cloud.limit_read(&mine);
        self.only = Some(mine);
    }

    /// The functions the run is limited to on this provider (`None`: the
    /// whole app).
    pub fn scope(&self) -> Option<&BTreeSet<String>> {
        self.only.as_ref()
    }

    /// Said when a limited run deploys more code than was asked for: the
    /// resources that hold every function's code at once (Azure's one
    /// package per Function App).
    pub fn whole_code(&self) -> Vec<ResourceId> {
        let p = provider::for_id(self.provider);
        match (&self.only, &self.plan) {
            (Some(_), Some(plan)) => plan
                .changes
                .iter()
                .filter(|c| {
                    c.action != Action::NoOp
                        && c.function.is_none()
                        && p.shared(&c.id.kind) == Shared::AllCode
                })
                .map(|c| c.id.clone())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Where the app lives on this cloud, for status lines.
    pub fn target(&self) -> String {
        self.cloud.target()
    }

    /// The plan computed by the last [`Session::prepare`] or [`Session::lock`].
    pub fn plan(&self) -> &Plan {
        self.plan.as_ref().expect("prepare() runs first")
    }

    /// What the plan says in words beyond its changes
    /// ([`Cloud::plan_notes`]), from the same read as [`Session::plan`].
    pub fn notes(&self) -> Vec<String> {
        self.cloud.plan_notes()
    }

    /// Calls made so far: (all, mutating).
    pub fn calls(&self) -> (usize, usize) {
        self.cloud.calls()
    }

    async fn read(&mut self) -> Result<(), CloudError> {
        self.cloud.read().await
    }

    /// The plan against what was read last.
    fn plan_against_live(&self, digests: &CodeDigests) -> Plan {
        let mut plan = provider::plan_for(
            &self.app,
            self.provider,
            digests,
            LiveState::Read,
            Some((self.cloud.live_resources(), self.cloud.live_conflicts())),
        );
        plan.kept = self.cloud.live_kept();
        if let Some(limit) = &self.read_limit {
            // Not read, so not known: neither planned nor verified.
            plan.changes.retain(|c| {
                !limit.kinds.contains(&c.id.kind.as_str())
                    || c.function
                        .as_ref()
                        .is_none_or(|f| limit.functions.contains(f))
            });
        }
        plan
    }

    /// Reads the cloud and plans against it (limited to [`Session::only`]'s
    /// functions, if set). The plan is returned even when it cannot be
    /// applied; [`Session::check`] says whether it can.
    pub async fn prepare(&mut self, digests: &CodeDigests) -> Result<&Plan, CloudError> {
        self.read().await?;
        let plan = self.plan_against_live(digests);
        self.plan = Some(match &self.only {
            None => plan,
            Some(only) => {
                let p = provider::for_id(self.provider);
                scope::scope(&plan, only, &|kind| p.shared(kind)).map_err(|e| {
                    CloudError::usage(
                        format!(
                            "{}: cannot deploy {} alone: {e}",
                            self.provider,
                            names(only)
                        ),
                        Some(e.help()),
                    )
                })?
            }
        });
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
        self.cloud.preflight()
    }

    /// Takes the deploy lock when the plan has changes, then reads and plans
    /// again under it (another run may have changed things in between) and
    /// checks the new plan. A plan with nothing to change takes no lock.
    pub async fn lock(&mut self, operation: &str, digests: &CodeDigests) -> Result<(), CloudError> {
        if self.plan().is_noop() {
            return Ok(());
        }
        let plan = self.plan.clone().expect("planned");
        self.cloud.lock(operation, &plan).await?;
        self.prepare(digests).await?;
        self.check()
    }

    /// Gives the lock back, if one was taken; `failed` when the work under
    /// it did not finish (the lock may then keep what a rerun must know, if
    /// this provider's apply had started).
    pub async fn release(&mut self, failed: bool) -> Result<(), CloudError> {
        let failed = failed && self.applying;
        self.cloud.release(failed).await
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
        let changes = self
            .cloud
            .apply(&plan, payload, digests, concurrency, progress)
            .await?;
        if !plan.is_noop() {
            self.cloud.read_after_apply(&plan).await?;
        }
        let mut check = self.plan_against_live(digests);
        if self.only.is_some() {
            // Verify what was planned, and only that: the rest of the app
            // was not checked.
            let planned: BTreeSet<&ResourceId> = plan.changes.iter().map(|c| &c.id).collect();
            check.changes.retain(|c| planned.contains(&c.id));
        }
        let drift = drift(&check);
        if !drift.is_empty() {
            return Err(self.cloud.verify_failed(drift));
        }
        let urls = self.cloud.urls();
        Ok(Applied {
            changes,
            urls,
            urls_note: self.cloud.urls_note(),
        })
    }

    /// Reads what a remove would delete; the count of resources found.
    pub async fn prepare_remove(&mut self) -> Result<usize, CloudError> {
        self.read().await?;
        Ok(self.found())
    }

    fn found(&self) -> usize {
        self.cloud.found()
    }

    /// Takes the lock for a remove when there is something to remove, and
    /// reads again under it.
    pub async fn lock_remove(&mut self) -> Result<usize, CloudError> {
        if self.found() == 0 {
            return Ok(0);
        }
        self.cloud.lock_remove().await?;
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
        self.cloud.remove(delete_data, progress).await
    }
}

/// `` `a`, `b` `` for messages.
fn names(only: &BTreeSet<String>) -> String {
    only.iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ")
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
