//! `fnctl remove`: delete what fnctl created for this app+stage, and nothing else.
//!
//! What to delete is found in the cloud (names and ownership tags), so it
//! works from any machine and is safe to run twice: the second run finds
//! nothing and succeeds. Every selected provider is read and locked before
//! anything is deleted. Data is kept unless asked for: a bucket or container
//! that still holds objects stays, is listed at the end with the command
//! that removes it, and the run still succeeds (keeping data is the promised
//! default); `--delete-data` empties and deletes those too.

use serde_json::{json, Value};

use super::live;
use super::{CommandError, Context, ExitStatus};
use crate::model::{App, ProviderId};
use crate::plan::ResourceId;
use crate::provider::session::{Removal, Session};

pub fn run(cx: &Context, delete_data: bool, yes: bool) -> Result<ExitStatus, CommandError> {
    let project = live::load_for_cloud(cx)?;
    let app = &project.app;
    let rt = live::runtime()?;
    let mut reports: Vec<Value> = project
        .providers
        .iter()
        .map(|p| json!({"provider": p, "app": app.name, "stage": app.stage, "status": "not_started", "removed": [], "kept": []}))
        .collect();
    let providers = project.providers.clone();
    let outcome = rt.block_on(async {
        let mut sessions = Vec::new();
        let work = remove_all(
            cx,
            app,
            &providers,
            Options { delete_data, yes },
            &mut reports,
            &mut sessions,
        )
        .await;
        let mut released = Ok(());
        for s in &mut sessions {
            if let Err(e) = s.release(work.is_err()).await {
                released = released.and(Err(CommandError::from(e)));
            }
            // Every call, the lock's included, once it is given back.
            let provider = json!(s.provider);
            if let Some(r) = reports
                .iter_mut()
                .find(|r| r["provider"] == provider && r.get("mutating_calls").is_some())
            {
                r["api_calls"] = json!(s.calls().0);
            }
        }
        work.and_then(|done| released.map(|_| done))
    });
    let doc = json!({"format_version": 1, "removals": reports});
    match outcome {
        Ok(status) => {
            if cx.printer.is_json() {
                cx.printer.json(&doc);
            }
            Ok(status)
        }
        Err(e) => {
            if reports.len() > 1 && !cx.printer.is_json() {
                for r in &reports {
                    cx.printer.status(&format!(
                        "{}: {}",
                        r["provider"].as_str().unwrap_or_default(),
                        r["status"].as_str().unwrap_or_default().replace('_', " ")
                    ));
                }
            }
            Err(e.reported(doc))
        }
    }
}

#[derive(Clone, Copy)]
struct Options {
    delete_data: bool,
    yes: bool,
}

async fn remove_all(
    cx: &Context,
    app: &App,
    providers: &[ProviderId],
    Options { delete_data, yes }: Options,
    reports: &mut [Value],
    sessions: &mut Vec<Session>,
) -> Result<ExitStatus, CommandError> {
    // Every provider read before anything is deleted anywhere.
    let mut total = 0;
    for (i, &provider) in providers.iter().enumerate() {
        let step = async {
            let mut s = Session::connect(app, provider).await?;
            let found = s.prepare_remove().await?;
            Ok::<_, CommandError>((s, found))
        }
        .await;
        match step {
            Ok((s, found)) => {
                total += found;
                sessions.push(s);
            }
            Err(e) => {
                reports[i]["status"] = json!(e.provider_status());
                return Err(e);
            }
        }
    }
    if total == 0 {
        for (i, s) in sessions.iter().enumerate() {
            reports[i]["status"] = json!("nothing_deployed");
            if !cx.printer.is_json() {
                cx.printer.data(&format!(
                    "{}: nothing to remove for `{}` stage `{}`\n",
                    s.provider, app.name, app.stage
                ));
            }
        }
        return Ok(ExitStatus::Success);
    }
    if !yes {
        let clouds: Vec<String> = sessions.iter().map(|s| s.provider.to_string()).collect();
        let question = format!(
            "Delete {total} resources of `{}` stage `{}` on {}{}?",
            app.name,
            app.stage,
            clouds.join(" and "),
            if delete_data {
                ", with the data in its buckets and containers"
            } else {
                " (buckets and containers holding data are kept)"
            }
        );
        if cx.printer.confirm(&question) == Some(false) {
            return Err(CommandError::Failed {
                kind: "cancelled",
                message: "remove cancelled; nothing was changed".into(),
                help: Some("pass --yes to remove without the question".into()),
            });
        }
    }
    for (i, s) in sessions.iter_mut().enumerate() {
        if let Err(e) = s.lock_remove().await {
            let e = CommandError::from(e);
            reports[i]["status"] = json!(e.provider_status());
            return Err(e);
        }
    }
    let progress = step_lines(cx);
    for (i, s) in sessions.iter_mut().enumerate() {
        let removal = match s.remove(delete_data, &progress).await {
            Ok(r) => r,
            Err(e) => {
                let e = CommandError::from(e);
                reports[i]["status"] = json!(e.provider_status());
                return Err(e);
            }
        };
        reports[i]["status"] = json!("removed");
        reports[i]["removed"] = json!(removal.removed);
        reports[i]["kept"] = json!(removal.kept);
        reports[i]["mutating_calls"] = json!(s.calls().1);
        if !cx.printer.is_json() {
            cx.printer
                .data(&summary(&s.provider.to_string(), app, &removal));
        }
    }
    Ok(ExitStatus::Success)
}

fn summary(provider: &str, app: &App, removal: &Removal) -> String {
    let mut text = if removal.removed.is_empty() {
        format!(
            "{provider}: nothing to remove for `{}` stage `{}`\n",
            app.name, app.stage
        )
    } else {
        format!(
            "{provider}: removed {} resources of `{}` stage `{}`\n",
            removal.removed.len(),
            app.name,
            app.stage
        )
    };
    for k in &removal.kept {
        text.push_str(&format!(
            "  kept {} {}: {}\n    to remove it too: {}\n",
            k.id.kind, k.id.name, k.reason, k.command
        ));
    }
    text
}

/// One status line per deletion started (removes are short: no bar).
fn step_lines(cx: &Context) -> impl Fn(&ResourceId, &str) + Send + Sync + 'static {
    let printer = cx.printer.clone();
    move |id: &ResourceId, step: &str| {
        if step != "done" {
            printer.status(&format!("  {step} {} {}", id.kind, id.name));
        }
    }
}
