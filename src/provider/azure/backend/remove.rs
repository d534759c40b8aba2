//! `remove`: deletes what fnctl created for an app+stage, keeping what
//! holds data unless told otherwise.
//!
//! Unlike apply, remove does not run a plan: it deletes the few resources
//! that take everything else with them — each kind names its own
//! ([`crate::provider::azure::kinds::Kind::removed`]: the Function App, the
//! plan, the telemetry resources, the storage account), taken in reverse
//! creation order and each only when it carries this app+stage's tags —
//! then what Azure made for them (`azure_made.rs`), then the resource
//! group when fnctl created it and it is empty. What a storage account
//! kept for its data still loses is written out here.

use azure_core::{Method, Url};

use super::apply::Applied;
use super::blob::Contents;
use super::{
    paths, AzureBackend, AzureError, Removal, API_AUTHORIZATION, API_EVENTGRID, API_RESOURCES,
    API_STORAGE, API_WEB,
};
use crate::plan::{Kept, ResourceId};
use crate::provider::azure::checks::POISON_SUFFIX;
use crate::provider::azure::kinds::common::{metadata_of, owned_by, CONTAINER_MARKS};
use crate::provider::azure::kinds::{self, access, data, event_subscription};
use crate::provider::azure::names;
use crate::provider::interrupt::{Interrupt, Interrupted};

impl AzureBackend {
    /// Deletes what fnctl created for the app+stage (see
    /// [`AzureBackend::remove_keeping_data`]), keeping data; what was kept
    /// is not reported.
    pub async fn remove(
        &self,
        progress: &(dyn Fn(&ResourceId, &str) + Send + Sync),
    ) -> Result<Vec<Applied>, AzureError> {
        Ok(self.remove_keeping_data(progress, false).await?.removed)
    }

