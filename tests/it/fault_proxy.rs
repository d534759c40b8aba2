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
//!
//! Every proxy also has a [`Tripwire`] (one can be shared by several
//! proxies): it counts the requests they receive and can hold a chosen one
//! — the Nth, or the first a test picks — until the test has acted (killed
//! or interrupted the client) and lets it go or drops it. Crash points are
//! then events in the client's own progress, not moments on a clock.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
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

/// A test's choice of request, given its head and body.
type Chooser = Box<dyn FnMut(&str, &[u8]) -> bool + Send>;

/// Which request a [`Tripwire`] holds.
enum Pick {
    /// The Nth counted from when it was armed (1-based).
    Nth(u64),
    /// The first one the test's function says yes to.
    First(Chooser),
}

#[derive(Default)]
struct TripState {
    /// Requests received since the last reset or arming.
    seen: u64,
    /// Connections accepted and not yet finished with.
    in_flight: usize,
    pick: Option<Pick>,
    /// Where the held request is announced.
    to_test: Option<mpsc::Sender<Held>>,
    /// Drop every request after the held one (its sender is being killed).
    drop_later: bool,
    tripped: bool,
}

/// Counts the requests one or more proxies receive and holds one of them
/// until the test lets it go; see [`Tripwire::hold_nth`] and
/// [`Tripwire::hold_first`].
#[derive(Default)]
pub struct Tripwire {
    state: Mutex<TripState>,
    idle: Condvar,
}

/// A request the proxy is holding: nothing has been sent upstream yet.
/// Dropping it without [`Held::forward`] drops the request.
pub struct Held {
    /// What it is, for messages: the service and the AWS operation, or
    /// `METHOD /path` (e.g. `iam CreateRole`, `azure PUT /subscriptions/…`).
    pub request: String,
    release: tokio::sync::oneshot::Sender<bool>,
}

impl Held {
    /// Sends the request on to the emulator, which acts on it; whether the
    /// client can still read the answer is its own affair.
    pub fn forward(self) {
        let _ = self.release.send(true);
    }

    /// Closes the client's connection with a reset; the emulator never sees
    /// the request.
    pub fn drop_request(self) {
        let _ = self.release.send(false);
    }
}

/// What the proxy does with one request, as the tripwire decides.
enum Verdict {
    Pass,
    Hold(tokio::sync::oneshot::Receiver<bool>),
    Drop,
}

impl Tripwire {
    pub fn new() -> Arc<Tripwire> {
        Arc::new(Tripwire::default())
    }

    /// Counts from zero again, holding and dropping nothing.
    pub fn reset(&self) {
        let mut s = self.state.lock().unwrap();
        s.seen = 0;
        s.pick = None;
        s.to_test = None;
        s.drop_later = false;
        s.tripped = false;
    }

    /// Requests received since the last reset or arming.
    pub fn seen(&self) -> u64 {
        self.state.lock().unwrap().seen
    }

    /// Counts from zero and holds the `n`th request (1-based); every
    /// request after it is dropped until the next reset or arming, as its
    /// sender is about to be killed. The held request is announced on the
    /// returned channel.
    pub fn hold_nth(&self, n: u64) -> mpsc::Receiver<Held> {
        assert!(n >= 1, "requests are counted from 1");
        self.arm(Pick::Nth(n), true)
    }

    /// Counts from zero and holds the first request `pick` chooses (given
    /// the request head and body); the others pass.
    pub fn hold_first(
        &self,
        pick: impl FnMut(&str, &[u8]) -> bool + Send + 'static,
    ) -> mpsc::Receiver<Held> {
        self.arm(Pick::First(Box::new(pick)), false)
    }

    fn arm(&self, pick: Pick, drop_later: bool) -> mpsc::Receiver<Held> {
        let (tx, rx) = mpsc::channel();
        let mut s = self.state.lock().unwrap();
        s.seen = 0;
        s.pick = Some(pick);
        s.to_test = Some(tx);
        s.drop_later = drop_later;
        s.tripped = false;
        rx
    }

    /// Blocks until every connection the proxies accepted is finished with
    /// (answered, dropped or closed by the client), so that no request of a
    /// killed client is still on its way to the emulator.
    pub fn wait_idle(&self) {
        let mut s = self.state.lock().unwrap();
        while s.in_flight > 0 {
            s = self.idle.wait(s).unwrap();
        }
    }

    fn accepted(self: &Arc<Self>) -> Connection {
        self.state.lock().unwrap().in_flight += 1;
        Connection(self.clone())
    }

