//! Sample events in the shapes AWS delivers, built from a function's triggers.
//!
//! fnctl's handler contract is the AWS one on every provider (API Gateway
//! REST proxy events, S3 notification records, EventBridge scheduled events),
//! so `invoke --event ...` and the local runtime use these same builders. The
//! values are realistic (path parameters filled in, the trigger's bucket,
//! prefix and suffix) so a handler sees what it will see in production.

use serde_json::{json, Value};

use crate::model::route::Segment;
use crate::model::{App, Function, Trigger};

/// Which kind of sample event to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EventKind {
    Http,
    Storage,
    Schedule,
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
    }
}

fn sample_value(name: &str) -> String {
    match name {
        "id" => "1".into(),
        n if n.ends_with("id") || n.ends_with("Id") => "1".into(),
        n => format!("sample-{n}"),
    }
}

/// An API Gateway REST (v1) proxy event for the trigger's route.
pub fn http_event(app: &App, h: &crate::model::HttpTrigger, account: &str) -> Value {
    let method = first_method(h);
    let mut path = String::new();
    let mut params = serde_json::Map::new();
    for seg in &h.route.segments {
        match seg {
            Segment::Literal(l) => path.push_str(&format!("/{l}")),
            Segment::Param(n) => {
                let v = sample_value(n);
                path.push_str(&format!("/{v}"));
                params.insert(n.clone(), json!(v));
            }
            Segment::Greedy(n) => {
                path.push_str("/a/b.txt");
                params.insert(n.clone(), json!("a/b.txt"));
            }
        }
    }
    if path.is_empty() {
        path.push('/');
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
        "pathParameters": if params.is_empty() { Value::Null } else { Value::Object(params) },
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
        }
    }

    #[test]
    fn http_event_fills_path_parameters() {
        let h = HttpTrigger {
            methods: vec!["GET".into()],
            route: Route::parse("/users/{id}/files/{path+}").unwrap(),
            auth: HttpAuth::None,
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
}
