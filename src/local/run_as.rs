//! `invoke --local --as PROVIDER`: which way a function runs on this
//! machine. AWS (the default) runs the handler under AWS's runtime client,
//! as Lambda would; Azure runs the generated Azure entry (the adapter that
//! turns Azure's trigger inputs into AWS-shaped events) under Microsoft's
//! `azure-functions` package, so a portable handler is checked both ways.

use super::{LocalRun, WorkerError};
use crate::model::{App, Function, ProviderId};

/// Runs `f` once with `event`, the way `run_as` (default: AWS) would.
pub async fn invoke_as(
    run_as: Option<ProviderId>,
    app: &App,
    f: &Function,
    event: Vec<u8>,
) -> Result<LocalRun, WorkerError> {
    match run_as {
        Some(ProviderId::Azure) => super::azure::invoke_once(app, f, event).await,
        Some(ProviderId::Aws) | None => super::invoke_once(app, f, event).await,
    }
}

/// Where a local run ran, for `--output json`: `local` (as Lambda) or
/// `local-azure`.
pub fn label(run_as: Option<ProviderId>) -> &'static str {
    match run_as {
        Some(ProviderId::Azure) => "local-azure",
        Some(ProviderId::Aws) | None => "local",
    }
}
