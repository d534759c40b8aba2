//! One module per AWS resource kind, each with its whole life cycle: the
//! resources an app needs of that kind (desired attributes), how they are
//! read back in the same terms, and how they are created, updated and
//! deleted.
//!
//! The apply engine (`backend/apply.rs`) orders and runs changes and never
//! names a kind: it finds the module that handles a change's kind in
//! [`KINDS`] and calls it through [`Kind`]. Adding a resource kind is one new
//! module here plus one line in [`KINDS`].

pub mod api;
pub mod bucket;
pub mod common;
pub mod event_source;
pub mod function;
pub mod http_api;
pub mod permission;
pub mod queue;
pub mod role;
pub mod rule;
pub mod table;

use std::collections::BTreeMap;

use tokio::sync::Mutex;

use super::backend::apply::{Applied, Progress};
use super::backend::{AwsBackend, AwsError, Live, LiveIds};
use crate::model::App;
use crate::package::Artifact;
use crate::plan::{Attrs, Change, Kept, Resource, ResourceId};
use crate::provider::CodeDigests;

/// Every resource kind fnctl manages on AWS. The order is the order desired
/// resources are listed in (which the plan keeps among independent
/// resources) and the order reads are merged in.
pub static KINDS: &[&dyn Kind] = &[
    &role::Role,
    &function::Function,
    &permission::Permission,
    &api::Api,
    &http_api::HttpApi,
    &bucket::Bucket,
    &rule::Rule,
    &queue::Queue,
    &table::Table,
    &event_source::EventSource,
];

/// The module that handles resources of `kind`.
pub fn handler(kind: &str) -> &'static dyn Kind {
    KINDS
        .iter()
        .copied()
        .find(|k| k.kinds().contains(&kind))
        .unwrap_or_else(|| unreachable!("the AWS provider never plans a `{kind}`"))
}

/// What one module does for the resource kinds it handles. Everything but
/// [`Kind::kinds`], [`Kind::desired`], [`Kind::read`], [`Kind::apply`] and
/// [`Kind::delete`] has a default that does nothing.
#[async_trait::async_trait]
pub trait Kind: Sync {
    /// The plan kinds (`ResourceId::kind`) this module handles.
    fn kinds(&self) -> &'static [&'static str];

    /// Adds the resources `app` needs to `out`, in creation order. Offline:
    /// `plan` without credentials runs this and nothing else.
    fn desired(&self, app: &App, code: &CodeDigests, out: &mut Vec<Resource>);

    /// Reads what exists of these kinds for the app+stage, with the
    /// attributes [`Kind::desired`] produces (plus ids apply needs).
    async fn read(&self, backend: &AwsBackend) -> Result<Live, AwsError>;

    /// Fails before any change when the planned state cannot work.
    fn preflight(&self, _backend: &AwsBackend, _live: &Live) -> Result<(), AwsError> {
        Ok(())
    }

    /// Creates or updates one resource ([`Step::after`]: its desired
    /// attributes).
    async fn apply(&self, step: &Step<'_>) -> Result<(), AwsError>;

    /// Deletes one resource ([`Step::before`]: its live attributes); a
    /// resource already gone counts as deleted.
    async fn delete(&self, step: &Step<'_>) -> Result<(), AwsError>;

    /// The resource whose deletion takes this one with it (an API's
    /// methods, a function's alias): when both go, this one is not deleted
    /// on its own.
    fn deleted_with(&self, _app: &App, _id: &ResourceId) -> Option<ResourceId> {
        None
    }

    /// Once after every delete of a deploy, with those of this module's
    /// kinds that were deleted on their own (not with a parent): for what
    /// must follow deletions as a whole, such as a REST API stage, which
    /// is a snapshot and serves deleted methods until it is deployed again.
    async fn after_deletes(
        &self,
        _backend: &AwsBackend,
        _deleted: &[&Change],
        _shared: &Shared,
    ) -> Result<(), AwsError> {
        Ok(())
    }

    /// Before `remove`: the data a resource holds. `Some` keeps the
    /// resource (and says why); with `delete_data` the data is deleted
    /// instead and the resource goes with the rest.
    async fn keep_on_remove(
        &self,
        _backend: &AwsBackend,
        _resource: &Resource,
        _delete_data: bool,
        _progress: &Progress,
    ) -> Result<Option<Kept>, AwsError> {
        Ok(None)
    }

    /// After `remove`: deletes what the kind leaves outside its resources
    /// (packages staged for upload), reported as removed.
    async fn remove_leftovers(
        &self,
        _backend: &AwsBackend,
        _found: &Live,
    ) -> Result<Vec<Applied>, AwsError> {
        Ok(Vec::new())
    }
}

/// One change of a plan as its kind's module gets it.
#[derive(Clone, Copy)]
pub struct Step<'a> {
    pub backend: &'a AwsBackend,
    pub change: &'a Change,
    pub shared: &'a Shared,
}

