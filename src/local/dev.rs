//! `fnctl dev`: the whole app on 127.0.0.1, with the events the clouds send.
//!
//! - HTTP routes are served as the app's AWS gateway serves them (see
//!   [`App::gateway`]): a REST API's payload 1.0 events or an HTTP API's
//!   2.0, that gateway's answer to an unrouted request, its CORS
//!   ([`super::cors`]) and, on HTTP APIs, its JWT authorizer
//!   ([`super::jwt`]);
//! - schedules fire on time, and on demand with
//!   `POST /_fnctl/schedule/{function}`;
//! - a directory per bucket (`.fnctl/buckets/NAME/`) stands in for object
//!   storage: files created or deleted there fire storage events, filtered
//!   by the trigger's prefix and suffix;
//! - a local queue per queue a function is triggered by (see [`super::queue`]):
//!   `POST /@fnctl/queues/{name}` enqueues, batches go to the consumers as
//!   SQS events, failures are retried and end in a dead-letter list;
//! - warm workers per function serve requests in parallel (bounded);
//! - a change to the manifest or the code reloads the app;
//! - Ctrl-C stops the server and every worker.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path as UrlPath, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::RwLock;

use super::cors;
use super::http::{self, RouteTable};
use super::jwt::Verifier;
use super::pool::Pool;
use super::queue::{self, Consumer, QueueError, Queues};
use super::runtime_api::Outcome;
use super::worker::WorkerError;
use crate::model::{App, Cors, Gateway, HttpAuth, StorageEvent, Trigger};

/// Settings of the local host.
#[derive(Debug, Clone)]
pub struct DevOptions {
    pub port: u16,
    /// Workers per function at most.
    pub max_workers: usize,
    /// Directory holding one sub-directory per bucket.
    pub buckets_dir: PathBuf,
    /// Reload when the manifest or code changes.
    pub watch: bool,
    /// How long a failed queue message stays hidden before it is received
    /// again (the queue's visibility timeout on SQS).
    pub queue_retry_delay: Duration,
}

/// Loads the app again (on a change); errors are printed, the old app stays.
pub type Loader = Arc<dyn Fn() -> Result<App, String> + Send + Sync>;

struct Served {
    app: App,
    routes: RouteTable,
    pools: BTreeMap<String, Arc<Pool>>,
}

