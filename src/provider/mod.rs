//! Cloud providers behind one trait.
//!
//! The manifest, model and plan core never name a provider type; each
//! provider turns the neutral [`App`] into its own resources (with
//! deterministic names), adds the rules only that cloud has (name lengths,
//! what its schedule syntax can express), and later reads and mutates the
//! cloud. Adding a provider means implementing [`Provider`] and [`cloud::Cloud`]
//! and listing them in [`for_id`] and [`connect`].

pub mod aws;
pub mod azure;
pub mod cloud;
pub mod http_call;
pub mod interrupt;
pub mod lock;
pub mod naming;
pub mod session;
pub mod urls;

use std::collections::BTreeMap;

use crate::manifest::Diagnostic;
use crate::model::{App, ProviderId};
use crate::package::build::{BuildReport, Built};
use crate::package::PackageError;
use crate::plan::Resource;
use cloud::{Cloud, CloudError, Payload};

/// Content digests of each function's code, computed by the packager
/// without building zips, so an offline plan can still show code identity.
#[derive(Debug, Clone, Default)]
pub struct CodeDigests(pub BTreeMap<String, String>);

impl CodeDigests {
    pub fn get(&self, function: &str) -> &str {
        self.0
            .get(function)
            .map(String::as_str)
            .unwrap_or("(unknown)")
    }
}

/// What every provider implements.
pub trait Provider: Send + Sync {
    fn id(&self) -> ProviderId;

    /// Where the app deploys, for headers: `us-east-1`, `westeurope/rg`.
    fn target(&self, app: &App) -> String;

    /// Rules of this cloud that the neutral model cannot know, located in
    /// the manifest so the user sees them exactly like any other error.
    fn check(&self, app: &App) -> Vec<Diagnostic>;

    /// Like [`Provider::check`], for what deploys but will not behave as
    /// written (a timeout longer than the gateway waits, a setting Azure
    /// applies differently): shown by `validate`, `plan` and `deploy`,
    /// located like errors, never failing the command.
    fn warnings(&self, _app: &App) -> Vec<Diagnostic> {
        Vec::new()
    }

    /// The resources that should exist for `app`, in a valid creation order.
    fn desired(&self, app: &App, code: &CodeDigests) -> Vec<Resource>;

    /// The functions `fnctl package` builds a package for on this cloud,
    /// limited to `only` when it is not empty; `all` when no provider is
    /// configured (every function, in this cloud's layout).
    fn package_count(&self, app: &App, only: &[String], all: bool) -> usize;

    /// Builds this cloud's packages of `app` (see [`Provider::package_count`]).
    fn package(
        &self,
        app: &App,
        only: &[String],
        all: bool,
        report: &BuildReport<'_>,
    ) -> Result<Vec<Built>, PackageError>;

    /// Builds what a deploy publishes, and the code identities its plan
    /// compares: the code of the functions in `only` when it is not empty
    /// (`deploy -f`), as far as this cloud packages functions one by one.
    fn build_code(
        &self,
        app: &App,
        only: &[String],
        report: &BuildReport<'_>,
    ) -> Result<(Payload, CodeDigests), PackageError>;

    /// What a resource of `kind` that belongs to no one function is to
    /// `deploy -f` (see [`crate::plan::scope`]). Unless a cloud says
    /// otherwise, it must exist and is left alone.
    fn shared(&self, kind: &str) -> crate::plan::scope::Shared {
        let _ = kind;
        crate::plan::scope::Shared::Base
    }

    /// The code identities a plan compares, building only what the cloud
    /// needs built to know them.
    fn plan_digests(
        &self,
        app: &App,
        report: &BuildReport<'_>,
    ) -> Result<CodeDigests, PackageError>;
}

/// The plan of `app` on provider `id`: its desired resources against what
/// was read (`live`: resources and conflicts), or against nothing when the
/// cloud was not read (`LiveState::NotRead`, everything new). The one place
/// a `Plan` is put together, for `plan --offline` and for every session.
pub fn plan_for(
    app: &App,
    id: ProviderId,
    digests: &CodeDigests,
    live: crate::plan::LiveState,
    found: Option<(&[Resource], &[crate::plan::Conflict])>,
) -> crate::plan::Plan {
    let p = for_id(id);
    let desired = p.desired(app, digests);
    crate::plan::Plan {
        app: app.name.clone(),
        stage: app.stage.clone(),
        provider: id,
        target: p.target(app),
        live,
        changes: crate::plan::diff(&desired, found.map(|(resources, _)| resources)),
        conflicts: found.map(|(_, c)| c.to_vec()).unwrap_or_default(),
        kept: Vec::new(),
    }
}

/// How one cloud names itself in runtime errors, and which runtimes it runs.
pub struct RuntimeRules {
    /// `AWS Lambda`
    pub service: &'static str,
    /// `Lambda`: "the nearest version Lambda runs".
    pub short: &'static str,
    /// `does not run` (or a qualified form).
    pub not_offered: &'static str,
    /// `AWS`: "use X for AWS".
    pub cloud: &'static str,
    /// The other cloud, for `providers = [...]`: (`Azure`, `azure`).
    pub other: (&'static str, &'static str),
    pub support: fn(crate::model::Runtime) -> crate::model::Support,
}

/// A function's runtime that a cloud does not run, located at the runtime's
/// value: retired (since when, and the nearest version the cloud runs) or
/// not offered (and how to keep the function off that cloud).
pub fn runtime_diagnostic(f: &crate::model::Function, rules: &RuntimeRules) -> Option<Diagnostic> {
    use crate::model::{Runtime, Support};
    let runs = || {
        Runtime::ALL
            .into_iter()
            .filter(|r| (rules.support)(*r) == Support::Runs)
    };
    let nearest = f.runtime.nearest(runs());
    let (message, help) = match (rules.support)(f.runtime) {
        Support::Runs => return None,
        Support::Retired { when } => (
            format!(
                "function `{}` uses runtime `{}`, which {} has retired ({when})",
                f.name, f.runtime, rules.service
            ),
            nearest.map(|n| format!("use `{n}`, the nearest version {} runs", rules.short)),
        ),
        Support::NotOffered => (
            format!(
                "function `{}` uses runtime `{}`, which {} {}",
                f.name, f.runtime, rules.service, rules.not_offered
            ),
            nearest.map(|n| {
                format!(
                    "use `{n}` for {}, or deploy this function only to {} with `providers = [\"{}\"]`",
                    rules.cloud, rules.other.0, rules.other.1
                )
            }),
        ),
    };
    Some(Diagnostic::new(f.runtime_span.clone(), message).with_help_opt(help))
}

/// The layout `fnctl package` uses when the manifest configures no
/// provider: Lambda's, the one the local runtime runs.
pub const LOCAL_LAYOUT: ProviderId = ProviderId::Aws;

/// The provider implementation for an id.
pub fn for_id(id: ProviderId) -> Box<dyn Provider> {
    match id {
        ProviderId::Aws => Box::new(aws::Aws),
        ProviderId::Azure => Box::new(azure::Azure),
    }
}

/// A connection to the provider's cloud for `app`: clients built from the
/// manifest and the credential chain, nothing read yet.
pub async fn connect(app: &App, id: ProviderId) -> Result<Box<dyn Cloud>, CloudError> {
    Ok(match id {
        ProviderId::Aws => Box::new(aws::cloud::AwsCloud::connect(app).await?),
        ProviderId::Azure => Box::new(azure::cloud::AzureCloud::connect(app)?),
    })
}
