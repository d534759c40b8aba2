//! Running functions on this machine with the event shapes the clouds send.
//!
//! [`runtime_api`] is an embedded Lambda Runtime API; [`worker`] starts the
//! official runtime client of the function's language against it. One
//! local invocation starts a worker, sends one event, waits for the answer
//! within the manifest's timeout, and stops the worker.

pub mod azure;
pub mod cors;
pub mod dev;
pub mod http;
pub mod jwt;
pub mod pool;
pub mod queue;
pub mod run_as;
pub mod runtime_api;
pub mod worker;

use std::time::{Duration, Instant};

use crate::model::{App, Function};
pub use run_as::invoke_as;
pub use runtime_api::{Outcome, RuntimeApi};
pub use worker::{Worker, WorkerError};

/// The result of one local invocation.
#[derive(Debug, Clone)]
pub struct LocalRun {
    /// `None`: the timeout passed (the worker was stopped).
    pub outcome: Option<Outcome>,
    pub logs: Vec<String>,
    pub duration: Duration,
}

/// Runs `f` once with `event`.
pub async fn invoke_once(app: &App, f: &Function, event: Vec<u8>) -> Result<LocalRun, WorkerError> {
    Worker::check(f).await?;
    let arn = format!(
        "arn:aws:lambda:local:000000000000:function:{}",
        crate::provider::aws::names::function(app, &f.name)
    );
    let api = RuntimeApi::start(arn)
        .await
        .map_err(|source| WorkerError::Spawn {
            program: "runtime API".into(),
            function: f.name.clone(),
            source,
        })?;
    let worker = Worker::spawn(app, f, &api.address(), false)?;
    let started = Instant::now();
    let timeout = Duration::from_secs(u64::from(f.timeout_s));
    let id = format!(
        "{:032x}",
        started.elapsed().as_nanos() ^ u128::from(std::process::id()) << 64
    );
    let outcome = api.invoke(id, event, timeout).await;
    let duration = started.elapsed();
    let logs = worker.stop().await;
    Ok(LocalRun {
        outcome,
        logs,
        duration,
    })
}
