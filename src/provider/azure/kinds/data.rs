//! `data_account`, `data_container`, `data_queue` and `data_table`: the
//! app's resources (`[resources.NAME]`) on Azure — a blob container per
//! bucket, a Storage queue per queue, an Azure Table per table — in an
//! app-data storage account of their own ([`names::data_account`]), apart
//! from fnctl's account (the Functions host's storage and the packages).
//! So `remove` of the host's account never touches the users' data, and
//! the role assignments of the Function App's identity are scoped to the
//! data alone.
//!
//! Ownership: the account carries fnctl's tags; containers and queues
//! carry fnctl's marks as metadata (queue metadata names follow the same
//! C#-identifier rule as container metadata, so [`CONTAINER_MARKS`]).
//! Tables have no metadata (the ARM `TableProperties` are `tableName` and
//! `signedIdentifiers` only), so a table is fnctl's when it has fnctl's
//! name inside fnctl's own tagged data account, which nothing but fnctl
//! writes to (the same reasoning as the deployment container in
//! `storage.rs`). A container or queue without this app+stage's marks is a
//! [`crate::plan::Conflict`].
//!
//! Containers, queues and tables may hold data: apply never deletes one
//! that left the plan; `remove` keeps what may hold data (see
//! `backend/remove.rs`).
//!
//! API: Microsoft.Storage 2023-05-01 (`BlobContainers_Create`,
//! `Queue_Create` with `properties.metadata`, `Table_Create`).

use serde_json::{json, Value};

use super::common::{get_owned, leaf, location_of, metadata_of, tags_of, Named, CONTAINER_MARKS};
use super::{group, Kind, Outcome, Reading, Run, Then};
use crate::model::{App, AzureSettings, ResourceKind};
use crate::plan::{Change, Conflict, Resource, ResourceId};
use crate::provider::azure::backend::{paths, AzureBackend, AzureError, API_STORAGE};
use crate::provider::azure::names;
use crate::provider::azure::resources::tags;
use crate::provider::CodeDigests;

pub struct Data;

/// The plan kind of a resource of `kind`.
pub fn plan_kind(kind: &ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Bucket => "data_container",
        ResourceKind::Queue(_) => "data_queue",
        ResourceKind::Table(_) => "data_table",
    }
}

/// The Azure name of the app resource `resource` of `kind`.
pub fn cloud_name(app: &App, resource: &str, kind: &ResourceKind) -> String {
    match kind {
        ResourceKind::Table(_) => names::data_table(app, resource),
        _ => names::data_resource(app, resource),
    }
}

/// The ARM path of the app resource `resource` of `kind`.
pub fn path(app: &App, az: &AzureSettings, resource: &str, kind: &ResourceKind) -> String {
    let name = cloud_name(app, resource, kind);
    match kind {
        ResourceKind::Bucket => paths::data_container(app, az, &name),
        ResourceKind::Queue(_) => paths::data_queue(app, az, &name),
        ResourceKind::Table(_) => paths::data_table(app, az, &name),
    }
}

/// The plan id of the app resource `resource` of `kind`:
/// `{data account}/{cloud name}`.
pub fn id(app: &App, az: &AzureSettings, resource: &str, kind: &ResourceKind) -> ResourceId {
    ResourceId::new(
        plan_kind(kind),
        format!(
            "{}/{}",
            names::data_account(app, az),
            cloud_name(app, resource, kind)
        ),
    )
}

/// The plan id of the data account.
pub fn account_id(app: &App, az: &AzureSettings) -> ResourceId {
    ResourceId::new("data_account", names::data_account(app, az))
}

