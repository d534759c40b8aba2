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

fn tags(app: &App) -> Value {
    let mut t: BTreeMap<String, String> = app.tags.clone();
    t.insert("fnctl-app".into(), app.name.clone());
    t.insert("fnctl-stage".into(), app.stage.clone());
    t.insert("managed-by".into(), "fnctl".into());
    json!(t)
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
    let (sku, tier) = match az.plan {
        AzurePlan::Flex => ("FC1", "FlexConsumption"),
        AzurePlan::Consumption => ("Y1", "Dynamic"),
    };
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

    let mut settings: BTreeMap<String, String> = BTreeMap::new();
    settings.insert(
        "AzureWebJobsStorage".into(),
        format!("(connection string of {sa_name})"),
    );
    if az.plan == AzurePlan::Flex {
        settings.insert(
            "DEPLOYMENT_STORAGE_CONNECTION_STRING".into(),
            format!("(connection string of {sa_name})"),
        );
    } else {
        settings.insert("FUNCTIONS_EXTENSION_VERSION".into(), "~4".into());
        if let Some((n, _)) = first_runtime {
            settings.insert("FUNCTIONS_WORKER_RUNTIME".into(), n.into());
        }
        settings.insert(
            "WEBSITE_RUN_FROM_PACKAGE".into(),
            "(read-only SAS URL of the package blob)".into(),
        );
    }
    // Secret values appear only as "(sensitive)"; the backend compares the
    // real values privately when it reads the live settings.
    for f in &functions {
        for (k, v) in &f.env {
            settings.insert(k.clone(), v.display().to_string());
        }
    }
    let app_settings = Resource::new("app_settings", &site_name)
        .attr("owned", json!(settings))
        .attr("others", "kept as found")
        .depends_on(&site.id);

    let mut package_hasher = Sha256::new();
    for f in &functions {
        package_hasher.update(format!("{}={}\n", f.name, code.get(&f.name)));
    }
    let package = Resource::new("function_package", &site_name)
        .attr(
            "code_digest",
            format!("sha256:{}", hex::encode(package_hasher.finalize())),
        )
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
                .attr("handler", af.function.handler.clone())
                .attr("binding", package::trigger_binding(app, af.trigger));
            if let Trigger::Schedule(s) = af.trigger {
                r = r.attr("disabled", !s.enabled);
            }
            r.depends_on(&package.id)
        })
        .collect();

    out.push(rg);
    out.push(sa);
    out.push(container);
    out.extend(trigger_containers);
    out.push(plan);
    out.push(site);
    out.push(app_settings);
    out.push(package);
    out.extend(fn_resources);
    out
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