    /// Deletes what fnctl created for the app+stage: the Function App, its
    /// Application Insights component and Log Analytics workspace, its
    /// plan and storage account, and the resource group only when fnctl
    /// created it and nothing else lives in it. Safe to repeat.
    ///
    /// The storage account holds the containers of storage triggers, that
    /// is the users' uploads. Before anything is deleted, every container
    /// in it but fnctl's own and the Functions host's is asked whether it
    /// holds blobs. If one does and `delete_data` is false, the account
    /// stays (so does the group around it) with those containers, and
    /// only what fnctl put there for the app goes (its Event Grid
    /// subscriptions and its deployment container); they are returned as
    /// [`Kept`], with the command that removes them too. With
    /// `delete_data`, the account goes with its blobs.
    pub async fn remove_keeping_data(
        &self,
        progress: &(dyn Fn(&ResourceId, &str) + Send + Sync),
        delete_data: bool,
    ) -> Result<Removal, AzureError> {
        let app = &self.app;
        let az = &self.settings;
        let mut removal = Removal::default();
        let Some(rg) = self
            .arm
            .get(&paths::resource_group(az), API_RESOURCES)
            .await?
        else {
            return Ok(removal);
        };
        let sa_name = names::storage_account(app, az);
        let storage_owned = self
            .arm
            .get(&paths::storage_account(app, az), API_STORAGE)
            .await?
            .is_some_and(|sa| owned_by(&sa, app));
        let data = if storage_owned && !delete_data {
            self.containers_with_data().await?
        } else {
            Vec::new()
        };
        let keep_storage = !data.is_empty();
        // The app-data account: kept, with what may hold data, unless
        // `--delete-data`.
        let data_account = names::data_account(app, az);
        // Asked whatever the manifest names now: resources dropped from it
        // leave the account behind.
        let data_owned = self
            .arm
            .get(&paths::data_account(app, az), API_STORAGE)
            .await?
            .is_some_and(|sa| owned_by(&sa, app));
        let app_data = if data_owned && !delete_data {
            self.app_data_held().await?
        } else {
            Vec::new()
        };
        let keep_data = !app_data.is_empty();
        // The role assignments of the Function App's identity go first
        // (fnctl's by their names; they outlive neither the app nor its
        // data): those the manifest's resources would have, and those the
        // identity still has on resources dropped since (Azure keeps a
        // role assignment when its principal or its scope is deleted).
        let mut assignments = access::all_paths(app, az);
        if data_owned {
            let principal = self
                .arm
                .get(&paths::site(app, az), API_WEB)
                .await?
                .filter(|site| owned_by(site, app))
                .as_ref()
                .and_then(access::principal_of);
            if let Some(principal) = principal {
                for access::Listed { path, id, .. } in access::listed(self, &principal).await? {
                    if !assignments
                        .iter()
                        .any(|(p, _)| p.eq_ignore_ascii_case(&path))
                    {
                        assignments.push((path, id));
                    }
                }
            }
        }
        for (path, id) in assignments {
            if self.arm.get(&path, API_AUTHORIZATION).await?.is_some() {
                self.delete_step(
                    progress,
                    &mut removal.removed,
                    "role_assignment",
                    id.name,
                    &path,
                    API_AUTHORIZATION,
                )
                .await?;
            }
        }
        let steps: Vec<_> = kinds::removed(app, az)
            .into_iter()
            .filter(|step| !(keep_data && step.kind == "data_account"))
            .filter(|step| !(keep_storage && step.holds_data && step.kind != "data_account"))
            .collect();
        let interrupt = Interrupt::watch();
        // The resource group (or, keeping the account, what fnctl put in
        // it) is the last step.
        let total = steps.len() + 1;
        for (checked, step) in steps.into_iter().enumerate() {
            let kinds::Removed {
                kind,
                name,
                path,
                api,
                ..
            } = step;
            if interrupt.requested() {
                return Err(Interrupted {
                    done: removal.removed.len(),
                    left: total - checked,
                }
                .into());
            }
            let Some(found) = self.arm.get(&path, api).await? else {
                continue;
            };
            if !owned_by(&found, app) {
                // Not ours: leave it.
                continue;
            }
            self.delete_step(progress, &mut removal.removed, kind, name, &path, api)
                .await?;
        }
        if interrupt.requested() {
            return Err(Interrupted {
                done: removal.removed.len(),
                left: 1,
            }
            .into());
        }
        let command = format!("fnctl remove --delete-data --stage {}", app.stage);
        if keep_data {
            let mut holding = Vec::new();
            for (id, reason) in app_data {
                holding.push(format!("`{}`", kinds::common::leaf(&id.name)));
                removal.kept.push(Kept {
                    id,
                    reason,
                    command: command.clone(),
                });
            }
            removal.kept.push(Kept {
                id: ResourceId::new("data_account", &data_account),
                reason: format!("holds {}, which may hold data", holding.join(", ")),
                command: command.clone(),
            });
        }
        if keep_storage {
            self.clear_kept_account(progress, &mut removal.removed)
                .await?;
            self.remove_azure_made(progress, &mut removal.removed, &interrupt, true)
                .await?;
            let mut holding = Vec::new();
            for (container, contents) in data {
                holding.push(format!("`{container}`"));
                removal.kept.push(Kept {
                    id: ResourceId::new("blob_container", format!("{sa_name}/{container}")),
                    reason: contents.reason().to_string(),
                    command: command.clone(),
                });
            }
            removal.kept.push(Kept {
                id: ResourceId::new("storage_account", &sa_name),
                reason: format!(
                    "holds {} {} with blobs",
                    if holding.len() == 1 {
                        "the container"
                    } else {
                        "the containers"
                    },
                    holding.join(", ")
                ),
                command: command.clone(),
            });
            if owned_by(&rg, app) {
                removal.kept.push(Kept {
                    id: ResourceId::new("resource_group", &az.resource_group),
                    reason: format!(
                        "holds the storage account `{sa_name}`{}, kept for its data",
                        if keep_data {
                            format!(" and the data account `{data_account}`")
                        } else {
                            String::new()
                        }
                    ),
                    command,
                });
            }
            return Ok(removal);
        }
        // What Azure made on its own for fnctl's resources goes too; then
        // a group fnctl created goes if nothing else is in it, and is
        // reported as kept, with what keeps it, if something is.
        self.remove_azure_made(progress, &mut removal.removed, &interrupt, false)
            .await?;
        if keep_data {
            if owned_by(&rg, app) {
                removal.kept.push(Kept {
                    id: ResourceId::new("resource_group", &az.resource_group),
                    reason: format!("holds the data account `{data_account}`, kept for its data"),
                    command,
                });
            }
            return Ok(removal);
        }
        if owned_by(&rg, app) {
            match self.left_in_group().await? {
                None => {}
                Some(left) if left.is_empty() => {
                    if interrupt.requested() {
                        return Err(Interrupted {
                            done: removal.removed.len(),
                            left: 1,
                        }
                        .into());
                    }
                    self.delete_step(
                        progress,
                        &mut removal.removed,
                        "resource_group",
                        az.resource_group.clone(),
                        &paths::resource_group(az),
                        API_RESOURCES,
                    )
                    .await?;
                }
                Some(left) => removal.kept.push(Kept {
                    id: ResourceId::new("resource_group", &az.resource_group),
                    reason: format!(
                        "holds {} fnctl did not create: {}; fnctl deletes a group it created only when nothing else is in it",
                        if left.len() == 1 { "a resource" } else { "resources" },
                        left.join(", ")
                    ),
                    command: format!(
                        "delete or move what is listed, then `fnctl remove --stage {}`",
                        app.stage
                    ),
                }),
            }
        }
        Ok(removal)
    }

