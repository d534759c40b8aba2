//! `fnctl rollback [FN]`: go back to the code deployed before.
//!
//! What "before" means is the cloud's: on AWS each function's stage alias
//! points back at its previous version (traffic switches at once, because
//! every trigger invokes the alias); on Azure classic Consumption the whole
//! Function App runs the package deployed before. Without a function every
//! function that has an earlier version goes back, and the others are
//! named with why they stayed. Rolling back again goes back again while
//! versions remain; `--to` picks one, `--list` shows them. A cloud that
//! keeps nothing to go back to says so. The next `deploy` publishes the
//! manifest's code again and moves forward.

use serde_json::json;

use super::invoke::single_provider;
use super::live;
use super::{CommandError, Context, ExitStatus};
use crate::project;
use crate::provider::cloud::RollbackRequest;

/// Flags of `rollback`.
#[derive(Debug, Clone, Default)]
pub struct RollbackOptions {
    pub function: Option<String>,
    /// A version to go to (`rollback --list` shows them).
    pub to: Option<String>,
    /// List the versions instead of rolling back.
    pub list: bool,
}

pub fn run(cx: &Context, opts: &RollbackOptions) -> Result<ExitStatus, CommandError> {
    let project = project::load(cx)?;
    let provider = single_provider(cx, &project.providers)?;
    let app = &project.app;
    if let Some(f) = &opts.function {
        if !app.functions.contains_key(f) {
            let names: Vec<&str> = app.functions.keys().map(String::as_str).collect();
            return Err(CommandError::usage(
                format!("no function named `{f}`"),
                crate::suggest::did_you_mean(f, names.iter().copied()),
            ));
        }
    }
    let rt = live::runtime()?;
    if opts.list {
        let listed = rt.block_on(async {
            let cloud = crate::provider::connect(app, provider).await?;
            cloud.versions(opts.function.as_deref()).await
        })?;
        if cx.printer.is_json() {
            cx.printer.json(
                &json!({"provider": provider, "versions": listed.versions, "note": listed.note}),
            );
        } else {
            let mut text = String::new();
            for v in &listed.versions {
                text.push_str(&format!(
                    "{} {:<16} {:<10} {:<29} {}\n",
                    if v.current { "*" } else { " " },
                    v.function,
                    v.version,
                    v.deployed.as_deref().unwrap_or("-"),
                    v.digest
                ));
            }
            cx.printer.data(&text);
            if let Some(note) = &listed.note {
                cx.printer.status(&format!("* runs now; {note}"));
            }
        }
        return Ok(ExitStatus::Success);
    }
    let request = RollbackRequest {
        function: opts.function.as_deref(),
        to: opts.to.as_deref(),
    };
    let done = rt.block_on(async {
        let cloud = crate::provider::connect(app, provider).await?;
        cloud.rollback(&request).await
    })?;
    let report = json!({"provider": provider, "rollbacks": done.json, "skipped": done.skipped});
    if !cx.printer.is_json() {
        for line in &done.lines {
            cx.printer.data(&format!("{line}\n"));
        }
        for s in &done.skipped {
            cx.printer
                .status(&format!("{}: not rolled back: {}", s.function, s.reason));
        }
    }
    if done.json.is_empty() {
        return Err(CommandError::Failed {
            kind: "nothing_to_roll_back",
            message: "nothing was rolled back: no function has an earlier version".to_string(),
            help: Some("each deploy that changes a function publishes a new version; `fnctl rollback --list` shows them".to_string()),
        }
        .reported(report));
    }
    if cx.printer.is_json() {
        cx.printer.json(&report);
    }
    Ok(ExitStatus::Success)
}
