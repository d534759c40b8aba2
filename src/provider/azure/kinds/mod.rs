//! One module per Azure resource kind, each with its whole life cycle: the
//! resources an app needs of that kind (desired attributes), how they are
//! read back in the same terms, and how they are created, updated and
//! deleted.
//!
//! The engines in `backend/` (`read.rs`, `apply.rs`) order and run the
//! kinds and never name one: they go through [`KINDS`] and [`handler`].
//! Adding a resource kind is one new module here plus one line in
//! [`KINDS`].

pub mod access;
pub mod common;
pub mod data;
pub mod event_subscription;
pub mod function_app;
pub mod group;
pub mod http_settings;
pub mod insights;
pub mod package;
pub mod service_plan;
pub mod storage;

use serde_json::Value;

use super::backend::apply::PackageUpload;
use super::backend::{AzureBackend, AzureError, Live};
use crate::model::{App, AzureSettings};
use crate::plan::{Change, Plan, Resource, ResourceId};
use crate::provider::CodeDigests;

/// Every resource kind fnctl manages on Azure. The order is the order
/// desired resources are listed in, the order they are read in (a kind may
/// use what an earlier one read: the Function App's settings need the
/// Application Insights connection string) and the order creates and
/// updates are applied in (deletes go in reverse).
pub static KINDS: &[&dyn Kind] = &[
    &group::Group,
    &storage::Storage,
    &data::Data,
    &insights::Insights,
    &service_plan::ServicePlan,
    &function_app::FunctionApp,
    &http_settings::HttpSettings,
    &access::Access,
    &package::Package,
    &event_subscription::EventSubscription,
];

/// The module that handles resources of `kind`.
pub fn handler(kind: &str) -> &'static dyn Kind {
    KINDS
        .iter()
        .copied()
        .find(|k| k.kinds().contains(&kind))
        .unwrap_or_else(|| unreachable!("the Azure provider never plans a `{kind}`"))
}

/// Every kind's plan kinds, in [`KINDS`] order.
pub fn order() -> Vec<&'static str> {
    KINDS.iter().flat_map(|k| k.kinds()).copied().collect()
}

/// What one module does for the resource kinds it handles. Everything but
/// [`Kind::kinds`], [`Kind::desired`], [`Kind::read`] and [`Kind::apply`]
/// has a default.
#[async_trait::async_trait]
pub trait Kind: Sync {
    /// The plan kinds (`ResourceId::kind`) this module handles.
    fn kinds(&self) -> &'static [&'static str];

    /// Adds the resources `app` needs to `out`, in creation order. Offline:
    /// `plan` without credentials runs this and nothing else.
    fn desired(&self, app: &App, az: &AzureSettings, code: &CodeDigests, out: &mut Vec<Resource>);

    /// Adds what exists of these kinds for the app+stage to
    /// `reading.live`, with the attributes [`Kind::desired`] produces.
    /// [`Then::Stop`] when nothing the later kinds read can exist or be
    /// fnctl's, so they are not asked.
    async fn read(&self, backend: &AzureBackend, reading: &mut Reading)
        -> Result<Then, AzureError>;

    /// A change this kind never makes (a resource group fnctl did not
    /// create is never changed, whatever plan comes in): not started, not
    /// reported.
    fn leaves_alone(&self, _change: &Change, _live: &Live) -> bool {
        false
    }

    /// Whether this resource is created or updated after the others of
    /// its kind.
    fn applied_last(&self, _id: &ResourceId) -> bool {
        false
    }

    /// Creates or updates one resource.
    async fn apply(
        &self,
        backend: &AzureBackend,
        change: &Change,
        run: &mut Run<'_>,
    ) -> Result<Outcome, AzureError>;

    /// What `remove` deletes of this kind: the resources whose deletion
    /// takes everything under them along (a Function App its functions and
    /// settings, a storage account its containers), each deleted only when
    /// it carries this app+stage's tags. `remove` runs the kinds in reverse
    /// [`KINDS`] order, so what depends on another goes first.
    fn removed(&self, _app: &App, _az: &AzureSettings) -> Vec<Removed> {
        Vec::new()
    }

    /// Deletes one resource that left the plan. Most kinds leave a plan
    /// only when the app goes, which is `remove`'s work: nothing to do.
    async fn delete(
        &self,
        _backend: &AzureBackend,
        _change: &Change,
        _run: &mut Run<'_>,
    ) -> Result<Outcome, AzureError> {
        Ok(Outcome::Done)
    }
}

/// One resource `remove` deletes whole.
pub struct Removed {
    /// The plan kind, for progress and the report.
    pub kind: &'static str,
    pub name: String,
    /// Its ARM path and the API version to call it with.
    pub path: String,
    pub api: &'static str,
    /// It holds the users' data (a storage account's containers): kept
    /// when they have blobs, unless `--delete-data`.
    pub holds_data: bool,
}

