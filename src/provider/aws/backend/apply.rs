//! Executing a plan on AWS: the engine, which knows no resource kind.
//!
//! Apply does exactly what the plan lists, nothing more: no-ops make no
//! call. Changes run in waves — each wave holds the changes whose
//! dependencies are done — and a wave's changes run concurrently, bounded by
//! a semaphore. Deletes run last, in the plan's (reverse-dependency) order,
//! and skip what a parent's deletion already removes (an API's methods, a
//! function's alias and permissions). Each change goes to the module of its
//! kind ([`crate::provider::aws::kinds`]) through the
//! [`Kind`](crate::provider::aws::kinds::Kind) interface.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Mutex, Semaphore};

use super::{AwsBackend, AwsError, Live};
use crate::package::Artifact;
use crate::plan::{Action, Change, Kept, Plan, ResourceId};
use crate::provider::aws::kinds::{self, Shared, Step, KINDS};
use crate::provider::interrupt::{Interrupt, Interrupted};

pub use crate::provider::aws::kinds::bucket::created_without_tags;

/// What happened to one resource.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    pub id: ResourceId,
    pub action: Action,
    /// For updates: the attributes that were changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    pub millis: u128,
}

/// What a remove did: the deletions, and the data it left in place.
pub struct Removal {
    pub removed: Vec<Applied>,
    pub kept: Vec<Kept>,
}

/// Reports progress of each change (`(resource, step)`), e.g. to a progress bar.
pub type Progress = dyn Fn(&ResourceId, &str) + Send + Sync;

/// The plan's deletions, applied after every create and update.
fn deletes(plan: &Plan) -> impl Iterator<Item = &Change> {
    plan.changes.iter().filter(|c| c.action == Action::Delete)
}

impl AwsBackend {
    /// Applies `plan` (computed against `live`); `artifacts` by manifest function name.
    pub async fn apply(
        &self,
        plan: &Plan,
        live: &Live,
        artifacts: BTreeMap<String, Artifact>,
        concurrency: usize,
        progress: &Progress,
    ) -> Result<Vec<Applied>, AwsError> {
        // Ctrl-C lets the calls in flight finish, then stops before the next
        // wave: the cloud is left consistent and a rerun completes the plan.
        let interrupt = Interrupt::watch();
        self.apply_waves(plan, live, artifacts, concurrency, progress, &interrupt)
            .await
    }

    async fn apply_waves(
        &self,
        plan: &Plan,
        live: &Live,
        artifacts: BTreeMap<String, Artifact>,
        concurrency: usize,
        progress: &Progress,
        interrupt: &Interrupt,
    ) -> Result<Vec<Applied>, AwsError> {
        let shared = Arc::new(Shared {
            ids: Mutex::new(live.ids.clone()),
            artifacts,
            published: Mutex::default(),
        });
        let todo: Vec<&Change> = plan
            .changes
            .iter()
            .filter(|c| matches!(c.action, Action::Create | Action::Update))
            .collect();
        let pending_ids: BTreeSet<&ResourceId> = todo.iter().map(|c| &c.id).collect();
        let mut done: BTreeSet<ResourceId> = BTreeSet::new();
        let mut applied = Vec::new();
        let semaphore = Arc::new(Semaphore::new(concurrency.max(1)));
        let mut remaining = todo;
        while !remaining.is_empty() {
            let (ready, blocked): (Vec<&Change>, Vec<&Change>) =
                remaining.into_iter().partition(|c| {
                    c.depends_on
                        .iter()
                        .all(|d| done.contains(d) || !pending_ids.contains(d))
                });
            // A cycle cannot come from the providers; run the rest in order rather than hang.
            let wave = if ready.is_empty() {
                blocked.clone()
            } else {
                ready
            };
            remaining = if wave.len() == blocked.len()
                && wave.iter().zip(&blocked).all(|(a, b)| a.id == b.id)
            {
                Vec::new()
            } else {
                blocked
            };
            let results = futures::future::join_all(wave.iter().map(|change| {
                let semaphore = semaphore.clone();
                let shared = shared.clone();
                async move {
                    let _permit = semaphore.acquire().await.expect("semaphore open");
                    // Changes still waiting for a slot do not start after Ctrl-C.
                    if interrupt.requested() {
                        return Ok(None);
                    }
                    let started = Instant::now();
                    progress(&change.id, action_word(change.action));
                    kinds::handler(&change.id.kind)
                        .apply(&Step {
                            backend: self,
                            change,
                            shared: &shared,
                        })
                        .await?;
                    progress(&change.id, "done");
                    Ok::<_, AwsError>(Some(Applied {
                        id: change.id.clone(),
                        action: change.action,
                        changed: change.changed.clone(),
                        millis: started.elapsed().as_millis(),
                    }))
                }
            }))
            .await;
            let mut skipped = 0;
            for r in results {
                match r? {
                    Some(a) => {
                        done.insert(a.id.clone());
                        applied.push(a);
                    }
                    None => skipped += 1,
                }
            }
            if interrupt.requested() {
                return Err(Interrupted {
                    done: applied.len(),
                    left: skipped + remaining.len() + deletes(plan).count(),
                }
                .into());
            }
        }

        let to_delete: Vec<&Change> = deletes(plan).collect();
        let deleting: BTreeSet<&ResourceId> = to_delete.iter().map(|c| &c.id).collect();
        let total = applied.len() + to_delete.len();
        let mut deleted_alone: Vec<&Change> = Vec::new();
        for change in to_delete {
            if interrupt.requested() {
                return Err(Interrupted {
                    done: applied.len(),
                    left: total - applied.len(),
                }
                .into());
            }
            let kind = kinds::handler(&change.id.kind);
            // What a parent's deletion already removes is not deleted on its own.
            let covered = kind
                .deleted_with(&self.app, &change.id)
                .is_some_and(|parent| deleting.contains(&parent));
            let started = Instant::now();
            if !covered {
                progress(&change.id, "deleting");
                kind.delete(&Step {
                    backend: self,
                    change,
                    shared: &shared,
                })
                .await?;
                deleted_alone.push(change);
            }
            progress(&change.id, "done");
            applied.push(Applied {
                id: change.id.clone(),
                action: Action::Delete,
                changed: Vec::new(),
                millis: started.elapsed().as_millis(),
            });
        }
        for kind in KINDS {
            let mine: Vec<&Change> = deleted_alone
                .iter()
                .copied()
                .filter(|c| kind.kinds().contains(&c.id.kind.as_str()))
                .collect();
            if !mine.is_empty() {
                kind.after_deletes(self, &mine, &shared).await?;
            }
        }
        Ok(applied)
    }

