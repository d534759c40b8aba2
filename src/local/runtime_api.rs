//! An embedded AWS Lambda Runtime API, so the official runtime clients
//! (`awslambdaric` for Python, `aws-lambda-ric` for Node, any `bootstrap`
//! built with `lambda_runtime`) run handlers locally without modification.
//!
//! The protocol (API version 2018-06-01): the runtime long-polls
//! `GET /runtime/invocation/next`, which answers with the event and the
//! request id, deadline, function ARN and trace headers; it then posts the
//! result to `/runtime/invocation/{id}/response` or `/error`, or reports a
//! failed start to `/runtime/init/error`.
//!
//! Timing follows Lambda's: the function's timeout covers the handler's
//! run, from the moment a runtime picks the invocation up, not the time it
//! waited for a runtime to start. Starting a runtime has Lambda's own limit,
//! [`INIT_LIMIT`]: an init that takes longer is, on Lambda, retried within
//! the first invocation under the function's timeout, so an invocation not
//! picked up within `INIT_LIMIT + timeout` of being queued has timed out.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::{oneshot, Mutex, Notify};
use tokio::time::Instant;

/// Lambda's limit on the Init phase (starting the runtime and running the
/// function's static code) of an on-demand function.
pub const INIT_LIMIT: Duration = Duration::from_secs(10);

/// What became of one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The handler returned this payload.
    Response(Vec<u8>),
    /// The handler raised; `error_type` as reported by the runtime client.
    Error { error_type: String, body: Vec<u8> },
    /// The runtime could not start (import error, missing handler...).
    InitError { error_type: String, body: Vec<u8> },
}

struct Queued {
    id: String,
    event: Vec<u8>,
    /// The function's timeout, counted from the pickup.
    timeout: Duration,
    /// Not picked up by then: the invocation has timed out (see the module
    /// documentation).
    latest: Instant,
    /// Receives the deadline when a runtime picks the invocation up.
    picked: oneshot::Sender<Instant>,
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<Queued>,
    waiting: BTreeMap<String, oneshot::Sender<Outcome>>,
    init_error: Option<Outcome>,
}

/// Shared state of one Runtime API endpoint (one per function worker pool).
#[derive(Clone)]
pub struct RuntimeApi {
    inner: Arc<Mutex<Inner>>,
    ready: Arc<Notify>,
    function_arn: String,
    /// [`INIT_LIMIT`]; shorter in unit tests.
    init_limit: Duration,
    pub addr: SocketAddr,
}

/// An X-Ray style trace header, stable for a request id.
fn trace_id(id: &str, deadline_ms: u128) -> String {
    use sha2::{Digest, Sha256};
    let h = hex::encode(Sha256::digest(id.as_bytes()));
    format!(
        "Root=1-{:08x}-{};Parent={};Sampled=0",
        (deadline_ms / 1000) as u32,
        &h[..24],
        &h[24..40]
    )
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

impl RuntimeApi {
    /// Starts the endpoint on a free loopback port.
    pub async fn start(function_arn: String) -> std::io::Result<RuntimeApi> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let api = RuntimeApi {
            inner: Arc::default(),
            ready: Arc::new(Notify::new()),
            function_arn,
            init_limit: INIT_LIMIT,
            addr,
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(api.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(api)
    }

    /// `host:port` for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Queues an event and waits for its outcome: at most `timeout` once a
    /// runtime has picked it up, at most `INIT_LIMIT + timeout` in all.
    /// `None` means the deadline passed with no answer.
    pub async fn invoke(&self, id: String, event: Vec<u8>, timeout: Duration) -> Option<Outcome> {
        let (tx, mut rx) = oneshot::channel();
        let (picked_tx, picked_rx) = oneshot::channel();
        let latest = Instant::now() + self.init_limit + timeout;
        {
            let mut inner = self.inner.lock().await;
            if let Some(e) = &inner.init_error {
                return Some(e.clone());
            }
            inner.waiting.insert(id.clone(), tx);
            inner.queue.push_back(Queued {
                id: id.clone(),
                event,
                timeout,
                latest,
                picked: picked_tx,
            });
        }
        self.ready.notify_waiters();
        self.ready.notify_one();
        let outcome = 'wait: {
            let deadline = tokio::select! {
                biased;
                // An init error answers before any pickup.
                answer = &mut rx => break 'wait answer.ok(),
                // Dropped unpicked: expired, or the runtime failed to start.
                picked = picked_rx => picked.unwrap_or(latest),
                () = tokio::time::sleep_until(latest) => latest,
            };
            tokio::time::timeout_at(deadline, rx)
                .await
                .ok()
                .and_then(Result::ok)
        };
        if outcome.is_none() {
            // Not picked up or not answered in time: forget it entirely, so
            // no later poll receives a stale event.
            let mut inner = self.inner.lock().await;
            inner.waiting.remove(&id);
            inner.queue.retain(|q| q.id != id);
        }
        outcome
    }

    async fn complete(&self, id: &str, outcome: Outcome) -> StatusCode {
        match self.inner.lock().await.waiting.remove(id) {
            Some(tx) => {
                let _ = tx.send(outcome);
                StatusCode::ACCEPTED
            }
            None => StatusCode::BAD_REQUEST,
        }
    }
}

async fn next(State(api): State<RuntimeApi>) -> Response {
    loop {
        let notified = api.ready.notified();
        {
            let mut inner = api.inner.lock().await;
            while let Some(q) = inner.queue.pop_front() {
                // The run starts now: the function's timeout counts from here.
                let now = Instant::now();
                if q.latest <= now {
                    // Expired while queued; its caller is answering `None`.
                    continue;
                }
                let deadline = (now + q.timeout).min(q.latest);
                let deadline_ms = now_ms() + deadline.duration_since(now).as_millis();
                let _ = q.picked.send(deadline);
                let mut headers = HeaderMap::new();
                let put = |h: &mut HeaderMap, k: &'static str, v: String| {
                    if let Ok(v) = v.parse() {
                        h.insert(k, v);
                    }
                };
                put(&mut headers, "lambda-runtime-aws-request-id", q.id.clone());
                put(
                    &mut headers,
                    "lambda-runtime-deadline-ms",
                    deadline_ms.to_string(),
                );
                put(
                    &mut headers,
                    "lambda-runtime-invoked-function-arn",
                    api.function_arn.clone(),
                );
                put(
                    &mut headers,
                    "lambda-runtime-trace-id",
                    trace_id(&q.id, deadline_ms),
                );
                put(&mut headers, "content-type", "application/json".into());
                return (StatusCode::OK, headers, q.event).into_response();
            }
        }
        notified.await;
    }
}

