//! Sample events in the shapes AWS delivers, built from a function's triggers.
//!
//! fnctl's handler contract is the AWS one on every provider (API Gateway
//! events in the payload version of the app's gateway — REST proxy 1.0 or
//! HTTP API 2.0 —, S3 notification records, EventBridge scheduled events,
//! SQS records),
//! so `invoke --event ...` and the local runtime use these same builders. The
//! values are realistic (path parameters filled in, the trigger's bucket,
//! prefix and suffix) so a handler sees what it will see in production.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::model::route::Segment;
use crate::model::{App, Function, Gateway, QueueTrigger, Trigger};

/// Which kind of sample event to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EventKind {
    Http,
    Storage,
    Schedule,
    Queue,
}

/// Why no sample could be built.
#[derive(Debug, thiserror::Error)]
#[error("function `{function}` has no {kind} trigger to build a sample event from")]
pub struct NoSuchTrigger {
    pub function: String,
    pub kind: &'static str,
}

/// Which request a sample HTTP event describes; the function's first
/// route when neither is given.
#[derive(Debug, Clone, Default)]
pub struct HttpChoice {
    /// One of the function's routes: `POST /orders/{id}`, or a path alone
    /// (`/orders/{id}`: its first method).
    pub route: Option<String>,
    /// A concrete request path (`/orders/42`): the function's route that
    /// API Gateway would match for it, with the path parameters taken from
    /// the path.
    pub path: Option<String>,
}

/// Why the HTTP sample asked for cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error(transparent)]
    NoTrigger(#[from] NoSuchTrigger),
    #[error("function `{function}` has no route {wanted}")]
    NoRoute {
        function: String,
        wanted: String,
        /// The function's routes, as `METHOD /path`.
        routes: Vec<String>,
    },
}

impl SampleError {
    /// What to pass instead.
    pub fn hint(&self) -> String {
        match self {
            SampleError::NoTrigger(_) => "pass --data instead".to_string(),
            SampleError::NoRoute { routes, .. } => {
                format!("its routes: {}", routes.join(", "))
            }
        }
    }
}

/// A sample event for `function` from its first trigger of `kind`; for
/// `http`, the route and path `choice` asks for.
pub fn sample_with(
    app: &App,
    f: &Function,
    kind: EventKind,
    region: &str,
    account: &str,
    choice: &HttpChoice,
) -> Result<Value, SampleError> {
    if kind != EventKind::Http || (choice.route.is_none() && choice.path.is_none()) {
        return Ok(sample(app, f, kind, region, account)?);
    }
    let routes: Vec<&crate::model::HttpTrigger> = f
        .triggers
        .iter()
        .filter_map(|t| match t {
            Trigger::Http(h) => Some(h),
            _ => None,
        })
        .collect();
    if routes.is_empty() {
        return Err(NoSuchTrigger {
            function: f.name.clone(),
            kind: "http",
        }
        .into());
    }
    let listed = || {
        routes
            .iter()
            .flat_map(|h| h.methods.iter().map(move |m| format!("{m} {}", h.route)))
            .collect()
    };
    let no_route = |wanted: String| SampleError::NoRoute {
        function: f.name.clone(),
        wanted,
        routes: listed(),
    };
    // `POST /orders/{id}` or `/orders/{id}`.
    let (method, route) = match choice.route.as_deref().map(str::trim) {
        Some(r) => match r.split_once(' ') {
            Some((m, path)) => (Some(m.trim().to_ascii_uppercase()), Some(path.trim())),
            None => (None, Some(r)),
        },
        None => (None, None),
    };
    let allows = |h: &crate::model::HttpTrigger, m: &str| {
        h.methods
            .iter()
            .any(|x| x == "ANY" || x.eq_ignore_ascii_case(m))
    };
    let trigger = match route {
        Some(route) => {
            let shape = crate::model::route::Route::parse(route)
                .map(|r| r.to_string())
                .unwrap_or_else(|_| route.to_string());
            routes
                .iter()
                .find(|h| {
                    h.route.to_string() == shape && method.as_deref().is_none_or(|m| allows(h, m))
                })
                .copied()
                .ok_or_else(|| no_route(choice.route.clone().unwrap_or_default()))?
        }
        None => {
            // The route API Gateway matches for the path: most specific first.
            let parts = crate::model::route::path_parts(choice.path.as_deref().unwrap_or("/"));
            let mut candidates = routes.clone();
            candidates.sort_by_key(|h| h.route.rank());
            candidates
                .into_iter()
                .find(|h| h.route.matches(&parts).is_some())
                .ok_or_else(|| {
                    no_route(format!(
                        "matching the path {}",
                        choice.path.as_deref().unwrap_or("/")
                    ))
                })?
        }
    };
    let method = method.unwrap_or_else(|| first_method(trigger));
    if app.gateway() == Gateway::HttpApi {
        let (path, params) = match &choice.path {
            None => sample_path(trigger),
            Some(path) => {
                let parts = crate::model::route::path_parts(path);
                let Some(params) = trigger.route.matches(&parts) else {
                    return Err(no_route(format!(
                        "{} matching the path {path}",
                        choice.route.as_deref().unwrap_or_default()
                    )));
                };
                (format!("/{}", parts.join("/")), params)
            }
        };
        return Ok(http_event_v2(app, trigger, &method, &path, params, account));
    }
    let mut event = http_event(app, trigger, account);
    event["httpMethod"] = json!(method);
    event["requestContext"]["httpMethod"] = json!(method);
    if !matches!(method.as_str(), "POST" | "PUT" | "PATCH") {
        event["body"] = Value::Null;
    } else if event["body"].is_null() {
        event["body"] = json!("{}");
    }
    if let Some(path) = &choice.path {
        let parts = crate::model::route::path_parts(path);
        let Some(params) = trigger.route.matches(&parts) else {
            return Err(no_route(format!(
                "{} matching the path {path}",
                choice.route.as_deref().unwrap_or_default()
            )));
        };
        let path = format!("/{}", parts.join("/"));
        event["path"] = json!(path);
        event["requestContext"]["path"] = json!(format!("/{}{}", app.stage, path));
        event["pathParameters"] = if params.is_empty() {
            Value::Null
        } else {
            json!(params)
        };
    }
    Ok(event)
}

