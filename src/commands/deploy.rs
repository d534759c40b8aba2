//! `fnctl deploy`: package, read every cloud, plan, lock, apply, verify.
//!
//! Every selected provider is read, planned and locked before the first
//! change on any of them: a cloud that cannot be read or locked, or a plan
//! that would take over something fnctl does not own, stops the run with
//! nothing changed anywhere. The providers then apply one after the other;
//! when one fails the next is not started. An unchanged redeploy reads and
//! makes no mutating call; an interrupted deploy is repaired by running it
//! again, since the plan is always computed against what the cloud reports.
//!
//! `deploy -f NAME` is the same run limited to some functions: only their
//! packages are built, and the plan, the apply and the verification cover
//! their resources and the shared ones their changes need
//! ([`crate::plan::scope`]). The rest of the app is not checked, and the
//! command says so, since a later full deploy may still find changes there.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::live::{self, RouteUrl};
use super::{CommandError, Context, ExitStatus};
use crate::model::{App, ProviderId};
use crate::output::progress::ApplyProgress;
use crate::output::Verbosity;
use crate::plan::{self, render};
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

pub fn run(cx: &Context, concurrency: usize, only: &[String]) -> Result<ExitStatus, CommandError> {
    let project = live::load_for_cloud(cx)?;
    let app = &project.app;
    for name in only {
        if !app.functions.contains_key(name) {
            let names: Vec<&str> = app.functions.keys().map(String::as_str).collect();
            return Err(CommandError::usage(
                format!("no function named `{name}` in {}", project.source.name()),
                crate::suggest::did_you_mean(name, names.iter().copied())
                    .or_else(|| Some(format!("functions: {}", names.join(", ")))),
            ));
        }
    }
    let rt = live::runtime()?;
    // Code first: building needs no cloud, and a build that fails should
    // stop the run before any cloud is contacted.
    let mut code = Vec::new();
    for provider in &project.providers {
        code.push(live::build_code(cx, app, *provider, only)?);
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
    let outcome = rt.block_on(deploy_all(cx, app, code, concurrency, only, &mut reports));
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
    only: &[String],
    reports: &mut [Report],
) -> Result<(), CommandError> {
    let mut sessions: Vec<Session> = Vec::new();
    let prepared = prepare_all(cx, app, &code, only, reports, &mut sessions).await;
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
        // The counts cover every call, the lock's release included.
        if let Some(r) = reports.iter_mut().find(|r| r.provider == s.provider) {
            if let Some(body) = r
                .body
                .as_object_mut()
                .filter(|b| b.contains_key("api_calls"))
            {
                body.insert("api_calls".into(), json!(s.calls().0));
            }
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
    only: &[String],
    reports: &mut [Report],
    sessions: &mut Vec<Session>,
) -> Result<(), CommandError> {
    for (i, (_, digests)) in code.iter().enumerate() {
        let started = Instant::now();
        let step = async {
            let mut s = Session::connect(app, reports[i].provider).await?;
            if !only.is_empty() {
                s.only(only);
            }
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
        let notes = s.notes();
        if let Some(line) = scope_line(s) {
            cx.printer.status(&line);
        }
        if !plan.is_noop() && !cx.printer.is_json() {
            let all_attributes = cx.printer.verbosity >= Verbosity::Verbose;
            cx.printer
                .status(&render::human_changes(&plan, all_attributes));
        }
        // What the plan says beyond its changes (a denied tagging read, an
        // API switch), before anything changes, as `plan` says it.
        if !notes.is_empty() && !cx.printer.is_json() {
            cx.printer
                .status(render::notes_lines(&notes).trim_end_matches('\n'));
        }
        let progress = Arc::new(ApplyProgress::new(&cx.printer, &plan));
        let report = {
            let progress = progress.clone();
            move |id: &plan::ResourceId, step: &str| progress.report(id, step)
        };
        let applied = s.apply(payload, &digests, concurrency, &report).await;
        progress.clear();
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
            "scope": scope_json(s),
            "target": plan.target,
            "summary": plan.summary(),
            "changes": applied.changes,
            "kept": plan.kept,
            "urls": applied.urls,
            "urls_note": applied.urls_note,
            "api_calls": total,
            "mutating_calls": mutating,
        });
        if !notes.is_empty() {
            reports[i].body["notes"] = json!(notes);
        }
        if !cx.printer.is_json() {
            print_summary(
                cx,
                s.provider,
                &plan,
                &applied.urls,
                mutating,
                reports[i].took.as_secs_f64(),
            );
            if let Some(note) = &applied.urls_note {
                cx.printer.status(&format!("{}: {note}", s.provider));
            }
        }
    }
    let _ = app;
    Ok(())
}

/// `--output json`'s `scope`: `{"kind": "app"}`, or the functions a
/// `deploy -f` was limited to, with what else it deployed because the
/// cloud holds the code of several functions in one package.
fn scope_json(s: &Session) -> Value {
    match s.scope() {
        None => json!({ "kind": "app" }),
        Some(only) => json!({
            "kind": "functions",
            "functions": only,
            "rest_of_app": "not_checked",
            "whole_code": s.whole_code(),
        }),
    }
}

/// The status line of a `deploy -f`: what it covers and what it did not
/// check.
fn scope_line(s: &Session) -> Option<String> {
    let only = s.scope()?;
    if only.is_empty() {
        return Some(format!(
            "{}: none of the selected functions runs here; nothing to deploy",
            s.provider
        ));
    }
    let names = only
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut line = format!(
        "{}: deploying only {names} and what their changes need; the rest of the app was not checked (a full `fnctl deploy` checks it)",
        s.provider
    );
    for id in s.whole_code() {
        line.push_str(&format!(
            "\n{}: {} `{}` holds the code of every function, so all of it is redeployed",
            s.provider, id.kind, id.name
        ));
    }
    Some(line)
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
    text.push_str(&render::kept_lines(&plan.kept));
    cx.printer.data(&text);
}
