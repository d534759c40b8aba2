//! `fnctl plan`: what a deploy would do, per provider.
//!
//! Until a provider backend can read the cloud, the plan is computed against
//! an unknown live state: everything is shown as a create, and the header
//! says so. The backends replace `None` below with what they read.

use super::{CommandError, Context, ExitStatus};
use crate::model::App;
use crate::plan::{self, render, LiveState, Plan};
use crate::project;
use crate::provider::{self, CodeDigests};

pub fn run(cx: &Context) -> Result<ExitStatus, CommandError> {
    let project = project::load(cx)?;
    if project.providers.is_empty() {
        return Err(CommandError::usage(
            format!(
                "{} configures no provider, so there is nothing to plan",
                project.source.name()
            ),
            Some("add `[providers.aws]` or `[providers.azure]`".to_string()),
        ));
    }
    let digests = project::code_digests(&project.app)?;
    let plans: Vec<Plan> = project
        .providers
        .iter()
        .map(|p| offline_plan(&project.app, *p, &digests))
        .collect();
    if cx.printer.is_json() {
        cx.printer.json(&render::json(&plans));
    } else {
        let text: Vec<String> = plans.iter().map(render::human).collect();
        cx.printer.data(&text.join("\n"));
    }
    Ok(ExitStatus::Success)
}

/// The plan against an unknown live state.
pub fn offline_plan(app: &App, id: crate::model::ProviderId, digests: &CodeDigests) -> Plan {
    let p = provider::for_id(id);
    let desired = p.desired(app, digests);
    Plan {
        app: app.name.clone(),
        stage: app.stage.clone(),
        provider: id,
        target: p.target(app),
        live: LiveState::NotRead {
            reason: format!(
                "the {id} backend does not read live state yet, so every resource is shown as new"
            ),
        },
        changes: plan::diff(&desired, None),
    }
}