    /// Deletes one resource, reporting it.
    async fn delete_step(
        &self,
        progress: &(dyn Fn(&ResourceId, &str) + Send + Sync),
        removed: &mut Vec<Applied>,
        kind: &str,
        name: String,
        path: &str,
        api: &str,
    ) -> Result<(), AzureError> {
        let id = ResourceId::new(kind, &name);
        progress(&id, "delete");
        self.arm.delete(path, api).await?;
        progress(&id, "done");
        removed.push(Applied {
            action: "delete",
            kind: kind.into(),
            name,
        });
        Ok(())
    }

    /// The containers of the app's storage account that hold blobs, with
    /// how many, in the order ARM lists them. Not asked: fnctl's own
    /// containers (the deployment container's packages, the empty lock
    /// container) and the Functions host's bookkeeping (`azure-webjobs-*`:
    /// locks, timer and blob-trigger state, the app's keys), which go with
    /// the app.
    async fn containers_with_data(&self) -> Result<Vec<(String, Contents)>, AzureError> {
        let path = paths::containers(&self.app, &self.settings);
        let mut names_found = Vec::new();
        let mut page = self.arm.get(&path, API_STORAGE).await?;
        while let Some(list) = page.take() {
            names_found.extend(
                list["value"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c["name"].as_str())
                    .map(str::to_string),
            );
            if let Some(next) = list["nextLink"].as_str().filter(|n| !n.is_empty()) {
                let url = Url::parse(next).map_err(|e| AzureError::Config {
                    reason: format!("ARM returned an unusable nextLink ({e})"),
                })?;
                let reply = self.arm.send(Method::Get, url, None, "").await?;
                if !(200..=299).contains(&reply.status) {
                    return Err(super::arm::arm_error("GET", &path, &reply));
                }
                page = Some(reply.json());
            }
        }
        let mut holding = Vec::new();
        for name in names_found {
            if name == names::DEPLOYMENT_CONTAINER
                || name == super::lock::LOCK_CONTAINER
                || name.starts_with("azure-webjobs-")
            {
                continue;
            }
            let contents = match self.container_contents(&name).await {
                Ok(c) => c,
                Err(AzureError::Arm {
                    status, message, ..
                }) => {
                    return Err(AzureError::Config {
                        reason: format!(
                            "cannot tell whether the container `{name}` holds blobs, so nothing was removed: List Blobs answered {status}: {message}; `fnctl remove --delete-data --stage {}` removes the storage account with whatever it holds",
                            self.app.stage
                        ),
                    })
                }
                Err(e) => return Err(e),
            };
            if contents != Contents::Empty {
                holding.push((name, contents));
            }
        }
        Ok(holding)
    }