fn first_method(h: &crate::model::HttpTrigger) -> String {
    h.methods
        .iter()
        .find(|m| *m != "ANY")
        .cloned()
        .unwrap_or_else(|| "GET".into())
}

/// A sample event for `function` from its first trigger of `kind`.
pub fn sample(
    app: &App,
    f: &Function,
    kind: EventKind,
    region: &str,
    account: &str,
) -> Result<Value, NoSuchTrigger> {
    let missing = |k| NoSuchTrigger {
        function: f.name.clone(),
        kind: k,
    };
    match kind {
        EventKind::Http => f
            .triggers
            .iter()
            .find_map(|t| match t {
                Trigger::Http(h) => Some(http_event(app, h, account)),
                _ => None,
            })
            .ok_or_else(|| missing("http")),
        EventKind::Storage => f
            .triggers
            .iter()
            .find_map(|t| match t {
                Trigger::Storage(s) => Some(storage_event(s, region)),
                _ => None,
            })
            .ok_or_else(|| missing("storage")),
        EventKind::Schedule => f
            .triggers
            .iter()
            .enumerate()
            .find_map(|(i, t)| match t {
                Trigger::Schedule(_) => Some(schedule_event(app, f, i, region, account)),
                _ => None,
            })
            .ok_or_else(|| missing("schedule")),
        EventKind::Queue => f
            .queue_triggers
            .first()
            .map(|q| queue_event(app, q, region, account))
            .ok_or_else(|| missing("queue")),
    }
}

fn sample_value(name: &str) -> String {
    match name {
        "id" => "1".into(),
        n if n.ends_with("id") || n.ends_with("Id") => "1".into(),
        n => format!("sample-{n}"),
    }
}

/// A request path for the trigger's route, with sample values for its
/// parameters, and those parameters.
fn sample_path(h: &crate::model::HttpTrigger) -> (String, BTreeMap<String, String>) {
    let mut path = String::new();
    let mut params = BTreeMap::new();
    for seg in &h.route.segments {
        match seg {
            Segment::Literal(l) => path.push_str(&format!("/{l}")),
            Segment::Param(n) => {
                let v = sample_value(n);
                path.push_str(&format!("/{v}"));
                params.insert(n.clone(), v);
            }
            Segment::Greedy(n) => {
                path.push_str("/a/b.txt");
                params.insert(n.clone(), "a/b.txt".to_string());
            }
        }
    }
    if path.is_empty() {
        path.push('/');
    }
    (path, params)
}

