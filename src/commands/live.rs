//! Shared steps of the commands that talk to a cloud: loading a project
//! that targets one, the async runtime, building each provider's code.

use std::collections::BTreeMap;

use super::{package as pkg, CommandError, Context};
use crate::model::{App, ProviderId};
use crate::package::Artifact;
use crate::provider::session::Payload;
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

/// Builds every AWS package of the app; returns artifacts by function name.
pub fn build_packages(
    cx: &Context,
    app: &App,
    provider: ProviderId,
) -> Result<BTreeMap<String, Artifact>, CommandError> {
    let functions: Vec<_> = app.functions_for(provider).collect();
    let bar = cx.printer.progress(functions.len() as u64, "packaging");
    let mut out = BTreeMap::new();
    for f in functions {
        bar.set_message(format!("packaging {}", f.name));
        let built = pkg::build_one(cx, app, provider, f)?;
        out.insert(f.name.clone(), built.artifact);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(out)
}

/// Builds what a deploy to `provider` publishes, and the code identities
/// its plan compares (AWS: the zip's sha256 as Lambda reports it; Azure:
/// the sources' digests, recorded in a tag).
pub fn build_code(
    cx: &Context,
    app: &App,
    provider: ProviderId,
) -> Result<(Payload, CodeDigests), CommandError> {
    Ok(match provider {
        ProviderId::Aws => {
            let artifacts = build_packages(cx, app, provider)?;
            let digests = aws_digests(&artifacts);
            (Payload::Aws(artifacts), digests)
        }
        ProviderId::Azure => {
            let digests = crate::project::code_digests(app)?;
            let built = pkg::build_azure_app(cx, app)?;
            (Payload::Azure(built.path), digests)
        }
    })
}

/// The code identities a plan compares, without building anything AWS
/// does not need built (`plan` on AWS builds zips: Lambda reports their
/// digest).
pub fn plan_digests(
    cx: &Context,
    app: &App,
    provider: ProviderId,
) -> Result<CodeDigests, CommandError> {
    match provider {
        ProviderId::Aws => Ok(aws_digests(&build_packages(cx, app, provider)?)),
        ProviderId::Azure => crate::project::code_digests(app),
    }
}

/// Code identities as AWS reports them (base64 sha256 of the zip).
pub fn aws_digests(artifacts: &BTreeMap<String, Artifact>) -> CodeDigests {
    CodeDigests(
        artifacts
            .iter()
            .map(|(k, a)| (k.clone(), a.sha256_base64.clone()))
            .collect(),
    )
}

pub use crate::provider::urls::RouteUrl;