/// What `remove` deletes, in the order it deletes it.
pub fn removed(app: &App, az: &AzureSettings) -> Vec<Removed> {
    KINDS
        .iter()
        .rev()
        .flat_map(|k| k.removed(app, az))
        .collect()
}

/// Whether a read lets the kinds after it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    Continue,
    Stop,
}

/// What the kinds' reads build and pass on to each other.
#[derive(Default)]
pub struct Reading {
    pub live: Live,
    /// The storage account exists and is fnctl's (what lives on it is
    /// read only then).
    pub storage_owned: bool,
    /// The app-data storage account exists and is fnctl's (role
    /// assignments on what lives in it are read only then).
    pub data_owned: bool,
    /// The Function App as ARM reported it, when it is fnctl's.
    pub site: Option<Value>,
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Made (or nothing needed doing): reported as done.
    Done,
    /// Left as it was on purpose (a container, which may hold data, is
    /// never deleted): started, not reported as done.
    Untouched,
}

/// What the changes of one apply share.
pub struct Run<'a> {
    pub plan: &'a Plan,
    pub live: &'a Live,
    /// The package built for this run, taken by the change that deploys it.
    pub upload: Option<PackageUpload>,
    /// The app's scm host: as read, or as the Function App's PUT answered.
    pub scm_host: Option<String>,
    /// Triggers were synced this run (classic Consumption).
    pub synced: bool,
    /// The Function App's `fnctl-http` tag was written this run.
    pub http_marked: bool,
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    fn app(plan: &str) -> App {
        let text = format!(
            r#"
[app]
name = "shop"
runtime = "python3.12"

[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "shop-rg"
location = "westeurope"
plan = "{plan}"

[resources.uploads]
kind = "bucket"
[resources.jobs]
kind = "queue"
[resources.ledger]
kind = "table"
partition_key = "id"

[functions.orders]
handler = "orders.handler"
access = {{ uploads = "read", jobs = "send", ledger = "read-write" }}
[[functions.orders.triggers]]
type = "http"
method = "GET"
path = "/orders/{{id}}"

[functions.invoices]
handler = "invoices.handler"
[[functions.invoices.triggers]]
type = "storage"
bucket = "invoices"
events = ["created"]
create = true
"#
        );
        crate::manifest::test_app(text)
    }

    /// CORS and an Entra-protected route: the Function App's CORS and
    /// authentication settings.
    fn http_app() -> App {
        crate::manifest::test_app(
            r#"
[app]
name = "shop"
runtime = "python3.12"
[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "shop-rg"
location = "westeurope"
[http.cors]
origins = ["https://shop.example.com"]
[functions.orders]
handler = "orders.handler"
triggers = [{ type = "http", method = "GET", path = "/orders", auth = { jwt = { issuer = "https://login.microsoftonline.com/t/v2.0", audience = ["api://shop"] } } }]
"#,
        )
    }

    /// Creates and updates go in this order: each after what it needs.
    #[test]
    fn kinds_are_applied_in_dependency_order() {
        assert_eq!(
            order(),
            [
                "resource_group",
                "storage_account",
                "blob_container",
                "data_account",
                "data_container",
                "data_queue",
                "data_table",
                "log_workspace",
                "app_insights",
                "app_service_plan",
                "function_app",
                "app_settings",
                "site_cors",
                "auth_settings",
                "role_assignment",
                "function_package",
                "function",
                "event_subscription",
            ]
        );
    }

    #[test]
    fn the_deployment_container_is_marked_after_the_other_containers() {
        let containers = handler("blob_container");
        let deployment = format!("sa/{}", crate::provider::azure::names::DEPLOYMENT_CONTAINER);
        assert!(containers.applied_last(&ResourceId::new("blob_container", deployment)));
        assert!(!containers.applied_last(&ResourceId::new("blob_container", "sa/uploads")));
        assert!(!handler("function").applied_last(&ResourceId::new("function", "app/f")));
    }

    #[test]
    fn every_planned_kind_has_exactly_one_module() {
        let handled = order();
        assert_eq!(
            handled.len(),
            handled.iter().collect::<BTreeSet<_>>().len(),
            "a kind is claimed twice: {handled:?}"
        );
        let mut planned = BTreeSet::new();
        for plan in ["flex", "consumption"] {
            let desired = crate::provider::azure::resources::desired(
                &app(plan),
                &CodeDigests(BTreeMap::new()),
            );
            planned.extend(desired.into_iter().map(|r| r.id.kind));
        }
        planned.extend(
            crate::provider::azure::resources::desired(&http_app(), &CodeDigests(BTreeMap::new()))
                .into_iter()
                .map(|r| r.id.kind),
        );
        assert_eq!(planned.len(), 18, "{planned:?}");
        assert_eq!(
            planned,
            handled
                .into_iter()
                .map(str::to_string)
                .collect::<BTreeSet<_>>()
        );
    }
}
