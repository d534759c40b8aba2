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
//! What the manifest no longer names is not orphaned: the account is
//! fnctl's alone and named for this app+stage, so everything in it is this
//! app's. A read lists the account's containers, queues and tables through
//! ARM and takes every one the manifest does not name (but the Functions
//! host's `-poison` queue of a queue still wanted) as live and undesired.
//! An empty one is planned for deletion; one holding data (a blob, a
//! message, an entity) is left out of the read and reported as
//! [`crate::plan::Kept`], with the command that deletes it anyway. So is
//! the account itself once the manifest has no resources: deleted when it
//! holds nothing, kept when it holds data. Apply asks again right before
//! a deletion and leaves alone what has gained data since the read.
//! `remove` keeps what may hold data (see `backend/remove.rs`).
//!
//! API: Microsoft.Storage 2023-05-01 (`BlobContainers_Create`/`_List`,
//! `Queue_Create` with `properties.metadata`/`Queue_List`,
//! `Table_Create`/`Table_List`; blob.json, queue.json and table.json of
//! <https://github.com/Azure/azure-rest-api-specs/tree/main/specification/storage/resource-manager/Microsoft.Storage/stable/2023-05-01>),
//! and the data plane: List Blobs with `maxresults=1`
//! (<https://learn.microsoft.com/rest/api/storageservices/list-blobs>),
//! Query Entities with `$top=1`
//! (<https://learn.microsoft.com/rest/api/storageservices/query-entities>),
//! each with a service SAS signed with the data account's key; a queue's
//! messages are ARM's `approximateMessageCount` (Queue_Get).

use std::collections::BTreeSet;