impl Step<'_> {
    /// The desired attributes of a create or update.
    pub fn after(&self) -> &Attrs {
        self.change
            .after
            .as_ref()
            .expect("creates and updates carry attributes")
    }

    /// The live attributes of a delete.
    pub fn before(&self) -> &Attrs {
        self.change
            .before
            .as_ref()
            .expect("deletes carry the live attributes")
    }
}

/// What the changes of one apply share: cloud ids learnt on the way (a new
/// role's ARN, a new API's id and resource ids), the packages built for
/// this run, by manifest function name, and the versions functions created
/// by this run published as they were created.
pub struct Shared {
    pub ids: Mutex<LiveIds>,
    pub artifacts: BTreeMap<String, Artifact>,
    /// Version number by Lambda function name: a function created with
    /// `Publish` already has the version its new alias points at, so the
    /// alias needs no PublishVersion of its own (one call less per
    /// function on a cold deploy, on its critical path).
    pub published: Mutex<BTreeMap<String, String>>,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn app() -> App {
        crate::manifest::test_app(APP)
    }

    const APP: &str = r#"
[app]
name = "shop"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"

[http.cors]
origins = ["https://shop.example"]

[functions.orders]
handler = "orders.handler"
[[functions.orders.triggers]]
type = "http"
method = "GET"
path = "/orders/{id}"
auth = "key"

[functions.invoices]
handler = "invoices.handler"
[[functions.invoices.triggers]]
type = "storage"
bucket = "shop-dev-invoices"
events = ["created"]
create = true

[functions.digest]
handler = "digest.handler"
[[functions.digest.triggers]]
type = "schedule"
schedule = "0 7 * * MON"

[functions.worker]
handler = "worker.handler"
[[functions.worker.triggers]]
type = "queue"
queue = "jobs"

[resources.jobs]
kind = "queue"
dead_letter = { after = 3 }

[resources.orders]
kind = "table"
partition_key = "id"
"#;

    #[test]
    fn every_planned_kind_has_exactly_one_module() {
        let desired =
            crate::provider::aws::resources::desired(&app(), &CodeDigests(BTreeMap::new()));
        let mut planned: BTreeSet<&str> = desired.iter().map(|r| r.id.kind.as_str()).collect();
        assert_eq!(planned.len(), 17, "{planned:?}");
        // The same app behind an HTTP API (JWT instead of the key it lacks).
        let http_api = crate::manifest::test_app(
            APP.replace(
                "auth = \"key\"",
                "auth = { jwt = { issuer = \"https://issuer.example\", audience = [\"shop\"] } }",
            )
            .replace(
                "region = \"us-east-1\"",
                "region = \"us-east-1\"\nhttp = \"http-api\"",
            ),
        );
        let desired_http =
            crate::provider::aws::resources::desired(&http_api, &CodeDigests(BTreeMap::new()));
        planned.extend(desired_http.iter().map(|r| r.id.kind.as_str()));
        let handled: Vec<&str> = KINDS.iter().flat_map(|k| k.kinds()).copied().collect();
        assert_eq!(
            handled.len(),
            handled.iter().collect::<BTreeSet<_>>().len(),
            "a kind is claimed twice: {handled:?}"
        );
        assert_eq!(planned, handled.into_iter().collect::<BTreeSet<_>>());
    }

    #[test]
    fn a_deleted_parent_takes_its_children_with_it() {
        let app = app();
        let parent =
            |kind: &str, name: &str| handler(kind).deleted_with(&app, &ResourceId::new(kind, name));
        let api = Some(ResourceId::new("rest_api", "shop-dev"));
        assert_eq!(parent("api_method", "GET shop-dev/orders/{id}"), api);
        assert_eq!(parent("api_resource", "shop-dev/orders"), api);
        assert_eq!(parent("api_deployment", "shop-dev/dev"), api);
        let http_api = Some(ResourceId::new("http_api", "shop-dev"));
        assert_eq!(
            parent("http_api_route", "GET shop-dev/orders/{id}"),
            http_api
        );
        assert_eq!(parent("http_api_stage", "shop-dev/dev"), http_api);
        assert_eq!(parent("http_api", "shop-dev"), None);
        let function = Some(ResourceId::new("lambda_function", "shop-dev-orders"));
        assert_eq!(parent("lambda_alias", "shop-dev-orders:dev"), function);
        assert_eq!(
            parent("lambda_permission", "shop-dev-orders:dev/fnctl-apigateway"),
            function
        );
        for (kind, name) in [
            ("lambda_function", "shop-dev-orders"),
            ("rest_api", "shop-dev"),
            ("api_key", "shop-dev-key"),
            ("usage_plan", "shop-dev-usage"),
            ("s3_notification", "shop-dev-invoices"),
        ] {
            assert_eq!(parent(kind, name), None, "{kind}");
        }
    }
}
