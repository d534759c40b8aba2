//! `fnctl info`: what is deployed for this app+stage, read from the cloud.

use super::invoke::single_provider;
use super::live;
use super::{CommandError, Context, ExitStatus};

pub fn run(cx: &Context) -> Result<ExitStatus, CommandError> {
    let project = live::load_for_cloud(cx)?;
    let app = &project.app;
    let provider = match single_provider(cx, &project.providers) {
        Ok(p) => p,
        // Several providers and none chosen: the first the manifest lists,
        // and a word about the others.
        Err(_) => {
            let first = project.providers[0];
            let others: Vec<String> = project.providers[1..]
                .iter()
                .map(|p| format!("--provider {p}"))
                .collect();
            cx.printer.warn(&format!(
                "showing {}; pass {} for the other deployment",
                first.as_str().to_uppercase(),
                others.join(" or ")
            ));
            first
        }
    };
    let rt = live::runtime()?;
    let shown = rt.block_on(async {
        let mut cloud = crate::provider::connect(app, provider).await?;
        cloud.describe().await
    })?;
    // Resources with fnctl's names that belong to something else are not
    // shown as the app's, but said, since a deploy would refuse them.
    for c in &shown.conflicts {
        cx.printer
            .warn(&format!("{c} (not shown; `fnctl plan` says how to go on)"));
    }
    if cx.printer.is_json() {
        cx.printer.json(&shown.json);
    } else {
        cx.printer.data(&shown.text);
    }
    Ok(ExitStatus::Success)
}
