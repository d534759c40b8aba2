//! `fnctl deploy`: package, read every cloud, plan, lock, apply, verify.
//!
//! Every selected provider is read, planned and locked before the first
//! change on any of them: a cloud that cannot be read or locked, or a plan
//! that would take over something fnctl does not own, stops the run with
//! nothing changed anywhere. The providers then apply one after the other;
//! when one fails the next is not started. An unchanged redeploy reads and
//! makes no mutating call; an interrupted deploy is repaired by running it
//! again, since the plan is always computed against what the cloud reports.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::live::{self, RouteUrl};
use super::{CommandError, Context, ExitStatus};
use crate::model::{App, ProviderId};
use crate::plan::{self, render, Action};
use crate::provider::session::{Payload, Session};
use crate::provider::CodeDigests;

/// One provider's line in the result: its status and, once applied, what
/// was done.
struct Report {
    provider: ProviderId,
    status: &'static str,
    took: Duration,
    body: Value,
}

impl Report {
    fn json(&self, app: &App) -> Value {
        let mut v = json!({
            "provider": self.provider,
            "app": app.name,
            "stage": app.stage,
            "status": self.status,
        });
        if let (Value::Object(out), Value::Object(body)) = (&mut v, &self.body) {
            for (k, val) in body {
                out.insert(k.clone(), val.clone());
            }
        }
        if self.status == "applied" {
            v["duration_ms"] = json!(self.took.as_millis());
            v["verified"] = json!(true);
        }
        v
    }
}

pub fn run(cx: &Context, concurrency: usize) -> Result<ExitStatus, CommandError> {
    let project = live::load_for_cloud(cx)?;
    let app = &project.app;
    let rt = live::runtime()?;
    // Code first: building needs no cloud, and a build that fails should
    // stop the run before any cloud is contacted.
    let mut code = Vec::new();
    for provider in &project.providers {
        code.push(live::build_code(cx, app, *provider)?);
    }
    let mut reports: Vec<Report> = project
        .providers
        .iter()
        .map(|p| Report {
            provider: *p,
            status: "not_started",
            took: Duration::ZERO,
            body: json!({}),
        })
        .collect();
    let outcome = rt.block_on(deploy_all(cx, app, code, concurrency, &mut reports));
    let doc = json!({
        "format_version": 1,
        "deployments": reports.iter().map(|r| r.json(app)).collect::<Vec<_>>(),
    });
    match outcome {
        Ok(()) => {
            if cx.printer.is_json() {
                cx.printer.json(&doc);
            }
            Ok(ExitStatus::Success)
        }
        Err(e) => {
            if reports.len() > 1 && !cx.printer.is_json() {
                for r in &reports {
                    cx.printer
                        .status(&format!("{}: {}", r.provider, r.status.replace('_', " ")));
                }
            }
            Err(e.reported(doc))
        }
    }
}

async fn deploy_all(
    cx: &Context,
    app: &App,
    code: Vec<(Payload, CodeDigests)>,
    concurrency: usize,
    reports: &mut [Report],
) -> Result<(), CommandError> {
    let mut sessions: Vec<Session> = Vec::new();
    let prepared = prepare_all(cx, app, &code, reports, &mut sessions).await;
    let outcome = match prepared {
        Ok(()) => apply_all(cx, app, code, concurrency, reports, &mut sessions).await,
        Err(e) => Err(e),
    };
    // Give back every lock taken. A failed release only matters when the
    // work itself succeeded; otherwise the work's error is the one to show
    // (and the lock expires by itself).
    let mut released = Ok(());
    for s in &mut sessions {
        if let Err(e) = s.release(outcome.is_err()).await {
            released = released.and(Err(CommandError::from(e)));
        }
    }
    outcome.and(released)
}

/// Every provider read and planned, then every one with changes locked and
/// planned again under its lock; nothing is changed on any cloud if one
/// fails.
async fn prepare_all(
    cx: &Context,
    app: &App,
    code: &[(Payload, CodeDigests)],
    reports: &mut [Report],
    sessions: &mut Vec<Session>,
) -> Result<(), CommandError> {
    for (i, (_, digests)) in code.iter().enumerate() {
        let started = Instant::now();
        let step = async {
            let mut s = Session::connect(app, reports[i].provider).await?;
            cx.printer.status(&format!(
                "reading what is deployed for `{}` (stage `{}`) in {}",
                app.name,
                app.stage,
                s.target()
            ));
            s.prepare(digests).await?;
            s.check()?;
            Ok::<_, CommandError>(s)
        }
        .await;
        reports[i].took += started.elapsed();
        match step {
            Ok(s) => sessions.push(s),
            Err(e) => {
                reports[i].status = e.provider_status();
                return Err(e);
            }
        }
    }
    for (i, s) in sessions.iter_mut().enumerate() {
        let started = Instant::now();
        let locked = s.lock("deploy", &code[i].1).await;
        reports[i].took += started.elapsed();
        if let Err(e) = locked {
            let e = CommandError::from(e);
            reports[i].status = e.provider_status();
            return Err(e);
        }
    }
    Ok(())
}

/// Applies each provider's plan in turn, verifying each; stops at the
/// first failure.
async fn apply_all(
    cx: &Context,
    app: &App,
    code: Vec<(Payload, CodeDigests)>,
    concurrency: usize,
    reports: &mut [Report],
    sessions: &mut [Session],
) -> Result<(), CommandError> {
    for (i, ((payload, digests), s)) in code.into_iter().zip(sessions.iter_mut()).enumerate() {
        let started = Instant::now();
        let plan = s.plan().clone();
        if !plan.is_noop() && !cx.printer.is_json() {
            cx.printer.status(&render::human_changes(&plan));
        }
        let progress = progress_reporter(cx, &plan);
        let applied = s.apply(payload, &digests, concurrency, &progress).await;
        reports[i].took += started.elapsed();
        let applied = match applied {
            Ok(a) => a,
            Err(e) => {
                let e = CommandError::from(e);
                reports[i].status = e.provider_status();
                return Err(e);
            }
        };
        let (total, mutating) = s.calls();
        reports[i].status = "applied";
        reports[i].body = json!({
            "target": plan.target,
            "summary": plan.summary(),
            "changes": applied.changes,
            "urls": applied.urls,
            "api_calls": total,
            "mutating_calls": mutating,
        });
        if !cx.printer.is_json() {
            print_summary(
                cx,
                s.provider,
                &plan,
                &applied.urls,
                mutating,
                reports[i].took.as_secs_f64(),
            );
        }
    }
    let _ = app;
    Ok(())
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
