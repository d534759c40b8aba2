//! `fnctl validate`: check the manifest (every stage) and the providers' rules.

use serde_json::json;

use super::{CommandError, Context, ExitStatus};
use crate::project;

pub fn run(cx: &Context) -> Result<ExitStatus, CommandError> {
    let project = project::load(cx)?;
    let app = &project.app;
    if cx.printer.is_json() {
        cx.printer.json(&json!({
            "valid": true,
            "manifest": project.source.name(),
            "app": app.name,
            "stage": app.stage,
            "providers": project.providers,
            "functions": app.functions.values().collect::<Vec<_>>(),
            "warnings": project.warnings,
        }));
    } else {
        let providers: Vec<&str> = project.providers.iter().map(|p| p.as_str()).collect();
        cx.printer.data(&format!(
            "{} is valid: app `{}`, stage `{}`, {} function{}, providers: {}\n",
            project.source.name(),
            app.name,
            app.stage,
            app.functions.len(),
            if app.functions.len() == 1 { "" } else { "s" },
            if providers.is_empty() {
                "none (local only)".to_string()
            } else {
                providers.join(", ")
            }
        ));
    }
    Ok(ExitStatus::Success)
}
