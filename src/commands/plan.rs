//! `fnctl plan`: what a deploy would do, per provider.
//!
//! The plan is an exact diff against what the cloud reports. A cloud that
//! cannot be read is an error, never an "everything is new" plan that a CI
//! gate would wave through; `--offline` asks for that plan explicitly.
//! Planning never mutates the cloud.

use super::live;
use super::{CommandError, Context, ExitStatus};
use crate::model::{App, ProviderId};
use crate::output::Verbosity;
use crate::plan::{render, LiveState, Plan};
use crate::project;
use crate::provider::session::{CloudError, Session};
use crate::provider::{self, CodeDigests};

/// `plan`'s own flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    pub offline: bool,
    /// Exit [`ExitStatus::Changes`] when the plan has changes.
    pub detailed_exitcode: bool,
    /// List unchanged resources, not only their count.
    pub show_unchanged: bool,
}

pub fn run(cx: &Context, opts: &PlanOptions) -> Result<ExitStatus, CommandError> {
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
    // What each provider says about its plan beyond the changes.
    let mut notes: Vec<Vec<String>> = Vec::new();
    // The first reason a plan cannot be applied; every plan is still shown.
    let mut blocked: Option<CommandError> = None;
    for p in &project.providers {
        if opts.offline {
            plans.push(offline_plan(
                app,
                *p,
                &project::code_digests(app)?,
                "--offline was given".into(),
            ));
            notes.push(Vec::new());
            continue;
        }
        let digests = live::plan_digests(cx, app, *p)?;
        let rt = live::runtime()?;
        let read = rt.block_on(async {
            let mut s = Session::connect(app, *p).await?;
            s.prepare(&digests).await?;
            let checked = s.check();
            Ok::<_, CloudError>((s.plan().clone(), s.notes(), checked))
        });
        let (plan, said, checked) = read.map_err(|e| unreadable(*p, e))?;
        if let (Err(e), None) = (checked, &blocked) {
            blocked = Some(e.into());
        }
        plans.push(plan);
        notes.push(said);
    }
    let changes = plans.iter().any(|p| !p.is_noop());
    if cx.printer.is_json() {
        if let Some(e) = blocked {
            let doc = serde_json::to_value(render::json(&plans, &notes)).unwrap_or_default();
            return Err(e.reported(doc));
        }
        cx.printer.json(&render::json(&plans, &notes));
    } else {
        let text: Vec<String> = plans
            .iter()
            .zip(&notes)
            .map(|(p, said)| {
                if cx.printer.verbosity == Verbosity::Quiet {
                    format!("{}: {}\n", p.provider, render::summary_line(&p.summary()))
                } else {
                    render::human(p, said, opts.show_unchanged)
                }
            })
            .collect();
        cx.printer.data(&text.join("\n"));
        if let Some(e) = blocked {
            return Err(e);
        }
    }
    Ok(if opts.detailed_exitcode && changes {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    })
}

/// A cloud that could not be read: an error in words, with what to do,
/// including planning without the cloud.
fn unreadable(provider: ProviderId, e: CloudError) -> CommandError {
    if !e.is_unreachable() {
        return e.into();
    }
    let offline =
        "or pass --offline to plan without reading the cloud (everything is then shown as new)";
    let help = match e.hint() {
        Some(h) => format!("{h}; {offline}"),
        None => format!("check the network and the endpoint; {offline}"),
    };
    CommandError::Failed {
        kind: "unreadable",
        message: format!("cannot read what is deployed on {provider}: {e}"),
        help: Some(help),
    }
}

/// The plan against an unknown live state.
pub fn offline_plan(app: &App, id: ProviderId, digests: &CodeDigests, reason: String) -> Plan {
    provider::plan_for(app, id, digests, LiveState::NotRead { reason }, None)
}
