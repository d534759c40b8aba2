//! `function_package` and `function`: the app's code, deployed as one
//! package, and the Azure functions (one per manifest function and trigger,
//! queue triggers included) the Functions host lists from it.
//!
//! Flex Consumption deploys through one-deploy on the scm host; classic
//! Consumption runs from a package blob (see [`AzureBackend::run_from_package`]).
//! The deployed package's digest is a tag on the Function App, written
//! last, so an unchanged package is not uploaded again and an interrupted
//! deploy uploads it again. Functions come with the package: their changes
//! only need the platform told (classic Consumption's trigger sync).

use std::collections::BTreeMap;

use futures::StreamExt;
use serde_json::{json, Value};

use super::{function_app, Kind, Outcome, Reading, Run, Then};
use crate::model::{App, AzurePlan, AzureSettings, Trigger};
use crate::plan::{Action, Change, Plan, Resource, ResourceId};
use crate::provider::azure::backend::apply::PackageUpload;
use crate::provider::azure::backend::arm::web_error;
use crate::provider::azure::backend::{
    blob, paths, AzureBackend, AzureError, Live, API_RESOURCES, API_WEB, PACKAGES_KEPT,
    PACKAGES_TAG, PACKAGE_TAG,
};
use crate::provider::azure::resources::package_digest;
use crate::provider::azure::{names, package as layout};
use crate::provider::CodeDigests;

pub struct Package;

/// The plan id of the app's package.
pub fn id(app: &App, az: &AzureSettings) -> ResourceId {
    ResourceId::new("function_package", names::function_app(app, az))
}

/// Whether `plan` deploys code.
pub fn changes(plan: &Plan) -> bool {
    plan.changes
        .iter()
        .any(|c| c.id.kind == "function_package" && c.action != Action::NoOp)
}

/// How the package reaches the app, as plans show it.
fn deploy_method(plan: AzurePlan) -> &'static str {
    match plan {
        AzurePlan::Flex => "one-deploy (/api/publish)",
        AzurePlan::Consumption => "run-from-package + sync triggers",
    }
}

