//! Reads what fnctl owns for an app+stage from Azure, as plan resources with
//! the attributes [`crate::provider::azure::resources::desired`] produces.
//!
//! Ownership: a resource is fnctl's for this app and stage when it carries
//! the tags `fnctl-app`, `fnctl-stage` and `managed-by = fnctl` with this
//! app's and stage's values; a blob container (whose metadata names must be
//! C# identifiers) when its metadata holds `fnctl_app`, `fnctl_stage` and
//! `managed_by = fnctl`. A resource the app needs that exists without them
//! is a [`Conflict`]: it is left out of what was read, with everything that
//! hangs under it, and the read goes on, so one plan shows every conflict.
//! The resource group is the exception: one fnctl did not create is the
//! user's, and fnctl deploys into it without ever changing it.

use std::collections::BTreeMap;

use futures::StreamExt;
use serde_json::{json, Value};

use super::{
    paths, AzureBackend, AzureError, Live, API_EVENTGRID, API_INSIGHTS, API_LOG_WORKSPACES,
    API_RESOURCES, API_STORAGE, API_WEB, PACKAGES_TAG, PACKAGE_TAG,
};
use crate::model::{App, AzurePlan, ProviderId, Trigger};
use crate::plan::{Conflict, Resource, ResourceId};
use crate::provider::aws::resources::REDACTED_CHANGED;
use crate::provider::azure::{names, package, resources};

/// ARM reports locations normalised (`West Europe` → `westeurope`).
pub fn normalise_location(l: &str) -> String {
    l.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

fn tags_of(v: &Value) -> BTreeMap<String, String> {
    v.get("tags")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != PACKAGE_TAG && k.as_str() != PACKAGES_TAG)
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect()
}

/// True when the resource carries this app+stage's ownership tags.
pub fn owned_by(v: &Value, app: &App) -> bool {
    tag_owner(v, app).is_none()
}

/// The ownership tags (ARM resources).
const TAG_MARKS: Marks = Marks {
    app: "fnctl-app",
    stage: "fnctl-stage",
    managed: "managed-by",
    what: "tags",
};

/// The ownership metadata of blob containers: metadata names must be C#
/// identifiers, so no `-` (or `:`).
pub const CONTAINER_MARKS: Marks = Marks {
    app: "fnctl_app",
    stage: "fnctl_stage",
    managed: "managed_by",
    what: "metadata",
};

/// The names under which a resource records its owner.
#[derive(Debug, Clone, Copy)]
pub struct Marks {
    pub app: &'static str,
    pub stage: &'static str,
    pub managed: &'static str,
    /// What they are, for messages: "tags" or "metadata".
    pub what: &'static str,
}

impl Marks {
    /// The marks of this app and stage.
    pub fn of(&self, app: &App) -> BTreeMap<String, String> {
        BTreeMap::from([
            (self.app.to_string(), app.name.clone()),
            (self.stage.to_string(), app.stage.clone()),
            (self.managed.to_string(), "fnctl".to_string()),
        ])
    }

    /// Whether `found` carries any of them (whatever their values).
    pub fn any_in(&self, found: &BTreeMap<String, String>) -> bool {
        [self.app, self.stage, self.managed]
            .iter()
            .any(|k| found.contains_key(*k))
    }

    /// `None` when `found` marks the resource as this app+stage's; else who
    /// owns it, in words: "it belongs to stage `prod` of this app", "it
    /// carries no fnctl tags (tags: env=prod)".
    pub fn owner(&self, found: &BTreeMap<String, String>, app: &App) -> Option<String> {
        let managed = found.get(self.managed).map(String::as_str) == Some("fnctl");
        let (a, s) = (found.get(self.app), found.get(self.stage));
        match (a, s) {
            (Some(a), Some(s)) if *a == app.name && *s == app.stage => (!managed).then(|| {
                format!(
                    "it carries this app and stage's {} but not `{} = fnctl`",
                    self.what, self.managed
                )
            }),
            (Some(a), Some(s)) if *a == app.name => {
                Some(format!("it belongs to stage `{s}` of this app"))
            }
            (Some(a), Some(s)) => Some(format!("it belongs to app `{a}` stage `{s}`")),
            (Some(a), None) => Some(format!("it belongs to app `{a}`")),
            _ => {
                let listed: Vec<String> = found.iter().map(|(k, v)| format!("{k}={v}")).collect();
                Some(format!(
                    "it carries no fnctl {what} ({what}: {})",
                    if listed.is_empty() {
                        "none".to_string()
                    } else {
                        listed.join(", ")
                    },
                    what = self.what
                ))
            }
        }
    }
}