    /// Counts a request that has fully arrived and decides what to do
    /// with it.
    fn arrived(&self, head: &str, body: &[u8]) -> Verdict {
        let mut s = self.state.lock().unwrap();
        s.seen += 1;
        let number = s.seen;
        if s.tripped {
            return if s.drop_later {
                Verdict::Drop
            } else {
                Verdict::Pass
            };
        }
        let hit = match &mut s.pick {
            None => false,
            Some(Pick::Nth(n)) => number == *n,
            Some(Pick::First(pick)) => pick(head, body),
        };
        if !hit {
            return Verdict::Pass;
        }
        s.tripped = true;
        s.pick = None;
        let (release, released) = tokio::sync::oneshot::channel();
        let held = Held {
            request: describe(head, body),
            release,
        };
        match s.to_test.take() {
            Some(tx) if tx.send(held).is_ok() => Verdict::Hold(released),
            // Nobody is waiting for it: as if the test let it go.
            _ => Verdict::Pass,
        }
    }
}

/// A request in a few words: the service, then the AWS operation where the
/// protocol names one, else `METHOD /path` (without the query).
fn describe(head: &str, body: &[u8]) -> String {
    let service = service_of(head);
    if let Some(op) = aws_operation(head, body) {
        return format!("{service} {op}");
    }
    let mut words = head.split(' ');
    let method = words.next().unwrap_or_default();
    let path = words.next().unwrap_or_default();
    format!(
        "{service} {method} {}",
        path.split('?').next().unwrap_or_default()
    )
}

/// The operation an AWS request names: `X-Amz-Target: Service.Operation`
/// (JSON protocols) or `Action=Operation` (query protocol); `None` for
/// REST protocols (Lambda, API Gateway, S3) and Azure, where the method
/// and path say what a request does.
pub fn aws_operation(head: &str, body: &[u8]) -> Option<String> {
    let target = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("x-amz-target")
            .then(|| v.trim().rsplit('.').next().unwrap_or_default().to_string())
    });
    target.or_else(|| {
        if !head
            .to_ascii_lowercase()
            .contains("application/x-www-form-urlencoded")
        {
            return None;
        }
        String::from_utf8_lossy(body)
            .split('&')
            .find_map(|p| p.strip_prefix("Action=").map(str::to_string))
    })
}

/// One accepted connection, counted in flight until dropped.
struct Connection(Arc<Tripwire>);

impl Drop for Connection {
    fn drop(&mut self) {
        let mut s = self.0.state.lock().unwrap();
        s.in_flight -= 1;
        if s.in_flight == 0 {
            self.0.idle.notify_all();
        }
    }
}

pub struct FaultProxy {
    pub endpoint: String,
    pub stats: Arc<Stats>,
    /// Counts and holds requests (shared when started with
    /// [`FaultProxy::start_with`]).
    pub tripwire: Arc<Tripwire>,
    faults: Arc<Mutex<Faults>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port in front of `upstream`
    /// (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str, faults: Faults) -> FaultProxy {
        FaultProxy::start_with(upstream, faults, Tripwire::new())
    }

    /// As [`FaultProxy::start`], counting requests on `tripwire` (which
    /// other proxies may share, to count a client's requests to several
    /// services as one sequence).
    pub fn start_with(upstream: &str, faults: Faults, tripwire: Arc<Tripwire>) -> FaultProxy {
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
        let shared = (stats.clone(), rng, faults.clone(), tripwire.clone());
        runtime.spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let upstream = upstream.clone();
                let (stats, rng, faults, tripwire) = shared.clone();
                let connection = tripwire.accepted();
                tokio::spawn(async move {
                    let faults = *faults.lock().unwrap();
                    let _ = serve(client, &upstream, faults, &stats, &rng, &tripwire).await;
                    drop(connection);
                });
            }
        });
        FaultProxy {
            endpoint,
            stats,
            tripwire,
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
    tripwire: &Tripwire,
) -> io::Result<()> {
    let Some((head, body)) = read_request(&mut client).await? else {
        return Ok(());
    };
    stats.requests.fetch_add(1, Ordering::Relaxed);
    match tripwire.arrived(&head, &body) {
        Verdict::Pass => {}
        Verdict::Drop => return reset(client),
        Verdict::Hold(released) => {
            // Held until the test says; a held request is not faulted.
            return match released.await {
                Ok(true) => forward(client, upstream, &head, &body, false, stats).await,
                _ => reset(client),
            };
        }
    }
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
    forward(client, upstream, &head, &body, lose, stats).await
}

/// Sends the request to the emulator and its answer back to the client
/// (or, when `lose`, a reset instead of the answer).
async fn forward(
    mut client: TcpStream,
    upstream: &str,
    head: &str,
    body: &[u8],
    lose: bool,
    stats: &Stats,
) -> io::Result<()> {
    let mut up = TcpStream::connect(upstream).await?;
    up.write_all(&with_connection_close(head)).await?;
    up.write_all(body).await?;
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
pub fn service_of(head: &str) -> String {
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
