//! Calling a deployed HTTP function through its public URL, the way its
//! clients do: `fnctl invoke FN --via url` on AWS, and every HTTP call on
//! Azure (whose HTTP functions have no other way in).
//!
//! The request is described by an API Gateway proxy event — the event shape
//! `invoke` takes on every provider, payload format 1.0 (REST APIs) or 2.0
//! (HTTP APIs, `version = "2.0"`) — so `--data` and `--event http` mean the
//! same thing whichever way the call travels. The HTTP reply is turned back
//! into a proxy result (`statusCode`, `headers`, `body`), the shape
//! `--expect-status` and `--expect-body` read after a direct invocation too.

use base64::Engine;
use serde_json::{json, Value};

use crate::model::{Function, HttpTrigger, Trigger};

/// One HTTP request to send to an API's base URL followed by `path`.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpCall<'f> {
    /// The manifest trigger the request is for (its `auth` decides the key).
    pub trigger: &'f HttpTrigger,
    pub method: String,
    /// The path below the API's base URL, starting with `/`.
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Lower-case names; `host` is left out (the URL decides it).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why an event cannot become a request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HttpCallError {
    #[error("function `{0}` has no HTTP trigger, so it has no URL to call")]
    NoHttpTrigger(String),
    #[error(
        "the event for `{0}` is not an API Gateway proxy event (it has no `httpMethod`), so it does not say which request to send"
    )]
    NotAProxyEvent(String),
    #[error(
        "the event for `{function}` has no `path`, and route `{route}` has parameters to fill in"
    )]
    NoPath { function: String, route: String },
    #[error("the event's `path` must start with `/`, got `{0}`")]
    RelativePath(String),
    #[error("the event's body is marked base64 but does not decode: {0}")]
    BadBase64(String),
    #[error("the request body is {size} bytes, over the {limit} bytes {gateway} accepts")]
    TooLarge {
        size: usize,
        limit: u64,
        gateway: &'static str,
    },
}

impl HttpCallError {
    /// What to do about it, for the error's help line.
    pub fn hint(&self) -> &'static str {
        match self {
            HttpCallError::NoHttpTrigger(_) => {
                "call it directly (drop --via url), or add an http trigger to it"
            }
            HttpCallError::TooLarge { .. } => {
                "send a smaller body; larger uploads go to a bucket (a presigned URL) rather than through the API"
            }
            _ => {
                "pass --event http for a sample request, or --data with a proxy event (`httpMethod`, `path`, `headers`, `body`; see docs/portable-handlers.md)"
            }
        }
    }
}

/// The function's HTTP triggers, in manifest order.
pub fn http_triggers(f: &Function) -> Vec<&HttpTrigger> {
    f.triggers
        .iter()
        .filter_map(|t| match t {
            Trigger::Http(h) => Some(h),
            _ => None,
        })
        .collect()
}

