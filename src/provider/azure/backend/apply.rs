//! Applies an Azure plan: ARM PUTs in dependency order, the merged app
//! settings, then the package through one-deploy.
//!
//! Every step is a create-or-replace, so an interrupted deploy converges when
//! run again. The chain is sequential by nature (resource group → storage →
//! plan → app → settings → code); what could run side by side (trigger
//! containers) is too small to be worth it.

use std::collections::BTreeMap;

use azure_core::{Method, Url};
use serde_json::{json, Value};

use super::blob::Contents;
use super::read::CONTAINER_MARKS;
use super::{
    paths, AzureBackend, AzureError, Live, Removal, API_EVENTGRID, API_INSIGHTS,
    API_LOG_WORKSPACES, API_RESOURCES, API_STORAGE, API_WEB, PACKAGES_TAG, PACKAGE_TAG,
};
use crate::model::{AzurePlan, ProviderId, Trigger};
use crate::plan::{Action, Kept, Plan, ResourceId};
use crate::provider::azure::resources::{self, SettingValue};
use crate::provider::azure::{names, package};
use crate::provider::interrupt::{Interrupt, Interrupted};

/// The app setting listing the keys fnctl set, so a key removed from the
/// manifest is removed from the app while keys set by hand are kept.
pub const OWNED_SETTINGS: &str = "FNCTL_OWNED_SETTINGS";

/// Classic Consumption: the URL of the package the app runs.
pub const RUN_FROM_PACKAGE: &str = "WEBSITE_RUN_FROM_PACKAGE";

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