/// An HTTP API (payload format 2.0) event for a request to the trigger's
/// route, built by the same code as `fnctl dev`'s
/// ([`crate::local::http::to_event_v2`]), so a sample and a served request
/// have one shape.
fn http_event_v2(
    app: &App,
    h: &crate::model::HttpTrigger,
    method: &str,
    path: &str,
    params: BTreeMap<String, String>,
    account: &str,
) -> Value {
    use crate::local::http::{to_event_v2, Matched, Request, V2Context};
    let body = if matches!(method, "POST" | "PUT" | "PATCH") {
        b"{}".to_vec()
    } else {
        Vec::new()
    };
    let mut headers = vec![
        ("accept".to_string(), "application/json".to_string()),
        (
            "host".to_string(),
            "example.execute-api.amazonaws.com".to_string(),
        ),
        ("user-agent".to_string(), "fnctl-invoke".to_string()),
    ];
    if !body.is_empty() {
        headers.push(("content-type".into(), "application/json".into()));
    }
    let req = Request {
        method: method.to_string(),
        path: path.to_string(),
        query: None,
        headers,
        body,
        source_ip: "127.0.0.1".into(),
    };
    let any = h.methods.iter().any(|m| m == "ANY");
    let matched = Matched {
        function: String::new(),
        resource: h.route.to_string(),
        params,
        route_method: if any {
            "ANY".into()
        } else {
            method.to_string()
        },
    };
    to_event_v2(
        &req,
        &matched,
        &V2Context {
            stage: &app.stage,
            account_id: account,
            api_id: "example",
            request_id: "fnctl-sample-request",
            // 2026-01-01T00:00:00Z, the time the other samples use.
            epoch_ms: 1_767_225_600_000,
            jwt: None,
        },
    )
}

/// The event the app's gateway sends for a request to the trigger's route
/// (its first method): an HTTP API's payload 2.0 event, or a REST API's
/// (v1) proxy event.
pub fn http_event(app: &App, h: &crate::model::HttpTrigger, account: &str) -> Value {
    let method = first_method(h);
    let (path, params) = sample_path(h);
    if app.gateway() == Gateway::HttpApi {
        return http_event_v2(app, h, &method, &path, params, account);
    }
    let headers = json!({"Accept": "application/json", "Host": "example.execute-api.amazonaws.com", "User-Agent": "fnctl-invoke"});
    json!({
        "resource": h.route.to_string(),
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {"Accept": ["application/json"], "Host": ["example.execute-api.amazonaws.com"], "User-Agent": ["fnctl-invoke"]},
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": if params.is_empty() { Value::Null } else { json!(params) },
        "stageVariables": null,
        "requestContext": {
            "accountId": account,
            "resourcePath": h.route.to_string(),
            "httpMethod": method,
            "path": format!("/{}{}", app.stage, path),
            "stage": app.stage,
            "protocol": "HTTP/1.1",
            "requestId": "fnctl-sample-request",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "fnctl-invoke"},
        },
        "body": if matches!(method.as_str(), "POST" | "PUT" | "PATCH") { json!("{}") } else { Value::Null },
        "isBase64Encoded": false,
    })
}

/// An S3 `ObjectCreated:Put` (or `ObjectRemoved:Delete`) record for the trigger's bucket.
pub fn storage_event(s: &crate::model::StorageTrigger, region: &str) -> Value {
    let key = format!(
        "{}sample{}",
        s.prefix.as_deref().unwrap_or(""),
        s.suffix.as_deref().unwrap_or(".txt")
    );
    let created = s.events.first() != Some(&crate::model::StorageEvent::Deleted);
    json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": "2026-01-01T00:00:00.000Z",
        "eventName": if created { "ObjectCreated:Put" } else { "ObjectRemoved:Delete" },
        "userIdentity": {"principalId": "fnctl"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "fnctl-sample", "x-amz-id-2": "fnctl-sample"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "fnctl-sample",
            "bucket": {"name": s.bucket, "ownerIdentity": {"principalId": "fnctl"}, "arn": format!("arn:aws:s3:::{}", s.bucket)},
            "object": {"key": key, "size": 1024, "eTag": "d41d8cd98f00b204e9800998ecf8427e", "sequencer": "0000000000000000"}
        }
    }]})
}