/// The request an API Gateway proxy event describes, for one of `f`'s routes.
///
/// The route is the one the event's `resource` names; failing that, the first
/// route taking the event's method; failing that, the first route.
pub fn from_event<'f>(f: &'f Function, event: &Value) -> Result<HttpCall<'f>, HttpCallError> {
    let triggers = http_triggers(f);
    if triggers.is_empty() {
        return Err(HttpCallError::NoHttpTrigger(f.name.clone()));
    }
    let v2 = event.get("version").and_then(Value::as_str) == Some("2.0");
    let method = if v2 {
        event.pointer("/requestContext/http/method")
    } else {
        event.get("httpMethod")
    };
    let Some(method) = method.and_then(Value::as_str) else {
        return Err(HttpCallError::NotAProxyEvent(f.name.clone()));
    };
    let method = method.to_ascii_uppercase();
    // 2.0 names the route in `routeKey` (`GET /orders/{id}`).
    let resource = if v2 {
        event
            .get("routeKey")
            .and_then(Value::as_str)
            .and_then(|k| k.split_once(' '))
            .map(|(_, path)| path)
    } else {
        event.get("resource").and_then(Value::as_str)
    };
    let takes = |h: &&&HttpTrigger| h.methods.iter().any(|m| *m == method || m == "ANY");
    let trigger = triggers
        .iter()
        .find(|h| Some(h.route.to_string().as_str()) == resource)
        .or_else(|| triggers.iter().find(takes))
        .copied()
        .unwrap_or(triggers[0]);
    let path = if v2 { v2_path(event) } else { None };
    let path = match path
        .as_deref()
        .or(event.get("path").and_then(Value::as_str))
    {
        Some(p) if p.starts_with('/') => p.to_string(),
        Some(p) => return Err(HttpCallError::RelativePath(p.to_string())),
        None if trigger.route.params().next().is_none() => trigger.route.to_string(),
        None => {
            return Err(HttpCallError::NoPath {
                function: f.name.clone(),
                route: trigger.route.to_string(),
            })
        }
    };
    let mut query = Vec::new();
    let raw_query = event
        .get("rawQueryString")
        .and_then(Value::as_str)
        .filter(|q| v2 && !q.is_empty());
    if let Some(raw) = raw_query {
        query.extend(url::form_urlencoded::parse(raw.as_bytes()).into_owned());
    } else if let Some(q) = event
        .get("multiValueQueryStringParameters")
        .and_then(Value::as_object)
    {
        for (k, vs) in q {
            for v in vs.as_array().into_iter().flatten() {
                query.push((k.clone(), text(v)));
            }
        }
    } else if let Some(q) = event
        .get("queryStringParameters")
        .and_then(Value::as_object)
    {
        for (k, v) in q {
            query.push((k.clone(), text(v)));
        }
    }
    let headers = event
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("host"))
        .map(|(k, v)| (k.to_ascii_lowercase(), text(v)))
        .collect::<Vec<_>>();
    // 2.0 carries cookies apart from the headers.
    let cookies: Vec<String> = event
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(text)
        .collect();
    let mut headers = headers;
    if v2 && !cookies.is_empty() && !headers.iter().any(|(k, _)| k == "cookie") {
        headers.push(("cookie".into(), cookies.join("; ")));
    }
    let body = match event.get("body") {
        Some(Value::String(b)) if event["isBase64Encoded"] == true => {
            base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_err(|e| HttpCallError::BadBase64(e.to_string()))?
        }
        Some(Value::String(b)) => b.clone().into_bytes(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => other.to_string().into_bytes(),
    };
    Ok(HttpCall {
        trigger,
        method,
        path,
        query,
        headers,
        body,
    })
}

/// A 2.0 event's path below the stage: `rawPath` holds the stage name first
/// (`/dev/orders/42`) unless the stage is `$default`, while the URL a call
/// goes to already ends in the stage.
fn v2_path(event: &Value) -> Option<String> {
    let raw = event.get("rawPath").and_then(Value::as_str)?;
    let stage = event
        .pointer("/requestContext/stage")
        .and_then(Value::as_str)
        .filter(|s| *s != "$default");
    let Some(stage) = stage else {
        return Some(raw.to_string());
    };
    let prefix = format!("/{stage}");
    Some(match raw.strip_prefix(&prefix) {
        Some("") => "/".to_string(),
        Some(rest) if rest.starts_with('/') => rest.to_string(),
        _ => raw.to_string(),
    })
}

impl HttpCall<'_> {
    /// Refuses a body over what the gateway in front accepts, before any
    /// byte is sent: the gateway would answer 413 after the upload.
    pub fn check_size(&self, limit: u64, gateway: &'static str) -> Result<(), HttpCallError> {
        if self.body.len() as u64 > limit {
            return Err(HttpCallError::TooLarge {
                size: self.body.len(),
                limit,
                gateway,
            });
        }
        Ok(())
    }
}

/// The full URL: `base` (no trailing slash needed) followed by the call's
/// path and query. The path is kept as the event wrote it, already encoded.
pub fn url(base: &str, call: &HttpCall<'_>) -> Result<url::Url, url::ParseError> {
    let mut url = url::Url::parse(&format!("{}{}", base.trim_end_matches('/'), call.path))?;
    if !call.query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in &call.query {
            pairs.append_pair(k, v);
        }
    }
    Ok(url)
}

/// What a deployed route answered.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpReply {
    /// The reply as a proxy result (see [`result_payload`]).
    pub fn payload(&self) -> Value {
        result_payload(self.status, &self.headers, &self.body)
    }
}

/// Sends one request and reads the whole reply. No retries: a smoke test
/// reports what the first attempt got, and a POST must not run twice.
/// The error is a sentence naming the cause (refused, timed out, TLS, ...).
pub async fn send(
    method: &str,
    url: url::Url,
    headers: &[(String, String)],
    body: &[u8],
    timeout: std::time::Duration,
) -> Result<HttpReply, String> {
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| format!("`{method}` is not an HTTP method"))?;
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("fnctl/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| chain(&e))?;
    let mut request = client.request(method, url);
    for (k, v) in headers {
        request = request.header(k.as_str(), v.as_str());
    }
    let reply = request
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| chain(&e))?;
    let status = reply.status().as_u16();
    let headers = reply
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = reply.bytes().await.map_err(|e| chain(&e))?.to_vec();
    Ok(HttpReply {
        status,
        headers,
        body,
    })
}