#[derive(Clone)]
struct Dev {
    served: Arc<RwLock<Served>>,
    started: u64,
    queues: Arc<Queues>,
    /// JWT checks, with each issuer's keys fetched once per run.
    jwt: Arc<Verifier>,
    /// Routes already warned about answering CORS requests without
    /// `Access-Control-Allow-Origin` (REST).
    cors_warned: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn pools_for(app: &App, max: usize) -> Result<BTreeMap<String, Arc<Pool>>, WorkerError> {
    let mut pools = BTreeMap::new();
    for f in app.functions.values() {
        pools.insert(f.name.clone(), Pool::new(app, f, max).await?);
    }
    Ok(pools)
}

/// Runs until Ctrl-C; `ready` receives the bound address once listening.
pub async fn serve(
    app: App,
    loader: Loader,
    opts: DevOptions,
    ready: impl FnOnce(SocketAddr, &App),
) -> Result<(), WorkerError> {
    let pools = pools_for(&app, opts.max_workers).await?;
    let dev = Dev {
        served: Arc::new(RwLock::new(Served {
            routes: RouteTable::new(&app),
            app: app.clone(),
            pools,
        })),
        started: unix_now(),
        queues: Queues::new(&app, opts.queue_retry_delay, opts.max_workers),
        jwt: Arc::new(Verifier::new()),
        cors_warned: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port))
        .await
        .map_err(|source| WorkerError::Spawn {
            program: format!("the HTTP server on 127.0.0.1:{}", opts.port),
            function: "(all)".into(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| WorkerError::Spawn {
        program: "the HTTP server".into(),
        function: "(all)".into(),
        source,
    })?;
    let router = Router::new()
        .route("/_fnctl/schedule/{function}", post(fire_schedule))
        .route(
            &format!("{}/{{queue}}", queue::PATH_PREFIX),
            post(enqueue).fallback(queue_method),
        )
        .route(
            &format!("{}/{{queue}}/dead-letter", queue::PATH_PREFIX),
            get(dead_letter).fallback(queue_method),
        )
        .fallback(handle)
        .with_state(dev.clone());

    // Everything that compares with a first look takes it before the server
    // says it is ready, so no change made after that is missed: the signal
    // handlers, the bucket folders and the reload fingerprint.
    let stop = shutdown_signal();
    let mut background = Vec::new();
    background.push(tokio::spawn(schedules(dev.clone())));
    background.push(tokio::spawn(queues(dev.clone())));
    let mut folders = Buckets::new(opts.buckets_dir.clone());
    folders.scan(&dev).await;
    background.push(tokio::spawn(buckets(dev.clone(), folders)));
    if opts.watch {
        let first = fingerprint(&dev.served.read().await.app);
        background.push(tokio::spawn(reload(
            dev.clone(),
            loader,
            opts.max_workers,
            first,
        )));
    }
    ready(addr, &app);
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop);
    let _ = server.await;
    for task in background {
        task.abort();
    }
    let served = dev.served.read().await;
    for pool in served.pools.values() {
        pool.shutdown().await;
    }
    // Said only once every worker is gone, so a script waiting for this
    // line knows nothing of the app still runs.
    eprintln!("fnctl dev: stopped");
    Ok(())
}

/// A header's value as text.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// An answer of dev's own (not the handler's), JSON.
fn own_answer(status: u16, body: &str) -> http::Response {
    http::Response {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    }
}

fn into_response(r: http::Response) -> Response {
    let mut builder = Response::builder().status(r.status);
    for (k, v) in &r.headers {
        builder = builder.header(k, v);
    }
    builder
        .body(Body::from(r.body))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}

async fn handle(
    State(dev): State<Dev>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let origin = header(&headers, "origin").map(str::to_string);
    let path = uri.path().to_string();
    // An HTTP API's CORS (one for the API) applies to every answer but a
    // preflight's, which carries its own headers.
    let finish = |mut r: http::Response, gateway: Gateway, api_cors: Option<&Cors>| {
        if gateway == Gateway::HttpApi {
            if let Some(c) = api_cors {
                cors::apply_http_api(&mut r.headers, c, origin.as_deref());
            }
        }
        into_response(r)
    };
    let (gateway, api_cors, matched, entry, pool, stage) = {
        let served = dev.served.read().await;
        let gateway = served.app.gateway();
        let api_cors = match gateway {
            Gateway::HttpApi => served.routes.api_cors().map(|(c, _)| c.clone()),
            Gateway::Rest => None,
        };
        // Preflights are the gateway's to answer, not the handler's.
        if method == Method::OPTIONS {
            let preflight = match gateway {
                Gateway::HttpApi => served
                    .routes
                    .api_cors()
                    .filter(|_| {
                        cors::is_http_api_preflight(
                            method.as_str(),
                            origin.as_deref(),
                            header(&headers, "access-control-request-method"),
                        )
                    })
                    .map(|(c, methods)| {
                        (204, cors::preflight_headers(c, origin.as_deref(), &methods))
                    }),
                Gateway::Rest => served.routes.rest_preflight(&path).map(|(c, methods)| {
                    (200, cors::preflight_headers(c, origin.as_deref(), &methods))
                }),
            };
            if let Some((status, cors_headers)) = preflight {
                eprintln!("OPTIONS {path} -> {status} (CORS preflight)");
                return into_response(http::Response {
                    status,
                    headers: cors_headers,
                    body: Vec::new(),
                });
            }
        }
        match served.routes.find(method.as_str(), &path) {
            Ok((m, entry)) => {
                let pool = served.pools.get(&m.function).cloned();
                (
                    gateway,
                    api_cors,
                    m,
                    entry.clone(),
                    pool,
                    served.app.stage.clone(),
                )
            }
            Err(_) => {
                // A REST API answers a path with no route, and a route
                // with no method for the request's, the same way: 403
                // `Missing Authentication Token` (it does not tell them
                // apart, nor say 404 or 405). An HTTP API answers 404.
                // Clients written against either see the same here.
                let answer = match gateway {
                    Gateway::Rest => {
                        let mut r =
                            own_answer(403, r#"{"message":"Missing Authentication Token"}"#);
                        let route_cors = served
                            .app
                            .cors
                            .as_ref()
                            .or_else(|| served.routes.rest_preflight(&path).map(|(c, _)| c));
                        if let Some(c) = route_cors {
                            r.headers
                                .extend(cors::rest_gateway_response_headers(c, origin.as_deref()));
                        }
                        r
                    }
                    Gateway::HttpApi => own_answer(404, r#"{"message":"Not Found"}"#),
                };
                eprintln!("{method} {path} -> {} (no route)", answer.status);
                return finish(answer, gateway, api_cors.as_ref());
            }
        }
    };
    let Some(pool) = pool else {
        return (StatusCode::BAD_GATEWAY, "no worker pool").into_response();
    };
    let jwt = match &entry.auth {
        HttpAuth::Jwt(auth) => match dev.jwt.check(auth, header(&headers, "authorization")).await {
            Ok(cx) => Some(cx),
            Err(denied) => {
                // The reason, never the token.
                eprintln!(
                    "{method} {path} -> {} (JWT authorizer: {})",
                    denied.status(),
                    denied.reason()
                );
                let mut r = own_answer(denied.status(), denied.body());
                r.headers
                    .push(("www-authenticate".into(), denied.www_authenticate()));
                return finish(r, gateway, api_cors.as_ref());
            }
        },
        HttpAuth::None | HttpAuth::Key => None,
    };
    let req = http::Request {
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().map(str::to_string),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
        source_ip: peer.ip().to_string(),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let request_id = format!("{:016x}", now.as_nanos());
    let event = match gateway {
        Gateway::Rest => http::to_event(&req, &matched, &stage, &request_id),
        Gateway::HttpApi => http::to_event_v2(
            &req,
            &matched,
            &http::V2Context {
                stage: &stage,
                account_id: "000000000000",
                api_id: "local",
                request_id: &request_id,
                epoch_ms: now.as_millis() as u64,
                jwt: jwt.as_ref(),
            },
        ),
    };
    let outcome = pool.invoke(event.to_string().into_bytes()).await;
    let response = match (gateway, outcome) {
        (Gateway::Rest, Ok(Some(Outcome::Response(payload)))) => http::from_payload(&payload),
        (Gateway::HttpApi, Ok(Some(Outcome::Response(payload)))) => http::from_payload_v2(&payload),
        (Gateway::Rest, Ok(Some(Outcome::Error { .. } | Outcome::InitError { .. })) | Err(_)) => {
            http::from_payload(b"null")
        }
        (
            Gateway::HttpApi,
            Ok(Some(Outcome::Error { .. } | Outcome::InitError { .. })) | Err(_),
        ) => http::internal_error_v2(),
        (Gateway::Rest, Ok(None)) => {
            own_answer(504, r#"{"message": "Endpoint request timed out"}"#)
        }
        // An HTTP API answers an integration that outlives its timeout
        // with 503.
        (Gateway::HttpApi, Ok(None)) => own_answer(503, r#"{"message":"Service Unavailable"}"#),
    };
    eprintln!(
        "{method} {path} -> {} {} ({} ms)",
        matched.function,
        response.status,
        started.elapsed().as_millis()
    );
    // On a REST API the proxy integration's headers pass unchanged, so a
    // handler behind a CORS route must answer with the header itself;
    // browsers refuse the response otherwise. Said once per route.
    if gateway == Gateway::Rest
        && origin.is_some()
        && entry.cors.is_some()
        && cors::lacks_allow_origin(&response.headers)
    {
        let key = format!("{} {}", matched.route_key(), matched.function);
        if dev
            .cors_warned
            .lock()
            .map(|mut w| w.insert(key))
            .unwrap_or(false)
        {
            eprintln!(
                "fnctl dev: warning: {} (function `{}`) answered a cross-origin request without Access-Control-Allow-Origin. \
                 On a REST API, API Gateway answers the preflight but passes the handler's response unchanged, \
                 so the handler must set the CORS headers itself: return e.g. \"Access-Control-Allow-Origin\": \"{}\" in its headers \
                 (or use `http = \"http-api\"` in [providers.aws], whose gateway adds them)",
                matched.route_key(),
                matched.function,
                origin.as_deref().unwrap_or("*")
            );
        }
    }
    finish(response, gateway, api_cors.as_ref())
}

/// Ctrl-C, or SIGTERM from a process manager. The handlers are in place
/// when this returns; the future completes on the first signal.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let signals = signal(SignalKind::interrupt())
            .and_then(|int| Ok((int, signal(SignalKind::terminate())?)));
        async move {
            match signals {
                Ok((mut int, mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Runs a function once with an event, printing what happened.
async fn run_event(pool: &Pool, what: &str, event: Value) -> Option<Outcome> {
    let outcome = match pool.invoke(event.to_string().into_bytes()).await {
        Ok(o) => o,
        Err(e) => {
            eprintln!("[{}] {what}: {e}", pool.function().name);
            return None;
        }
    };
    let result = match &outcome {
        Some(Outcome::Response(_)) => "ok".to_string(),
        Some(Outcome::Error { error_type, .. }) => format!("error {error_type}"),
        Some(Outcome::InitError { error_type, .. }) => format!("init error {error_type}"),
        None => "timed out".to_string(),
    };
    eprintln!("[{}] {what} -> {result}", pool.function().name);
    outcome
}

async fn fire_schedule(State(dev): State<Dev>, UrlPath(function): UrlPath<String>) -> Response {
    let (pool, event) = {
        let served = dev.served.read().await;
        let Some(f) = served.app.functions.get(&function) else {
            return (StatusCode::NOT_FOUND, format!("no function `{function}`\n")).into_response();
        };
        let Ok(event) = crate::events::sample(
            &served.app,
            f,
            crate::events::EventKind::Schedule,
            "local",
            "000000000000",
        ) else {
            return (
                StatusCode::BAD_REQUEST,
                format!("function `{function}` has no schedule trigger\n"),
            )
                .into_response();
        };
        (served.pools.get(&function).cloned(), event)
    };
    let Some(pool) = pool else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    match run_event(&pool, "schedule (on demand)", event).await {
        Some(Outcome::Response(payload)) => (StatusCode::OK, payload).into_response(),
        Some(Outcome::Error { body, .. } | Outcome::InitError { body, .. }) => {
            (StatusCode::BAD_GATEWAY, body).into_response()
        }
        None => StatusCode::GATEWAY_TIMEOUT.into_response(),
    }
}

fn queue_error(e: QueueError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        [("content-type", "application/json")],
        json!({ "message": e.message }).to_string(),
    )
        .into_response()
}

/// `POST /@fnctl/queues/{queue}`: the body becomes one message.
async fn enqueue(State(dev): State<Dev>, UrlPath(name): UrlPath<String>, body: Bytes) -> Response {
    let result = {
        let served = dev.served.read().await;
        dev.queues.enqueue(&served.app, &name, &body)
    };
    match result {
        Ok((id, md5)) => (
            StatusCode::ACCEPTED,
            [("content-type", "application/json")],
            json!({ "messageId": id, "md5OfBody": md5 }).to_string(),
        )
            .into_response(),
        Err(e) => {
            eprintln!("POST {}/{name} -> {}", queue::PATH_PREFIX, e.status);
            queue_error(e)
        }
    }
}

/// `GET /@fnctl/queues/{queue}/dead-letter`: the messages that left the queue.
async fn dead_letter(State(dev): State<Dev>, UrlPath(name): UrlPath<String>) -> Response {
    let served = dev.served.read().await;
    match dev.queues.dead_letters(&served.app, &name) {
        Ok(listing) => (
            StatusCode::OK,
            [("content-type", "application/json")],
            listing.to_string(),
        )
            .into_response(),
        Err(e) => queue_error(e),
    }
}

/// Another method on a queue endpoint: say which ones it takes.
async fn queue_method(method: Method, uri: Uri) -> Response {
    queue_error(QueueError {
        status: 405,
        message: format!(
            "{method} {} is not a queue operation: POST {p}/NAME enqueues the body as a message, GET {p}/NAME/dead-letter lists the messages that left the queue",
            uri.path(),
            p = queue::PATH_PREFIX
        ),
    })
}

/// Delivers the local queues' messages to the functions they trigger.
async fn queues(dev: Dev) {
    loop {
        let consumers: Vec<Consumer> = {
            let served = dev.served.read().await;
            served
                .app
                .functions
                .values()
                .flat_map(|f| f.queue_triggers.iter().map(move |t| (f, t)))
                .filter_map(|(f, t)| {
                    Some(Consumer {
                        function: f.name.clone(),
                        trigger: t.clone(),
                        pool: served.pools.get(&f.name)?.clone(),
                        arn: crate::events::sqs_queue_arn(
                            &served.app,
                            &t.queue,
                            "local",
                            "000000000000",
                        ),
                        region: "local".into(),
                    })
                })
                .collect()
        };
        let next = dev.queues.dispatch(&consumers);
        dev.queues.wait(next).await;
    }
}

/// Object keys in S3 event records are URL-encoded (space as `+`), as S3
/// sends them; handlers written for S3 decode them.
fn s3_event_key(key: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/')
        .remove(b' ');
    percent_encoding::utf8_percent_encode(key, KEEP)
        .to_string()
        .replace(' ', "+")
}

/// Fires every enabled schedule on time.
async fn schedules(dev: Dev) {
    loop {
        let now = unix_now();
        let mut due: Vec<(u64, String, usize)> = Vec::new();
        {
            let served = dev.served.read().await;
            for f in served.app.functions.values() {
                for (i, t) in f.triggers.iter().enumerate() {
                    if let Trigger::Schedule(s) = t {
                        if let (true, Some(next)) =
                            (s.enabled, s.schedule.next_after(now, dev.started))
                        {
                            due.push((next, f.name.clone(), i));
                        }
                    }
                }
            }
        }
        let Some(&(next, _, _)) = due.iter().min_by_key(|d| d.0) else {
            tokio::time::sleep(Duration::from_secs(5)).await;
            continue;
        };
        // Wake at least every few seconds so a reload's new schedules count.
        let wait = next.saturating_sub(unix_now()).min(5);
        tokio::time::sleep(Duration::from_secs(wait.max(1))).await;
        if unix_now() < next {
            continue;
        }
        for (_, function, index) in due.into_iter().filter(|d| d.0 == next) {
            let (pool, event) = {
                let served = dev.served.read().await;
                let Some(f) = served.app.functions.get(&function) else {
                    continue;
                };
                (
                    served.pools.get(&function).cloned(),
                    crate::events::schedule_event(&served.app, f, index, "local", "000000000000"),
                )
            };
            if let Some(pool) = pool {
                tokio::spawn(async move {
                    run_event(&pool, "schedule", event).await;
                });
            }
        }
    }
}

/// Relative path → (size, modified) of every file under `dir`.
fn snapshot(dir: &Path) -> BTreeMap<String, (u64, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                let key = rel.to_string_lossy().replace('\\', "/");
                out.insert(key, (meta.len(), meta.modified().unwrap_or(UNIX_EPOCH)));
            }
        }
    }
    out
}

/// The folders standing in for buckets, and what was in them at the last look.
struct Buckets {
    root: PathBuf,
    known: BTreeMap<String, BTreeMap<String, (u64, SystemTime)>>,
}

impl Buckets {
    fn new(root: PathBuf) -> Buckets {
        Buckets {
            root,
            known: BTreeMap::new(),
        }
    }

    /// Looks at every bucket's folder once and fires storage events for
    /// what changed since the last look (nothing on a bucket's first look).
    async fn scan(&mut self, dev: &Dev) {
        let triggers: Vec<(String, crate::model::StorageTrigger)> = {
            let served = dev.served.read().await;
            served
                .app
                .functions
                .values()
                .flat_map(|f| {
                    f.triggers.iter().filter_map(move |t| {
                        if let Trigger::Storage(s) = t {
                            Some((f.name.clone(), s.clone()))
                        } else {
                            None
                        }
                    })
                })
                .collect()
        };
        let mut bucket_names: Vec<&str> = triggers.iter().map(|(_, s)| s.bucket.as_str()).collect();
        bucket_names.sort();
        bucket_names.dedup();
        for bucket in bucket_names {
            let dir = self.root.join(bucket);
            let _ = std::fs::create_dir_all(&dir);
            let now = snapshot(&dir);
            let Some(before) = self.known.insert(bucket.to_string(), now.clone()) else {
                continue;
            };
            let mut changes: Vec<(String, StorageEvent, u64)> = Vec::new();
            for (key, (size, modified)) in &now {
                if before.get(key).is_none_or(|b| b != &(*size, *modified)) {
                    changes.push((key.clone(), StorageEvent::Created, *size));
                }
            }
            for key in before.keys().filter(|k| !now.contains_key(*k)) {
                changes.push((key.clone(), StorageEvent::Deleted, 0));
            }
            for (key, kind, size) in changes {
                for (function, s) in triggers.iter().filter(|(_, s)| s.bucket == bucket) {
                    let wanted = s.events.contains(&kind)
                        && s.prefix.as_deref().is_none_or(|p| key.starts_with(p))
                        && s.suffix.as_deref().is_none_or(|x| key.ends_with(x));
                    if !wanted {
                        continue;
                    }
                    let mut event = crate::events::storage_event(s, "local");
                    let record = &mut event["Records"][0];
                    record["eventName"] = json!(if kind == StorageEvent::Created {
                        "ObjectCreated:Put"
                    } else {
                        "ObjectRemoved:Delete"
                    });
                    record["s3"]["object"]["key"] = json!(s3_event_key(&key));
                    record["s3"]["object"]["size"] = json!(size);
                    let pool = dev.served.read().await.pools.get(function).cloned();
                    if let Some(pool) = pool {
                        let what = format!(
                            "{} s3://{bucket}/{key}",
                            if kind == StorageEvent::Created {
                                "created"
                            } else {
                                "deleted"
                            }
                        );
                        tokio::spawn(async move {
                            run_event(&pool, &what, event).await;
                        });
                    }
                }
            }
        }
    }
}

/// Watches a directory per bucket and fires storage events for changes;
/// `folders` has had its first look.
async fn buckets(dev: Dev, mut folders: Buckets) {
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        folders.scan(&dev).await;
    }
}

/// A cheap fingerprint of the manifest and every function's code.
fn fingerprint(app: &App) -> Vec<(String, u64, SystemTime)> {
    let mut out = Vec::new();
    let mut dirs: Vec<&Path> = app.functions.values().map(|f| f.source.as_path()).collect();
    dirs.sort();
    dirs.dedup();
    if let Ok(m) = std::fs::metadata(&app.manifest_path) {
        out.push((
            app.manifest_path.display().to_string(),
            m.len(),
            m.modified().unwrap_or(UNIX_EPOCH),
        ));
    }
    for d in dirs {
        for (k, (len, modified)) in snapshot(d) {
            if k.starts_with(".fnctl/")
                || k.contains("__pycache__")
                || k.starts_with(".git/")
                || k.starts_with("node_modules/")
            {
                continue;
            }
            out.push((format!("{}/{k}", d.display()), len, modified));
        }
    }
    out
}

/// Reloads the app and restarts its workers when files change.
/// `last` is the fingerprint of the app being served.
async fn reload(
    dev: Dev,
    loader: Loader,
    max_workers: usize,
    mut last: Vec<(String, u64, SystemTime)>,
) {
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = fingerprint(&dev.served.read().await.app);
        if now == last {
            continue;
        }
        last = now;
        match loader() {
            Err(errors) => eprintln!(
                "fnctl dev: the manifest has errors; still serving the previous version\n{errors}"
            ),
            Ok(app) => match pools_for(&app, max_workers).await {
                Err(e) => eprintln!("fnctl dev: cannot start the new version: {e}"),
                Ok(pools) => {
                    dev.queues.sync(&app);
                    let old = {
                        let mut served = dev.served.write().await;
                        let old = std::mem::replace(&mut served.pools, pools);
                        served.routes = RouteTable::new(&app);
                        served.app = app;
                        old
                    };
                    for p in old.values() {
                        p.shutdown().await;
                    }
                    eprintln!("fnctl dev: reloaded");
                    last = fingerprint(&dev.served.read().await.app);
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_are_encoded_like_s3() {
        assert_eq!(s3_event_key("in/a.txt"), "in/a.txt");
        assert_eq!(s3_event_key("in/my file (1).txt"), "in/my+file+%281%29.txt");
        assert_eq!(s3_event_key("ünï/x"), "%C3%BCn%C3%AF/x");
    }
}
