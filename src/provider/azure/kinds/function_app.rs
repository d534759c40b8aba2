//! `function_app` and `app_settings`: the Function App (one per app+stage,
//! every function of the app in it) and the app settings fnctl owns in it.
//!
//! The Function App is one create-or-replace PUT: Flex Consumption's
//! `functionAppConfig` (runtime, scale, deployment storage) or classic
//! Consumption's `linuxFxVersion`. The settings API replaces the whole set,
//! so every write is a merge: what the app has, with fnctl's keys set and
//! the keys fnctl set before but no longer wants removed; keys set by hand
//! are kept (`FNCTL_OWNED_SETTINGS` records which keys are fnctl's).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::common::{get_owned, tags_of, Named};
use super::{insights, package, service_plan, storage, Kind, Outcome, Reading, Run, Then};
use crate::model::{App, AzurePlan, AzureSettings, Function, Language, ProviderId, Trigger};
use crate::plan::{Change, Resource, ResourceId};
use crate::provider::aws::resources::REDACTED_CHANGED;
use crate::provider::azure::backend::arm::web_error;
use crate::provider::azure::backend::blob::service_url;
use crate::provider::azure::backend::{
    paths, AzureBackend, AzureError, Live, API_WEB, PACKAGES_TAG, PACKAGE_TAG,
};
use crate::provider::azure::resources::{instance_memory, runtime, tags};
use crate::provider::azure::{names, package as layout};
use crate::provider::CodeDigests;

/// The app setting listing the keys fnctl set, so a key removed from the
/// manifest is removed from the app while keys set by hand are kept.
pub const OWNED_SETTINGS: &str = "FNCTL_OWNED_SETTINGS";

/// Classic Consumption: the URL of the package the app runs.
pub const RUN_FROM_PACKAGE: &str = "WEBSITE_RUN_FROM_PACKAGE";

/// The app setting the Functions host reads to send telemetry.
pub const INSIGHTS_SETTING: &str = "APPLICATIONINSIGHTS_CONNECTION_STRING";

pub struct FunctionApp;

/// The plan id of the Function App.
pub fn id(app: &App, az: &AzureSettings) -> ResourceId {
    ResourceId::new("function_app", names::function_app(app, az))
}

/// The plan id of the Function App's settings.
pub fn settings_id(app: &App, az: &AzureSettings) -> ResourceId {
    ResourceId::new("app_settings", names::function_app(app, az))
}

/// Classic Linux apps name their stack in `siteConfig.linuxFxVersion`,
/// e.g. `Python|3.12` or `Node|20`.
pub fn linux_fx_version(name: &str, version: &str) -> String {
    let mut stack = name.to_string();
    if let Some(first) = stack.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    format!("{stack}|{version}")
}

/// The runtime `{name, version}` a linuxFxVersion names (case as Azure
/// may report it, e.g. `PYTHON|3.12`).
pub fn runtime_from_linux_fx(fx: &str) -> Option<Value> {
    let (name, version) = fx.split_once('|')?;
    Some(json!({"name": name.to_ascii_lowercase(), "version": version}))
}

/// What an app setting fnctl owns should hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingValue {
    /// The app's storage account connection string (holds a key).
    ConnectionString,
    /// A read-only SAS URL of the package blob (classic Consumption).
    PackageUrl,
    /// The Application Insights component's connection string.
    InsightsConnection,
    /// A secret env value: compared, never shown.
    Secret(String),
    Plain(String),
}

impl SettingValue {
    /// As a plan shows it.
    pub fn display(&self, storage_account: &str) -> String {
        match self {
            SettingValue::ConnectionString => {
                format!("(connection string of {storage_account})")
            }
            SettingValue::PackageUrl => "(read-only SAS URL of the package blob)".into(),
            SettingValue::InsightsConnection => insights::CONNECTION_SHOWN.into(),
            SettingValue::Secret(_) => crate::model::REDACTED.into(),
            SettingValue::Plain(v) => v.clone(),
        }
    }
}