/// An error and its causes on one line: reqwest's own message alone
/// ("error sending request") does not say what went wrong.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

/// An HTTP reply as a proxy result: the body as text when it is UTF-8,
/// base64 otherwise (`isBase64Encoded`), header names lower-cased.
pub fn result_payload(status: u16, headers: &[(String, String)], body: &[u8]) -> Value {
    let (body, b64) = match std::str::from_utf8(body) {
        Ok(t) => (t.to_string(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), true),
    };
    let mut map = serde_json::Map::new();
    for (k, v) in headers {
        let k = k.to_ascii_lowercase();
        match map.get_mut(&k) {
            Some(Value::String(prev)) => {
                prev.push_str(", ");
                prev.push_str(v);
            }
            _ => {
                map.insert(k, json!(v));
            }
        }
    }
    json!({
        "statusCode": status,
        "headers": Value::Object(map),
        "body": body,
        "isBase64Encoded": b64,
    })
}

/// A 5xx is the function (or the gateway in front of it) failing; anything
/// else is an answer, judged by `--expect-status` if the caller cares.
pub fn server_error(status: u16) -> Option<String> {
    (status >= 500).then(|| format!("the function answered HTTP {status}"))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::route::Route;
    use crate::model::HttpAuth;

    fn function(name: &str, routes: &[(&[&str], &str, HttpAuth)]) -> Function {
        let triggers = routes
            .iter()
            .map(|(methods, route, auth)| {
                Trigger::Http(HttpTrigger {
                    methods: methods.iter().map(|m| m.to_string()).collect(),
                    route: Route::parse(route).unwrap(),
                    auth: auth.clone(),
                    cors: None,
                    span: 0..0,
                })
            })
            .collect();
        Function {
            name: name.into(),
            name_span: 0..0,
            runtime_span: 0..0,
            runtime: crate::model::Runtime::Python312,
            handler: "app.handler".into(),
            source: ".".into(),
            memory_mb: 128,
            timeout_s: 3,
            timeout_span: None,
            env: Default::default(),
            include: Vec::new(),
            exclude: Vec::new(),
            providers: Vec::new(),
            triggers,
            queue_triggers: Vec::new(),
            access: Default::default(),
            aws: Default::default(),
        }
    }

    #[test]
    fn a_proxy_event_becomes_the_request_it_describes() {
        let f = function(
            "api",
            &[
                (&["GET"], "/users", HttpAuth::None),
                (&["POST"], "/users/{id}", HttpAuth::Key),
            ],
        );
        let event = json!({
            "httpMethod": "post",
            "resource": "/users/{id}",
            "path": "/users/7",
            "headers": {"Host": "x.example", "Content-Type": "application/json"},
            "queryStringParameters": {"q": "a b", "n": 3},
            "multiValueQueryStringParameters": {"q": ["a b", "c"]},
            "body": base64::engine::general_purpose::STANDARD.encode("{\"x\":1}"),
            "isBase64Encoded": true,
        });
        let call = from_event(&f, &event).unwrap();
        assert_eq!(call.method, "POST");
        assert_eq!(call.trigger.auth, HttpAuth::Key);
        assert_eq!(call.path, "/users/7");
        // The multi-value form wins, as API Gateway fills both.
        assert_eq!(
            call.query,
            vec![("q".into(), "a b".into()), ("q".into(), "c".into())]
        );
        assert_eq!(
            call.headers,
            vec![("content-type".to_string(), "application/json".to_string())]
        );
        assert_eq!(call.body, b"{\"x\":1}");
        assert_eq!(
            url("https://api.example/dev/", &call).unwrap().as_str(),
            "https://api.example/dev/users/7?q=a+b&q=c"
        );
    }

    #[test]
    fn the_route_is_found_by_method_when_the_event_names_none() {
        let f = function(
            "api",
            &[
                (&["GET"], "/users", HttpAuth::None),
                (&["DELETE"], "/users", HttpAuth::Key),
            ],
        );
        let call = from_event(&f, &json!({"httpMethod": "DELETE"})).unwrap();
        assert_eq!(call.trigger.auth, HttpAuth::Key);
        assert_eq!(
            call.path, "/users",
            "a route without parameters is its own path"
        );
        assert!(call.body.is_empty());
    }

    #[test]
    fn events_that_describe_no_request_are_refused_with_the_reason() {
        let f = function("api", &[(&["ANY"], "/users/{id}", HttpAuth::None)]);
        assert_eq!(
            from_event(&f, &json!({"name": "Ada"})),
            Err(HttpCallError::NotAProxyEvent("api".into()))
        );
        assert_eq!(
            from_event(&f, &json!({"httpMethod": "GET"})),
            Err(HttpCallError::NoPath {
                function: "api".into(),
                route: "/users/{id}".into()
            })
        );
        assert_eq!(
            from_event(&f, &json!({"httpMethod": "GET", "path": "users/1"})),
            Err(HttpCallError::RelativePath("users/1".into()))
        );
        assert!(matches!(
            from_event(
                &f,
                &json!({"httpMethod": "GET", "path": "/users/1", "body": "%%", "isBase64Encoded": true})
            ),
            Err(HttpCallError::BadBase64(_))
        ));
        let plain = function("worker", &[]);
        assert_eq!(
            from_event(&plain, &json!({"httpMethod": "GET"})),
            Err(HttpCallError::NoHttpTrigger("worker".into()))
        );
    }

    #[test]
    fn payload_2_0_events_describe_the_same_request() {
        let f = function(
            "api",
            &[
                (&["GET"], "/users", HttpAuth::None),
                (&["POST"], "/users/{id}", HttpAuth::None),
            ],
        );
        let event = json!({
            "version": "2.0",
            "routeKey": "POST /users/{id}",
            "rawPath": "/dev/users/7",
            "rawQueryString": "a=1&a=2&b=x%20y",
            "cookies": ["s=1", "t=2"],
            "headers": {"Content-Type": "application/json", "host": "x"},
            "requestContext": {"stage": "dev", "http": {"method": "post", "path": "/dev/users/7"}},
            "body": "{}",
            "isBase64Encoded": false
        });
        let call = from_event(&f, &event).unwrap();
        assert_eq!(call.method, "POST");
        assert_eq!(call.trigger.route.to_string(), "/users/{id}");
        assert_eq!(call.path, "/users/7");
        assert_eq!(
            call.query,
            vec![
                ("a".to_string(), "1".to_string()),
                ("a".to_string(), "2".to_string()),
                ("b".to_string(), "x y".to_string())
            ]
        );
        assert!(call.headers.contains(&("cookie".into(), "s=1; t=2".into())));
        assert!(!call.headers.iter().any(|(k, _)| k == "host"));
        assert_eq!(call.body, b"{}");
        // `$default` has no stage in the path.
        let mut d = event.clone();
        d["rawPath"] = json!("/users/7");
        d["requestContext"]["stage"] = json!("$default");
        assert_eq!(from_event(&f, &d).unwrap().path, "/users/7");
        // A 2.0 event without its method is no request.
        let none = json!({"version": "2.0", "rawPath": "/users"});
        assert_eq!(
            from_event(&f, &none),
            Err(HttpCallError::NotAProxyEvent("api".into()))
        );
    }

    #[test]
    fn a_body_over_the_gateways_limit_is_refused_before_sending() {
        let f = function("api", &[(&["POST"], "/upload", HttpAuth::None)]);
        let big = "x".repeat(11);
        let call = from_event(
            &f,
            &json!({"httpMethod": "POST", "path": "/upload", "body": big}),
        )
        .unwrap();
        assert!(call.check_size(11, "REST API").is_ok());
        let err = call.check_size(10, "REST API").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the request body is 11 bytes, over the 10 bytes REST API accepts"
        );
    }

    #[test]
    fn replies_become_proxy_results() {
        let r = result_payload(
            201,
            &[
                ("Content-Type".into(), "text/plain".into()),
                ("Set-Cookie".into(), "a=1".into()),
                ("set-cookie".into(), "b=2".into()),
            ],
            b"made",
        );
        assert_eq!(
            r,
            json!({"statusCode": 201, "headers": {"content-type": "text/plain", "set-cookie": "a=1, b=2"}, "body": "made", "isBase64Encoded": false})
        );
        let bin = result_payload(200, &[], &[0xff, 0x00]);
        assert_eq!(bin["body"], "/wA=");
        assert_eq!(bin["isBase64Encoded"], true);
        assert_eq!(
            server_error(502).as_deref(),
            Some("the function answered HTTP 502")
        );
        assert_eq!(server_error(404), None);
    }
}
