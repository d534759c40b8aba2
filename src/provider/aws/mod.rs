//! AWS: Lambda behind API Gateway (REST), S3 notifications and EventBridge.
//!
//! This module holds what AWS needs that the neutral model cannot know:
//! names ([`names`]), the resources an app maps to ([`resources`]), AWS's own
//! limits and rules ([`checks`]) and schedule syntax ([`schedule`]).

pub mod checks;
pub mod cloud;
pub mod kinds;
pub mod names;
pub mod resources;
pub mod schedule;

use crate::manifest::Diagnostic;
use crate::model::{App, ProviderId};
use crate::plan::Resource;
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
        checks::check(app)
    }

    fn desired(&self, app: &App, code: &CodeDigests) -> Vec<Resource> {
        resources::desired(app, code)
    }
}
pub mod backend;