    /// What in the app-data account may hold data, with why — every
    /// container, queue and table in it, whether the manifest still names
    /// it or not (the account is fnctl's alone): a queue with messages
    /// (ARM's `approximateMessageCount`, never lower than the real count; a
    /// queue that does not report one counts as holding messages; the
    /// Functions host's poison queues are queues too), and every container
    /// and table that exists — `remove` does not look inside them (ARM
    /// counts neither blobs nor entities), so it keeps them rather than
    /// guess.
    async fn app_data_held(&self) -> Result<Vec<(ResourceId, String)>, AzureError> {
        let (app, az) = (&self.app, &self.settings);
        let account = names::data_account(app, az);
        let mut held = Vec::new();
        for (kind, name) in data::list_children(self).await? {
            let reason = match kind {
                "data_queue" => {
                    let Some(found) = self
                        .arm
                        .get(&paths::data_queue(app, az, &name), API_STORAGE)
                        .await?
                    else {
                        continue;
                    };
                    let Some(reason) = data::queue_holds(&found) else {
                        continue;
                    };
                    match name.strip_suffix(POISON_SUFFIX) {
                        // Made by the host on the first message that failed
                        // `maxDequeueCount` times.
                        Some(queue) => format!(
                            "{reason} whose function failed `maxDequeueCount` times (the poison queue of `{queue}`)"
                        ),
                        None => reason,
                    }
                }
                "data_container" => {
                    "may hold blobs (fnctl does not list a data container's blobs)".into()
                }
                _ => "may hold entities (Azure does not count a table's entities)".into(),
            };
            held.push((ResourceId::new(kind, format!("{account}/{name}")), reason));
        }
        Ok(held)
    }

    /// In a storage account kept for its data: deletes what fnctl put there
    /// for the app, which has gone — the Event Grid subscriptions (they
    /// would deliver to a deleted app) and the deployment container (the
    /// app's packages), when it is fnctl's.
    async fn clear_kept_account(
        &self,
        progress: &(dyn Fn(&ResourceId, &str) + Send + Sync),
        removed: &mut Vec<Applied>,
    ) -> Result<(), AzureError> {
        let (app, az) = (&self.app, &self.settings);
        let sa_name = names::storage_account(app, az);
        if let Some(list) = self
            .arm
            .get(&paths::event_subscriptions(app, az), API_EVENTGRID)
            .await?
        {
            for sub in event_subscription::fnctls(&list) {
                let name = sub["name"].as_str().unwrap_or_default();
                self.delete_step(
                    progress,
                    removed,
                    "event_subscription",
                    format!("{sa_name}/{name}"),
                    &paths::event_subscription(app, az, name),
                    API_EVENTGRID,
                )
                .await?;
            }
        }
        let deployment = paths::container(app, az, names::DEPLOYMENT_CONTAINER);
        if let Some(found) = self.arm.get(&deployment, API_STORAGE).await? {
            let metadata = metadata_of(&found);
            // Marked for this app+stage, or unmarked in fnctl's own account
            // (an earlier fnctl's).
            if CONTAINER_MARKS.owner(&metadata, app).is_none() || !CONTAINER_MARKS.any_in(&metadata)
            {
                self.delete_step(
                    progress,
                    removed,
                    "blob_container",
                    format!("{sa_name}/{}", names::DEPLOYMENT_CONTAINER),
                    &deployment,
                    API_STORAGE,
                )
                .await?;
            }
        }
        Ok(())
    }
}
