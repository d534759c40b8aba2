//! `log_workspace` and `app_insights`: the Log Analytics workspace and the
//! workspace-based Application Insights component (classic components were
//! retired in 2024) whose connection string the app settings carry, so the
//! Functions host sends its telemetry there (`logs` reads it back).
//!
//! Both are read whether or not the manifest wants them, so turning
//! `app_insights` off deletes them — the component first, once the
//! settings no longer name it, then its workspace.

use serde_json::{json, Value};

use super::common::{get_owned, location_of, tags_of, Named};
use super::{group, Kind, Outcome, Reading, Run, Then};
use crate::model::{App, AzureSettings};
use crate::plan::{Change, Resource, ResourceId};
use crate::provider::azure::backend::{
    paths, AzureBackend, AzureError, API_INSIGHTS, API_LOG_WORKSPACES,
};
use crate::provider::azure::names;
use crate::provider::azure::resources::tags;
use crate::provider::CodeDigests;

/// Log Analytics' pay-as-you-go tier (per GB ingested; the first 5 GB a
/// month per billing account are free).
pub const LOG_WORKSPACE_SKU: &str = "PerGB2018";
/// Days logs are kept (30 is included in the ingestion price).
pub const LOG_RETENTION_DAYS: u32 = 30;
/// How plans show the component's connection string in the app settings.
pub const CONNECTION_SHOWN: &str = "(connection string of the app's Application Insights)";

pub struct Insights;

/// The plan id of the Application Insights component.
pub fn component_id(app: &App) -> ResourceId {
    ResourceId::new("app_insights", names::app_insights(app))
}

#[async_trait::async_trait]
impl Kind for Insights {
    /// The component before the workspace it sends its telemetry to.
    fn removed(&self, app: &App, az: &AzureSettings) -> Vec<super::Removed> {
        vec![
            super::Removed {
                kind: "app_insights",
                name: names::app_insights(app),
                path: paths::app_insights(app, az),
                api: API_INSIGHTS,
                holds_data: false,
            },
            super::Removed {
                kind: "log_workspace",
                name: names::log_workspace(app),
                path: paths::log_workspace(app, az),
                api: API_LOG_WORKSPACES,
                holds_data: false,
            },
        ]
    }

    fn kinds(&self) -> &'static [&'static str] {
        &["log_workspace", "app_insights"]
    }

    fn desired(&self, app: &App, az: &AzureSettings, _: &CodeDigests, out: &mut Vec<Resource>) {
        if !az.app_insights {
            return;
        }
        let workspace = Resource::new("log_workspace", names::log_workspace(app))
            .attr("sku", LOG_WORKSPACE_SKU)
            .attr("retention_days", LOG_RETENTION_DAYS)
            .attr("location", az.location.clone())
            .attr("tags", tags(app))
            .depends_on(&group::id(az));
        let component = Resource::new("app_insights", names::app_insights(app))
            .attr("kind", "web")
            .attr("workspace", names::log_workspace(app))
            .attr("location", az.location.clone())
            .attr("tags", tags(app))
            .depends_on(&workspace.id);
        out.push(workspace);
        out.push(component);
    }

    /// Ones with fnctl's names that are not fnctl's are conflicts when the
    /// app needs them, and none of fnctl's business when it does not.
    async fn read(&self, b: &AzureBackend, reading: &mut Reading) -> Result<Then, AzureError> {
        let (app, az) = (&b.app, &b.settings);
        let live = &mut reading.live;
        let workspace_name = names::log_workspace(app);
        let workspace = Named {
            kind: "log_workspace",
            words: "Log Analytics workspace",
            name: &workspace_name,
            scoped: false,
        };
        let path = paths::log_workspace(app, az);
        let wants = az.app_insights;
        if let Some(ws) = get_owned(b, &path, API_LOG_WORKSPACES, workspace, wants, live).await? {
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
                    .attr("location", location_of(&ws))
                    .attr("tags", json!(tags_of(&ws))),
            );
        }
        let name = names::app_insights(app);
        let named = Named {
            kind: "app_insights",
            words: "Application Insights component",
            name: &name,
            scoped: false,
        };
        let path = paths::app_insights(app, az);
        let Some(component) = get_owned(b, &path, API_INSIGHTS, named, wants, live).await? else {
            return Ok(Then::Continue);
        };
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
        b.remember_insights_connection(&component);
        live.resources.push(
            Resource::new("app_insights", &name)
                .attr("kind", component["kind"].clone())
                .attr("workspace", workspace)
                .attr("location", location_of(&component))
                .attr("tags", json!(tags_of(&component))),
        );
        Ok(Then::Continue)
    }

    async fn apply(
        &self,
        b: &AzureBackend,
        change: &Change,
        _: &mut Run<'_>,
    ) -> Result<Outcome, AzureError> {
        match change.id.kind.as_str() {
            "log_workspace" => b.put_log_workspace().await?,
            _ => b.put_app_insights().await?,
        }
        Ok(Outcome::Done)
    }

    /// `app_insights = false`: the settings no longer name the component.
    async fn delete(
        &self,
        b: &AzureBackend,
        change: &Change,
        _: &mut Run<'_>,
    ) -> Result<Outcome, AzureError> {
        let (app, az) = (&b.app, &b.settings);
        match change.id.kind.as_str() {
            "log_workspace" => {
                b.arm
                    .delete(&paths::log_workspace(app, az), API_LOG_WORKSPACES)
                    .await?
            }
            _ => {
                b.arm
                    .delete(&paths::app_insights(app, az), API_INSIGHTS)
                    .await?
            }
        }
        Ok(Outcome::Done)
    }
}

impl AzureBackend {
    /// The Log Analytics workspace Application Insights stores into.
    async fn put_log_workspace(&self) -> Result<(), AzureError> {
        let az = &self.settings;
        self.arm
            .put(
                &paths::log_workspace(&self.app, az),
                API_LOG_WORKSPACES,
                &json!({
                    "location": az.location,
                    "tags": tags(&self.app),
                    "properties": {
                        "sku": {"name": LOG_WORKSPACE_SKU},
                        "retentionInDays": LOG_RETENTION_DAYS,
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
                    "tags": tags(&self.app),
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
        self.remember_insights_connection(&component);
        Ok(())
    }

    /// Keeps the connection string a component reports for the rest of
    /// the run (the settings need it; a read already has it).
    fn remember_insights_connection(&self, component: &Value) {
        if let Some(cs) = component
            .pointer("/properties/ConnectionString")
            .and_then(Value::as_str)
        {
            let _ = self.insights_cache.set(cs.to_string());
        }
    }

    /// The component's connection string, as this run last saw it.
    pub(crate) fn known_insights_connection(&self) -> Option<&String> {
        self.insights_cache.get()
    }

    /// The component's connection string (a GET unless known this run).
    pub(crate) async fn insights_connection(&self) -> Result<String, AzureError> {
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
}
