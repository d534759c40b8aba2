//! A fault-injecting HTTP proxy for tests: it sits between fnctl and an
//! emulator on loopback and, at a set rate, answers in place of the emulator
//! the way a busy cloud does — throttling (429, or S3's 503 SlowDown, with
//! the error code each AWS protocol uses), 500, 503, a connection reset — or
//! delays the request. It can also lose responses: forward the request, let
//! the emulator act on it, then reset the connection instead of answering,
//! which is what a network drop after a successful create looks like.
//!
//! Each connection carries one request (`Connection: close` both ways), so
//! every request gets its own independent draw. The draws come from a seeded
//! generator so a failing run can be replayed.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::XorShift;

/// What the proxy does to traffic.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Share of requests answered by the proxy with a fault (0.0–1.0).
    pub rate: f64,
    /// Share of forwarded requests whose response is dropped (0.0–1.0).
    pub lose_responses: f64,
    /// Only this fault, instead of a random mix (e.g. a persistent outage).
    pub only: Option<Fault>,
    /// Seeds the draws when the proxy starts (changing it later has no effect).
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Throttle,
    InternalError,
    Unavailable,
    Reset,
    Slow,
}

const MIX: [Fault; 5] = [
    Fault::Throttle,
    Fault::InternalError,
    Fault::Unavailable,
    Fault::Reset,
    Fault::Slow,
];

/// Counts of what happened, for assertions.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub faulted: AtomicU64,
    pub lost: AtomicU64,
}

pub struct FaultProxy {
    pub endpoint: String,
    pub stats: Arc<Stats>,
    faults: Arc<Mutex<Faults>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port in front of `upstream`
    /// (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str, faults: Faults) -> FaultProxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind a loopback port");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let stats = Arc::new(Stats::default());
        let rng = Arc::new(Mutex::new(XorShift(faults.seed | 1)));
        let faults = Arc::new(Mutex::new(faults));
        let shared = (stats.clone(), rng, faults.clone());
        runtime.spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let upstream = upstream.clone();
                let (stats, rng, faults) = shared.clone();
                tokio::spawn(async move {
                    let faults = *faults.lock().unwrap();
                    let _ = serve(client, &upstream, faults, &stats, &rng).await;
                });
            }
        });
        FaultProxy {
            endpoint,
            stats,
            faults,
            runtime: Some(runtime),
        }
    }

    /// Changes the faults for requests from now on (e.g. none, to check
    /// the end state through the same endpoint).
    pub fn set(&self, faults: Faults) {
        *self.faults.lock().unwrap() = faults;
    }

    pub fn faulted(&self) -> u64 {
        self.stats.faulted.load(Ordering::Relaxed)
    }

    pub fn lost(&self) -> u64 {
        self.stats.lost.load(Ordering::Relaxed)
    }

    pub fn requests(&self) -> u64 {
        self.stats.requests.load(Ordering::Relaxed)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// One request on one connection.
async fn serve(
    mut client: TcpStream,
    upstream: &str,
    faults: Faults,
    stats: &Stats,
    rng: &Mutex<XorShift>,
) -> io::Result<()> {
    let Some((head, body)) = read_request(&mut client).await? else {
        return Ok(());
    };
    stats.requests.fetch_add(1, Ordering::Relaxed);
    let (fault, lose) = {
        let mut rng = rng.lock().unwrap();
        let fault = if rng.next_f64() < faults.rate {
            Some(
                faults
                    .only
                    .unwrap_or(MIX[(rng.next_f64() * MIX.len() as f64) as usize]),
            )
        } else {
            None
        };
        (fault, rng.next_f64() < faults.lose_responses)
    };
    if let Some(fault) = fault {
        stats.faulted.fetch_add(1, Ordering::Relaxed);
        let service = service_of(&head);
        match fault {
            Fault::Reset => return reset(client),
            Fault::Slow => tokio::time::sleep(Duration::from_millis(400)).await,
            Fault::Throttle | Fault::InternalError | Fault::Unavailable => {
                let response = error_response(fault, &service);
                client.write_all(&response).await?;
                return client.shutdown().await;
            }
        }
    }
    let mut up = TcpStream::connect(upstream).await?;
    up.write_all(&with_connection_close(&head)).await?;
    up.write_all(&body).await?;
    let mut response = Vec::new();
    up.read_to_end(&mut response).await?;
    if lose {
        stats.lost.fetch_add(1, Ordering::Relaxed);
        return reset(client);
    }
    client.write_all(&response_closing(response)).await?;
    client.shutdown().await
}

/// Adds `Connection: close` to a response head that lacks it, so the client
/// does not pool a connection the proxy is about to close.
fn response_closing(response: Vec<u8>) -> Vec<u8> {
    let Some(end) = find(&response, b"\r\n\r\n") else {
        return response;
    };
    let head = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
    if head.contains("\r\nconnection: close") {
        return response;
    }
    let mut out = response[..end].to_vec();
    out.extend_from_slice(b"\r\nConnection: close");
    out.extend_from_slice(&response[end..]);
    out
}

/// Closes with a TCP reset rather than an orderly FIN. (`set_linger` is
/// deprecated because a non-zero linger blocks on drop; zero does not.)
#[allow(deprecated)]
fn reset(client: TcpStream) -> io::Result<()> {
    client.set_linger(Some(Duration::ZERO))?;
    drop(client);
    Ok(())
}

/// Reads the request head and its body (Content-Length or chunked).
async fn read_request(client: &mut TcpStream) -> io::Result<Option<(String, Vec<u8>)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut body = buf[head_end..].to_vec();
    let lower = head.to_ascii_lowercase();
    if let Some(len) = header(&lower, "content-length").and_then(|v| v.parse::<usize>().ok()) {
        while body.len() < len {
            let n = client.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if header(&lower, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        while !body.ends_with(b"0\r\n\r\n") {
            let n = client.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    Ok(Some((head, body)))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn header<'a>(lower_head: &'a str, name: &str) -> Option<&'a str> {
    lower_head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == name).then(|| v.trim())
    })
}