/// An EventBridge "Scheduled Event".
pub fn schedule_event(app: &App, f: &Function, index: usize, region: &str, account: &str) -> Value {
    let rule = crate::provider::aws::names::schedule_rule(app, &f.name, index);
    json!({
        "version": "0",
        "id": "fnctl-sample-event",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": "2026-01-01T00:00:00Z",
        "region": region,
        "resources": [format!("arn:aws:events:{region}:{account}:rule/{rule}")],
        "detail": {}
    })
}

/// The ARN Lambda puts in `eventSourceARN`: the queue's stage-scoped name
/// as the AWS provider derives it, so a handler that parses it sees the
/// name it will see once deployed.
pub fn sqs_queue_arn(app: &App, queue: &str, region: &str, account: &str) -> String {
    let name = crate::provider::aws::names::resource(app, queue);
    format!("arn:aws:sqs:{region}:{account}:{name}")
}

/// What one SQS record says about its message.
#[derive(Debug, Clone)]
pub struct SqsMessage<'a> {
    pub message_id: &'a str,
    /// Differs on every receive, as SQS's does.
    pub receipt_handle: &'a str,
    pub body: &'a str,
    /// `ApproximateReceiveCount`: 1 on the first delivery.
    pub receive_count: u32,
    /// Milliseconds since the epoch, as SQS writes them (strings).
    pub sent_ms: u64,
    pub first_receive_ms: u64,
}

/// One record of an SQS event as Lambda delivers it (the `Records[]` of
/// "Using Lambda with Amazon SQS"): every attribute is a string, and
/// `md5OfBody` is the MD5 of the body that SQS computes.
pub fn sqs_record(m: &SqsMessage<'_>, arn: &str, region: &str) -> Value {
    json!({
        "messageId": m.message_id,
        "receiptHandle": m.receipt_handle,
        "body": m.body,
        "attributes": {
            "ApproximateReceiveCount": m.receive_count.to_string(),
            "SentTimestamp": m.sent_ms.to_string(),
            "SenderId": "fnctl",
            "ApproximateFirstReceiveTimestamp": m.first_receive_ms.to_string(),
        },
        "messageAttributes": {},
        "md5OfBody": md5_hex(m.body.as_bytes()),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": region,
    })
}

/// An SQS event with one message, for the trigger's queue.
pub fn queue_event(app: &App, q: &QueueTrigger, region: &str, account: &str) -> Value {
    // 2026-01-01T00:00:00Z, the time the other samples use.
    const SENT_MS: u64 = 1_767_225_600_000;
    let message = SqsMessage {
        message_id: "c0ffee00-0000-4000-8000-000000000001",
        receipt_handle: "fnctl-sample-receipt-handle",
        body: r#"{"id": "1"}"#,
        receive_count: 1,
        sent_ms: SENT_MS,
        first_receive_ms: SENT_MS + 20,
    };
    let arn = sqs_queue_arn(app, &q.queue, region, account);
    json!({"Records": [sqs_record(&message, &arn, region)]})
}