/// Every app setting fnctl owns: the platform's, the manifest's env (one set
/// for the whole Function App), and switches for disabled Node timers.
pub fn desired_settings(app: &App) -> BTreeMap<String, SettingValue> {
    let mut settings = BTreeMap::new();
    let Some(az) = &app.azure else {
        return settings;
    };
    let functions: Vec<&Function> = app.functions_for(ProviderId::Azure).collect();
    settings.insert("AzureWebJobsStorage".into(), SettingValue::ConnectionString);
    if az.app_insights {
        settings.insert(INSIGHTS_SETTING.into(), SettingValue::InsightsConnection);
    }
    if az.plan == AzurePlan::Flex {
        settings.insert(
            "DEPLOYMENT_STORAGE_CONNECTION_STRING".into(),
            SettingValue::ConnectionString,
        );
    } else {
        settings.insert(
            "FUNCTIONS_EXTENSION_VERSION".into(),
            SettingValue::Plain("~4".into()),
        );
        if let Some((n, _)) = functions.first().and_then(|f| runtime(f.runtime)) {
            settings.insert(
                "FUNCTIONS_WORKER_RUNTIME".into(),
                SettingValue::Plain(n.into()),
            );
        }
        settings.insert(RUN_FROM_PACKAGE.into(), SettingValue::PackageUrl);
    }
    for f in &functions {
        for (k, v) in &f.env {
            let value = if v.secret {
                SettingValue::Secret(v.value.clone())
            } else {
                SettingValue::Plain(v.value.clone())
            };
            settings.insert(k.clone(), value);
        }
    }
    settings.extend(resource_settings(app, az));
    // Node's v4 model has no disabled flag in code: the documented app
    // setting turns a function off.
    for af in layout::azure_functions(app) {
        if let Trigger::Schedule(s) = af.trigger {
            if !s.enabled && af.function.runtime.language() == Language::Node {
                settings.insert(
                    disabled_setting(&af.name),
                    SettingValue::Plain("true".into()),
                );
            }
        }
    }
    settings
}

/// The Function App has a system-assigned identity when the app has
/// resources (the role assignments grant it their access); apps without
/// resources are deployed as before.
pub fn has_identity(app: &App) -> bool {
    !app.resources.is_empty()
}

/// The prefix of the identity-based connection to the app-data storage
/// account: `FNCTL_DATA__blobServiceUri`, `FNCTL_DATA__queueServiceUri`
/// and `FNCTL_DATA__tableServiceUri` (the Functions host's identity-based
/// connections for the Storage extensions: `<CONNECTION>__blobServiceUri`,
/// `__queueServiceUri`, `__tableServiceUri`, with the system-assigned
/// identity by default — "Azure Functions developer guide", Configure an
/// identity-based connection). A binding's `connection = "FNCTL_DATA"`, or
/// an SDK client built from the URI with a default Azure credential, reaches
/// the data without a key. A resource's own variables end in `_NAME` or
/// `_URL` after a single `_`, so they never meet these.
pub const DATA_CONNECTION: &str = "FNCTL_DATA";

/// The settings for the app's resources: the identity-based connection
/// (one service URI per kind of resource the app has) and every Azure
/// function's `FNCTL_{NAME}_NAME` / `FNCTL_{NAME}_URL`
/// ([`Function::resource_env`]). App settings are shared by the Function
/// App's functions, so each sees the variables of all of them.
pub fn resource_settings(app: &App, az: &AzureSettings) -> BTreeMap<String, SettingValue> {
    let mut out = BTreeMap::new();
    for r in app.resources.values() {
        let (suffix, service) = match r.kind {
            crate::model::ResourceKind::Bucket => ("blobServiceUri", "blob"),
            crate::model::ResourceKind::Queue(_) => ("queueServiceUri", "queue"),
            crate::model::ResourceKind::Table(_) => ("tableServiceUri", "table"),
        };
        out.insert(
            format!("{DATA_CONNECTION}__{suffix}"),
            SettingValue::Plain(paths::data_service_url(app, az, service)),
        );
    }
    for f in app.functions_for(ProviderId::Azure) {
        for e in f.resource_env(app) {
            let Some(r) = app.resources.get(&e.resource) else {
                continue;
            };
            let name = super::data::cloud_name(app, &r.name, &r.kind);
            let value = match e.value {
                crate::model::ResourceEnvValue::Name => name,
                crate::model::ResourceEnvValue::Url => {
                    format!("{}/{name}", paths::data_service_url(app, az, "queue"))
                }
            };
            out.insert(e.var, SettingValue::Plain(value));
        }
    }
    out
}

/// The app setting that turns the Azure function `name` off.
pub fn disabled_setting(name: &str) -> String {
    format!("AzureWebJobs.{name}.Disabled")
}

