//! The Azure resources an app maps to, with the attributes fnctl owns.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{names, package};
use crate::model::route::{Route, Segment};
use crate::model::{
    App, AzurePlan, Function, Language, ProviderId, Runtime, StorageTrigger, Trigger,
};
use crate::plan::Resource;
use crate::provider::CodeDigests;

/// Flex Consumption instance sizes, in MB.
pub const FLEX_INSTANCE_MEMORY: &[u32] = &[512, 2048, 4096];

/// `functionAppConfig.runtime.name` / version for a runtime.
pub fn runtime(r: Runtime) -> Option<(&'static str, &'static str)> {
    match r.language() {
        Language::Python => Some(("python", r.version())),
        Language::Node => Some(("node", r.version())),
        Language::Binary => None,
    }
}

/// The App Service plan SKU (name, tier) for a hosting plan.
pub fn plan_sku(plan: AzurePlan) -> (&'static str, &'static str) {
    match plan {
        AzurePlan::Flex => ("FC1", "FlexConsumption"),
        AzurePlan::Consumption => ("Y1", "Dynamic"),
    }
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

/// Azure route template: no leading slash, greedy `{name+}` becomes `{*name}`.
/// (host.json sets an empty route prefix, so paths match the manifest.)
pub fn route_template(route: &Route) -> String {
    route
        .segments
        .iter()
        .map(|s| match s {
            Segment::Literal(l) => l.clone(),
            Segment::Param(n) => format!("{{{n}}}"),
            Segment::Greedy(n) => format!("{{*{n}}}"),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Blob trigger path: `container/prefix{name}suffix`.
pub fn blob_path(s: &StorageTrigger) -> String {
    format!(
        "{}/{}{{name}}{}",
        s.bucket,
        s.prefix.as_deref().unwrap_or(""),
        s.suffix.as_deref().unwrap_or("")
    )
}

/// The smallest Flex instance size that fits the largest function.
pub fn instance_memory(max_function_mb: u32) -> Option<u32> {
    FLEX_INSTANCE_MEMORY
        .iter()
        .copied()
        .find(|m| *m >= max_function_mb)
}

pub fn tags(app: &App) -> Value {
    let mut t: BTreeMap<String, String> = app.tags.clone();
    t.insert("fnctl-app".into(), app.name.clone());
    t.insert("fnctl-stage".into(), app.stage.clone());
    t.insert("managed-by".into(), "fnctl".into());
    json!(t)
}

/// The binding fields that define a trigger, as the Functions host lists
/// them back; the rest of function.json is fnctl's own plumbing.
pub fn binding_summary(binding: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for key in ["type", "route", "methods", "authLevel", "path", "schedule"] {
        if let Some(v) = binding.get(key) {
            let v = if key == "methods" {
                // The host may list methods in any order and case.
                let mut m: Vec<String> = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_ascii_lowercase)
                    .collect();
                m.sort();
                json!(m)
            } else {
                v.clone()
            };
            out.insert(key.to_string(), v);
        }
    }
    Value::Object(out)
}

/// The identity of the Function App's package: every function's code digest
/// and every file fnctl generates (so a new adapter version redeploys).
pub fn package_digest(app: &App, code: &CodeDigests) -> String {
    let mut h = Sha256::new();
    for f in app.functions_for(ProviderId::Azure) {
        h.update(format!("{}={}\n", f.name, code.get(&f.name)));
    }
    for g in package::generated_files(app, &package::code_path) {
        h.update(format!("{}\0", g.path));
        h.update(Sha256::digest(g.contents.as_bytes()));
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// Log Analytics' pay-as-you-go tier (per GB ingested; the first 5 GB a
/// month per billing account are free).
pub const LOG_WORKSPACE_SKU: &str = "PerGB2018";
/// Days logs are kept (30 is included in the ingestion price).
pub const LOG_RETENTION_DAYS: u32 = 30;
/// The app setting the Functions host reads to send telemetry.
pub const INSIGHTS_SETTING: &str = "APPLICATIONINSIGHTS_CONNECTION_STRING";
/// How plans show that setting's value.
pub const INSIGHTS_CONNECTION_SHOWN: &str = "(connection string of the app's Application Insights)";

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
            SettingValue::InsightsConnection => INSIGHTS_CONNECTION_SHOWN.into(),
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
        settings.insert("WEBSITE_RUN_FROM_PACKAGE".into(), SettingValue::PackageUrl);
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
    // Node's v4 model has no disabled flag in code: the documented app
    // setting turns a function off.
    for af in package::azure_functions(app) {
        if let Trigger::Schedule(s) = af.trigger {
            if !s.enabled && af.function.runtime.language() == Language::Node {
                settings.insert(
                    format!("AzureWebJobs.{}.Disabled", af.name),
                    SettingValue::Plain("true".into()),
                );
            }
        }
    }
    settings
}

pub fn desired(app: &App, code: &CodeDigests) -> Vec<Resource> {
    let Some(az) = &app.azure else {
        return Vec::new();
    };
    let functions: Vec<&Function> = app.functions_for(ProviderId::Azure).collect();
    let mut out = Vec::new();

    let rg =
        Resource::new("resource_group", &az.resource_group).attr("location", az.location.clone());
    let sa_name = names::storage_account(app, az);
    let sa = Resource::new("storage_account", &sa_name)
        .attr("kind", "StorageV2")
        .attr("sku", "Standard_LRS")
        .attr("location", az.location.clone())
        .attr("tags", tags(app))
        .depends_on(&rg.id);
    let container = Resource::new(
        "blob_container",
        format!("{sa_name}/{}", names::DEPLOYMENT_CONTAINER),
    )
    .depends_on(&sa.id);
    let mut trigger_containers = Vec::new();
    for f in &functions {
        for t in &f.triggers {
            if let Trigger::Storage(s) = t {
                if s.create
                    && !trigger_containers
                        .iter()
                        .any(|c: &Resource| c.id.name.ends_with(&format!("/{}", s.bucket)))
                {
                    trigger_containers.push(
                        Resource::new("blob_container", format!("{sa_name}/{}", s.bucket))
                            .depends_on(&sa.id),
                    );
                }
            }
        }
    }
    // Application Insights is workspace-based (classic components were
    // retired in 2024): a Log Analytics workspace, then the component.
    let insights: Vec<Resource> = if az.app_insights {
        let workspace = Resource::new("log_workspace", names::log_workspace(app))
            .attr("sku", LOG_WORKSPACE_SKU)
            .attr("retention_days", LOG_RETENTION_DAYS)
            .attr("location", az.location.clone())
            .attr("tags", tags(app))
            .depends_on(&rg.id);
        let component = Resource::new("app_insights", names::app_insights(app))
            .attr("kind", "web")
            .attr("workspace", names::log_workspace(app))
            .attr("location", az.location.clone())
            .attr("tags", tags(app))
            .depends_on(&workspace.id);
        vec![workspace, component]
    } else {
        Vec::new()
    };
    let (sku, tier) = plan_sku(az.plan);
    let plan = Resource::new("app_service_plan", names::plan(app))
        .attr("sku", sku)
        .attr("tier", tier)
        .attr("linux", true)
        .attr("tags", tags(app))
        .depends_on(&rg.id);

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
        .attr("tags", tags(app))
        .depends_on(&plan.id)
        .depends_on(&container.id);
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
    if let Some(component) = insights.last() {
        app_settings = app_settings.depends_on(&component.id);
    }

    let package_digest = package_digest(app, code);
    let package = Resource::new("function_package", &site_name)
        .attr("code_digest", package_digest)
        .attr(
            "deploy",
            match az.plan {
                AzurePlan::Flex => "one-deploy (/api/publish)",
                AzurePlan::Consumption => "run-from-package + sync triggers",
            },
        )
        .depends_on(&app_settings.id);

    // One Azure function per (manifest function, trigger): what function.json
    // holds and what the Functions host lists.
    let fn_resources: Vec<Resource> = package::azure_functions(app)
        .into_iter()
        .map(|af| {
            let mut r = Resource::new("function", format!("{site_name}/{}", af.name))
                .for_function(&af.function.name)
                .attr(
                    "binding",
                    binding_summary(&package::trigger_binding(app, af.trigger)),
                );
            if let Trigger::Schedule(s) = af.trigger {
                r = r.attr("disabled", !s.enabled);
            }
            r.depends_on(&package.id)
        })
        .collect();

    // Flex Consumption runs blob triggers only from Event Grid: one
    // subscription per blob-triggered function, on the app's storage
    // account, delivering BlobCreated events under the trigger's
    // container/prefix/suffix to the host's blob webhook.
    let mut subscriptions = Vec::new();
    if az.plan == AzurePlan::Flex {
        for af in package::azure_functions(app) {
            let Trigger::Storage(s) = af.trigger else {
                continue;
            };
            let mut r = Resource::new(
                "event_subscription",
                format!("{sa_name}/{}", names::event_subscription(&af.name)),
            )
            .for_function(&af.function.name)
            .attr("events", json!([BLOB_CREATED]))
            .attr("subject_begins_with", blob_subject_prefix(s))
            .attr("subject_ends_with", s.suffix.clone().unwrap_or_default())
            .attr("destination", blob_webhook_label(&site_name, &af.name))
            .depends_on(&package.id);
            if let Some(c) = trigger_containers
                .iter()
                .find(|c| c.id.name.ends_with(&format!("/{}", s.bucket)))
            {
                r = r.depends_on(&c.id);
            }
            subscriptions.push(r);
        }
    }

    out.push(rg);
    out.push(sa);
    out.push(container);
    out.extend(trigger_containers);
    out.extend(insights);
    out.push(plan);
    out.push(site);
    out.push(app_settings);
    out.push(package);
    out.extend(fn_resources);
    out.extend(subscriptions);
    out
}

/// The Event Grid event type blob triggers fire on.
pub const BLOB_CREATED: &str = "Microsoft.Storage.BlobCreated";

/// Event Grid's subject for blobs under a trigger's container and prefix.
pub fn blob_subject_prefix(s: &StorageTrigger) -> String {
    format!(
        "/blobServices/default/containers/{}/blobs/{}",
        s.bucket,
        s.prefix.as_deref().unwrap_or("")
    )
}

/// How plans show a subscription's destination: the host's blob webhook for
/// one function (the URL carries a key, so it is never shown).
pub fn blob_webhook_label(site: &str, azure_function: &str) -> String {
    format!("{site}/runtime/webhooks/blobs?functionName=Host.Functions.{azure_function}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_templates() {
        assert_eq!(
            route_template(&Route::parse("/users/{id}").unwrap()),
            "users/{id}"
        );
        assert_eq!(
            route_template(&Route::parse("/files/{path+}").unwrap()),
            "files/{*path}"
        );
        assert_eq!(route_template(&Route::parse("/").unwrap()), "");
    }

    #[test]
    fn blob_paths_and_memory() {
        let s = StorageTrigger {
            bucket: "uploads".into(),
            events: vec![],
            prefix: Some("img/".into()),
            suffix: Some(".jpg".into()),
            create: false,
            span: 0..0,
        };
        assert_eq!(blob_path(&s), "uploads/img/{name}.jpg");
        assert_eq!(instance_memory(256), Some(512));
        assert_eq!(instance_memory(1024), Some(2048));
        assert_eq!(instance_memory(4096), Some(4096));
        assert_eq!(instance_memory(8192), None);
    }
}
