//! Shared steps of the commands that talk to a cloud: loading a project
//! that targets one, the async runtime, building each provider's code.

use super::{CommandError, Context};
use crate::model::{App, ProviderId};
use crate::package::build::BuildReport;
use crate::package::PackageError;
use crate::provider;
use crate::provider::cloud::Payload;
use crate::provider::CodeDigests;

/// A tokio runtime sized for a CLI: I/O-bound work on the machine's cores.
pub fn runtime() -> Result<tokio::runtime::Runtime, CommandError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
                .min(4),
        )
        .enable_all()
        .build()
        .map_err(|e| CommandError::io("starting the async runtime", e))
}

/// Loads the project for a command that talks to the cloud: at least one
/// provider, and a backend for each.
pub fn load_for_cloud(cx: &Context) -> Result<crate::project::Project, CommandError> {
    let project = crate::project::load(cx)?;
    if project.providers.is_empty() {
        return Err(CommandError::usage(
            format!("{} configures no provider", project.source.name()),
            Some("add `[providers.aws]`".to_string()),
        ));
    }
    Ok(project)
}

/// Builds what a deploy to `provider` publishes, and the code identities
/// its plan compares (AWS: the zip's sha256 as Lambda reports it; Azure:
/// the sources' digests, recorded in a tag); with `only`, the code of those
/// functions (`deploy -f`) where the cloud packages functions one by one.
pub fn build_code(
    cx: &Context,
    app: &App,
    provider: ProviderId,
    only: &[String],
) -> Result<(Payload, CodeDigests), CommandError> {
    with_report(cx, app, provider, only, |p, report| {
        p.build_code(app, only, report)
    })
}

/// The code identities a plan compares, without building anything the
/// cloud does not need built (`plan` on AWS builds zips: Lambda reports
/// their digest).
pub fn plan_digests(
    cx: &Context,
    app: &App,
    provider: ProviderId,
) -> Result<CodeDigests, CommandError> {
    with_report(cx, app, provider, &[], |p, report| {
        p.plan_digests(app, report)
    })
}

/// Runs a build of `provider`'s packages under a progress bar.
fn with_report<T>(
    cx: &Context,
    app: &App,
    provider: ProviderId,
    only: &[String],
    build: impl FnOnce(&dyn provider::Provider, &BuildReport<'_>) -> Result<T, PackageError>,
) -> Result<T, CommandError> {
    let p = provider::for_id(provider);
    let bar = cx
        .printer
        .progress(p.package_count(app, only, false) as u64, "packaging");
    let report = BuildReport {
        started: &|what| bar.set_message(format!("packaging {what}")),
        finished: &|| bar.inc(1),
        detail: &|line| cx.printer.detail(line),
    };
    let out = build(p.as_ref(), &report)?;
    bar.finish_and_clear();
    Ok(out)
}

pub use crate::provider::urls::RouteUrl;
