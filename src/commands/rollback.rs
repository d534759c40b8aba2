//! `fnctl rollback [FN]`: go back to the code deployed before.
//!
//! AWS: point each function's stage alias back at its previous version.
//! Traffic switches at once because every trigger invokes the alias.
//! Azure (classic Consumption): the whole Function App runs the package
//! deployed before (see `provider::azure::backend::rollback`). Either way
//! the next `deploy` publishes the manifest's code again and moves forward.

use serde_json::json;

use super::invoke::single_provider;
use super::live;
use super::{CommandError, Context, ExitStatus};
use crate::model::ProviderId;
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
    if provider == ProviderId::Azure {
        return rollback_azure(cx, app, function);
    }
    let targets: Vec<String> = match function {
        Some(f) => vec![f.to_string()],
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

/// Azure deploys one package for the whole Function App, so a rollback
/// covers every function; naming one is refused rather than ignored.
fn rollback_azure(
    cx: &Context,
    app: &crate::model::App,
    function: Option<&str>,
) -> Result<ExitStatus, CommandError> {
    if let Some(f) = function {
        return Err(CommandError::usage(
            format!("on Azure all functions share one package, so `{f}` cannot be rolled back alone"),
            Some("run `fnctl rollback --provider azure` without a function name to roll back the whole Function App".to_string()),
        ));
    }
    let rt = live::runtime()?;
    let done = rt.block_on(async {
        let backend = crate::provider::azure::backend::AzureBackend::connect(app)?;
        Ok::<_, CommandError>(backend.rollback().await?)
    })?;
    if cx.printer.is_json() {
        cx.printer
            .json(&json!({"provider": ProviderId::Azure, "rollbacks": [done]}));
    } else {
        cx.printer.data(&format!(
            "{}: now runs package {} (was {})\n",
            done.function_app, done.to_package, done.from_package
        ));
    }
    Ok(ExitStatus::Success)
}
