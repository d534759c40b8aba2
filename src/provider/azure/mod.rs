//! Azure: one Linux Function App per app+stage, on Flex Consumption by default.
//!
//! Unlike AWS, every function of an app lives in one Function App that has one
//! language worker, so some rules (a single runtime, one memory size) are
//! app-wide here; [`checks`] reports them against the manifest.

pub mod backend;
pub mod checks;
pub mod cloud;
pub mod kinds;
pub mod names;
pub mod package;
pub mod resources;
pub mod schedule;

use crate::manifest::Diagnostic;
use crate::model::{App, ProviderId};
use crate::plan::Resource;
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
        checks::check(app)
    }

    fn desired(&self, app: &App, code: &CodeDigests) -> Vec<Resource> {
        resources::desired(app, code)
    }
}