#[async_trait::async_trait]
impl Kind for FunctionApp {
    /// The Function App; its functions, settings and deployments go with it.
    fn removed(&self, app: &App, az: &AzureSettings) -> Vec<super::Removed> {
        vec![super::Removed {
            kind: "function_app",
            name: names::function_app(app, az),
            path: paths::site(app, az),
            api: API_WEB,
            holds_data: false,
        }]
    }

    fn kinds(&self) -> &'static [&'static str] {
        &["function_app", "app_settings"]
    }

    fn desired(&self, app: &App, az: &AzureSettings, _: &CodeDigests, out: &mut Vec<Resource>) {
        let functions: Vec<&Function> = app.functions_for(ProviderId::Azure).collect();
        let sa_name = names::storage_account(app, az);
        let site_name = names::function_app(app, az);
        let first_runtime = functions.first().and_then(|f| runtime(f.runtime));
        let max_memory = functions.iter().map(|f| f.memory_mb).max().unwrap_or(0);
        let mut site = Resource::new("function_app", &site_name)
            .attr("kind", "functionapp,linux")
            .attr("plan", names::plan(app))
            .attr(
                "runtime",
                first_runtime
                    .map(|(n, v)| json!({"name": n, "version": v}))
                    .unwrap_or(Value::Null),
            )
            .attr("tags", tags(app));
        if has_identity(app) {
            site = site.attr("identity", "SystemAssigned");
        }
        site = site
            .depends_on(&service_plan::id(app))
            .depends_on(&storage::container(app, az, names::DEPLOYMENT_CONTAINER).id);
        if az.plan == AzurePlan::Flex {
            site = site
                .attr(
                    "instance_memory_mb",
                    instance_memory(max_memory).unwrap_or(max_memory),
                )
                .attr("maximum_instance_count", az.maximum_instances)
                .attr(
                    "deployment_storage",
                    format!("{sa_name}/{}", names::DEPLOYMENT_CONTAINER),
                );
        }
        let settings: BTreeMap<String, String> = desired_settings(app)
            .into_iter()
            .map(|(k, v)| (k, v.display(&sa_name)))
            .collect();
        let mut app_settings = Resource::new("app_settings", &site_name)
            .attr("owned", json!(settings))
            .attr("others", "kept as found")
            .depends_on(&site.id);
        if az.app_insights {
            app_settings = app_settings.depends_on(&insights::component_id(app));
        }
        out.push(site);
        out.push(app_settings);
    }

    /// The Function App (fnctl's) and its settings. Without a Function App
    /// of fnctl's there is nothing more to read.
    async fn read(&self, b: &AzureBackend, reading: &mut Reading) -> Result<Then, AzureError> {
        let (app, az) = (&b.app, &b.settings);
        let site_name = names::function_app(app, az);
        let named = Named {
            kind: "function_app",
            words: "Function App",
            name: &site_name,
            scoped: true,
        };
        let live = &mut reading.live;
        let Some(site) = get_owned(b, &paths::site(app, az), API_WEB, named, true, live).await?
        else {
            return Ok(Then::Stop);
        };
        let site_res = b.read_site(live, &site).await?;
        live.resources.push(site_res);
        // App settings: through azure_mgmt_web (StringDictionary parses fine).
        live.app_settings = b.current_settings().await?;
        live.resources.push(
            Resource::new("app_settings", &site_name)
                .attr("owned", json!(b.owned_settings_view(&live.app_settings)))
                .attr("others", "kept as found"),
        );
        reading.site = Some(site);
        Ok(Then::Continue)
    }

    async fn apply(
        &self,
        b: &AzureBackend,
        change: &Change,
        run: &mut Run<'_>,
    ) -> Result<Outcome, AzureError> {
        if change.id.kind == "function_app" {
            let site = b.put_site(run.live).await?;
            run.scm_host = site_scm_host(&site).or(run.scm_host.take());
        } else if b.settings.plan == AzurePlan::Consumption && package::changes(run.plan) {
            // Classic Consumption: a new package changes
            // WEBSITE_RUN_FROM_PACKAGE, which the package step writes with
            // the merged settings; one settings PUT (one restart) instead
            // of two.
        } else {
            b.put_settings(None).await?;
        }
        Ok(Outcome::Done)
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

impl AzureBackend {
    /// The Function App as a plan resource; notes its hosts in `live`.
    async fn read_site(&self, live: &mut Live, site: &Value) -> Result<Resource, AzureError> {
        let (app, az) = (&self.app, &self.settings);
        let sa_name = names::storage_account(app, az);
        let site_name = names::function_app(app, az);
        let props = &site["properties"];
        let hosts: Vec<String> = props["enabledHostNames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        live.scm_host = hosts.iter().find(|h| h.contains(".scm.")).cloned();
        live.host = props["defaultHostName"]
            .as_str()
            .map(str::to_string)
            .or_else(|| hosts.iter().find(|h| !h.contains(".scm.")).cloned());
        let config = &props["functionAppConfig"];
        let plan_name = props["serverFarmId"]
            .as_str()
            .and_then(|id| id.rsplit('/').next())
            .unwrap_or_default()
            .to_string();
        let runtime = match config.get("runtime") {
            Some(r) if r.is_object() => json!({"name": r["name"], "version": r["version"]}),
            // Classic apps: the stack is in the site's configuration, which
            // a site GET does not fill in.
            _ if az.plan == AzurePlan::Consumption => self
                .arm
                .get(&format!("{}/config/web", paths::site(app, az)), API_WEB)
                .await?
                .and_then(|c| {
                    c.pointer("/properties/linuxFxVersion")
                        .and_then(Value::as_str)
                        .and_then(runtime_from_linux_fx)
                })
                .unwrap_or(Value::Null),
            _ => Value::Null,
        };
        let mut site_res = Resource::new("function_app", &site_name)
            .attr("kind", site["kind"].clone())
            .attr("plan", plan_name)
            .attr("runtime", runtime)
            .attr("tags", json!(tags_of(site)));
        if has_identity(app) {
            site_res = site_res.attr(
                "identity",
                site.pointer("/identity/type")
                    .cloned()
                    .unwrap_or(Value::Null),
            );
        }
        if az.plan == AzurePlan::Flex {
            // Shown like desired when it is the URL fnctl sets, else as found.
            let expected = paths::deployment_container_url(app, az);
            let deployment = config
                .pointer("/deployment/storage/value")
                .and_then(Value::as_str)
                .map(|url| {
                    if url.trim_end_matches('/') == expected {
                        format!("{sa_name}/{}", names::DEPLOYMENT_CONTAINER)
                    } else {
                        url.to_string()
                    }
                });
            site_res = site_res
                .attr(
                    "instance_memory_mb",
                    config
                        .pointer("/scaleAndConcurrency/instanceMemoryMB")
                        .cloned()
                        .unwrap_or(Value::Null),
                )
                .attr(
                    "maximum_instance_count",
                    config
                        .pointer("/scaleAndConcurrency/maximumInstanceCount")
                        .cloned()
                        .unwrap_or(Value::Null),
                )
                .attr("deployment_storage", json!(deployment));
        }
        Ok(site_res)
    }

    /// Classic Consumption: whether WEBSITE_RUN_FROM_PACKAGE points at a
    /// package blob fnctl uploaded to this app's storage account.
    pub(crate) fn runs_own_package(&self, settings: &BTreeMap<String, String>) -> bool {
        let sa = names::storage_account(&self.app, &self.settings);
        let ours = format!(
            "{}/{}/fnctl-",
            service_url(&sa, &self.settings),
            names::DEPLOYMENT_CONTAINER
        );
        settings
            .get(RUN_FROM_PACKAGE)
            .is_some_and(|url| url.starts_with(&ours))
    }

    /// The live values of the settings fnctl owns, shown the way the plan
    /// shows them: connection strings by account, secrets only as
    /// "(sensitive)" or "(sensitive, changed)".
    pub fn owned_settings_view(
        &self,
        found: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let sa = names::storage_account(&self.app, &self.settings);
        let desired = desired_settings(&self.app);
        let desired_keys: Vec<String> = desired.keys().cloned().collect();
        let mut out = BTreeMap::new();
        for (key, want) in desired {
            let Some(have) = found.get(&key) else {
                continue;
            };
            let shown = match want {
                SettingValue::ConnectionString => {
                    if have.contains(&format!("AccountName={sa};")) {
                        format!("(connection string of {sa})")
                    } else {
                        "(connection string of another account)".to_string()
                    }
                }
                SettingValue::PackageUrl => {
                    if self.runs_own_package(found) {
                        "(read-only SAS URL of the package blob)".to_string()
                    } else {
                        "(a URL fnctl did not set)".to_string()
                    }
                }
                SettingValue::InsightsConnection => {
                    if self.known_insights_connection() == Some(have) {
                        insights::CONNECTION_SHOWN.to_string()
                    } else {
                        "(a connection string fnctl did not set)".to_string()
                    }
                }
                SettingValue::Secret(real) => {
                    if *have == real {
                        crate::model::REDACTED.to_string()
                    } else {
                        REDACTED_CHANGED.to_string()
                    }
                }
                SettingValue::Plain(_) => have.clone(),
            };
            out.insert(key, shown);
        }
        // Keys fnctl set before and the manifest no longer has: they show
        // as a change, and the next deploy removes them.
        if let Some(before) = found.get(OWNED_SETTINGS) {
            for key in before.split(',').filter(|k| !k.is_empty()) {
                if !desired_keys.iter().any(|k| k == key) && found.contains_key(key) {
                    out.insert(key.to_string(), "(removed from the manifest)".into());
                }
            }
        }
        out
    }

    /// Every app setting as the app has it now (values are secrets: never
    /// printed). A failed read is an error, never an empty set: writing
    /// back a merge with nothing would wipe settings made by hand.
    pub(crate) async fn current_settings(&self) -> Result<BTreeMap<String, String>, AzureError> {
        let az = &self.settings;
        let site_name = names::function_app(&self.app, az);
        let found = self
            .web
            .web_apps_client()
            .list_application_settings(&az.resource_group, &site_name, &az.subscription)
            .await
            .map_err(|e| web_error("list app settings", &site_name, e))?;
        Ok(found
            .properties
            .as_ref()
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect())
    }

    /// `settings` after the merge: fnctl's keys set, and the keys fnctl set
    /// before but no longer wants removed.
    async fn merge_into(
        &self,
        mut settings: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, AzureError> {
        let desired = desired_settings(&self.app);
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

    /// PUT of the app settings (the API replaces the whole set: merged
    /// first, from what the app has now), with a new run-from-package URL
    /// when one is given.
    pub(crate) async fn put_settings(&self, package_url: Option<&str>) -> Result<(), AzureError> {
        let found = self.current_settings().await?;
        let mut settings = self.merge_into(found).await?;
        if let Some(url) = package_url {
            settings.insert(RUN_FROM_PACKAGE.into(), url.to_string());
        }
        self.replace_settings(&settings).await
    }

    /// Replaces every app setting with `settings`.
    pub(crate) async fn replace_settings(
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
            .map_err(|e| web_error("update app settings", &site_name, e))?;
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
            .and_then(|f| runtime(f.runtime))
            .unwrap_or(("python", "3.12"));
        let max_memory = functions.iter().map(|f| f.memory_mb).max().unwrap_or(512);
        let memory = instance_memory(max_memory).unwrap_or(2048);
        // A PUT replaces the app settings too: send the merged set so nothing
        // set by hand is lost.
        let settings = self.merge_into(live.app_settings.clone()).await?;
        let mut tags = tags(app);
        if let Some(d) = &live.package_digest {
            tags[PACKAGE_TAG] = json!(d);
        }
        if !live.package_history.is_empty() {
            tags[PACKAGES_TAG] = json!(live.package_history.join(","));
        }
        if let Some(t) = &live.http_tag {
            tags[crate::provider::azure::backend::HTTP_TAG] = json!(t);
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
                    // A PUT replaces the site's configuration: the CORS
                    // the app wants goes with it (see `http_settings`).
                    "cors": super::http_settings::cors_body(
                        crate::provider::azure::http_checks::site_cors(app).as_ref(),
                    ),
                },
            },
        });
        if has_identity(app) {
            // The identity the app's resources are granted to
            // (ManagedServiceIdentity of Microsoft.Web sites; ARM answers
            // with its `principalId` and `tenantId`).
            body["identity"] = json!({"type": "SystemAssigned"});
        }
        if az.plan == AzurePlan::Consumption {
            // Classic Linux Consumption: the runtime is the stack in
            // linuxFxVersion, the code comes from WEBSITE_RUN_FROM_PACKAGE.
            body["properties"]["siteConfig"]["linuxFxVersion"] =
                json!(linux_fx_version(runtime_name, runtime_version));
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
}
