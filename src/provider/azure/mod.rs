//! Azure: one Linux Function App per app+stage, on Flex Consumption by default.
//!
//! Unlike AWS, every function of an app lives in one Function App that has one
//! language worker, so some rules (a single runtime, one memory size) are
//! app-wide here; [`checks`] reports them against the manifest.

pub mod backend;
pub mod build;
pub mod checks;
pub mod cloud;
pub mod http_checks;
pub mod kinds;
pub mod names;
pub mod package;
pub mod resources;
pub mod schedule;

use crate::manifest::Diagnostic;
use crate::model::{App, ProviderId};
use crate::package::build::{code_digests, BuildReport, Built};
use crate::package::PackageError;
use crate::plan::Resource;
use crate::provider::cloud::Payload;
use crate::provider::{CodeDigests, Provider};

/// The Azure provider.
pub struct Azure;

impl Provider for Azure {
    fn id(&self) -> ProviderId {
        ProviderId::Azure
    }

    fn target(&self, app: &App) -> String {
        match &app.azure {
            Some(a) => format!("{}/{}", a.location, a.resource_group),
            None => "not configured".into(),
        }
    }

    fn check(&self, app: &App) -> Vec<Diagnostic> {
        let mut out = checks::check(app);
        out.extend(http_checks::check(app));
        out
    }

    /// Queue settings Azure applies per message, and the poison queue a
    /// queue without `dead_letter` still gets ([`checks::notes`]); CORS
    /// settings a Function App cannot hold ([`http_checks::notes`]).
    fn warnings(&self, app: &App) -> Vec<Diagnostic> {
        let mut out = checks::notes(app);
        out.extend(http_checks::notes(app));
        out
    }

    fn desired(&self, app: &App, code: &CodeDigests) -> Vec<Resource> {
        resources::desired(app, code)
    }

    /// One package holds every function of the Function App: it is built
    /// when any of the functions asked for runs on Azure.
    fn package_count(&self, app: &App, only: &[String], _all: bool) -> usize {
        usize::from(
            app.azure.is_some()
                && app
                    .functions_for(ProviderId::Azure)
                    .any(|f| only.is_empty() || only.contains(&f.name)),
        )
    }

    fn package(
        &self,
        app: &App,
        only: &[String],
        all: bool,
        report: &BuildReport<'_>,
    ) -> Result<Vec<Built>, PackageError> {
        if self.package_count(app, only, all) == 0 {
            return Ok(Vec::new());
        }
        (report.started)("azure/app");
        let built = build::build_app(app, report)?;
        (report.finished)();
        Ok(vec![built])
    }

    /// The package's identity is the digest of its sources, recorded in a
    /// tag on the Function App (Azure reports no digest of its own).
    /// The Function App runs one package: it is built whole whatever
    /// `_only` asks for.
    fn build_code(
        &self,
        app: &App,
        _only: &[String],
        report: &BuildReport<'_>,
    ) -> Result<(Payload, CodeDigests), PackageError> {
        let digests = code_digests(app)?;
        let built = build::build_app(app, report)?;
        Ok((Payload::Azure(built.path), digests))
    }

    fn plan_digests(
        &self,
        app: &App,
        _report: &BuildReport<'_>,
    ) -> Result<CodeDigests, PackageError> {
        code_digests(app)
    }

    /// The package holds every function's code: `deploy -f` deploys it
    /// whole. The Function App's CORS and authentication are app-wide and
    /// applied before the package (`kinds::KINDS` order): they go with any
    /// function, so `deploy -f` never publishes a JWT route that App
    /// Service Authentication does not protect yet.
    fn shared(&self, kind: &str) -> crate::plan::scope::Shared {
        match kind {
            "function_package" | "site_cors" | "auth_settings" => {
                crate::plan::scope::Shared::AllCode
            }
            _ => crate::plan::scope::Shared::Base,
        }
    }
}