/// Kinds in the order they are applied.
const ORDER: &[&str] = &[
    "resource_group",
    "storage_account",
    "blob_container",
    "log_workspace",
    "app_insights",
    "app_service_plan",
    "function_app",
    "app_settings",
    "function_package",
    "function",
    "event_subscription",
];

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
        let az = &self.settings;
        let classic = az.plan == AzurePlan::Consumption;
        // Classic Consumption: a new package changes WEBSITE_RUN_FROM_PACKAGE,
        // which the package step writes with the merged settings; one
        // settings PUT (one restart) instead of two.
        let package_changes = plan
            .changes
            .iter()
            .any(|c| c.id.kind == "function_package" && c.action != Action::NoOp);
        let mut changes: Vec<_> = plan
            .changes
            .iter()
            .filter(|c| c.action != Action::NoOp)
            // A resource group fnctl did not create is the user's: never
            // tagged or changed (read reports it as wanted; this holds
            // whatever plan comes in).
            .filter(|c| {
                !(c.id.kind == "resource_group"
                    && c.action != Action::Create
                    && !live.resource_group_owned)
            })
            .collect();
        // Creates and updates in ORDER; deletes after them, in reverse (a
        // component before its workspace, once the settings no longer
        // name it). The deployment container comes after the other
        // containers: its marks are what tells containers an earlier fnctl
        // made from anyone else's (see `read_containers`), so it is marked
        // last.
        changes.sort_by_key(|c| {
            let position = ORDER
                .iter()
                .position(|k| *k == c.id.kind)
                .unwrap_or(ORDER.len());
            let deployment_container = c.id.kind == "blob_container"
                && c.id.name.rsplit('/').next() == Some(names::DEPLOYMENT_CONTAINER);
            match c.action {
                Action::Delete => (2 * ORDER.len() - position, false),
                _ => (position, deployment_container),
            }
        });
        let mut applied = Vec::new();
        let mut scm_host = live.scm_host.clone();
        let mut upload = upload;
        let mut synced = false;
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
            match (id.kind.as_str(), change.action) {
                ("function", _) if classic && !package_changes && !synced => {
                    // The package is in place but the platform lists other
                    // functions (a sync that did not happen): sync again.
                    self.sync_triggers().await?;
                    synced = true;
                }
                ("function", _) => {
                    // Functions come with the package; verify checks them.
                }
                ("blob_container", Action::Delete) => {
                    // Containers may hold data: fnctl never deletes one.
                    continue;
                }
                ("event_subscription", Action::Delete) => {
                    let name = id.name.rsplit('/').next().unwrap_or_default();
                    self.arm
                        .delete(
                            &paths::event_subscription(&self.app, az, name),
                            API_EVENTGRID,
                        )
                        .await?;
                }
                ("app_insights", Action::Delete) => {
                    // `app_insights = false`: the settings no longer name it.
                    self.arm
                        .delete(&paths::app_insights(&self.app, az), API_INSIGHTS)
                        .await?;
                }
                ("log_workspace", Action::Delete) => {
                    self.arm
                        .delete(&paths::log_workspace(&self.app, az), API_LOG_WORKSPACES)
                        .await?;
                }
                (_, Action::Delete) => {
                    // Only functions, containers, subscriptions and the
                    // telemetry resources can
                    // disappear from a plan without the app itself going
                    // (that is `remove`).
                }
                ("event_subscription", _) => {
                    let name = id.name.rsplit('/').next().unwrap_or_default();
                    self.put_event_subscription(name).await?;
                }
                ("resource_group", _) => self.put_resource_group().await?,
                ("log_workspace", _) => self.put_log_workspace().await?,
                ("app_insights", _) => self.put_app_insights().await?,
                ("storage_account", _) => self.put_storage_account().await?,
                ("blob_container", _) => {
                    let container = id.name.rsplit('/').next().unwrap_or_default();
                    self.put_container(live, container).await?;
                }
                ("app_service_plan", _) => {
                    let (sku, tier) = resources::plan_sku(az.plan);
                    self.arm
                        .put(
                            &paths::plan(&self.app, az),
                            API_WEB,
                            &json!({
                                "location": az.location,
                                "kind": "functionapp",
                                "sku": {"name": sku, "tier": tier},
                                "properties": {"reserved": true},
                                "tags": resources::tags(&self.app),
                            }),
                        )
                        .await?;
                }
                ("function_app", _) => {
                    let site = self.put_site(live).await?;
                    scm_host = site_scm_host(&site).or(scm_host);
                }
                ("app_settings", _) if classic && package_changes => {
                    // Written with the package's URL below.
                }
                ("app_settings", _) => {
                    self.put_settings(None).await?;
                }
                ("function_package", _) => {
                    let Some(up) = upload.take() else {
                        return Err(AzureError::Config {
                            reason: "internal: the plan deploys code but no package was built"
                                .into(),
                        });
                    };
                    if classic {
                        self.run_from_package(live, up).await?;
                        progress(id, "done");
                        applied.push(Applied {
                            action: change.action.verb(),
                            kind: id.kind.clone(),
                            name: id.name.clone(),
                        });
                        continue;
                    }
                    let Some(scm) = scm_host.clone() else {
                        return Err(AzureError::Deploy {
                            site: names::function_app(&self.app, az),
                            message: "Azure reports no scm host for the app".into(),
                        });
                    };
                    self.publish(&scm, up.zip).await?;
                    self.tag_package(&up.digest, None).await?;
                }
                _ => {}
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

    /// Creates or replaces the Event Grid subscription `name` for the blob
    /// trigger it is named after. The webhook URL carries the host's
    /// `blobs_extension` system key, which the host creates once it has
    /// loaded a blob trigger with the Event Grid source; it is waited for,
    /// and never printed.
    async fn put_event_subscription(&self, name: &str) -> Result<(), AzureError> {
        let (app, az) = (&self.app, &self.settings);
        let Some((af, trigger)) = package::azure_functions(app)
            .into_iter()
            .find_map(|af| match af.trigger {
                Trigger::Storage(s) if names::event_subscription(&af.name) == name => {
                    Some((af.name.clone(), s.clone()))
                }
                _ => None,
            })
        else {
            return Err(AzureError::Config {
                reason: format!("internal: no blob trigger for the subscription `{name}`"),
            });
        };
        let key = self.blobs_extension_key().await?;
        let host = self.default_host().await?;
        let url = format!(
            "{}?functionName=Host.Functions.{af}&code={key}",
            paths::blob_webhook(az, &host)
        );
        let mut filter = json!({
            "includedEventTypes": [resources::BLOB_CREATED],
            "subjectBeginsWith": resources::blob_subject_prefix(&trigger),
            "isSubjectCaseSensitive": true,
        });
        if let Some(suffix) = &trigger.suffix {
            filter["subjectEndsWith"] = json!(suffix);
        }
        self.arm
            .put(
                &paths::event_subscription(app, az, name),
                API_EVENTGRID,
                &json!({
                    "properties": {
                        "destination": {"endpointType": "WebHook", "properties": {"endpointUrl": url}},
                        "filter": filter,
                        "eventDeliverySchema": "EventGridSchema",
                    }
                }),
            )
            .await?;
        Ok(())
    }

    /// The host's `blobs_extension` key, polled for up to a minute: the
    /// host creates it when it first loads the deployed blob trigger.
    async fn blobs_extension_key(&self) -> Result<String, AzureError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let keys = self.host_keys().await?;
            if let Some(key) = keys
                .pointer("/systemKeys/blobs_extension")
                .and_then(Value::as_str)
            {
                return Ok(key.to_string());
            }
            if std::time::Instant::now() >= deadline {
                return Err(AzureError::Deploy {
                    site: names::function_app(&self.app, &self.settings),
                    message: "the Functions host did not create its blobs_extension key within 60 s, so the Event Grid subscription for the blob trigger cannot be made; run the deploy again".into(),
                });
            }
            tokio::time::sleep(self.arm.poll_interval).await;
        }
    }

    /// The storage account's connection string (holds a key: never printed).
    async fn connection_string(&self) -> Result<String, AzureError> {
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
    pub(super) async fn storage_key(&self) -> Result<String, AzureError> {
        self.storage_key_cache
            .get_or_try_init(|| self.fetch_storage_key())
            .await
            .cloned()
    }

    /// The Log Analytics workspace Application Insights stores into.
    async fn put_log_workspace(&self) -> Result<(), AzureError> {
        let az = &self.settings;
        self.arm
            .put(
                &paths::log_workspace(&self.app, az),
                API_LOG_WORKSPACES,
                &json!({
                    "location": az.location,
                    "tags": resources::tags(&self.app),
                    "properties": {
                        "sku": {"name": resources::LOG_WORKSPACE_SKU},
                        "retentionInDays": resources::LOG_RETENTION_DAYS,
                    },
                }),
            )
            .await?;
        Ok(())
    }

    /// The workspace-based Application Insights component; its connection
    /// string (in the answer) goes into the app settings.
    async fn put_app_insights(&self) -> Result<(), AzureError> {
        let az = &self.settings;
        let component = self
            .arm
            .put(
                &paths::app_insights(&self.app, az),
                API_INSIGHTS,
                &json!({
                    "location": az.location,
                    "kind": "web",
                    "tags": resources::tags(&self.app),
                    "properties": {
                        "Application_Type": "web",
                        "Flow_Type": "Bluefield",
                        "Request_Source": "rest",
                        "WorkspaceResourceId": paths::log_workspace(&self.app, az),
                        "IngestionMode": "LogAnalytics",
                    },
                }),
            )
            .await?;
        if let Some(cs) = component
            .pointer("/properties/ConnectionString")
            .and_then(Value::as_str)
        {
            let _ = self.insights_cache.set(cs.to_string());
        }
        Ok(())
    }

    /// The component's connection string (a GET unless known this run).
    pub(super) async fn insights_connection(&self) -> Result<String, AzureError> {
        self.insights_cache
            .get_or_try_init(|| async {
                let name = names::app_insights(&self.app);
                let component = self
                    .arm
                    .get(&paths::app_insights(&self.app, &self.settings), API_INSIGHTS)
                    .await?
                    .ok_or_else(|| AzureError::Config {
                        reason: format!("the Application Insights component `{name}` does not exist; run the deploy again"),
                    })?;
                component
                    .pointer("/properties/ConnectionString")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| AzureError::Config {
                        reason: format!("Application Insights `{name}` reports no connection string"),
                    })
            })
            .await
            .cloned()
    }

    async fn fetch_storage_key(&self) -> Result<String, AzureError> {
        let az = &self.settings;
        let keys = self
            .arm
            .post(
                &format!("{}/listKeys", paths::storage_account(&self.app, az)),
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

    /// Every app setting after the merge: what is there, with fnctl's keys
    /// set and the keys fnctl set before but no longer wants removed.
    async fn merged_settings(&self) -> Result<BTreeMap<String, String>, AzureError> {
        let found = self.current_settings().await?;
        self.merge_into(found).await
    }

    /// Every app setting as the app has it now (values are secrets: never
    /// printed). A failed read is an error, never an empty set: writing
    /// back a merge with nothing would wipe settings made by hand.
    pub(super) async fn current_settings(&self) -> Result<BTreeMap<String, String>, AzureError> {
        let az = &self.settings;
        let site_name = names::function_app(&self.app, az);
        let found = self
            .web
            .web_apps_client()
            .list_application_settings(&az.resource_group, &site_name, &az.subscription)
            .await
            .map_err(|e| super::read::web_error("list app settings", &site_name, e))?;
        Ok(found
            .properties
            .as_ref()
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect())
    }

    async fn merge_into(
        &self,
        mut settings: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, AzureError> {
        let desired = resources::desired_settings(&self.app);
        if let Some(before) = settings.get(OWNED_SETTINGS).cloned() {
            for key in before.split(',').filter(|k| !k.is_empty()) {
                if !desired.contains_key(key) {
                    settings.remove(key);
                }
            }
        }
        let mut connection = None;
        for (key, value) in &desired {
            let v = match value {
                SettingValue::ConnectionString => {
                    if connection.is_none() {
                        connection = Some(self.connection_string().await?);
                    }
                    connection.clone().unwrap_or_default()
                }
                SettingValue::PackageUrl => continue,
                SettingValue::InsightsConnection => self.insights_connection().await?,
                SettingValue::Secret(v) | SettingValue::Plain(v) => v.clone(),
            };
            settings.insert(key.clone(), v);
        }
        settings.insert(
            OWNED_SETTINGS.into(),
            desired.keys().cloned().collect::<Vec<_>>().join(","),
        );
        Ok(settings)
    }

    /// Classic Consumption's deployment: upload the package as a
    /// content-addressed blob, point WEBSITE_RUN_FROM_PACKAGE at a read-only
    /// SAS URL of it (the settings change restarts the app onto the new
    /// package), record it, sync triggers so the platform learns the new
    /// functions, and delete packages older than the last few.
    async fn run_from_package(&self, live: &Live, up: PackageUpload) -> Result<(), AzureError> {
        let blob = super::blob::package_blob(&up.digest);
        let url = self.upload_package(&blob, up.zip).await?;
        self.put_settings(Some(&url)).await?;
        let mut history = vec![blob.clone()];
        history.extend(live.package_history.iter().filter(|b| **b != blob).cloned());
        let stale = history.split_off(history.len().min(super::PACKAGES_KEPT));
        self.sync_triggers().await?;
        // The tag is the record that this package is live: written last, so
        // an interrupted deploy does it all again.
        self.tag_package(&up.digest, Some(&history)).await?;
        for old in stale {
            self.delete_package(&old).await?;
        }
        Ok(())
    }

    /// Tells the platform to read the functions from the package it runs
    /// (classic Consumption needs this after every package change: its
    /// scale controller only knows triggers it was told about).
    ///
    /// Right after the settings change the host is restarting and answers
    /// 400 "ServiceUnavailable from host runtime": waited for (see
    /// [`super::HostRetry`]).
    pub(super) async fn sync_triggers(&self) -> Result<(), AzureError> {
        let path = format!(
            "{}/syncfunctiontriggers",
            paths::site(&self.app, &self.settings)
        );
        self.while_host_restarts("syncfunctiontriggers", || {
            self.arm.post(&path, API_WEB, None)
        })
        .await?;
        Ok(())
    }

    /// PUT of the app settings (the API replaces the whole set: merged
    /// first), with a new run-from-package URL when one is given.
    pub(super) async fn put_settings(&self, package_url: Option<&str>) -> Result<(), AzureError> {
        let mut settings = self.merged_settings().await?;
        if let Some(url) = package_url {
            settings.insert(RUN_FROM_PACKAGE.into(), url.to_string());
        }
        self.replace_settings(&settings).await
    }

    /// Replaces every app setting with `settings`.
    pub(super) async fn replace_settings(
        &self,
        settings: &BTreeMap<String, String>,
    ) -> Result<(), AzureError> {
        let az = &self.settings;
        let site_name = names::function_app(&self.app, az);
        let mut dict = azure_mgmt_web::package_2024_04::models::StringDictionary::new();
        dict.properties = Some(json!(settings));
        self.web
            .web_apps_client()
            .update_application_settings(&az.resource_group, &site_name, dict, &az.subscription)
            .await
            .map_err(|e| super::read::web_error("update app settings", &site_name, e))?;
        Ok(())
    }

    /// PUT of the Function App: with Flex Consumption's functionAppConfig,
    /// or classic Consumption's linuxFxVersion.
    async fn put_site(&self, live: &Live) -> Result<Value, AzureError> {
        let app = &self.app;
        let az = &self.settings;
        let functions: Vec<_> = app.functions_for(ProviderId::Azure).collect();
        let (runtime_name, runtime_version) = functions
            .first()
            .and_then(|f| resources::runtime(f.runtime))
            .unwrap_or(("python", "3.12"));
        let max_memory = functions.iter().map(|f| f.memory_mb).max().unwrap_or(512);
        let memory = resources::instance_memory(max_memory).unwrap_or(2048);
        // A PUT replaces the app settings too: send the merged set so nothing
        // set by hand is lost.
        let settings = self.merge_into(live.app_settings.clone()).await?;
        let mut tags = resources::tags(app);
        if let Some(d) = &live.package_digest {
            tags[PACKAGE_TAG] = json!(d);
        }
        if !live.package_history.is_empty() {
            tags[PACKAGES_TAG] = json!(live.package_history.join(","));
        }
        let plan_id = format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Web/serverfarms/{}",
            az.subscription,
            az.resource_group,
            names::plan(app)
        );
        let mut body = json!({
            "location": az.location,
            "kind": "functionapp,linux",
            "tags": tags,
            "properties": {
                "serverFarmId": plan_id,
                "reserved": true,
                "httpsOnly": true,
                "siteConfig": {
                    "appSettings": settings.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
                    "minTlsVersion": "1.2",
                    "ftpsState": "Disabled",
                },
            },
        });
        if az.plan == AzurePlan::Consumption {
            // Classic Linux Consumption: the runtime is the stack in
            // linuxFxVersion, the code comes from WEBSITE_RUN_FROM_PACKAGE.
            body["properties"]["siteConfig"]["linuxFxVersion"] =
                json!(resources::linux_fx_version(runtime_name, runtime_version));
            return self.arm.put(&paths::site(app, az), API_WEB, &body).await;
        }
        body["properties"]["functionAppConfig"] = json!({
                    "deployment": {"storage": {
                        "type": "blobContainer",
                        "value": paths::deployment_container_url(app, az),
                        "authentication": {
                            "type": "StorageAccountConnectionString",
                            "storageAccountConnectionStringName": "DEPLOYMENT_STORAGE_CONNECTION_STRING",
                        },
                    }},
                    "runtime": {"name": runtime_name, "version": runtime_version},
                    "scaleAndConcurrency": {
                        "maximumInstanceCount": az.maximum_instances,
                        "instanceMemoryMB": memory,
                    },
        });
        self.arm.put(&paths::site(app, az), API_WEB, &body).await
    }

    /// Records the deployed package's digest on the app (Tags API, merge),
    /// and on classic Consumption the package blobs kept.
    pub(super) async fn tag_package(
        &self,
        digest: &str,
        history: Option<&[String]>,
    ) -> Result<(), AzureError> {
        let path = format!(
            "{}/providers/Microsoft.Resources/tags/default",
            paths::site(&self.app, &self.settings)
        );
        let mut tags = json!({PACKAGE_TAG: digest});
        if let Some(h) = history {
            tags[PACKAGES_TAG] = json!(h.join(","));
        }
        self.arm
            .patch(
                &path,
                API_RESOURCES,
                &json!({"operation": "Merge", "properties": {"tags": tags}}),
            )
            .await?;
        Ok(())
    }

    /// Creates (or updates) the resource group fnctl owns.
    pub(super) async fn put_resource_group(&self) -> Result<(), AzureError> {
        let az = &self.settings;
        self.arm
            .put(
                &paths::resource_group(az),
                API_RESOURCES,
                &json!({"location": az.location, "tags": resources::tags(&self.app)}),
            )
            .await?;
        Ok(())
    }

    /// Creates (or updates) the app's storage account.
    pub(super) async fn put_storage_account(&self) -> Result<(), AzureError> {
        let az = &self.settings;
        self.arm
            .put(
                &paths::storage_account(&self.app, az),
                API_STORAGE,
                &json!({
                    "location": az.location,
                    "kind": "StorageV2",
                    "sku": {"name": "Standard_LRS"},
                    "tags": resources::tags(&self.app),
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
            .is_some_and(|sa| super::read::owned_by(&sa, app));
        let data = if storage_owned && !delete_data {
            self.containers_with_data().await?
        } else {
            Vec::new()
        };
        let keep_storage = !data.is_empty();
        let mut steps: Vec<(&str, String, String, &str)> = vec![
            (
                "function_app",
                names::function_app(app, az),
                paths::site(app, az),
                API_WEB,
            ),
            (
                "app_insights",
                names::app_insights(app),
                paths::app_insights(app, az),
                API_INSIGHTS,
            ),
            (
                "log_workspace",
                names::log_workspace(app),
                paths::log_workspace(app, az),
                API_LOG_WORKSPACES,
            ),
            (
                "app_service_plan",
                names::plan(app),
                paths::plan(app, az),
                API_WEB,
            ),
        ];
        if !keep_storage {
            steps.push((
                "storage_account",
                sa_name.clone(),
                paths::storage_account(app, az),
                API_STORAGE,
            ));
        }
        let interrupt = Interrupt::watch();
        // The resource group (or, keeping the account, what fnctl put in
        // it) is the last step.
        let total = steps.len() + 1;
        for (checked, (kind, name, path, api)) in steps.into_iter().enumerate() {
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
            if !super::read::owned_by(&found, app) {
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
            if super::read::owned_by(&rg, app) {
                removal.kept.push(Kept {
                    id: ResourceId::new("resource_group", &az.resource_group),
                    reason: format!("holds the storage account `{sa_name}`, kept for its data"),
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
        if super::read::owned_by(&rg, app) {
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
            for sub in list["value"].as_array().into_iter().flatten() {
                let name = sub["name"].as_str().unwrap_or_default();
                if !name.starts_with("fnctl-") {
                    continue;
                }
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
            let metadata: BTreeMap<String, String> = found
                .pointer("/properties/metadata")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect();
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

fn site_scm_host(site: &Value) -> Option<String> {
    site.pointer("/properties/enabledHostNames")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(Value::as_str)
        .find(|h| h.contains(".scm."))
        .map(str::to_string)
}
