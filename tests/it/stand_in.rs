//! A loopback HTTP server that records every request and answers with a
//! reply the test sets: the stand-in for a deployed API where no emulator
//! serves one (moto runs API Gateway's control plane, not its URLs).

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query, as sent.
    pub uri: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Shared {
    requests: Vec<Recorded>,
    /// Status, content type, body.
    reply: (u16, String, String),
}

pub struct StandIn {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    shared: Arc<Mutex<Shared>>,
    _served: crate::common::Served,
}

impl StandIn {
    pub fn start() -> StandIn {
        let shared = Arc::new(Mutex::new(Shared {
            requests: Vec::new(),
            reply: (200, "text/plain".into(), String::new()),
        }));
        let served =
            crate::common::serve(Router::new().fallback(record).with_state(shared.clone()));
        StandIn {
            url: served.url.clone(),
            shared,
            _served: served,
        }
    }

    /// What every following request gets back.
    pub fn answer(&self, status: u16, content_type: &str, body: &str) {
        self.shared.lock().unwrap().reply = (status, content_type.into(), body.into());
    }

    /// The requests so far, oldest first, and forgets them.
    pub fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut self.shared.lock().unwrap().requests)
    }
}

async fn record(
    State(shared): State<Arc<Mutex<Shared>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = shared.lock().unwrap();
    s.requests.push(Recorded {
        method: method.to_string(),
        uri: uri.to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body: body.to_vec(),
    });
    let (status, content_type, body) = s.reply.clone();
    (
        StatusCode::from_u16(status).unwrap(),
        [
            ("content-type", content_type),
            ("x-served-by", "stand-in".into()),
        ],
        body,
    )
        .into_response()
}
