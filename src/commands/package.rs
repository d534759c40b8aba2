//! `fnctl package`: build each function's deterministic zip under `.fnctl/dist/`.
//!
//! Limits are checked on the file list before compressing anything, so an
//! oversized function fails in seconds. Dependencies declared in
//! `requirements.txt` / `package.json` are vendored for the target platform
//! (cached by lockfile hash) and placed where each provider's runtime looks.

use super::{CommandError, Context, ExitStatus};
use crate::package::build::BuildReport;
use crate::package::human_size;
use crate::project;
use crate::provider;

pub use crate::package::build::{Built, CACHE_DIR, DIST_DIR};

pub fn run(cx: &Context, only: &[String]) -> Result<ExitStatus, CommandError> {
    let project = project::load(cx)?;
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
    // Without providers the package still has a use (local checks): the
    // layout the local runtime runs.
    let none_configured = project.providers.is_empty();
    let providers = if none_configured {
        vec![provider::LOCAL_LAYOUT]
    } else {
        project.providers.clone()
    };
    let total: usize = providers
        .iter()
        .map(|p| provider::for_id(*p).package_count(app, only, none_configured))
        .sum();
    let bar = cx.printer.progress(total as u64, "packaging");
    let report = BuildReport {
        started: &|what| bar.set_message(what.to_string()),
        finished: &|| bar.inc(1),
        detail: &|line| cx.printer.detail(line),
    };
    let mut built = Vec::new();
    for p in &providers {
        built.extend(provider::for_id(*p).package(app, only, none_configured, &report)?);
    }
    bar.finish_and_clear();

    if cx.printer.is_json() {
        cx.printer.json(&serde_json::json!({ "artifacts": built }));
    } else {
        let root = &app.root;
        let mut text = String::new();
        for b in &built {
            let shown = b.path.strip_prefix(root).unwrap_or(&b.path);
            text.push_str(&format!(
                "{:<6} {:<20} {}  {}  sha256:{}\n",
                b.provider.as_str(),
                b.function,
                shown.display(),
                human_size(b.bytes),
                b.sha256
            ));
        }
        cx.printer.data(&text);
        if built.iter().any(|b| b.upload == Some("s3")) {
            cx.printer.status(
                "note: packages over 50 MB are uploaded through an S3 artifacts bucket on deploy",
            );
        }
    }
    Ok(ExitStatus::Success)
}
