//! AWS: Lambda behind API Gateway (REST), S3 notifications and EventBridge.
//!
//! This module holds what AWS needs that the neutral model cannot know:
//! names ([`names`]), the resources an app maps to ([`resources`]), AWS's own
//! limits and rules ([`checks`]) and schedule syntax ([`schedule`]).

pub mod checks;
pub mod cloud;
pub mod http_checks;
pub mod kinds;
pub mod names;
pub mod resources;
pub mod schedule;

use crate::manifest::Diagnostic;
use crate::model::{App, ProviderId};
use crate::plan::Resource;
use std::collections::BTreeMap;

use crate::package::build::{build_function, BuildReport, Built, FunctionLayout};
use crate::package::{Artifact, Limits, PackageError};
use crate::provider::cloud::Payload;
use crate::provider::{CodeDigests, Provider};

/// The AWS provider.
pub struct Aws;

impl Provider for Aws {
    fn id(&self) -> ProviderId {
        ProviderId::Aws
    }

    fn target(&self, app: &App) -> String {
        app.aws
            .as_ref()
            .and_then(|a| a.region.clone())
            .unwrap_or_else(|| "region from AWS_REGION or the profile".into())
    }

    fn check(&self, app: &App) -> Vec<Diagnostic> {
        let mut out = checks::check(app);
        out.extend(http_checks::check(app));
        out
    }

    fn warnings(&self, app: &App) -> Vec<Diagnostic> {
        http_checks::warnings(app)
    }

    fn desired(&self, app: &App, code: &CodeDigests) -> Vec<Resource> {
        resources::desired(app, code)
    }

    fn package_count(&self, app: &App, only: &[String], all: bool) -> usize {
        packaged(app, only, all).count()
    }

    fn package(
        &self,
        app: &App,
        only: &[String],
        all: bool,
        report: &BuildReport<'_>,
    ) -> Result<Vec<Built>, PackageError> {
        packaged(app, only, all)
            .map(|f| {
                (report.started)(&format!("aws/{}", f.name));
                let built = build_function(app, &LAYOUT, f, report)?;
                (report.finished)();
                Ok(built)
            })
            .collect()
    }

    fn build_code(
        &self,
        app: &App,
        only: &[String],
        report: &BuildReport<'_>,
    ) -> Result<(Payload, CodeDigests), PackageError> {
        let artifacts: BTreeMap<String, Artifact> = self
            .package(app, only, false, report)?
            .into_iter()
            .map(|b| (b.function, b.artifact))
            .collect();
        let digests = digests(&artifacts);
        Ok((Payload::Aws(artifacts), digests))
    }

    /// Lambda reports the sha256 of the zip it runs, so a plan needs the
    /// zips built to compare code.
    fn plan_digests(
        &self,
        app: &App,
        report: &BuildReport<'_>,
    ) -> Result<CodeDigests, PackageError> {
        self.build_code(app, &[], report).map(|(_, d)| d)
    }

    /// An API path a new route needs (with its CORS preflight, the one
    /// method no function owns), the stage that serves the routes, a JWT
    /// authorizer a new route names and a bucket's notifications go with
    /// the functions they serve; the role, the APIs, buckets, the API key
    /// and usage plan must exist.
    fn shared(&self, kind: &str) -> crate::plan::scope::Shared {
        match kind {
            "api_resource"
            | "api_method"
            | "api_deployment"
            | "http_api_authorizer"
            | "s3_notification" => crate::plan::scope::Shared::Linked,
            _ => crate::plan::scope::Shared::Base,
        }
    }
}

/// One zip per function; vendored Python packages at the zip's root, where
/// Lambda's Python runtime looks.
const LAYOUT: FunctionLayout = FunctionLayout {
    provider: ProviderId::Aws,
    python_packages: "",
    unzipped_limit: Some(Limits {
        provider: "AWS Lambda",
        max_unzipped: crate::package::AWS_UNZIPPED_MAX,
    }),
    upload_mode: Some(|a: &Artifact| if a.needs_s3_upload() { "s3" } else { "direct" }),
};

fn packaged<'a>(
    app: &'a App,
    only: &'a [String],
    all: bool,
) -> impl Iterator<Item = &'a crate::model::Function> {
    app.functions
        .values()
        .filter(move |f| all || f.providers.contains(&ProviderId::Aws))
        .filter(move |f| only.is_empty() || only.contains(&f.name))
}

/// Code identities as AWS reports them (base64 sha256 of the zip).
fn digests(artifacts: &BTreeMap<String, Artifact>) -> CodeDigests {
    CodeDigests(
        artifacts
            .iter()
            .map(|(k, a)| (k.clone(), a.sha256_base64.clone()))
            .collect(),
    )
}
pub mod backend;
