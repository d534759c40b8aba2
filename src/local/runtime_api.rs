//! An embedded AWS Lambda Runtime API, so the official runtime clients
//! (`awslambdaric` for Python, `aws-lambda-ric` for Node, any `bootstrap`
//! built with `lambda_runtime`) run handlers locally without modification.
//!
//! The protocol (API version 2018-06-01): the runtime long-polls
//! `GET /runtime/invocation/next`, which answers with the event and the
//! request id, deadline, function ARN and trace headers; it then posts the
//! result to `/runtime/invocation/{id}/response` or `/error`, or reports a
//! failed start to `/runtime/init/error`.

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
    deadline_ms: u128,
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

    /// Queues an event and waits for its outcome, at most `timeout`.
    /// `None` means the deadline passed with no answer.
    pub async fn invoke(&self, id: String, event: Vec<u8>, timeout: Duration) -> Option<Outcome> {
        let (tx, rx) = oneshot::channel();
        {
            let mut inner = self.inner.lock().await;
            if let Some(e) = &inner.init_error {
                return Some(e.clone());
            }
            inner.waiting.insert(id.clone(), tx);
            inner.queue.push_back(Queued {
                id: id.clone(),
                event,
                deadline_ms: now_ms() + timeout.as_millis(),
            });
        }
        self.ready.notify_waiters();
        self.ready.notify_one();
        let outcome = tokio::time::timeout(timeout, rx)
            .await
            .ok()
            .and_then(Result::ok);
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
            if let Some(q) = inner.queue.pop_front() {
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
                    q.deadline_ms.to_string(),
                );
                put(
                    &mut headers,
                    "lambda-runtime-invoked-function-arn",
                    api.function_arn.clone(),
                );
                put(
                    &mut headers,
                    "lambda-runtime-trace-id",
                    trace_id(&q.id, q.deadline_ms),
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
            .invoke(
                "req-1".into(),
                br#"{"x":1}"#.to_vec(),
                Duration::from_secs(5),
            )
            .await;
        client.await.unwrap();
        assert_eq!(outcome, Some(Outcome::Response(br#"{"ok":true}"#.to_vec())));
    }

    #[tokio::test]
    async fn errors_timeouts_and_init_errors() {
        let api = RuntimeApi::start("arn".into()).await.unwrap();
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
        let outcome = api
            .invoke("a".into(), b"{}".to_vec(), Duration::from_secs(5))
            .await;
        assert!(
            matches!(outcome, Some(Outcome::Error { ref error_type, .. }) if error_type == "ValueError"),
            "{outcome:?}"
        );

        // Nobody polls: the deadline passes.
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
        let outcome = api
            .invoke("c".into(), b"{}".to_vec(), Duration::from_secs(1))
            .await;
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
}
