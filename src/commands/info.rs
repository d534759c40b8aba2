//! `fnctl info`: what is deployed for this app+stage, read from the cloud.

use super::live;
use super::{CommandError, Context, ExitStatus};

/// Every selected provider's deployment, read from its cloud: one block of
/// text each; in JSON the provider's document, or `{"deployments": [...]}`
/// when the manifest targets several clouds and `--provider` picks none.
pub fn run(cx: &Context) -> Result<ExitStatus, CommandError> {
    let project = live::load_for_cloud(cx)?;
    let app = &project.app;
    let rt = live::runtime()?;
    let shown = rt.block_on(async {
        let mut shown = Vec::new();
        for p in &project.providers {
            let mut cloud = crate::provider::connect(app, *p).await?;
            shown.push(cloud.describe().await?);
        }
        Ok::<_, CommandError>(shown)
    })?;
    // Resources with fnctl's names that belong to something else are not
    // shown as the app's, but said, since a deploy would refuse them.
    for c in shown.iter().flat_map(|s| &s.conflicts) {
        cx.printer
            .warn(&format!("{c} (not shown; `fnctl plan` says how to go on)"));
    }
    if cx.printer.is_json() {
        match shown.as_slice() {
            [one] => cx.printer.json(&one.json),
            many => cx.printer.json(&serde_json::json!({
                "deployments": many.iter().map(|s| &s.json).collect::<Vec<_>>()
            })),
        }
    } else {
        let text: Vec<&str> = shown.iter().map(|s| s.text.as_str()).collect();
        cx.printer.data(&text.join("\n"));
    }
    Ok(ExitStatus::Success)
}
