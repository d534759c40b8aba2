//! `fnctl rollback [FN]`: point the stage alias back at the previous version.
//!
//! Traffic switches at once because every trigger invokes the alias. The
//! next `deploy` publishes the manifest's code again and moves the alias forward.

use serde_json::json;

use super::invoke::single_provider;
use super::live;
use super::{CommandError, Context, ExitStatus};
use crate::model::ProviderId;
use crate::project;

pub fn run(cx: &Context, function: Option<&str>) -> Result<ExitStatus, CommandError> {
    let project = project::load(cx)?;
    let provider = single_provider(cx, &project.providers)?;
    live::require_backend(provider)?;
    let app = &project.app;
    let targets: Vec<String> = match function {
        Some(f) if app.functions.contains_key(f) => vec![f.to_string()],
        Some(f) => {
            return Err(CommandError::usage(
                format!("no function named `{f}`"),
                None,
            ))
        }
        None => app
            .functions_for(ProviderId::Aws)
            .map(|f| f.name.clone())
            .collect(),
    };
    let rt = live::runtime()?;
    let done = rt.block_on(async {
        let backend = live::connect_aws(app).await?;
        let mut done = Vec::new();
        for f in &targets {
            done.push(backend.rollback(f).await?);
        }
        Ok::<_, CommandError>(done)
    })?;
    if cx.printer.is_json() {
        cx.printer
            .json(&json!({"provider": provider, "rollbacks": done}));
    } else {
        for r in &done {
            cx.printer.data(&format!(
                "{}: alias `{}` now points at version {} (was {})\n",
                r.function, app.stage, r.to_version, r.from_version
            ));
        }
    }
    Ok(ExitStatus::Success)
}