#[async_trait::async_trait]
impl Kind for Data {
    fn kinds(&self) -> &'static [&'static str] {
        &["data_account", "data_container", "data_queue", "data_table"]
    }

    /// The data account, with every container, queue and table in it:
    /// `remove` keeps it while they may hold data, unless `--delete-data`.
    fn removed(&self, app: &App, az: &AzureSettings) -> Vec<super::Removed> {
        if app.resources.is_empty() {
            return Vec::new();
        }
        vec![super::Removed {
            kind: "data_account",
            name: names::data_account(app, az),
            path: paths::data_account(app, az),
            api: API_STORAGE,
            holds_data: true,
        }]
    }

    /// Nothing for an app without resources (its plan stays as it was).
    fn desired(&self, app: &App, az: &AzureSettings, _: &CodeDigests, out: &mut Vec<Resource>) {
        if app.resources.is_empty() {
            return;
        }
        let account = Resource::new("data_account", names::data_account(app, az))
            .attr("kind", "StorageV2")
            .attr("sku", "Standard_LRS")
            .attr("location", az.location.clone())
            .attr("tags", tags(app))
            .depends_on(&group::id(az));
        let children: Vec<Resource> = app
            .resources
            .values()
            .map(|r| {
                Resource::new(plan_kind(&r.kind), id(app, az, &r.name, &r.kind).name)
                    .attr("resource", r.name.clone())
                    .depends_on(&account.id)
            })
            .collect();
        out.push(account);
        out.extend(children);
    }

    /// The data account (fnctl's) and the app's resources in it; nothing
    /// in an account that is not fnctl's is read.
    async fn read(&self, b: &AzureBackend, reading: &mut Reading) -> Result<Then, AzureError> {
        let (app, az) = (&b.app, &b.settings);
        if app.resources.is_empty() {
            return Ok(Then::Continue);
        }
        let name = names::data_account(app, az);
        let named = Named {
            kind: "data_account",
            words: "storage account",
            name: &name,
            scoped: true,
        };
        let live = &mut reading.live;
        let path = paths::data_account(app, az);
        let Some(sa) = get_owned(b, &path, API_STORAGE, named, true, live).await? else {
            return Ok(Then::Continue);
        };
        reading.data_owned = true;
        live.resources.push(
            Resource::new("data_account", &name)
                .attr("kind", sa["kind"].clone())
                .attr(
                    "sku",
                    sa.pointer("/sku/name").cloned().unwrap_or(Value::Null),
                )
                .attr("location", location_of(&sa))
                .attr("tags", json!(tags_of(&sa))),
        );
        for r in app.resources.values() {
            let rid = id(app, az, &r.name, &r.kind);
            let Some(found) = b
                .arm
                .get(&self::path(app, az, &r.name, &r.kind), API_STORAGE)
                .await?
            else {
                continue;
            };
            let owner = match r.kind {
                ResourceKind::Table(_) => None,
                _ => CONTAINER_MARKS.owner(&metadata_of(&found), app),
            };
            match owner {
                None => live
                    .resources
                    .push(Resource::new(&rid.kind, &rid.name).attr("resource", r.name.clone())),
                Some(owner) => live.conflicts.push(Conflict {
                    id: rid,
                    owner,
                    help: format!(
                        "fnctl names the {} of resource `{}` after the app and stage inside its own data account; delete the other one yourself if nothing needs it, or choose another resource name; fnctl never takes over what it did not create",
                        words(&r.kind),
                        r.name
                    ),
                }),
            }
        }
        Ok(Then::Continue)
    }

    async fn apply(
        &self,
        b: &AzureBackend,
        change: &Change,
        _: &mut Run<'_>,
    ) -> Result<Outcome, AzureError> {
        let (app, az) = (&b.app, &b.settings);
        if change.id.kind == "data_account" {
            b.arm
                .put(
                    &paths::data_account(app, az),
                    API_STORAGE,
                    &json!({
                        "location": az.location,
                        "kind": "StorageV2",
                        "sku": {"name": "Standard_LRS"},
                        "tags": tags(app),
                        "properties": {
                            "minimumTlsVersion": "TLS1_2",
                            "allowBlobPublicAccess": false,
                            "supportsHttpsTrafficOnly": true,
                        },
                    }),
                )
                .await?;
            return Ok(Outcome::Done);
        }
        let name = leaf(&change.id.name);
        let marks = CONTAINER_MARKS.of(app);
        let (path, body) = match change.id.kind.as_str() {
            "data_container" => (
                paths::data_container(app, az, name),
                json!({"properties": {"publicAccess": "None", "metadata": marks}}),
            ),
            "data_queue" => (
                paths::data_queue(app, az, name),
                json!({"properties": {"metadata": marks}}),
            ),
            _ => (paths::data_table(app, az, name), json!({"properties": {}})),
        };
        b.arm.put(&path, API_STORAGE, &body).await?;
        Ok(Outcome::Done)
    }

    /// Containers, queues and tables may hold data: never deleted here.
    async fn delete(
        &self,
        _: &AzureBackend,
        change: &Change,
        _: &mut Run<'_>,
    ) -> Result<Outcome, AzureError> {
        Ok(match change.id.kind.as_str() {
            "data_account" => Outcome::Done,
            _ => Outcome::Untouched,
        })
    }
}

/// What a resource is on Azure, in words.
pub fn words(kind: &ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Bucket => "blob container",
        ResourceKind::Queue(_) => "queue",
        ResourceKind::Table(_) => "table",
    }
}