/// The MD5 digest (RFC 1321) as lowercase hex: SQS's `md5OfBody`, which
/// some handlers check. Written out because nothing else in fnctl needs
/// MD5, and a dependency for one field is more than it is worth.
pub fn md5_hex(data: &[u8]) -> String {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: Vec<u32> = (0..64)
        .map(|i: i32| ((f64::from(i + 1)).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_le_bytes());
    let mut h: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    for chunk in msg.chunks(64) {
        let m: Vec<u32> = chunk
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let [mut a, mut b, mut c, mut d] = h;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        h = [
            h[0].wrapping_add(a),
            h[1].wrapping_add(b),
            h[2].wrapping_add(c),
            h[3].wrapping_add(d),
        ];
    }
    h.iter()
        .flat_map(|w| w.to_le_bytes())
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{HttpAuth, HttpTrigger, Route, StorageEvent, StorageTrigger};

    fn app() -> App {
        App {
            name: "shop".into(),
            stage: "dev".into(),
            root: ".".into(),
            manifest_path: "fnctl.toml".into(),
            tags: Default::default(),
            aws: None,
            azure: None,
            functions: Default::default(),
            resources: Default::default(),
            cors: None,
        }
    }

    #[test]
    fn http_event_fills_path_parameters() {
        let h = HttpTrigger {
            methods: vec!["GET".into()],
            route: Route::parse("/users/{id}/files/{path+}").unwrap(),
            auth: HttpAuth::None,
            cors: None,
            span: 0..0,
        };
        let e = http_event(&app(), &h, "123456789012");
        assert_eq!(e["path"], "/users/1/files/a/b.txt");
        assert_eq!(e["resource"], "/users/{id}/files/{path+}");
        assert_eq!(e["pathParameters"], json!({"id": "1", "path": "a/b.txt"}));
        assert_eq!(e["requestContext"]["stage"], "dev");
        assert_eq!(e["body"], Value::Null);
    }

    #[test]
    fn http_api_apps_get_a_payload_2_0_sample() {
        let mut app = app();
        app.aws = Some(crate::model::AwsSettings {
            region: None,
            profile: None,
            endpoint: None,
            statements: vec![],
            http: Gateway::HttpApi,
        });
        let h = HttpTrigger {
            methods: vec!["PUT".into()],
            route: Route::parse("/orders/{id}").unwrap(),
            auth: HttpAuth::None,
            cors: None,
            span: 0..0,
        };
        let e = http_event(&app, &h, "123456789012");
        assert_eq!(e["version"], "2.0");
        assert_eq!(e["routeKey"], "PUT /orders/{id}");
        assert_eq!(e["rawPath"], "/dev/orders/1");
        assert_eq!(e["pathParameters"], json!({"id": "1"}));
        assert_eq!(e["requestContext"]["http"]["method"], "PUT");
        assert_eq!(e["requestContext"]["accountId"], "123456789012");
        assert_eq!(e["body"], "{}");
        assert!(e.get("httpMethod").is_none() && e.get("multiValueHeaders").is_none());
    }

    #[test]
    fn storage_event_uses_prefix_and_suffix() {
        let s = StorageTrigger {
            bucket: "b".into(),
            events: vec![StorageEvent::Created],
            prefix: Some("in/".into()),
            suffix: Some(".jpg".into()),
            create: false,
            span: 0..0,
        };
        let e = storage_event(&s, "eu-west-1");
        assert_eq!(e["Records"][0]["s3"]["object"]["key"], "in/sample.jpg");
        assert_eq!(e["Records"][0]["eventName"], "ObjectCreated:Put");
        assert_eq!(e["Records"][0]["awsRegion"], "eu-west-1");
    }

    #[test]
    fn md5_matches_rfc_1321() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        // SQS's own example: the body "test".
        assert_eq!(md5_hex(b"test"), "098f6bcd4621d373cade4e832627b4f6");
        let long = "1234567890".repeat(8);
        assert_eq!(md5_hex(long.as_bytes()), "57edf4a22be3c955ac49da2e2107b67a");
    }

    #[test]
    fn queue_event_is_an_sqs_record_for_the_stage_scoped_queue() {
        let q = QueueTrigger {
            queue: "jobs".into(),
            batch_size: 10,
            batch_size_span: 0..0,
            max_batching_window_s: None,
            max_batching_window_span: 0..0,
            span: 0..0,
        };
        let e = queue_event(&app(), &q, "eu-west-1", "123456789012");
        let r = &e["Records"][0];
        assert_eq!(r["eventSource"], "aws:sqs");
        assert_eq!(
            r["eventSourceARN"],
            "arn:aws:sqs:eu-west-1:123456789012:shop-dev-jobs"
        );
        assert_eq!(r["attributes"]["ApproximateReceiveCount"], "1");
        assert_eq!(r["md5OfBody"], md5_hex(br#"{"id": "1"}"#));
        assert_eq!(r["awsRegion"], "eu-west-1");
        assert!(r["messageAttributes"].as_object().unwrap().is_empty());
    }
}