/// The binding fields that define a trigger, as the Functions host lists
/// them back; the rest of function.json is fnctl's own plumbing.
pub fn binding_summary(binding: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for key in [
        "type",
        "route",
        "methods",
        "authLevel",
        "path",
        "schedule",
        "queueName",
    ] {
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

#[async_trait::async_trait]
impl Kind for Package {
    fn kinds(&self) -> &'static [&'static str] {
        &["function_package", "function"]
    }

    fn desired(&self, app: &App, az: &AzureSettings, code: &CodeDigests, out: &mut Vec<Resource>) {
        let site_name = names::function_app(app, az);
        let package = Resource::new("function_package", &site_name)
            .attr("code_digest", package_digest(app, code))
            .attr("deploy", deploy_method(az.plan))
            .depends_on(&function_app::settings_id(app, az));
        // One Azure function per (manifest function, trigger): what
        // function.json holds and what the Functions host lists.
        let functions: Vec<Resource> = layout::azure_functions(app)
            .into_iter()
            .map(|af| {
                let mut r = Resource::new("function", format!("{site_name}/{}", af.name))
                    .for_function(&af.function.name)
                    .attr(
                        "binding",
                        binding_summary(&layout::trigger_binding(app, af.trigger)),
                    );
                if let Trigger::Schedule(s) = af.trigger {
                    r = r.attr("disabled", !s.enabled);
                }
                r.depends_on(&package.id)
            })
            .collect();
        // Queue triggers are Azure functions too: the host lists them from
        // the same package, so verify expects them.
        let queues = layout::queue_functions(app).into_iter().map(|qf| {
            Resource::new("function", format!("{site_name}/{}", qf.name))
                .for_function(&qf.function.name)
                .attr("binding", binding_summary(&layout::queue_binding(&qf)))
                .depends_on(&package.id)
        });
        let queues: Vec<Resource> = queues.collect();
        out.push(package);
        out.extend(functions);
        out.extend(queues);
    }

    /// The package the Function App's tags record, and the functions the
    /// host lists.
    async fn read(&self, b: &AzureBackend, reading: &mut Reading) -> Result<Then, AzureError> {
        let (app, az) = (&b.app, &b.settings);
        let site_name = names::function_app(app, az);
        let Some(site) = &reading.site else {
            return Ok(Then::Stop);
        };
        let live = &mut reading.live;
        live.package_digest = site
            .pointer(&format!("/tags/{PACKAGE_TAG}"))
            .and_then(Value::as_str)
            .map(str::to_string);
        live.package_history = site
            .pointer(&format!("/tags/{PACKAGES_TAG}"))
            .and_then(Value::as_str)
            .map(|h| {
                h.split(',')
                    .filter(|b| !b.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if az.plan == AzurePlan::Consumption && !b.runs_own_package(&live.app_settings) {
            // Whatever the tag says, the app does not run a package fnctl
            // uploaded: deploy it again.
            live.package_digest = None;
        }
        if let Some(digest) = live.package_digest.as_deref() {
            live.resources.push(
                Resource::new("function_package", &site_name)
                    .attr("code_digest", digest)
                    .attr("deploy", deploy_method(az.plan)),
            );
        }
        b.read_functions(live).await?;
        Ok(Then::Continue)
    }

    async fn apply(
        &self,
        b: &AzureBackend,
        change: &Change,
        run: &mut Run<'_>,
    ) -> Result<Outcome, AzureError> {
        if change.id.kind == "function" {
            return self.function_changed(b, run).await;
        }
        let Some(up) = run.upload.take() else {
            return Err(AzureError::Config {
                reason: "internal: the plan deploys code but no package was built".into(),
            });
        };
        if b.settings.plan == AzurePlan::Consumption {
            b.run_from_package(run.live, up).await?;
            return Ok(Outcome::Done);
        }
        let Some(scm) = run.scm_host.clone() else {
            return Err(AzureError::Deploy {
                site: names::function_app(&b.app, &b.settings),
                message: "Azure reports no scm host for the app".into(),
            });
        };
        b.publish(&scm, up.zip).await?;
        b.tag_package(&up.digest, None).await?;
        Ok(Outcome::Done)
    }

    /// A function leaves with the package that no longer has it; the
    /// package leaves only with the app (`remove`).
    async fn delete(
        &self,
        b: &AzureBackend,
        change: &Change,
        run: &mut Run<'_>,
    ) -> Result<Outcome, AzureError> {
        if change.id.kind == "function" {
            return self.function_changed(b, run).await;
        }
        Ok(Outcome::Done)
    }
}

impl Package {
    /// Functions come with the package; verify checks them. On classic
    /// Consumption, when the package is in place but the platform lists
    /// other functions (a sync that did not happen), triggers are synced
    /// again, once.
    async fn function_changed(
        &self,
        b: &AzureBackend,
        run: &mut Run<'_>,
    ) -> Result<Outcome, AzureError> {
        if b.settings.plan == AzurePlan::Consumption && !changes(run.plan) && !run.synced {
            b.sync_triggers().await?;
            run.synced = true;
        }
        Ok(Outcome::Done)
    }
}

impl AzureBackend {
    /// The functions as the host lists them.
    async fn read_functions(&self, live: &mut Live) -> Result<(), AzureError> {
        let (app, az) = (&self.app, &self.settings);
        let site_name = names::function_app(app, az);
        let mut stream = self
            .web
            .web_apps_client()
            .list_functions(&az.resource_group, &site_name, &az.subscription)
            .into_stream();
        let by_name: BTreeMap<String, String> = layout::azure_functions(app)
            .into_iter()
            .map(|af| (af.name, af.function.name.clone()))
            .chain(
                layout::queue_functions(app)
                    .into_iter()
                    .map(|qf| (qf.name, qf.function.name.clone())),
            )
            .collect();
        while let Some(page) = stream.next().await {
            let page = page.map_err(|e| web_error("list functions", &site_name, e))?;
            for envelope in page.value {
                let full = envelope
                    .proxy_only_resource
                    .name
                    .clone()
                    .unwrap_or_default();
                let name = full.rsplit('/').next().unwrap_or_default().to_string();
                let props = envelope.properties.unwrap_or_default();
                let binding = props
                    .config
                    .as_ref()
                    .and_then(|c| c.get("bindings"))
                    .and_then(Value::as_array)
                    .and_then(|b| {
                        b.iter()
                            .find(|b| b["type"].as_str().is_some_and(|t| t.ends_with("Trigger")))
                    })
                    .map(binding_summary)
                    .unwrap_or(Value::Null);
                let mut r = Resource::new("function", format!("{site_name}/{name}"))
                    .attr("binding", binding.clone());
                if let Some(f) = by_name.get(&name) {
                    r = r.for_function(f);
                }
                if binding["type"] == "timerTrigger" {
                    let disabled = props.is_disabled.unwrap_or(false)
                        || live
                            .app_settings
                            .get(&function_app::disabled_setting(&name))
                            .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
                    r = r.attr("disabled", disabled);
                }
                live.resources.push(r);
            }
        }
        Ok(())
    }

    /// Classic Consumption's deployment: upload the package as a
    /// content-addressed blob, point WEBSITE_RUN_FROM_PACKAGE at a read-only
    /// SAS URL of it (the settings change restarts the app onto the new
    /// package), record it, sync triggers so the platform learns the new
    /// functions, and delete packages older than the last few.
    async fn run_from_package(&self, live: &Live, up: PackageUpload) -> Result<(), AzureError> {
        let blob = blob::package_blob(&up.digest);
        let url = self.upload_package(&blob, up.zip).await?;
        self.put_settings(Some(&url)).await?;
        let mut history = vec![blob.clone()];
        history.extend(live.package_history.iter().filter(|b| **b != blob).cloned());
        let stale = history.split_off(history.len().min(PACKAGES_KEPT));
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
    /// [`crate::provider::azure::backend::HostRetry`]).
    pub(crate) async fn sync_triggers(&self) -> Result<(), AzureError> {
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

    /// Records the deployed package's digest on the app (Tags API, merge),
    /// and on classic Consumption the package blobs kept.
    pub(crate) async fn tag_package(
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
}