/// The request head with any `Connection` header replaced by `close`, so
/// the emulator ends the response with EOF.
fn with_connection_close(head: &str) -> Vec<u8> {
    let mut out = String::new();
    for line in head.trim_end_matches("\r\n").split("\r\n") {
        if line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}

/// The AWS service a signed request is for, from its SigV4 credential scope
/// (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`).
/// Requests with a bearer token instead are Azure's (`azure`).
fn service_of(head: &str) -> String {
    if let Some(service) = head
        .split("Credential=")
        .nth(1)
        .and_then(|s| s.split('/').nth(3))
    {
        return service.to_string();
    }
    let lower = head.to_ascii_lowercase();
    if lower.contains("\r\nauthorization: bearer ") {
        return "azure".into();
    }
    if lower.contains("\r\nx-ms-version: ") {
        // The blob service, signed with a SAS in the query.
        return "azure-storage".into();
    }
    "unknown".into()
}

/// A fault response in the error shape of the service's protocol, so the
/// SDK classifies it as it would the real thing.
fn error_response(fault: Fault, service: &str) -> Vec<u8> {
    if service == "azure" {
        return arm_error_response(fault);
    }
    if service == "azure-storage" {
        return storage_error_response(fault);
    }
    let (status, reason, code, message) = match (fault, service) {
        (Fault::Throttle, "s3") => (
            503,
            "Slow Down",
            "SlowDown",
            "Please reduce your request rate.",
        ),
        (Fault::Throttle, "iam" | "sts") => (400, "Bad Request", "Throttling", "Rate exceeded"),
        (Fault::Throttle, "events" | "logs") => {
            (400, "Bad Request", "ThrottlingException", "Rate exceeded")
        }
        (Fault::Throttle, _) => (
            429,
            "Too Many Requests",
            "TooManyRequestsException",
            "Rate exceeded",
        ),
        (Fault::InternalError, _) => (
            500,
            "Internal Server Error",
            "InternalFailure",
            "injected internal error",
        ),
        _ => (
            503,
            "Service Unavailable",
            "ServiceUnavailable",
            "injected outage",
        ),
    };
    let (content_type, body) = match service {
        "s3" => (
            "application/xml",
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault</RequestId></Error>"),
        ),
        "iam" | "sts" => (
            "text/xml",
            format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>"),
        ),
        "events" | "logs" => (
            "application/x-amz-json-1.1",
            format!("{{\"__type\":\"{code}\",\"message\":\"{message}\"}}"),
        ),
        _ => ("application/json", format!("{{\"message\":\"{message}\"}}")),
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nx-amzn-ErrorType: {code}\r\nx-amzn-RequestId: fault\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A fault in Azure Resource Manager's shape: `{"error": {"code", "message"}}`,
/// with `Retry-After` on throttling as ARM sends it.
fn arm_error_response(fault: Fault) -> Vec<u8> {
    let (status, reason, code, retry_after) = match fault {
        Fault::Throttle => (
            429,
            "Too Many Requests",
            "TooManyRequests",
            "Retry-After: 1\r\n",
        ),
        Fault::InternalError => (500, "Internal Server Error", "InternalServerError", ""),
        _ => (503, "Service Unavailable", "ServiceUnavailable", ""),
    };
    let body = format!("{{\"error\":{{\"code\":\"{code}\",\"message\":\"injected {reason}\"}}}}");
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n{retry_after}x-ms-request-id: fault\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A fault in the blob service's shape: XML `<Error><Code>…`, with the code
/// in `x-ms-error-code`; the service throttles with 503 `ServerBusy`.
fn storage_error_response(fault: Fault) -> Vec<u8> {
    let (status, reason, code) = match fault {
        Fault::InternalError => (500, "Internal Server Error", "InternalError"),
        _ => (503, "Service Unavailable", "ServerBusy"),
    };
    let body = format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>injected {reason}</Message></Error>");
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\nx-ms-error-code: {code}\r\nx-ms-request-id: fault\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
