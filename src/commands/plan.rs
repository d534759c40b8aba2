//! `fnctl plan`: what a deploy would do, per provider.
//!
//! With credentials, the plan is an exact diff against what the cloud
//! reports. Without them (or with `--offline`, or for a provider whose
//! backend cannot read yet) the live state is unknown: everything is shown as
//! a create, and the header says why. Planning never mutates the cloud.

use super::live;
use super::{CommandError, Context, ExitStatus};
use crate::model::{App, ProviderId};
use crate::plan::{self, render, LiveState, Plan};
use crate::project;
use crate::provider::{self, CodeDigests};

pub fn run(cx: &Context, offline: bool) -> Result<ExitStatus, CommandError> {
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
    let app = &project.app;
    let mut plans = Vec::new();
    for p in &project.providers {
        let plan = match p {
            ProviderId::Aws if !offline => aws_plan(cx, app)?,
            ProviderId::Aws => offline_plan(
                app,
                *p,
                &project::code_digests(app)?,
                "--offline was given".into(),
            ),
            ProviderId::Azure if !offline => azure_plan(cx, app)?,
            ProviderId::Azure => offline_plan(
                app,
                *p,
                &project::code_digests(app)?,
                "--offline was given".into(),
            ),
        };
        plans.push(plan);
    }
    if cx.printer.is_json() {
        cx.printer.json(&render::json(&plans));
    } else {
        let text: Vec<String> = plans.iter().map(render::human).collect();
        cx.printer.data(&text.join("\n"));
    }
    Ok(ExitStatus::Success)
}

/// Reads AWS and plans against it; without usable credentials or network,
/// falls back to the offline plan and says why.
fn aws_plan(cx: &Context, app: &App) -> Result<Plan, CommandError> {
    let artifacts = live::build_packages(cx, app, ProviderId::Aws)?;
    let digests = live::aws_digests(&artifacts);
    let rt = live::runtime()?;
    let read = rt.block_on(async {
        let backend = live::connect_aws(app).await?;
        backend.read().await.map_err(CommandError::from)
    });
    match read {
        Ok(found) => Ok(live::live_plan(
            app,
            ProviderId::Aws,
            &digests,
            &found.resources,
        )),
        Err(CommandError::Aws(e)) if e.is_unreachable() => {
            cx.printer.warn(&format!(
                "could not read AWS ({e}); showing an offline plan"
            ));
            Ok(offline_plan(
                app,
                ProviderId::Aws,
                &digests,
                format!("AWS could not be read: {e}"),
            ))
        }
        Err(e) => Err(e),
    }
}

/// Reads Azure and plans against it, falling back to offline like AWS.
fn azure_plan(cx: &Context, app: &App) -> Result<Plan, CommandError> {
    let digests = project::code_digests(app)?;
    let rt = live::runtime()?;
    let read = rt.block_on(async {
        let backend = crate::provider::azure::backend::AzureBackend::connect(app)?;
        backend.read().await
    });
    match read {
        Ok(found) => Ok(live::live_plan(
            app,
            ProviderId::Azure,
            &digests,
            &found.resources,
        )),
        Err(e) if e.is_unreachable() => {
            cx.printer.warn(&format!(
                "could not read Azure ({e}); showing an offline plan"
            ));
            Ok(offline_plan(
                app,
                ProviderId::Azure,
                &digests,
                format!("Azure could not be read: {e}"),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// The plan against an unknown live state.
pub fn offline_plan(app: &App, id: ProviderId, digests: &CodeDigests, reason: String) -> Plan {
    let p = provider::for_id(id);
    let desired = p.desired(app, digests);
    Plan {
        app: app.name.clone(),
        stage: app.stage.clone(),
        provider: id,
        target: p.target(app),
        live: LiveState::NotRead { reason },
        changes: plan::diff(&desired, None),
        conflicts: Vec::new(),
    }
}
