//! Applies an Azure plan: the engine that orders a plan's changes and hands
//! each to its kind's module (`provider/azure/kinds`), naming no kind.
//!
//! Every step is a create-or-replace, so an interrupted deploy converges when
//! run again. The chain is sequential by nature (resource group → storage →
//! plan → app → settings → code): creates and updates go in [`kinds::KINDS`]
//! order, deletes after them in reverse (a component before its workspace,
//! once the settings no longer name it). What could run side by side
//! (trigger containers) is too small to be worth it.

use super::{AzureBackend, AzureError, Live};
use crate::plan::{Action, Plan, ResourceId};
use crate::provider::azure::kinds::{self, Outcome, Run};
use crate::provider::interrupt::{Interrupt, Interrupted};

/// The code to publish when the plan says so.
pub struct PackageUpload {
    pub zip: Vec<u8>,
    pub digest: String,
}

/// One change as made.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    pub action: &'static str,
    pub kind: String,
    pub name: String,
}

impl AzureBackend {
    /// Executes the plan's changes.
    pub async fn apply(
        &self,
        plan: &Plan,
        live: &Live,
        upload: Option<PackageUpload>,
        progress: &(dyn Fn(&ResourceId, &str) + Send + Sync),
    ) -> Result<Vec<Applied>, AzureError> {
        // The caller refuses a plan with conflicts before any change on any
        // cloud; this is the backstop: nothing is taken over.
        if !live.conflicts.is_empty() {
            return Err(AzureError::Conflicts {
                conflicts: live.conflicts.clone(),
            });
        }
        let mut changes: Vec<_> = plan
            .changes
            .iter()
            .filter(|c| c.action != Action::NoOp)
            .filter(|c| !kinds::handler(&c.id.kind).leaves_alone(c, live))
            .collect();
        let order = kinds::order();
        changes.sort_by_key(|c| {
            let position = order
                .iter()
                .position(|k| *k == c.id.kind)
                .unwrap_or(order.len());
            match c.action {
                Action::Delete => (2 * order.len() - position, false),
                _ => (position, kinds::handler(&c.id.kind).applied_last(&c.id)),
            }
        });
        let mut run = Run {
            plan,
            live,
            upload,
            scm_host: live.scm_host.clone(),
            synced: false,
            http_marked: false,
        };
        let mut applied = Vec::new();
        // Ctrl-C lets the change in flight finish and starts no other.
        let interrupt = Interrupt::watch();
        let total = changes.len();
        for (started, change) in changes.into_iter().enumerate() {
            if interrupt.requested() {
                return Err(Interrupted {
                    done: started,
                    left: total - started,
                }
                .into());
            }
            let id = &change.id;
            progress(id, change.action.verb());
            let kind = kinds::handler(&id.kind);
            let outcome = match change.action {
                Action::Delete => kind.delete(self, change, &mut run).await?,
                _ => kind.apply(self, change, &mut run).await?,
            };
            if outcome == Outcome::Untouched {
                continue;
            }
            progress(id, "done");
            applied.push(Applied {
                action: change.action.verb(),
                kind: id.kind.clone(),
                name: id.name.clone(),
            });
        }
        Ok(applied)
    }
}