/// Who owns an ARM resource, from its tags: `None` when it is this
/// app+stage's (see [`Marks::owner`]).
fn tag_owner(v: &Value, app: &App) -> Option<String> {
    let all: BTreeMap<String, String> = v
        .get("tags")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    TAG_MARKS.owner(&all, app)
}

/// A container's metadata as found.
fn metadata_of(container: &Value) -> BTreeMap<String, String> {
    container
        .pointer("/properties/metadata")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect()
}

/// A resource whose name fnctl derives from the app and stage exists and
/// is not this app+stage's.
fn named_conflict(kind: &str, words: &str, name: &str, owner: String, scoped: bool) -> Conflict {
    let choose = if scoped {
        // Storage account and Function App names also carry a hash of the
        // subscription and resource group.
        "choose another app name, stage or resource group"
    } else {
        "choose another app name or stage"
    };
    Conflict {
        id: ResourceId::new(kind, name),
        owner,
        help: format!(
            "fnctl names the {words} after the app and stage: {choose}, or delete the other {words} `{name}` yourself if nothing needs it; fnctl never takes over a resource it did not create"
        ),
    }
}

impl AzureBackend {
    /// Everything fnctl owns for the app+stage, as Azure reports it now.
    pub async fn read(&self) -> Result<Live, AzureError> {
        let app = &self.app;
        let az = &self.settings;
        let mut live = Live::default();
        let Some(rg) = self
            .arm
            .get(&paths::resource_group(az), API_RESOURCES)
            .await?
        else {
            return Ok(live);
        };
        live.resource_group_owned = owned_by(&rg, app);
        // The manifest's location, normalised the same way, is what desired
        // holds; compare like with like. A group fnctl did not create (no
        // tags, or another app's or stage's) is the user's: fnctl deploys
        // into it and never tags, changes or deletes it, so it has nothing
        // to plan — it reads as wanted, wherever it is (every resource
        // fnctl creates names its own location).
        let location = if live.resource_group_owned {
            normalise_location(rg["location"].as_str().unwrap_or_default())
        } else {
            az.location.clone()
        };
        live.resources
            .push(Resource::new("resource_group", &az.resource_group).attr("location", location));
        let sa_name = names::storage_account(app, az);
        let mut storage_owned = false;
        if let Some(sa) = self
            .arm
            .get(&paths::storage_account(app, az), API_STORAGE)
            .await?
        {
            if let Some(owner) = tag_owner(&sa, app) {
                live.conflicts.push(named_conflict(
                    "storage_account",
                    "storage account",
                    &sa_name,
                    owner,
                    true,
                ));
            } else {
                storage_owned = true;
                self.read_storage(&mut live, &sa).await?;
            }
        }
        self.read_insights(&mut live).await?;
        self.read_plan(&mut live).await?;
        let site_name = names::function_app(app, az);
        let Some(site) = self.arm.get(&paths::site(app, az), API_WEB).await? else {
            return Ok(live);
        };
        if let Some(owner) = tag_owner(&site, app) {
            live.conflicts.push(named_conflict(
                "function_app",
                "Function App",
                &site_name,
                owner,
                true,
            ));
            return Ok(live);
        }
        self.read_site(&mut live, &site, storage_owned).await?;
        Ok(live)
    }

