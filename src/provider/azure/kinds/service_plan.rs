//! `app_service_plan`: the hosting plan the Function App runs on — Flex
//! Consumption (FC1) or classic Linux Consumption (Y1).

use serde_json::{json, Value};

use super::common::{get_owned, tags_of, Named};
use super::{group, Kind, Outcome, Reading, Run, Then};
use crate::model::{App, AzurePlan, AzureSettings};
use crate::plan::{Change, Resource, ResourceId};
use crate::provider::azure::backend::{paths, AzureBackend, AzureError, API_WEB};
use crate::provider::azure::names;
use crate::provider::azure::resources::tags;
use crate::provider::CodeDigests;

pub struct ServicePlan;

/// The App Service plan SKU (name, tier) for a hosting plan.
pub fn sku(plan: AzurePlan) -> (&'static str, &'static str) {
    match plan {
        AzurePlan::Flex => ("FC1", "FlexConsumption"),
        AzurePlan::Consumption => ("Y1", "Dynamic"),
    }
}

/// The plan id of the app's App Service plan.
pub fn id(app: &App) -> ResourceId {
    ResourceId::new("app_service_plan", names::plan(app))
}

#[async_trait::async_trait]
impl Kind for ServicePlan {
    fn removed(&self, app: &App, az: &AzureSettings) -> Vec<super::Removed> {
        vec![super::Removed {
            kind: "app_service_plan",
            name: names::plan(app),
            path: paths::plan(app, az),
            api: API_WEB,
            holds_data: false,
        }]
    }

    fn kinds(&self) -> &'static [&'static str] {
        &["app_service_plan"]
    }

    fn desired(&self, app: &App, az: &AzureSettings, _: &CodeDigests, out: &mut Vec<Resource>) {
        let (sku, tier) = sku(az.plan);
        out.push(
            Resource::new("app_service_plan", names::plan(app))
                .attr("sku", sku)
                .attr("tier", tier)
                .attr("linux", true)
                .attr("tags", tags(app))
                .depends_on(&group::id(az)),
        );
    }

    async fn read(&self, b: &AzureBackend, reading: &mut Reading) -> Result<Then, AzureError> {
        let (app, az) = (&b.app, &b.settings);
        let named = Named {
            kind: "app_service_plan",
            words: "App Service plan",
            name: &names::plan(app),
            scoped: false,
        };
        let live = &mut reading.live;
        let Some(plan) = get_owned(b, &paths::plan(app, az), API_WEB, named, true, live).await?
        else {
            return Ok(Then::Continue);
        };
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
        Ok(Then::Continue)
    }

    async fn apply(
        &self,
        b: &AzureBackend,
        _: &Change,
        _: &mut Run<'_>,
    ) -> Result<Outcome, AzureError> {
        let az = &b.settings;
        let (sku, tier) = sku(az.plan);
        b.arm
            .put(
                &paths::plan(&b.app, az),
                API_WEB,
                &json!({
                    "location": az.location,
                    "kind": "functionapp",
                    "sku": {"name": sku, "tier": tier},
                    "properties": {"reserved": true},
                    "tags": tags(&b.app),
                }),
            )
            .await?;
        Ok(Outcome::Done)
    }
}
