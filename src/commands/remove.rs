//! `fnctl remove`: delete what fnctl created for this app+stage, and nothing else.
//!
//! What to delete is found in the cloud (names and ownership tags), so it
//! works from any machine and is safe to run twice: the second run finds
//! nothing and succeeds.

use serde_json::json;

use super::live;
use super::{CommandError, Context, ExitStatus};
use crate::plan::{self, render, LiveState, Plan};
use crate::provider;

pub fn run(cx: &Context) -> Result<ExitStatus, CommandError> {
    let project = live::load_for_cloud(cx)?;
    let app = &project.app;
    let rt = live::runtime()?;
    let mut results = Vec::new();
    for provider in &project.providers {
        if *provider == crate::model::ProviderId::Azure {
            let (removed, mutating) = rt.block_on(async {
                let backend = crate::provider::azure::backend::AzureBackend::connect(app)?;
                let progress = step_lines(cx);
                let lock = backend.acquire_lock_if_present("remove").await?;
                let removed = backend.remove(&progress).await;
                let removed =
                    live::release_after(lock, removed, |l| backend.release_lock(l)).await?;
                Ok::<_, CommandError>((removed, backend.arm.calls.mutating().len()))
            })?;
            if !cx.printer.is_json() {
                cx.printer.data(&if removed.is_empty() {
                    format!(
                        "{provider}: nothing to remove for `{}` stage `{}`\n",
                        app.name, app.stage
                    )
                } else {
                    format!(
                        "{provider}: removed {} resources of `{}` stage `{}`\n",
                        removed.len(),
                        app.name,
                        app.stage
                    )
                });
            }
            results.push(
                json!({"provider": provider, "removed": removed, "mutating_calls": mutating}),
            );
            continue;
        }
        let (removed, recorder) = rt.block_on(async {
            let backend = live::connect_aws(app).await?;
            let mut found = backend.read().await?;
            let lock = if found.resources.is_empty() {
                None
            } else {
                let lock = backend.acquire_lock("remove").await?;
                found = backend.read().await?;
                Some(lock)
            };
            let outcome = remove_aws(cx, &backend, &found, *provider).await;
            let applied = live::release_after(lock, outcome, |l| backend.release_lock(l)).await?;
            Ok::<_, CommandError>((applied, backend.clients.recorder.clone()))
        })?;
        if !cx.printer.is_json() {
            if removed.is_empty() {
                cx.printer.data(&format!(
                    "{provider}: nothing to remove for `{}` stage `{}`\n",
                    app.name, app.stage
                ));
            } else {
                cx.printer.data(&format!(
                    "{provider}: removed {} resources of `{}` stage `{}`\n",
                    removed.len(),
                    app.name,
                    app.stage
                ));
            }
        }
        results.push(json!({"provider": provider, "removed": removed, "mutating_calls": recorder.mutating().len()}));
    }
    if cx.printer.is_json() {
        cx.printer
            .json(&json!({"format_version": 1, "removals": results}));
    }
    Ok(ExitStatus::Success)
}

/// Deletes everything `found` lists, then checks that nothing is left.
async fn remove_aws(
    cx: &Context,
    backend: &crate::provider::aws::backend::AwsBackend,
    found: &crate::provider::aws::backend::Live,
    provider: crate::model::ProviderId,
) -> Result<Vec<crate::provider::aws::backend::apply::Applied>, CommandError> {
    let app = &backend.app;
    let plan = Plan {
        app: app.name.clone(),
        stage: app.stage.clone(),
        provider,
        target: provider::for_id(provider).target(app),
        live: LiveState::Read,
        changes: plan::diff(&[], Some(&found.resources)),
        conflicts: Vec::new(),
    };
    if !cx.printer.is_json() && !plan.changes.is_empty() {
        cx.printer.status(&render::human_changes(&plan));
    }
    let progress = step_lines(cx);
    let mut applied = backend
        .apply(&plan, found, Default::default(), 1, &progress)
        .await?;
    applied.extend(backend.remove_staged_packages(&found.ids.account).await?);
    let left = backend.read().await?;
    if !left.resources.is_empty() {
        let drift = left.resources.iter().map(|r| r.id.to_string()).collect();
        return Err(crate::provider::aws::backend::AwsError::Verify { drift }.into());
    }
    Ok(applied)
}

/// One status line per deletion started (removes are short: no bar).
fn step_lines(cx: &Context) -> impl Fn(&plan::ResourceId, &str) + Send + Sync + 'static {
    let printer = cx.printer.clone();
    move |id: &plan::ResourceId, step: &str| {
        if step != "done" {
            printer.status(&format!("  {step} {} {}", id.kind, id.name));
        }
    }
}
