//! `fnctl rollback [FN]`: go back to the code deployed before.
//!
//! What "before" means is the cloud's: on AWS each function's stage alias
//! points back at its previous version (traffic switches at once, because
//! every trigger invokes the alias); on Azure classic Consumption the whole
//! Function App runs the package deployed before. A cloud that keeps
//! nothing to go back to says so. Either way the next `deploy` publishes
//! the manifest's code again and moves forward.

use serde_json::json;

use super::invoke::single_provider;
use super::live;
use super::{CommandError, Context, ExitStatus};
use crate::project;

pub fn run(cx: &Context, function: Option<&str>) -> Result<ExitStatus, CommandError> {
    let project = project::load(cx)?;
    let provider = single_provider(cx, &project.providers)?;
    let app = &project.app;
    if let Some(f) = function {
        if !app.functions.contains_key(f) {
            return Err(CommandError::usage(
                format!("no function named `{f}`"),
                None,
            ));
        }
    }
    let rt = live::runtime()?;
    let done = rt.block_on(async {
        let cloud = crate::provider::connect(app, provider).await?;
        cloud.rollback(function).await
    })?;
    if cx.printer.is_json() {
        cx.printer
            .json(&json!({"provider": provider, "rollbacks": done.json}));
    } else {
        for line in &done.lines {
            cx.printer.data(&format!("{line}\n"));
        }
    }
    Ok(ExitStatus::Success)
}