    /// Fails before any change when the planned state cannot work (every
    /// kind's `Kind::preflight`, e.g. a bucket the app uses but does not
    /// create is missing).
    pub fn preflight(&self, live: &Live) -> Result<(), AwsError> {
        KINDS.iter().try_for_each(|kind| kind.preflight(self, live))
    }

    /// Deletes everything `found` lists in dependency order, then checks
    /// that nothing of it is left. What still holds data (a bucket fnctl
    /// created that holds objects) is kept and reported unless
    /// `delete_data`, in which case the data is deleted first (see
    /// `Kind::keep_on_remove`).
    pub async fn remove(
        &self,
        found: &Live,
        delete_data: bool,
        progress: &Progress,
    ) -> Result<Removal, AwsError> {
        let mut kept = Vec::new();
        let mut keep: BTreeSet<ResourceId> = BTreeSet::new();
        for r in &found.resources {
            let kind = kinds::handler(&r.id.kind);
            if let Some(k) = kind.keep_on_remove(self, r, delete_data, progress).await? {
                keep.insert(k.id.clone());
                kept.push(k);
            }
        }
        let plan = Plan {
            app: self.app.name.clone(),
            stage: self.app.stage.clone(),
            provider: crate::model::ProviderId::Aws,
            target: self.clients.region.clone(),
            live: crate::plan::LiveState::Read,
            changes: crate::plan::diff(&[], Some(&found.resources))
                .into_iter()
                .filter(|c| !keep.contains(&c.id))
                .collect(),
            conflicts: Vec::new(),
            kept: Vec::new(),
        };
        let mut removed = self
            .apply_waves(
                &plan,
                found,
                BTreeMap::new(),
                1,
                progress,
                &Interrupt::watch(),
            )
            .await?;
        for kind in KINDS {
            removed.extend(kind.remove_leftovers(self, found).await?);
        }
        let left = self.read().await?;
        let drift: Vec<String> = left
            .resources
            .iter()
            .filter(|r| !keep.contains(&r.id))
            .map(|r| r.id.to_string())
            .collect();
        if !drift.is_empty() {
            return Err(AwsError::Verify { drift });
        }
        Ok(Removal { removed, kept })
    }
}

fn action_word(a: Action) -> &'static str {
    match a {
        Action::Create => "creating",
        Action::Update => "updating",
        Action::Delete => "deleting",
        Action::NoOp => "unchanged",
    }
}
