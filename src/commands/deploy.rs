//! `fnctl deploy`: package, read the cloud, plan, apply the plan, verify.
//!
//! An unchanged redeploy reads and makes no mutating call; an interrupted
//! deploy is repaired by running it again, since the plan is always
//! computed against what the cloud reports now.

use std::time::Instant;

use serde_json::json;

use super::live::{self, RouteUrl};
use super::{CommandError, Context, ExitStatus};
use crate::model::ProviderId;
use crate::plan::{self, render, Action};

pub fn run(cx: &Context, concurrency: usize) -> Result<ExitStatus, CommandError> {
    let project = live::load_for_cloud(cx)?;
    let app = &project.app;
    let rt = live::runtime()?;
    let mut results = Vec::new();
    for provider in &project.providers {
        if *provider == ProviderId::Azure {
            results.push(deploy_azure(cx, app, &rt)?);
            continue;
        }
        let started = Instant::now();
        let artifacts = live::build_packages(cx, app, *provider)?;
        let digests = live::aws_digests(&artifacts);
        let outcome = rt.block_on(async {
            let backend = live::connect_aws(app).await?;
            cx.printer.status(&format!(
                "reading what is deployed for `{}` (stage `{}`) in {}",
                app.name, app.stage, backend.clients.region
            ));
            let mut before = backend.read().await?;
            let mut plan = live::live_plan(app, *provider, &digests, &before.resources);
            let lock = if plan.is_noop() {
                None
            } else {
                let lock = backend.acquire_lock("deploy").await?;
                // Another run may have changed things between that read and
                // the lock: plan again against what AWS reports now.
                before = backend.read().await?;
                plan = live::live_plan(app, *provider, &digests, &before.resources);
                Some(lock)
            };
            let outcome = async {
                if !plan.is_noop() && !cx.printer.is_json() {
                    cx.printer.status(&render::human_changes(&plan));
                }
                let progress = progress_reporter(cx, &plan);
                let applied = backend
                    .apply(&plan, &before, artifacts, concurrency, &progress)
                    .await?;
                // Verify: what AWS reports now must match the plan exactly. A
                // no-op plan made no call, so the read it came from already is
                // that check; reading again would only double a no-op's time.
                let after = if plan.is_noop() {
                    before
                } else {
                    backend.read().await?
                };
                let check = live::live_plan(app, *provider, &digests, &after.resources);
                let drift = drift(&check);
                if !drift.is_empty() {
                    return Err(crate::provider::aws::backend::AwsError::Verify { drift }.into());
                }
                let urls = live::aws_urls(
                    app,
                    after.ids.rest_api_id.as_deref(),
                    &backend.clients.region,
                );
                Ok::<_, CommandError>((plan, applied, urls, backend.clients.recorder.clone()))
            }
            .await;
            live::release_after(lock, outcome, |l| backend.release_lock(l)).await
        })?;
        let (plan, applied, urls, recorder) = outcome;
        results.push(json!({
            "provider": provider,
            "app": app.name,
            "stage": app.stage,
            "target": plan.target,
            "summary": plan.summary(),
            "changes": applied,
            "urls": urls,
            "api_calls": recorder.total(),
            "mutating_calls": recorder.mutating().len(),
            "duration_ms": started.elapsed().as_millis(),
            "verified": true,
        }));
        if !cx.printer.is_json() {
            print_summary(
                cx,
                *provider,
                &plan,
                &urls,
                recorder.mutating().len(),
                started.elapsed().as_secs_f64(),
            );
        }
    }
    if cx.printer.is_json() {
        cx.printer
            .json(&json!({"format_version": 1, "deployments": results}));
    }
    Ok(ExitStatus::Success)
}

/// What still differs from the plan after an apply ("verify"), one line per
/// resource; empty when the cloud reports exactly what was planned.
fn drift(check: &plan::Plan) -> Vec<String> {
    check
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| format!("{} {} ({})", c.action.symbol(), c.id, c.changed.join(", ")))
        .collect()
}

