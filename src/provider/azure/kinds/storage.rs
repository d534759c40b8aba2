//! `storage_account` and `blob_container`: the app's storage account (the
//! Functions host's storage, Flex Consumption's deployment storage, the
//! containers blob triggers watch) and the containers fnctl creates in it —
//! the deployment container, and those of storage triggers with
//! `create = true`.
//!
//! Containers may hold data: fnctl never deletes one that leaves the plan
//! (`remove` decides about data, see `backend/apply.rs`). The storage
//! account's key is fetched once per run and never printed.

use serde_json::{json, Value};

use super::common::{get_owned, leaf, location_of, metadata_of, tags_of, Named, CONTAINER_MARKS};
use super::{group, Kind, Outcome, Reading, Run, Then};
use crate::model::{App, AzureSettings, ProviderId, Trigger};
use crate::plan::{Change, Conflict, Resource, ResourceId};
use crate::provider::azure::backend::{paths, AzureBackend, AzureError, Live, API_STORAGE};
use crate::provider::azure::names;
use crate::provider::azure::resources::tags;
use crate::provider::CodeDigests;

pub struct Storage;

/// The container `name` in the app's storage account (containers have no
/// attributes fnctl owns: their marks are what makes them fnctl's).
pub fn container(app: &App, az: &AzureSettings, name: &str) -> Resource {
    Resource::new(
        "blob_container",
        format!("{}/{name}", names::storage_account(app, az)),
    )
}

/// The containers storage triggers ask fnctl to create (`create = true`),
/// each once, in manifest order.
pub fn trigger_containers(app: &App) -> Vec<String> {
    let mut containers: Vec<String> = Vec::new();
    for f in app.functions_for(ProviderId::Azure) {
        for t in &f.triggers {
            if let Trigger::Storage(s) = t {
                if s.create && !containers.contains(&s.bucket) {
                    containers.push(s.bucket.clone());
                }
            }
        }
    }
    containers
}

#[async_trait::async_trait]
impl Kind for Storage {
    /// The storage account, with every container in it: the users' uploads
    /// among them, so it is kept while those hold blobs.
    fn removed(&self, app: &App, az: &AzureSettings) -> Vec<super::Removed> {
        vec![super::Removed {
            kind: "storage_account",
            name: names::storage_account(app, az),
            path: paths::storage_account(app, az),
            api: API_STORAGE,
            holds_data: true,
        }]
    }

    fn kinds(&self) -> &'static [&'static str] {
        &["storage_account", "blob_container"]
    }

    fn desired(&self, app: &App, az: &AzureSettings, _: &CodeDigests, out: &mut Vec<Resource>) {
        let sa = Resource::new("storage_account", names::storage_account(app, az))
            .attr("kind", "StorageV2")
            .attr("sku", "Standard_LRS")
            .attr("location", az.location.clone())
            .attr("tags", tags(app))
            .depends_on(&group::id(az));
        let containers = std::iter::once(names::DEPLOYMENT_CONTAINER.to_string())
            .chain(trigger_containers(app))
            .map(|c| container(app, az, &c).depends_on(&sa.id))
            .collect::<Vec<_>>();
        out.push(sa);
        out.extend(containers);
    }

    /// The storage account (fnctl's) and the containers fnctl creates in
    /// it; nothing in an account that is not fnctl's is read.
    async fn read(&self, b: &AzureBackend, reading: &mut Reading) -> Result<Then, AzureError> {
        let (app, az) = (&b.app, &b.settings);
        let sa_name = names::storage_account(app, az);
        let named = Named {
            kind: "storage_account",
            words: "storage account",
            name: &sa_name,
            scoped: true,
        };
        let path = paths::storage_account(app, az);
        let live = &mut reading.live;
        let Some(sa) = get_owned(b, &path, API_STORAGE, named, true, live).await? else {
            return Ok(Then::Continue);
        };
        reading.storage_owned = true;
        live.resources.push(
            Resource::new("storage_account", &sa_name)
                .attr("kind", sa["kind"].clone())
                .attr(
                    "sku",
                    sa.pointer("/sku/name").cloned().unwrap_or(Value::Null),
                )
                .attr("location", location_of(&sa))
                .attr("tags", json!(tags_of(&sa))),
        );
        b.read_containers(live).await?;
        Ok(Then::Continue)
    }

    /// The deployment container comes after the other containers: its
    /// marks are what tells containers an earlier fnctl made from anyone
    /// else's (see [`AzureBackend::read_containers`]), so it is marked last.
    fn applied_last(&self, id: &ResourceId) -> bool {
        id.kind == "blob_container" && leaf(&id.name) == names::DEPLOYMENT_CONTAINER
    }

    async fn apply(
        &self,
        b: &AzureBackend,
        change: &Change,
        run: &mut Run<'_>,
    ) -> Result<Outcome, AzureError> {
        match change.id.kind.as_str() {
            "blob_container" => b.put_container(run.live, leaf(&change.id.name)).await?,
            _ => b.put_storage_account().await?,
        }
        Ok(Outcome::Done)
    }

    /// Containers may hold data: fnctl never deletes one. The account
    /// leaves a plan only with the app (`remove`).
    async fn delete(
        &self,
        _: &AzureBackend,
        change: &Change,
        _: &mut Run<'_>,
    ) -> Result<Outcome, AzureError> {
        Ok(match change.id.kind.as_str() {
            "blob_container" => Outcome::Untouched,
            _ => Outcome::Done,
        })
    }
}