    /// The storage account (fnctl's) and the containers fnctl creates in it.
    async fn read_storage(&self, live: &mut Live, sa: &Value) -> Result<(), AzureError> {
        let (app, az) = (&self.app, &self.settings);
        let sa_name = names::storage_account(app, az);
        live.resources.push(
            Resource::new("storage_account", &sa_name)
                .attr("kind", sa["kind"].clone())
                .attr(
                    "sku",
                    sa.pointer("/sku/name").cloned().unwrap_or(Value::Null),
                )
                .attr(
                    "location",
                    normalise_location(sa["location"].as_str().unwrap_or_default()),
                )
                .attr("tags", json!(tags_of(sa))),
        );
        self.read_containers(live).await
    }

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
        let sa_name = names::storage_account(app, az);
        let mut containers = vec![names::DEPLOYMENT_CONTAINER.to_string()];
        for f in app.functions_for(ProviderId::Azure) {
            for t in &f.triggers {
                if let Trigger::Storage(s) = t {
                    if s.create && !containers.contains(&s.bucket) {
                        containers.push(s.bucket.clone());
                    }
                }
            }
        }
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
                live.resources
                    .push(Resource::new("blob_container", format!("{sa_name}/{c}")));
                continue;
            };
            let deployment = c == names::DEPLOYMENT_CONTAINER;
            if !CONTAINER_MARKS.any_in(&metadata) && (deployment || unmarked_deployment) {
                unmarked_deployment |= deployment;
                live.unmarked_containers.insert(c, metadata);
                continue;
            }
            live.conflicts.push(Conflict {
                id: ResourceId::new("blob_container", format!("{sa_name}/{c}")),
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

    /// The App Service plan.
    async fn read_plan(&self, live: &mut Live) -> Result<(), AzureError> {
        let (app, az) = (&self.app, &self.settings);
        if let Some(plan) = self.arm.get(&paths::plan(app, az), API_WEB).await? {
            if let Some(owner) = tag_owner(&plan, app) {
                live.conflicts.push(named_conflict(
                    "app_service_plan",
                    "App Service plan",
                    &names::plan(app),
                    owner,
                    false,
                ));
                return Ok(());
            }
            live.resources.push(
                Resource::new("app_service_plan", names::plan(app))
                    .attr(
                        "sku",
                        plan.pointer("/sku/name").cloned().unwrap_or(Value::Null),
                    )
                    .attr(
                        "tier",
                        plan.pointer("/sku/tier").cloned().unwrap_or(Value::Null),
                    )
                    .attr(
                        "linux",
                        plan.pointer("/properties/reserved")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                    )
                    .attr("tags", json!(tags_of(&plan))),
            );
        }
        Ok(())
    }

    /// The Function App (fnctl's), its settings, package and functions, and
    /// on Flex the Event Grid subscriptions on the storage account (when
    /// that is fnctl's).
    async fn read_site(
        &self,
        live: &mut Live,
        site: &Value,
        storage_owned: bool,
    ) -> Result<(), AzureError> {
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
                        .and_then(resources::runtime_from_linux_fx)
                })
                .unwrap_or(Value::Null),
            _ => Value::Null,
        };
        let mut site_res = Resource::new("function_app", &site_name)
            .attr("kind", site["kind"].clone())
            .attr("plan", plan_name)
            .attr("runtime", runtime)
            .attr("tags", json!(tags_of(site)));
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
        live.resources.push(site_res);

        // App settings: through azure_mgmt_web (StringDictionary parses fine).
        live.app_settings = self.current_settings().await?;
        live.resources.push(
            Resource::new("app_settings", &site_name)
                .attr("owned", json!(self.owned_settings_view(&live.app_settings)))
                .attr("others", "kept as found"),
        );

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
        if az.plan == AzurePlan::Consumption && !self.runs_own_package(&live.app_settings) {
            // Whatever the tag says, the app does not run a package fnctl
            // uploaded: deploy it again.
            live.package_digest = None;
        }
        if let Some(digest) = live.package_digest.as_deref() {
            live.resources.push(
                Resource::new("function_package", &site_name)
                    .attr("code_digest", digest)
                    .attr(
                        "deploy",
                        match az.plan {
                            AzurePlan::Flex => "one-deploy (/api/publish)",
                            AzurePlan::Consumption => "run-from-package + sync triggers",
                        },
                    ),
            );
        }

        // Functions as the host lists them.
        let mut stream = self
            .web
            .web_apps_client()
            .list_functions(&az.resource_group, &site_name, &az.subscription)
            .into_stream();
        let by_name: BTreeMap<String, String> = package::azure_functions(app)
            .into_iter()
            .map(|af| (af.name, af.function.name.clone()))
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
                    .map(resources::binding_summary)
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
                            .get(&format!("AzureWebJobs.{name}.Disabled"))
                            .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
                    r = r.attr("disabled", disabled);
                }
                live.resources.push(r);
            }
        }
        if az.plan == AzurePlan::Flex && storage_owned {
            self.read_event_subscriptions(live).await?;
        }
        Ok(())
    }

    /// The Log Analytics workspace and Application Insights component, read
    /// whether or not the manifest wants them, so turning them off removes
    /// them. Ones with fnctl's names that are not fnctl's are conflicts when
    /// the app needs them, and none of fnctl's business when it does not.
    async fn read_insights(&self, live: &mut Live) -> Result<(), AzureError> {
        let (app, az) = (&self.app, &self.settings);
        let workspace_name = names::log_workspace(app);
        let ws = match self
            .arm
            .get(&paths::log_workspace(app, az), API_LOG_WORKSPACES)
            .await?
        {
            Some(ws) => match tag_owner(&ws, app) {
                None => Some(ws),
                Some(owner) => {
                    if az.app_insights {
                        live.conflicts.push(named_conflict(
                            "log_workspace",
                            "Log Analytics workspace",
                            &workspace_name,
                            owner,
                            false,
                        ));
                    }
                    None
                }
            },
            None => None,
        };
        if let Some(ws) = ws {
            live.resources.push(
                Resource::new("log_workspace", &workspace_name)
                    .attr(
                        "sku",
                        ws.pointer("/properties/sku/name")
                            .cloned()
                            .unwrap_or(Value::Null),
                    )
                    .attr(
                        "retention_days",
                        ws.pointer("/properties/retentionInDays")
                            .cloned()
                            .unwrap_or(Value::Null),
                    )
                    .attr(
                        "location",
                        normalise_location(ws["location"].as_str().unwrap_or_default()),
                    )
                    .attr("tags", json!(tags_of(&ws))),
            );
        }
        let name = names::app_insights(app);
        let Some(component) = self
            .arm
            .get(&paths::app_insights(app, az), API_INSIGHTS)
            .await?
        else {
            return Ok(());
        };
        if let Some(owner) = tag_owner(&component, app) {
            if az.app_insights {
                live.conflicts.push(named_conflict(
                    "app_insights",
                    "Application Insights component",
                    &name,
                    owner,
                    false,
                ));
            }
            return Ok(());
        }
        // ARM ids compare without case.
        let workspace_id = component
            .pointer("/properties/WorkspaceResourceId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let workspace = if workspace_id.eq_ignore_ascii_case(&paths::log_workspace(app, az)) {
            workspace_name
        } else {
            workspace_id.to_string()
        };
        if let Some(cs) = component
            .pointer("/properties/ConnectionString")
            .and_then(Value::as_str)
        {
            let _ = self.insights_cache.set(cs.to_string());
        }
        live.resources.push(
            Resource::new("app_insights", &name)
                .attr("kind", component["kind"].clone())
                .attr("workspace", workspace)
                .attr(
                    "location",
                    normalise_location(component["location"].as_str().unwrap_or_default()),
                )
                .attr("tags", json!(tags_of(&component))),
        );
        Ok(())
    }

    /// fnctl's Event Grid subscriptions on the storage account. Event Grid
    /// hides the query of a webhook URL (it holds the key), so which
    /// function a subscription feeds is read from its name, and only the
    /// base URL is compared with the host's blob webhook.
    async fn read_event_subscriptions(&self, live: &mut Live) -> Result<(), AzureError> {
        let (app, az) = (&self.app, &self.settings);
        let Some(list) = self
            .arm
            .get(&paths::event_subscriptions(app, az), API_EVENTGRID)
            .await?
        else {
            return Ok(());
        };
        let sa_name = names::storage_account(app, az);
        let site_name = names::function_app(app, az);
        let webhook = live.host.as_deref().map(|h| paths::blob_webhook(az, h));
        let by_name: BTreeMap<String, (String, String)> = package::azure_functions(app)
            .into_iter()
            .map(|af| {
                (
                    names::event_subscription(&af.name),
                    (af.name.clone(), af.function.name.clone()),
                )
            })
            .collect();
        for sub in list["value"].as_array().into_iter().flatten() {
            let name = sub["name"].as_str().unwrap_or_default();
            if !name.starts_with("fnctl-") {
                continue;
            }
            let props = &sub["properties"];
            let base = props
                .pointer("/destination/properties/endpointBaseUrl")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .trim_end_matches('/');
            let known = by_name.get(name);
            let destination = match known {
                Some((af, _)) if Some(base) == webhook.as_deref() => {
                    resources::blob_webhook_label(&site_name, af)
                }
                _ => base.to_string(),
            };
            let filter = &props["filter"];
            let mut r = Resource::new("event_subscription", format!("{sa_name}/{name}"))
                .attr("events", filter["includedEventTypes"].clone())
                .attr(
                    "subject_begins_with",
                    filter["subjectBeginsWith"].as_str().unwrap_or_default(),
                )
                .attr(
                    "subject_ends_with",
                    filter["subjectEndsWith"].as_str().unwrap_or_default(),
                )
                .attr("destination", destination);
            if let Some((_, function)) = known {
                r = r.for_function(function);
            }
            live.resources.push(r);
        }
        Ok(())
    }

    /// Classic Consumption: whether WEBSITE_RUN_FROM_PACKAGE points at a
    /// package blob fnctl uploaded to this app's storage account.
    fn runs_own_package(&self, settings: &BTreeMap<String, String>) -> bool {
        let sa = names::storage_account(&self.app, &self.settings);
        let ours = format!(
            "{}/{}/fnctl-",
            super::blob::service_url(&sa, &self.settings),
            names::DEPLOYMENT_CONTAINER
        );
        settings
            .get(super::apply::RUN_FROM_PACKAGE)
            .is_some_and(|url| url.starts_with(&ours))
    }

    /// The live values of the settings fnctl owns, shown the way the plan
    /// shows them: connection strings by account, secrets only as
    /// "(sensitive)" or "(sensitive, changed)".
    pub fn owned_settings_view(
        &self,
        found: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let app = &self.app;
        let az = &self.settings;
        let sa = names::storage_account(app, az);
        let desired = resources::desired_settings(app);
        let desired_keys: Vec<String> = desired.keys().cloned().collect();
        let mut out = BTreeMap::new();
        for (key, want) in desired {
            let Some(have) = found.get(&key) else {
                continue;
            };
            let shown = match want {
                resources::SettingValue::ConnectionString => {
                    if have.contains(&format!("AccountName={sa};")) {
                        format!("(connection string of {sa})")
                    } else {
                        "(connection string of another account)".to_string()
                    }
                }
                resources::SettingValue::PackageUrl => {
                    if self.runs_own_package(found) {
                        "(read-only SAS URL of the package blob)".to_string()
                    } else {
                        "(a URL fnctl did not set)".to_string()
                    }
                }
                resources::SettingValue::InsightsConnection => {
                    if self.insights_cache.get() == Some(have) {
                        resources::INSIGHTS_CONNECTION_SHOWN.to_string()
                    } else {
                        "(a connection string fnctl did not set)".to_string()
                    }
                }
                resources::SettingValue::Secret(real) => {
                    if *have == real {
                        crate::model::REDACTED.to_string()
                    } else {
                        REDACTED_CHANGED.to_string()
                    }
                }
                resources::SettingValue::Plain(_) => have.clone(),
            };
            out.insert(key, shown);
        }
        // Keys fnctl set before and the manifest no longer has: they show
        // as a change, and the next deploy removes them.
        if let Some(before) = found.get(super::apply::OWNED_SETTINGS) {
            for key in before.split(',').filter(|k| !k.is_empty()) {
                if !desired_keys.iter().any(|k| k == key) && found.contains_key(key) {
                    out.insert(key.to_string(), "(removed from the manifest)".into());
                }
            }
        }
        out
    }
}

/// An azure_mgmt_web error as [`AzureError`].
pub fn web_error(operation: &'static str, site: &str, e: azure_core::Error) -> AzureError {
    match e.as_http_error() {
        Some(h) => AzureError::Arm {
            operation,
            resource: site.to_string(),
            status: u16::from(h.status()),
            code: h.error_code().unwrap_or_default().to_string(),
            message: h.error_message().unwrap_or_default().to_string(),
        },
        None => AzureError::Unreachable {
            url: site.to_string(),
            reason: e.to_string().lines().next().unwrap_or_default().to_string(),
        },
    }
}
