//! Warm workers per function, grown on demand up to a bound.
//!
//! A pool owns one Runtime API endpoint; every worker of the function polls
//! it, so concurrent requests spread over idle workers by themselves. A new
//! worker starts when more invocations are in flight than workers exist,
//! up to `max`. A code change replaces the whole pool (see `dev`), so a
//! fixed init error does not stick.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use super::runtime_api::{Outcome, RuntimeApi};
use super::worker::{Worker, WorkerError};
use crate::model::{App, Function};

struct State {
    api: RuntimeApi,
    workers: Vec<Worker>,
}

/// The workers of one function.
pub struct Pool {
    app: App,
    function: Function,
    max: usize,
    state: Mutex<State>,
    in_flight: AtomicUsize,
    counter: AtomicU64,
}

/// A worker process exited while requests were waiting.
const CRASHED: &str = "Runtime.ExitError";

impl Pool {
    pub async fn new(app: &App, function: &Function, max: usize) -> Result<Arc<Pool>, WorkerError> {
        Worker::check(function).await?;
        let api = Self::endpoint(app, function).await?;
        Ok(Arc::new(Pool {
            app: app.clone(),
            function: function.clone(),
            max: max.max(1),
            state: Mutex::new(State {
                api,
                workers: Vec::new(),
            }),
            in_flight: AtomicUsize::new(0),
            counter: AtomicU64::new(0),
        }))
    }

    async fn endpoint(app: &App, f: &Function) -> Result<RuntimeApi, WorkerError> {
        let arn = format!(
            "arn:aws:lambda:local:000000000000:function:{}",
            crate::provider::aws::names::function(app, &f.name)
        );
        RuntimeApi::start(arn)
            .await
            .map_err(|source| WorkerError::Spawn {
                program: "runtime API".into(),
                function: f.name.clone(),
                source,
            })
    }

    pub fn function(&self) -> &Function {
        &self.function
    }

    /// Runs one event; `None` when the function's timeout passed.
    pub async fn invoke(&self, event: Vec<u8>) -> Result<Option<Outcome>, WorkerError> {
        let n = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let result = self.invoke_inner(event, n).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        result
    }

    async fn invoke_inner(
        &self,
        event: Vec<u8>,
        in_flight: usize,
    ) -> Result<Option<Outcome>, WorkerError> {
        let api = {
            let mut state = self.state.lock().await;
            state.workers.retain_mut(|w| w.is_running());
            while state.workers.len() < in_flight.min(self.max) {
                let w = Worker::spawn(&self.app, &self.function, &state.api.address(), true)?;
                state.workers.push(w);
            }
            state.api.clone()
        };
        let id = format!(
            "{:08x}-local-{:012x}",
            std::process::id(),
            self.counter.fetch_add(1, Ordering::SeqCst)
        );
        let timeout = Duration::from_secs(u64::from(self.function.timeout_s));
        let invocation = api.invoke(id, event, timeout);
        tokio::pin!(invocation);
        // If every worker dies (a crash, `os._exit`), answer at once instead of
        // waiting for the timeout; the next request starts a fresh worker.
        loop {
            tokio::select! {
                outcome = &mut invocation => return Ok(outcome),
                _ = tokio::time::sleep(Duration::from_millis(200)) => {
                    let mut state = self.state.lock().await;
                    state.workers.retain_mut(|w| w.is_running());
                    if state.workers.is_empty() {
                        return Ok(Some(Outcome::Error { error_type: CRASHED.into(), body: br#"{"errorMessage": "the runtime process exited", "errorType": "Runtime.ExitError"}"#.to_vec() }));
                    }
                }
            }
        }
    }

    /// Stops every worker.
    pub async fn shutdown(&self) {
        let old = std::mem::take(&mut self.state.lock().await.workers);
        for w in old {
            w.stop().await;
        }
    }
}
