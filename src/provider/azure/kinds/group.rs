//! `resource_group`: the group the app is deployed into.
//!
//! fnctl creates it when it is missing and tags it. One fnctl did not
//! create (no tags, or another app's or stage's) is the user's: fnctl
//! deploys into it and never tags, changes or deletes it, so it has nothing
//! to plan — it reads as wanted, wherever it is (every resource fnctl
//! creates names its own location).

use serde_json::json;

use super::common::{location_of, owned_by};
use super::{Kind, Outcome, Reading, Run, Then};
use crate::model::{App, AzureSettings};
use crate::plan::{Action, Change, Resource, ResourceId};
use crate::provider::azure::backend::{paths, AzureBackend, AzureError, Live, API_RESOURCES};
use crate::provider::azure::resources::tags;
use crate::provider::CodeDigests;

pub struct Group;

/// The plan id of the app's resource group.
pub fn id(az: &AzureSettings) -> ResourceId {
    ResourceId::new("resource_group", &az.resource_group)
}

#[async_trait::async_trait]
impl Kind for Group {
    fn kinds(&self) -> &'static [&'static str] {
        &["resource_group"]
    }

    fn desired(&self, _app: &App, az: &AzureSettings, _: &CodeDigests, out: &mut Vec<Resource>) {
        out.push(
            Resource::new("resource_group", &az.resource_group)
                .attr("location", az.location.clone()),
        );
    }

    /// Without the group nothing else of the app can exist.
    async fn read(&self, b: &AzureBackend, reading: &mut Reading) -> Result<Then, AzureError> {
        let az = &b.settings;
        let live = &mut reading.live;
        let Some(rg) = b.arm.get(&paths::resource_group(az), API_RESOURCES).await? else {
            return Ok(Then::Stop);
        };
        live.resource_group_owned = owned_by(&rg, &b.app);
        // The manifest's location, normalised the same way, is what desired
        // holds; compare like with like.
        let location = if live.resource_group_owned {
            location_of(&rg)
        } else {
            az.location.clone()
        };
        live.resources
            .push(Resource::new("resource_group", &az.resource_group).attr("location", location));
        Ok(Then::Continue)
    }

    fn leaves_alone(&self, change: &Change, live: &Live) -> bool {
        change.action != Action::Create && !live.resource_group_owned
    }

    async fn apply(
        &self,
        b: &AzureBackend,
        _: &Change,
        _: &mut Run<'_>,
    ) -> Result<Outcome, AzureError> {
        b.put_resource_group().await?;
        Ok(Outcome::Done)
    }
}

impl AzureBackend {
    /// Creates (or updates) the resource group fnctl owns.
    pub(crate) async fn put_resource_group(&self) -> Result<(), AzureError> {
        let az = &self.settings;
        self.arm
            .put(
                &paths::resource_group(az),
                API_RESOURCES,
                &json!({"location": az.location, "tags": tags(&self.app)}),
            )
            .await?;
        Ok(())
    }
}