use azure_core::auth::Secret;
use azure_core::{Method, Url};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::common::{get_owned, leaf, location_of, metadata_of, tags_of, Named, CONTAINER_MARKS};
use super::{group, Kind, Outcome, Reading, Run, Then};
use crate::model::{App, AzureSettings, ResourceKind};
use crate::plan::{Change, Conflict, Kept, Resource, ResourceId};
use crate::provider::azure::backend::blob::{self, Contents, STORAGE_VERSION};
use crate::provider::azure::backend::{arm, paths, AzureBackend, AzureError, API_STORAGE};
use crate::provider::azure::checks::POISON_SUFFIX;
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
    /// Asked even when the manifest names no resources: the account may
    /// be left from resources dropped since (`remove` deletes it only when
    /// it carries this app+stage's tags, and nothing happens when it is
    /// not there).
    fn removed(&self, app: &App, az: &AzureSettings) -> Vec<super::Removed> {
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

    /// The data account (fnctl's) and the app's resources in it, then
    /// what else is in it (resources dropped from the manifest): empty,
    /// live and undesired; holding data, kept. Nothing in an account that
    /// is not fnctl's is read. Read even when the manifest names no
    /// resources, so an account they all left is found.
    async fn read(&self, b: &AzureBackend, reading: &mut Reading) -> Result<Then, AzureError> {
        let (app, az) = (&b.app, &b.settings);
        let wants = !app.resources.is_empty();
        let name = names::data_account(app, az);
        let named = Named {
            kind: "data_account",
            words: "storage account",
            name: &name,
            scoped: true,
        };
        let live = &mut reading.live;
        let path = paths::data_account(app, az);
        let Some(sa) = get_owned(b, &path, API_STORAGE, named, wants, live).await? else {
            return Ok(Then::Continue);
        };
        reading.data_owned = true;
        let account = Resource::new("data_account", &name)
            .attr("kind", sa["kind"].clone())
            .attr(
                "sku",
                sa.pointer("/sku/name").cloned().unwrap_or(Value::Null),
            )
            .attr("location", location_of(&sa))
            .attr("tags", json!(tags_of(&sa)));
        let kept_before = live.kept.len();
        read_dropped(b, live).await?;
        let holding: Vec<String> = live.kept[kept_before..]
            .iter()
            .map(|k| format!("`{}`", leaf(&k.id.name)))
            .collect();
        if wants || holding.is_empty() {
            live.resources.push(account);
        } else {
            live.kept.push(Kept {
                id: account_id(app, az),
                reason: format!(
                    "the manifest names no resources, but the account still holds {}",
                    holding.join(", ")
                ),
                command: delete_data_command(app),
            });
        }
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

    /// A container, queue or table the manifest dropped, which the read
    /// found empty, or the account once the manifest names no resources
    /// and it held nothing. Asked again first: one that has gained data
    /// since the read (or an account something was put in) is left alone,
    /// not reported as done, and the next plan reports it as kept.
    async fn delete(
        &self,
        b: &AzureBackend,
        change: &Change,
        _: &mut Run<'_>,
    ) -> Result<Outcome, AzureError> {
        let (app, az) = (&b.app, &b.settings);
        if change.id.kind == "data_account" {
            // Deletes run after the children's, so anything still listed
            // came after the read.
            if !list_children(b).await?.is_empty() {
                return Ok(Outcome::Untouched);
            }
            b.arm
                .delete(&paths::data_account(app, az), API_STORAGE)
                .await?;
            return Ok(Outcome::Done);
        }
        let name = leaf(&change.id.name);
        if holds(b, &change.id.kind, name).await?.is_some() {
            return Ok(Outcome::Untouched);
        }
        b.arm
            .delete(&child_path(app, az, &change.id.kind, name), API_STORAGE)
            .await?;
        Ok(Outcome::Done)
    }
}

/// The command that deletes what was kept anyway.
fn delete_data_command(app: &App) -> String {
    format!(
        "fnctl remove --delete-data --stage {} deletes the app with it; or empty it, and the next deploy deletes it",
        app.stage
    )
}

/// The ARM path of the container, queue or table `name` (plan kind `kind`)
/// of the data account.
fn child_path(app: &App, az: &AzureSettings, kind: &str, name: &str) -> String {
    match kind {
        "data_container" => paths::data_container(app, az, name),
        "data_queue" => paths::data_queue(app, az, name),
        _ => paths::data_table(app, az, name),
    }
}

/// Adds what is in the data account and not in the manifest to `live`:
/// empty, as a resource (the plan deletes it); holding data, as kept. The
/// Functions host's poison queue of a queue still wanted is the host's
/// bookkeeping of that queue, not a dropped resource.
async fn read_dropped(
    b: &AzureBackend,
    live: &mut crate::provider::azure::backend::Live,
) -> Result<(), AzureError> {
    let (app, az) = (&b.app, &b.settings);
    let account = names::data_account(app, az);
    let wanted: BTreeSet<(&str, String)> = app
        .resources
        .values()
        .map(|r| (plan_kind(&r.kind), cloud_name(app, &r.name, &r.kind)))
        .collect();
    for (kind, name) in list_children(b).await? {
        if wanted.contains(&(kind, name.clone())) {
            continue;
        }
        if kind == "data_queue" {
            if let Some(queue) = name.strip_suffix(POISON_SUFFIX) {
                if wanted.contains(&("data_queue", queue.to_string())) {
                    continue;
                }
            }
        }
        let id = ResourceId::new(kind, format!("{account}/{name}"));
        match holds(b, kind, &name).await? {
            None => live.resources.push(
                Resource::new(kind, &id.name).attr("resource", "(no longer in the manifest)"),
            ),
            Some(reason) => live.kept.push(Kept {
                id,
                reason: format!("the manifest no longer names it, but it {reason}"),
                command: delete_data_command(app),
            }),
        }
    }
    Ok(())
}

/// Every container, queue and table in the data account, as (plan kind,
/// name), through ARM's list operations (each page followed by its
/// `nextLink`).
pub async fn list_children(b: &AzureBackend) -> Result<Vec<(&'static str, String)>, AzureError> {
    let account = paths::data_account(&b.app, &b.settings);
    let mut out = Vec::new();
    for (kind, list) in [
        ("data_container", "blobServices/default/containers"),
        ("data_queue", "queueServices/default/queues"),
        ("data_table", "tableServices/default/tables"),
    ] {
        let path = format!("{account}/{list}");
        let mut page = b.arm.get(&path, API_STORAGE).await?;
        while let Some(doc) = page.take() {
            out.extend(
                doc["value"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c["name"].as_str())
                    .map(|n| (kind, n.to_string())),
            );
            if let Some(next) = doc["nextLink"].as_str().filter(|n| !n.is_empty()) {
                let url = Url::parse(next).map_err(|e| AzureError::Config {
                    reason: format!("ARM returned an unusable nextLink listing {path} ({e})"),
                })?;
                let reply = b.arm.send(Method::Get, url, None, "").await?;
                if !(200..=299).contains(&reply.status) {
                    return Err(arm::arm_error("GET", &path, &reply));
                }
                page = Some(reply.json());
            }
        }
    }
    Ok(out)
}

/// Why a queue as ARM reports it holds data, or `None` when it is empty:
/// ARM's `approximateMessageCount` is never lower than the real count, and
/// a queue that reports none counts as holding messages.
pub fn queue_holds(found: &Value) -> Option<String> {
    match found
        .pointer("/properties/approximateMessageCount")
        .and_then(Value::as_u64)
    {
        Some(0) => None,
        Some(n) => Some(format!("holds about {n} messages")),
        None => Some("may hold messages (Azure reported no message count)".into()),
    }
}

/// How long a SAS of this module lives, back-dated for clock skew.
const SAS_LIFETIME: Duration = Duration::minutes(15);
const CLOCK_SKEW: Duration = Duration::minutes(15);

/// Whether the container, queue or table `name` (plan kind `kind`) of the
/// data account holds data, and what: `None` when it is empty or gone.
/// One call each: Queue_Get's message count, List Blobs with
/// `maxresults=1`, Query Entities with `$top=1`.
async fn holds(b: &AzureBackend, kind: &str, name: &str) -> Result<Option<String>, AzureError> {
    let (app, az) = (&b.app, &b.settings);
    let account = names::data_account(app, az);
    match kind {
        "data_queue" => Ok(b
            .arm
            .get(&paths::data_queue(app, az, name), API_STORAGE)
            .await?
            .and_then(|q| queue_holds(&q))),
        "data_container" => {
            let key = data_key(b).await?;
            let base = blob::service_url(&account, az);
            let now = OffsetDateTime::now_utc();
            let sas = blob::container_sas(
                &account,
                &key,
                name,
                blob::Access::List,
                (now - CLOCK_SKEW, now + SAS_LIFETIME),
                base.starts_with("https://"),
            )?;
            let url = data_url(&format!(
                "{base}/{name}?restype=container&comp=list&maxresults=1&{sas}"
            ))?;
            let reply = b
                .arm
                .send_storage(Method::Get, url, Vec::new(), None)
                .await?;
            match reply.status {
                200..=299 => Ok(
                    match blob::list_contents(&String::from_utf8_lossy(&reply.body)) {
                        Contents::Empty => None,
                        _ => Some("holds blobs".to_string()),
                    },
                ),
                404 => Ok(None),
                _ => Err(unreadable(
                    blob::storage_error("List Blobs", &format!("{account}/{name}"), &reply),
                    name,
                    "blobs",
                )),
            }
        }
        _ => {
            let key = data_key(b).await?;
            let base = match b.settings.endpoints.table.as_deref().map(str::trim) {
                Some(base) if !base.is_empty() => {
                    format!("{}/{account}", base.trim_end_matches('/'))
                }
                _ => format!("https://{account}.table.core.windows.net"),
            };
            let now = OffsetDateTime::now_utc();
            let sas = table_sas(
                &account,
                &key,
                name,
                (now - CLOCK_SKEW, now + SAS_LIFETIME),
                base.starts_with("https://"),
            )?;
            let url = data_url(&format!("{base}/{name}()?%24top=1&{sas}"))?;
            let reply = b
                .arm
                .send_storage(
                    Method::Get,
                    url,
                    vec![("accept", "application/json;odata=nometadata")],
                    None,
                )
                .await?;
            match reply.status {
                200..=299 => Ok(reply.json()["value"]
                    .as_array()
                    .is_some_and(|v| !v.is_empty())
                    .then(|| "holds entities".to_string())),
                404 => Ok(None),
                _ => Err(unreadable(
                    blob::storage_error("Query Entities", &format!("{account}/{name}"), &reply),
                    name,
                    "entities",
                )),
            }
        }
    }
}

/// A data-plane URL, or why it is not one.
fn data_url(url: &str) -> Result<Url, AzureError> {
    Url::parse(url).map_err(|e| AzureError::Config {
        reason: format!("the storage endpoint does not make a URL ({e}): {url}"),
    })
}

/// A data-plane failure while asking whether a dropped resource holds
/// data: nothing is deleted on a guess.
fn unreadable(e: AzureError, name: &str, what: &str) -> AzureError {
    AzureError::Config {
        reason: format!(
            "cannot tell whether `{name}`, which the manifest no longer names, holds {what} ({e}), so the deploy stopped before deleting anything; check that the deploying identity may list the data account's keys (Microsoft.Storage/storageAccounts/listKeys/action, in Contributor), or put the resource back in the manifest"
        ),
    }
}

/// The data account's first key (ARM `listKeys`; a secret, never printed).
async fn data_key(b: &AzureBackend) -> Result<Secret, AzureError> {
    let (app, az) = (&b.app, &b.settings);
    let path = format!("{}/listKeys", paths::data_account(app, az));
    let keys = b.arm.post(&path, API_STORAGE, None).await?;
    keys.pointer("/keys/0/value")
        .and_then(Value::as_str)
        .map(|k| Secret::new(k.to_string()))
        .ok_or_else(|| AzureError::Config {
            reason: format!(
                "the data account `{}` returned no keys, so fnctl cannot tell whether what the manifest dropped holds data",
                names::data_account(app, az)
            ),
        })
}

/// The query string of a service SAS that may query (`sp=r`) table
/// `table`: "Create a service SAS", table form (signed version 2015-04-05
/// and later: sp, st, se, `/table/{account}/{table in lower case}`, si,
/// sip, spr, sv, then the four partition and row key bounds, all empty;
/// the query names the table in `tn`),
/// <https://learn.microsoft.com/rest/api/storageservices/create-service-sas>.
pub fn table_sas(
    account: &str,
    key: &Secret,
    table: &str,
    window: (OffsetDateTime, OffsetDateTime),
    https_only: bool,
) -> Result<String, AzureError> {
    let fmt = |t: OffsetDateTime| {
        t.replace_nanosecond(0)
            .unwrap_or(t)
            .format(&Rfc3339)
            .unwrap_or_default()
    };
    let (st, se) = (fmt(window.0), fmt(window.1));
    let spr = if https_only { "https" } else { "" };
    let to_sign = [
        "r",
        &st,
        &se,
        &format!("/table/{account}/{}", table.to_ascii_lowercase()),
        "",
        "",
        spr,
        STORAGE_VERSION,
        "",
        "",
        "",
        "",
    ]
    .join("\n");
    let sig = azure_core::hmac::hmac_sha256(&to_sign, key).map_err(|_| AzureError::Config {
        reason: format!("the key of storage account `{account}` is not base64"),
    })?;
    let mut query = Url::parse("http://sas.invalid/").expect("static URL");
    {
        let mut q = query.query_pairs_mut();
        q.append_pair("sv", STORAGE_VERSION)
            .append_pair("tn", table)
            .append_pair("sp", "r")
            .append_pair("st", &st)
            .append_pair("se", &se);
        if https_only {
            q.append_pair("spr", spr);
        }
        q.append_pair("sig", &sig);
    }
    Ok(query.query().unwrap_or_default().to_string())
}

/// What a resource is on Azure, in words.
pub fn words(kind: &ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Bucket => "blob container",
        ResourceKind::Queue(_) => "queue",
        ResourceKind::Table(_) => "table",
    }
}
