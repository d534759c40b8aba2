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
    let method = h
        .methods
        .iter()
        .find(|m| *m != "ANY")
        .cloned()
        .unwrap_or_else(|| "GET".into());
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