/// The live progress of an apply, shared by both clouds: a bar with the
/// current step on a terminal, one plain line per step otherwise.
fn progress_reporter(
    cx: &Context,
    plan: &plan::Plan,
) -> impl Fn(&plan::ResourceId, &str) + Send + Sync + 'static {
    let bar = cx.printer.progress(
        plan.changes
            .iter()
            .filter(|c| c.action != Action::NoOp)
            .count() as u64,
        "applying",
    );
    let printer = cx.printer.clone();
    let interactive = !bar.is_hidden();
    move |id: &plan::ResourceId, step: &str| {
        if step == "done" {
            bar.inc(1);
        } else if interactive {
            bar.set_message(format!("{step} {id}"));
        } else {
            printer.status(&format!("  {step} {} {}", id.kind, id.name));
        }
    }
}

fn print_summary(
    cx: &Context,
    provider: ProviderId,
    plan: &plan::Plan,
    urls: &[RouteUrl],
    mutating: usize,
    secs: f64,
) {
    let s = plan.summary();
    let mut text = String::new();
    if plan.is_noop() {
        text.push_str(&format!("{provider}: no changes, {} resources up to date ({secs:.1}s, {mutating} changes made)\n", s.unchanged));
    } else {
        text.push_str(&format!("{provider}: {} created, {} updated, {} deleted, {} unchanged in {secs:.1}s; verified\n", s.create, s.update, s.delete, s.unchanged));
    }
    for u in urls {
        text.push_str(&format!("  {:<7} {}  ({})\n", u.method, u.url, u.function));
    }
    cx.printer.data(&text);
}

/// The Azure deploy: one package for the Function App, the plan against
/// what Azure reports, apply, read again and verify.
fn deploy_azure(
    cx: &Context,
    app: &crate::model::App,
    rt: &tokio::runtime::Runtime,
) -> Result<serde_json::Value, CommandError> {
    use crate::provider::azure::backend::{apply::PackageUpload, AzureBackend, AzureError};
    let started = Instant::now();
    let digests = crate::project::code_digests(app)?;
    let built = super::package::build_azure_app(cx, app)?;
    let (plan, applied, urls, calls) = rt.block_on(async {
        let backend = AzureBackend::connect(app)?;
        cx.printer.status(&format!(
            "reading what is deployed for `{}` (stage `{}`) in {}",
            app.name,
            app.stage,
            backend.target()
        ));
        let mut before = backend.read().await?;
        let mut plan = live::live_plan(app, ProviderId::Azure, &digests, &before.resources);
        let lock = if plan.is_noop() {
            None
        } else {
            let lock = backend.acquire_lock("deploy").await?;
            // Plan again under the lock, against what Azure reports now.
            before = backend.read().await?;
            plan = live::live_plan(app, ProviderId::Azure, &digests, &before.resources);
            Some(lock)
        };
        let outcome = async {
            if !plan.is_noop() && !cx.printer.is_json() {
                cx.printer.status(&render::human_changes(&plan));
            }
            let needs_code = plan
                .changes
                .iter()
                .any(|c| c.id.kind == "function_package" && c.action != Action::NoOp);
            let upload = if needs_code {
                let zip = std::fs::read(&built.path).map_err(|e| {
                    CommandError::io(format!("reading {}", built.path.display()), e)
                })?;
                Some(PackageUpload {
                    zip,
                    digest: crate::provider::azure::resources::package_digest(app, &digests),
                })
            } else {
                None
            };
            let progress = progress_reporter(cx, &plan);
            let applied = backend.apply(&plan, &before, upload, &progress).await?;
            // As for AWS: an unchanged plan's read is its own verification.
            let after = if plan.is_noop() {
                before
            } else {
                backend.read().await?
            };
            let check = live::live_plan(app, ProviderId::Azure, &digests, &after.resources);
            let drift = drift(&check);
            if !drift.is_empty() {
                return Err(AzureError::Verify { drift }.into());
            }
            let urls = live::azure_urls(app, after.host.as_deref());
            Ok::<_, CommandError>((plan, applied, urls, backend.arm.calls.clone()))
        }
        .await;
        live::release_after(lock, outcome, |l| backend.release_lock(l)).await
    })?;
    if !cx.printer.is_json() {
        print_summary(
            cx,
            ProviderId::Azure,
            &plan,
            &urls,
            calls.mutating().len(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(json!({
        "provider": ProviderId::Azure,
        "app": app.name,
        "stage": app.stage,
        "target": plan.target,
        "summary": plan.summary(),
        "changes": applied,
        "urls": urls,
        "api_calls": calls.total(),
        "mutating_calls": calls.mutating().len(),
        "duration_ms": started.elapsed().as_millis(),
        "verified": true,
    }))
}