async fn response(
    State(api): State<RuntimeApi>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    api.complete(&id, Outcome::Response(body.to_vec())).await
}

fn error_type(headers: &HeaderMap, body: &[u8]) -> String {
    headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["errorType"].as_str().map(str::to_string))
        })
        .unwrap_or_else(|| "Unhandled".into())
}

async fn error(
    State(api): State<RuntimeApi>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let error_type = error_type(&headers, &body);
    api.complete(
        &id,
        Outcome::Error {
            error_type,
            body: body.to_vec(),
        },
    )
    .await
}

/// A failed start fails every waiting invocation, and later ones at once.
async fn init_error(State(api): State<RuntimeApi>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let outcome = Outcome::InitError {
        error_type: error_type(&headers, &body),
        body: body.to_vec(),
    };
    let mut inner = api.inner.lock().await;
    inner.init_error = Some(outcome.clone());
    inner.queue.clear();
    for (_, tx) in std::mem::take(&mut inner.waiting) {
        let _ = tx.send(outcome.clone());
    }
    StatusCode::ACCEPTED
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only stops a broken test from hanging; never reached by a correct run,
    /// however slow.
    const HANG_GUARD: Duration = Duration::from_secs(600);

    /// A runtime client written with plain HTTP calls, to check the protocol
    /// shape; the real clients are exercised in the integration tests.
    async fn call(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        let status = out[9..12].parse().unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        (status, head.to_string(), body.to_string())
    }

    #[tokio::test]
    async fn next_then_response_completes_the_invocation() {
        let api = RuntimeApi::start("arn:aws:lambda:local:0:function:f".into())
            .await
            .unwrap();
        let addr = api.addr;
        let client = tokio::spawn(async move {
            let (status, head, body) =
                call(addr, "GET", "/2018-06-01/runtime/invocation/next", "").await;
            assert_eq!(status, 200);
            assert_eq!(body, r#"{"x":1}"#);
            assert!(head.contains(
                "lambda-runtime-invoked-function-arn: arn:aws:lambda:local:0:function:f"
            ));
            assert!(head.contains("lambda-runtime-deadline-ms: "));
            let (status, _, _) = call(
                addr,
                "POST",
                "/2018-06-01/runtime/invocation/req-1/response",
                r#"{"ok":true}"#,
            )
            .await;
            assert_eq!(status, 202);
        });
        let outcome = api
            .invoke("req-1".into(), br#"{"x":1}"#.to_vec(), HANG_GUARD)
            .await;
        client.await.unwrap();
        assert_eq!(outcome, Some(Outcome::Response(br#"{"ok":true}"#.to_vec())));
    }

    #[tokio::test]
    async fn errors_timeouts_and_init_errors() {
        let mut api = RuntimeApi::start("arn".into()).await.unwrap();
        api.init_limit = Duration::ZERO;
        let addr = api.addr;
        tokio::spawn(async move {
            call(addr, "GET", "/2018-06-01/runtime/invocation/next", "").await;
            call(
                addr,
                "POST",
                "/2018-06-01/runtime/invocation/a/error",
                r#"{"errorType":"ValueError","errorMessage":"bad"}"#,
            )
            .await;
        });
        let outcome = api.invoke("a".into(), b"{}".to_vec(), HANG_GUARD).await;
        assert!(
            matches!(outcome, Some(Outcome::Error { ref error_type, .. }) if error_type == "ValueError"),
            "{outcome:?}"
        );

        // Nobody polls: the init limit (zero here) and the timeout pass.
        assert_eq!(
            api.invoke("b".into(), b"{}".to_vec(), Duration::from_millis(100))
                .await,
            None
        );

        let (status, _, _) = call(
            addr,
            "POST",
            "/2018-06-01/runtime/init/error",
            r#"{"errorType":"Runtime.ImportModuleError"}"#,
        )
        .await;
        assert_eq!(status, 202);
        let outcome = api.invoke("c".into(), b"{}".to_vec(), HANG_GUARD).await;
        assert!(
            matches!(outcome, Some(Outcome::InitError { ref error_type, .. }) if error_type == "Runtime.ImportModuleError")
        );
        let (status, _, _) = call(
            addr,
            "POST",
            "/2018-06-01/runtime/invocation/unknown/response",
            "{}",
        )
        .await;
        assert_eq!(status, 400, "an unknown request id is refused");
    }

    /// The deadline header of a pickup made by calling the handler directly.
    fn deadline_header(picked: &Response) -> u128 {
        picked.headers()["lambda-runtime-deadline-ms"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Waiting for a runtime (a cold start on a busy machine) is not run
    /// time: an invocation queued for longer than its whole timeout still
    /// gets the full timeout once picked up, and its answer counts.
    ///
    /// The runtime is driven by calling the handler in this task; on the
    /// single-threaded test runtime nothing else runs between the pickup and
    /// the answer, so the result does not depend on the machine's speed.
    #[tokio::test]
    async fn the_timeout_counts_from_the_pickup_not_from_queueing() {
        let mut api = RuntimeApi::start("arn".into()).await.unwrap();
        // However long this task is held up, the init limit does not cut in.
        api.init_limit = HANG_GUARD;
        let timeout = Duration::from_millis(200);
        let invocation = tokio::spawn({
            let api = api.clone();
            async move { api.invoke("q".into(), b"{}".to_vec(), timeout).await }
        });
        // At least three timeouts pass before any runtime asks for work.
        tokio::time::sleep(timeout * 3).await;
        let before = now_ms();
        let picked = tokio::time::timeout(HANG_GUARD, next(State(api.clone())))
            .await
            .expect("the invocation is still queued after its timeout");
        let after = now_ms();
        let deadline = deadline_header(&picked);
        assert!(
            before + 200 <= deadline && deadline <= after + 200,
            "the deadline is the pickup plus the timeout: {before} <= {deadline} - 200 <= {after}"
        );
        assert_eq!(
            api.complete("q", Outcome::Response(b"ok".to_vec())).await,
            StatusCode::ACCEPTED
        );
        assert_eq!(
            invocation.await.unwrap(),
            Some(Outcome::Response(b"ok".to_vec()))
        );
    }

    /// Once picked up, the timeout runs: no answer is `None`, and a late
    /// answer is refused.
    #[tokio::test]
    async fn a_picked_up_invocation_times_out_after_the_timeout() {
        let api = RuntimeApi::start("arn".into()).await.unwrap();
        let invocation = tokio::spawn({
            let api = api.clone();
            async move {
                api.invoke("p".into(), b"{}".to_vec(), Duration::from_millis(100))
                    .await
            }
        });
        let before = now_ms();
        let picked = tokio::time::timeout(HANG_GUARD, next(State(api.clone())))
            .await
            .unwrap();
        assert!(deadline_header(&picked) >= before + 100);
        assert_eq!(invocation.await.unwrap(), None);
        assert_eq!(
            api.complete("p", Outcome::Response(b"late".to_vec())).await,
            StatusCode::BAD_REQUEST
        );
    }

    /// A runtime that never starts: after the init limit and the timeout the
    /// invocation is `None`, and it is gone from the queue.
    #[tokio::test]
    async fn an_invocation_never_picked_up_expires_after_the_init_limit() {
        let mut api = RuntimeApi::start("arn".into()).await.unwrap();
        api.init_limit = Duration::from_millis(50);
        assert_eq!(
            api.invoke("n".into(), b"{}".to_vec(), Duration::from_millis(50))
                .await,
            None
        );
        assert!(api.inner.lock().await.queue.is_empty());
        assert!(api.inner.lock().await.waiting.is_empty());
    }
}