impl AzureBackend {
    /// The containers fnctl creates in its storage account: the deployment
    /// container, then those of storage triggers with `create = true`.
    ///
    /// One with this app+stage's metadata is fnctl's. One with other fnctl
    /// marks, or none, is a conflict — except a container an earlier fnctl
    /// created, before containers carried marks. Those are recognised by
    /// name: the deployment container (its name is fnctl's, inside fnctl's
    /// own tagged account, and nothing else creates it), and, while that
    /// container is still unmarked, the trigger containers of the manifest
    /// (an account whose deployment container is unmarked was last deployed
    /// by an fnctl that created its containers without marks; once fnctl
    /// marks it — last, after the trigger containers — an unmarked
    /// container in the account is someone else's). They are listed in
    /// [`Live::unmarked_containers`] and left out of the resources, so the
    /// plan creates them and apply writes the marks into them, keeping
    /// their blobs and their other metadata.
    ///
    /// This is not adoption: the account is fnctl's for this app and stage
    /// (it carries the tags), the names are ones fnctl gives its own
    /// containers, and the marks only record what fnctl already owned and
    /// would have deleted with the account. A container in an account that
    /// is not fnctl's is never read at all, and one that fnctl cannot tell
    /// apart from someone else's is a conflict, never written to.
    async fn read_containers(&self, live: &mut Live) -> Result<(), AzureError> {
        let (app, az) = (&self.app, &self.settings);
        let mut containers = vec![names::DEPLOYMENT_CONTAINER.to_string()];
        containers.extend(trigger_containers(app));
        // Whether an earlier fnctl, which did not mark containers, made them.
        let mut unmarked_deployment = false;
        for c in containers {
            let Some(found) = self
                .arm
                .get(&paths::container(app, az, &c), API_STORAGE)
                .await?
            else {
                continue;
            };
            let metadata = metadata_of(&found);
            let Some(owner) = CONTAINER_MARKS.owner(&metadata, app) else {
                live.resources.push(container(app, az, &c));
                continue;
            };
            let deployment = c == names::DEPLOYMENT_CONTAINER;
            if !CONTAINER_MARKS.any_in(&metadata) && (deployment || unmarked_deployment) {
                unmarked_deployment |= deployment;
                live.unmarked_containers.insert(c, metadata);
                continue;
            }
            live.conflicts.push(Conflict {
                id: container(app, az, &c).id,
                owner,
                help: if deployment {
                    format!(
                        "fnctl keeps the app's packages in the container `{c}` of its storage account; delete that container yourself if nothing needs it"
                    )
                } else {
                    format!(
                        "a storage trigger with `create = true` asks fnctl to create the container `{c}`, which exists and is not fnctl's: set `create = false` to use it as it is, choose another `bucket`, or delete the container yourself if nothing needs it"
                    )
                },
            });
        }
        Ok(())
    }

    /// Creates (or updates) the app's storage account.
    pub(crate) async fn put_storage_account(&self) -> Result<(), AzureError> {
        let az = &self.settings;
        self.arm
            .put(
                &paths::storage_account(&self.app, az),
                API_STORAGE,
                &json!({
                    "location": az.location,
                    "kind": "StorageV2",
                    "sku": {"name": "Standard_LRS"},
                    "tags": tags(&self.app),
                    "properties": {
                        "minimumTlsVersion": "TLS1_2",
                        "allowBlobPublicAccess": false,
                        "supportsHttpsTrafficOnly": true,
                    },
                }),
            )
            .await?;
        Ok(())
    }

    /// Creates a container fnctl owns, with its marks in the same PUT; one an
    /// earlier fnctl created without marks (see `read_containers`) gets
    /// them merged into the metadata it has (BlobContainers_Update: the
    /// rest of the container, and its blobs, stay as they are).
    async fn put_container(&self, live: &Live, container: &str) -> Result<(), AzureError> {
        let path = paths::container(&self.app, &self.settings, container);
        let marks = CONTAINER_MARKS.of(&self.app);
        if let Some(found) = live.unmarked_containers.get(container) {
            let mut metadata = found.clone();
            metadata.extend(marks.clone());
            let patched = self
                .arm
                .patch(
                    &path,
                    API_STORAGE,
                    &json!({"properties": {"metadata": metadata}}),
                )
                .await;
            match patched {
                // Gone since it was read: create it, as the plan says.
                Err(AzureError::Arm { status: 404, .. }) => {}
                other => return other.map(|_| ()),
            }
        }
        self.arm
            .put(
                &path,
                API_STORAGE,
                &json!({"properties": {"publicAccess": "None", "metadata": marks}}),
            )
            .await?;
        Ok(())
    }

    /// The storage account's connection string (holds a key: never printed).
    pub(crate) async fn connection_string(&self) -> Result<String, AzureError> {
        let az = &self.settings;
        let key = self.storage_key().await?;
        let account = names::storage_account(&self.app, az);
        Ok(match &az.endpoints.storage {
            Some(blob) => format!(
                "DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};BlobEndpoint={}",
                blob.trim_end_matches('/')
            ),
            None => format!(
                "DefaultEndpointsProtocol=https;AccountName={account};AccountKey={key};EndpointSuffix=core.windows.net"
            ),
        })
    }

    /// The storage account's first key, through ARM (a secret: never printed).
    pub(crate) async fn storage_key(&self) -> Result<String, AzureError> {
        self.storage_key_cache
            .get_or_try_init(|| self.fetch_storage_key())
            .await
            .cloned()
    }

    async fn fetch_storage_key(&self) -> Result<String, AzureError> {
        let keys = self
            .arm
            .post(
                &format!(
                    "{}/listKeys",
                    paths::storage_account(&self.app, &self.settings)
                ),
                API_STORAGE,
                None,
            )
            .await?;
        let key = keys
            .pointer("/keys/0/value")
            .and_then(Value::as_str)
            .ok_or_else(|| AzureError::Config {
                reason: "the storage account returned no keys".into(),
            })?;
        Ok(key.to_string())
    }
}
