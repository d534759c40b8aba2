//! HTTP requests ↔ API Gateway proxy events, for `fnctl dev`.
//!
//! Route matching follows API Gateway's precedence: at each segment a
//! literal beats a `{param}`, which beats a greedy `{param+}`. Requests
//! become the events the app's AWS gateway sends ([`App::gateway`]): a REST
//! API's payload format 1.0 ([`to_event`]: single and multi-value headers
//! and query strings, path parameters, base64 for binary bodies) or an HTTP
//! API's 2.0 ([`to_event_v2`]). The handler's result becomes the HTTP
//! response by that gateway's rules ([`from_payload`], [`from_payload_v2`]).

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{json, Map, Value};

use crate::model::route::{path_parts, Route};
use crate::model::{App, Cors, HttpAuth, Trigger};

/// One served route.
#[derive(Debug, Clone)]
pub struct RouteEntry {
    pub route: Route,
    pub methods: Vec<String>,
    pub function: String,
    /// Who may call it (dev checks JWTs as the HTTP API's authorizer would).
    pub auth: HttpAuth,
    /// The route's effective CORS.
    pub cors: Option<Cors>,
}

/// The routes of an app, in matching order.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<RouteEntry>,
}

/// A successful match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub function: String,
    pub resource: String,
    pub params: BTreeMap<String, String>,
    /// The method part of an HTTP API route key: the request's method, or
    /// `ANY` when the route takes every method (each method of a route is
    /// its own HTTP API route, `ANY` is one).
    pub route_method: String,
}

impl Matched {
    /// The HTTP API route key, `GET /orders/{id}`.
    pub fn route_key(&self) -> String {
        format!("{} {}", self.route_method, self.resource)
    }
}

impl RouteTable {
    pub fn new(app: &App) -> Self {
        let mut routes: Vec<RouteEntry> = app
            .functions
            .values()
            .flat_map(|f| {
                f.triggers.iter().filter_map(move |t| match t {
                    Trigger::Http(h) => Some(RouteEntry {
                        route: h.route.clone(),
                        methods: h.methods.clone(),
                        function: f.name.clone(),
                        auth: h.auth.clone(),
                        cors: h.cors.clone(),
                    }),
                    _ => None,
                })
            })
            .collect();
        routes.sort_by_key(|r| r.route.rank());
        RouteTable { routes }
    }

    pub fn entries(&self) -> &[RouteEntry] {
        &self.routes
    }

    /// The function serving `method path`, or whether the path exists with
    /// other methods (`Err(true)`) or not at all (`Err(false)`); `fnctl dev`
    /// answers both as the app's gateway does.
    pub fn find(&self, method: &str, path: &str) -> Result<(Matched, &RouteEntry), bool> {
        let parts = path_parts(path);
        let mut path_exists = false;
        for entry in &self.routes {
            let Some(params) = entry.route.matches(&parts) else {
                continue;
            };
            path_exists = true;
            let any = entry.methods.iter().any(|m| m == "ANY");
            if any || entry.methods.iter().any(|m| m.eq_ignore_ascii_case(method)) {
                let matched = Matched {
                    function: entry.function.clone(),
                    resource: entry.route.to_string(),
                    params,
                    route_method: if any {
                        "ANY".into()
                    } else {
                        method.to_ascii_uppercase()
                    },
                };
                return Ok((matched, entry));
            }
        }
        Err(path_exists)
    }

    /// The CORS a REST API answers a preflight to `path` with, and the
    /// methods of that resource: the most specific route shape matching the
    /// path whose routes have CORS (a REST API's OPTIONS method lives on one
    /// resource, serving every method of it).
    pub fn rest_preflight(&self, path: &str) -> Option<(&Cors, Vec<String>)> {
        let parts = path_parts(path);
        let first = self
            .routes
            .iter()
            .find(|e| e.cors.is_some() && e.route.matches(&parts).is_some())?;
        let shape = first.route.to_string();
        let mut methods: Vec<String> = Vec::new();
        for e in self.routes.iter().filter(|e| e.route.to_string() == shape) {
            for m in &e.methods {
                if !methods.contains(m) {
                    methods.push(m.clone());
                }
            }
        }
        Some((first.cors.as_ref()?, methods))
    }

    /// An HTTP API's one CORS configuration (every route carries the same,
    /// which the manifest checks) and every method its routes serve.
    pub fn api_cors(&self) -> Option<(&Cors, Vec<String>)> {
        let cors = self.routes.iter().find_map(|e| e.cors.as_ref())?;
        let mut methods: Vec<String> = Vec::new();
        for m in self.routes.iter().flat_map(|e| &e.methods) {
            if !methods.contains(m) {
                methods.push(m.clone());
            }
        }
        Some((cors, methods))
    }
}

/// Percent-decoding for query strings (`+` is a space there); path
/// segments: [`crate::model::route::decode_segment`].
fn decode_with(s: &str, plus_is_space: bool) -> String {
    let s = if plus_is_space {
        s.replace('+', " ")
    } else {
        s.to_string()
    };
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Everything of a request the event needs.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Header names as received; repeated headers appear repeatedly.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub source_ip: String,
}

/// Content types whose bodies are text; anything else travels base64-encoded.
fn is_text(content_type: Option<&str>) -> bool {
    match content_type {
        None => true,
        Some(ct) => {
            let ct = ct.to_ascii_lowercase();
            ct.starts_with("text/")
                || ct.contains("json")
                || ct.contains("xml")
                || ct.contains("x-www-form-urlencoded")
                || ct.contains("javascript")
        }
    }
}

/// The body as an event carries it: text as text, anything else base64
/// (`null` when empty), and whether it is base64. Both payload versions
/// encode bodies this way.
fn event_body(req: &Request) -> (Value, bool) {
    let content_type = req
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.as_str());
    if req.body.is_empty() {
        (Value::Null, false)
    } else if is_text(content_type) && std::str::from_utf8(&req.body).is_ok() {
        (json!(String::from_utf8_lossy(&req.body)), false)
    } else {
        (
            json!(base64::engine::general_purpose::STANDARD.encode(&req.body)),
            true,
        )
    }
}

/// What the HTTP API's JWT authorizer found: the token's claims (every
/// value a string, as API Gateway passes them) and its scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtContext {
    pub claims: Map<String, Value>,
    pub scopes: Option<Vec<String>>,
}

/// `requestContext.time` as API Gateway writes it: `12/Mar/2020:19:03:58 +0000`.
fn clf_time(epoch_ms: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp((epoch_ms / 1000) as i64) else {
        return String::new();
    };
    format!(
        "{:02}/{}/{}:{:02}:{:02}:{:02} +0000",
        t.day(),
        MONTHS[usize::from(u8::from(t.month())) - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Where the event was received, for the parts of an HTTP API event that
/// describe the request rather than the route.
#[derive(Debug, Clone)]
pub struct V2Context<'a> {
    /// The HTTP API stage: fnctl deploys one named after the fnctl stage.
    pub stage: &'a str,
    pub account_id: &'a str,
    pub api_id: &'a str,
    pub request_id: &'a str,
    pub epoch_ms: u64,
    pub jwt: Option<&'a JwtContext>,
}

/// The API Gateway HTTP API event, payload format 2.0, for a matched
/// request, in the shape of "Create AWS Lambda proxy integrations for HTTP
/// APIs" (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html>):
/// header names lower-cased and repeated headers joined with commas, no
/// multi-value fields, repeated query keys joined with commas, the `Cookie`
/// headers as a `cookies` array instead of a header, and fields with no
/// value (cookies, query, path parameters, body) left out rather than
/// `null`. On a named stage (fnctl deploys the API's stage under the fnctl
/// stage's name) `rawPath` and `requestContext.http.path` start with the
/// stage, as API Gateway sends them; only `$default` has no prefix
/// (<https://github.com/aws-powertools/powertools-lambda-python/issues/621>).
pub fn to_event_v2(req: &Request, matched: &Matched, cx: &V2Context<'_>) -> Value {
    let raw_path = if cx.stage == "$default" {
        req.path.clone()
    } else {
        format!("/{}{}", cx.stage, req.path)
    };
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies: Vec<String> = Vec::new();
    for (k, v) in &req.headers {
        let k = k.to_ascii_lowercase();
        if k == "cookie" {
            cookies.extend(
                v.split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_string),
            );
            continue;
        }
        headers
            .entry(k)
            .and_modify(|e| {
                e.push(',');
                e.push_str(v);
            })
            .or_insert_with(|| v.clone());
    }
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    let raw_query = req.query.clone().unwrap_or_default();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode_with(k, true), decode_with(v, true));
        query
            .entry(k)
            .and_modify(|e| {
                e.push(',');
                e.push_str(&v);
            })
            .or_insert(v);
    }
    let (body, is_base64) = event_body(req);
    let domain = headers
        .get("host")
        .cloned()
        .unwrap_or_else(|| "localhost".into());
    let prefix = domain.split('.').next().unwrap_or_default().to_string();
    let user_agent = headers.get("user-agent").cloned().unwrap_or_default();
    let route_key = matched.route_key();
    let mut context = json!({
        "accountId": cx.account_id,
        "apiId": cx.api_id,
        "domainName": domain,
        "domainPrefix": prefix,
        "http": {
            "method": req.method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": req.source_ip,
            "userAgent": user_agent,
        },
        "requestId": cx.request_id,
        "routeKey": route_key,
        "stage": cx.stage,
        "time": clf_time(cx.epoch_ms),
        "timeEpoch": cx.epoch_ms,
    });
    if let Some(jwt) = cx.jwt {
        context["authorizer"] = json!({"jwt": {"claims": jwt.claims, "scopes": jwt.scopes}});
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": is_base64,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = json!(query);
    }
    if !matched.params.is_empty() {
        event["pathParameters"] = json!(matched.params);
    }
    if !body.is_null() {
        event["body"] = body;
    }
    event
}

/// The API Gateway REST (v1) proxy event for a matched request.
pub fn to_event(req: &Request, matched: &Matched, stage: &str, request_id: &str) -> Value {
    let mut headers = Map::new();
    let mut multi_headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in &req.headers {
        headers.insert(k.clone(), json!(v));
        multi_headers.entry(k.clone()).or_default().push(v.clone());
    }
    let mut query = Map::new();
    let mut multi_query: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in req
        .query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode_with(k, true), decode_with(v, true));
        query.insert(k.clone(), json!(v));
        multi_query.entry(k).or_default().push(v);
    }
    let (body, is_base64) = event_body(req);
    let or_null = |m: Map<String, Value>| {
        if m.is_empty() {
            Value::Null
        } else {
            Value::Object(m)
        }
    };
    json!({
        "resource": matched.resource,
        "path": req.path,
        "httpMethod": req.method,
        "headers": or_null(headers),
        "multiValueHeaders": if multi_headers.is_empty() { Value::Null } else { json!(multi_headers) },
        "queryStringParameters": or_null(query),
        "multiValueQueryStringParameters": if multi_query.is_empty() { Value::Null } else { json!(multi_query) },
        "pathParameters": if matched.params.is_empty() { Value::Null } else { json!(matched.params) },
        "stageVariables": null,
        "requestContext": {
            "resourcePath": matched.resource,
            "httpMethod": req.method,
            "path": format!("/{stage}{}", req.path),
            "stage": stage,
            "requestId": request_id,
            "protocol": "HTTP/1.1",
            "accountId": "000000000000",
            "identity": {"sourceIp": req.source_ip},
        },
        "body": body,
        "isBase64Encoded": is_base64,
    })
}

/// An HTTP response made from a handler's return value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Reads `{statusCode, headers, multiValueHeaders, body, isBase64Encoded}`.
/// Like API Gateway, a return value that is not such an object is a 502.
pub fn from_payload(payload: &[u8]) -> Response {
    let bad_gateway = || Response {
        status: 502,
        headers: vec![("content-type".into(), "application/json".into())],
        body: br#"{"message": "Internal server error"}"#.to_vec(),
    };
    let Ok(Value::Object(v)) = serde_json::from_slice::<Value>(payload) else {
        return bad_gateway();
    };
    let Some(status) = v.get("statusCode").and_then(|s| {
        s.as_u64()
            .or_else(|| s.as_str().and_then(|s| s.parse().ok()))
    }) else {
        return bad_gateway();
    };
    if !(100..=599).contains(&status) {
        return bad_gateway();
    }
    let mut headers = Vec::new();
    for (k, val) in v
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        headers.push((
            k.clone(),
            val.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| val.to_string()),
        ));
    }
    for (k, vals) in v
        .get("multiValueHeaders")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for val in vals.as_array().into_iter().flatten() {
            headers.push((
                k.clone(),
                val.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| val.to_string()),
            ));
        }
    }
    let body = match v.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if v.get("isBase64Encoded") == Some(&Value::Bool(true)) => {
            match base64::engine::general_purpose::STANDARD.decode(s) {
                Ok(b) => b,
                Err(_) => return bad_gateway(),
            }
        }
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(other) => other.to_string().into_bytes(),
    };
    Response {
        status: status as u16,
        headers,
        body,
    }
}

/// What an HTTP API answers when its Lambda integration fails (a
/// function error, a crash, a result it cannot read): 500, where a REST API
/// says 502.
pub fn internal_error_v2() -> Response {
    Response {
        status: 500,
        headers: vec![("content-type".into(), "application/json".into())],
        body: br#"{"message":"Internal Server Error"}"#.to_vec(),
    }
}

/// Reads a handler's result by payload format 2.0's rules ("Lambda
/// function response for format 2.0" in the page cited at
/// [`to_event_v2`]): an object with `statusCode` is read like 1.0's, except
/// that `multiValueHeaders` does not exist and each `cookies` entry becomes
/// a `set-cookie` header; any other valid JSON is the body of a 200 with
/// `content-type: application/json`; anything that is not JSON is a 500.
pub fn from_payload_v2(payload: &[u8]) -> Response {
    let Ok(value) = serde_json::from_slice::<Value>(payload) else {
        return internal_error_v2();
    };
    let Some(v) = value.as_object().filter(|o| o.contains_key("statusCode")) else {
        return Response {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
        };
    };
    let Some(status) = v.get("statusCode").and_then(|s| {
        s.as_u64()
            .or_else(|| s.as_str().and_then(|s| s.parse().ok()))
    }) else {
        return internal_error_v2();
    };
    if !(100..=599).contains(&status) {
        return internal_error_v2();
    }
    let text = |val: &Value| {
        val.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| val.to_string())
    };
    let mut headers: Vec<(String, String)> = v
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, val)| (k.clone(), text(val)))
        .collect();
    for c in v
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        headers.push(("set-cookie".into(), text(c)));
    }
    let body = match v.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if v.get("isBase64Encoded") == Some(&Value::Bool(true)) => {
            match base64::engine::general_purpose::STANDARD.decode(s) {
                Ok(b) => b,
                Err(_) => return internal_error_v2(),
            }
        }
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(other) => other.to_string().into_bytes(),
    };
    Response {
        status: status as u16,
        headers,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(routes: &[(&str, &[&str], &str)]) -> RouteTable {
        let mut t: Vec<RouteEntry> = routes
            .iter()
            .map(|(p, m, f)| RouteEntry {
                route: Route::parse(p).unwrap(),
                methods: m.iter().map(|s| s.to_string()).collect(),
                function: f.to_string(),
                auth: HttpAuth::None,
                cors: None,
            })
            .collect();
        t.sort_by_key(|r| r.route.rank());
        RouteTable { routes: t }
    }

    #[test]
    fn literal_beats_param_beats_greedy() {
        let t = table(&[
            ("/users/{id}", &["GET"], "get"),
            ("/users/me", &["GET"], "me"),
            ("/files/{path+}", &["ANY"], "files"),
            ("/", &["GET"], "root"),
        ]);
        assert_eq!(t.find("GET", "/users/me").unwrap().0.function, "me");
        let m = t.find("GET", "/users/42").unwrap().0;
        assert_eq!(
            (
                m.function.as_str(),
                m.params["id"].as_str(),
                m.resource.as_str()
            ),
            ("get", "42", "/users/{id}")
        );
        assert_eq!(
            t.find("DELETE", "/files/a/b%20c.txt").unwrap().0.params["path"],
            "a/b c.txt"
        );
        assert_eq!(t.find("GET", "/").unwrap().0.function, "root");
        assert!(
            t.find("POST", "/users/42").map(|m| m.0).unwrap_err(),
            "405: the path exists"
        );
        assert!(!t.find("GET", "/nope").map(|m| m.0).unwrap_err(), "404");
        assert!(
            !t.find("GET", "/files").map(|m| m.0).unwrap_err(),
            "a greedy parameter needs at least one segment"
        );
        assert_eq!(
            t.find("delete", "/files/x").unwrap().0.route_key(),
            "ANY /files/{path+}"
        );
        assert_eq!(
            t.find("get", "/users/1").unwrap().0.route_key(),
            "GET /users/{id}"
        );
    }

    #[test]
    fn events_carry_query_headers_and_bodies() {
        let req = Request {
            method: "POST".into(),
            path: "/users/7".into(),
            query: Some("tag=a&tag=b&q=hello+world&empty".into()),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-Multi".into(), "1".into()),
                ("X-Multi".into(), "2".into()),
            ],
            body: br#"{"a":1}"#.to_vec(),
            source_ip: "127.0.0.1".into(),
        };
        let m = Matched {
            function: "f".into(),
            resource: "/users/{id}".into(),
            params: BTreeMap::from([("id".into(), "7".into())]),
            route_method: "POST".into(),
        };
        let e = to_event(&req, &m, "dev", "r1");
        assert_eq!(
            e["queryStringParameters"],
            json!({"tag": "b", "q": "hello world", "empty": ""})
        );
        assert_eq!(
            e["multiValueQueryStringParameters"]["tag"],
            json!(["a", "b"])
        );
        assert_eq!(e["headers"]["X-Multi"], "2");
        assert_eq!(e["multiValueHeaders"]["X-Multi"], json!(["1", "2"]));
        assert_eq!(e["body"], r#"{"a":1}"#);
        assert_eq!(e["isBase64Encoded"], false);
        assert_eq!(e["pathParameters"]["id"], "7");
        assert_eq!(e["requestContext"]["path"], "/dev/users/7");

        let bin = Request {
            body: vec![0xff, 0x00, 0x10],
            headers: vec![("Content-Type".into(), "application/octet-stream".into())],
            ..req
        };
        let e = to_event(&bin, &m, "dev", "r2");
        assert_eq!(e["isBase64Encoded"], true);
        assert_eq!(e["body"], "/wAQ");
    }

    #[test]
    fn responses_from_payloads() {
        let r = from_payload(br#"{"statusCode": 201, "headers": {"x-a": "1"}, "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]}, "body": "done"}"#);
        assert_eq!(r.status, 201);
        assert_eq!(
            r.headers,
            vec![
                ("x-a".to_string(), "1".to_string()),
                ("set-cookie".into(), "a=1".into()),
                ("set-cookie".into(), "b=2".into())
            ]
        );
        assert_eq!(r.body, b"done");
        let r = from_payload(br#"{"statusCode": 200, "body": "/wAQ", "isBase64Encoded": true}"#);
        assert_eq!(r.body, vec![0xff, 0x00, 0x10]);
        assert_eq!(from_payload(b"\"just a string\"").status, 502);
        assert_eq!(from_payload(br#"{"body": "no status"}"#).status, 502);
        assert_eq!(from_payload(br#"{"statusCode": "404"}"#).status, 404);
    }

    fn v2_context(jwt: Option<&JwtContext>) -> V2Context<'_> {
        V2Context {
            stage: "dev",
            account_id: "000000000000",
            api_id: "local",
            request_id: "r1",
            // 2020-03-12T19:03:58Z
            epoch_ms: 1_584_039_838_000,
            jwt,
        }
    }

    #[test]
    fn v2_events_join_repeats_and_move_cookies() {
        let req = Request {
            method: "GET".into(),
            path: "/orders/7".into(),
            query: Some("tag=a&tag=b&q=x+y".into()),
            headers: vec![
                ("Host".into(), "api.example.com".into()),
                ("X-Multi".into(), "1".into()),
                ("x-multi".into(), "2".into()),
                ("Cookie".into(), "a=1; b=2".into()),
                ("User-Agent".into(), "curl/8".into()),
            ],
            body: vec![],
            source_ip: "127.0.0.1".into(),
        };
        let m = Matched {
            function: "f".into(),
            resource: "/orders/{id}".into(),
            params: BTreeMap::from([("id".into(), "7".into())]),
            route_method: "GET".into(),
        };
        let e = to_event_v2(&req, &m, &v2_context(None));
        assert_eq!(e["version"], "2.0");
        assert_eq!(e["routeKey"], "GET /orders/{id}");
        assert_eq!(
            e["rawPath"], "/dev/orders/7",
            "a named stage prefixes the path"
        );
        assert_eq!(e["requestContext"]["http"]["path"], "/dev/orders/7");
        assert_eq!(e["requestContext"]["stage"], "dev");
        assert_eq!(e["rawQueryString"], "tag=a&tag=b&q=x+y");
        assert_eq!(
            e["queryStringParameters"],
            json!({"tag": "a,b", "q": "x y"})
        );
        assert_eq!(e["headers"]["x-multi"], "1,2");
        assert!(e["headers"].get("cookie").is_none(), "{e:#}");
        assert_eq!(e["cookies"], json!(["a=1", "b=2"]));
        assert_eq!(e["pathParameters"], json!({"id": "7"}));
        assert!(e.get("body").is_none() && e.get("multiValueHeaders").is_none());
        assert_eq!(e["isBase64Encoded"], false);
        let rc = &e["requestContext"];
        assert_eq!(rc["domainName"], "api.example.com");
        assert_eq!(rc["domainPrefix"], "api");
        assert_eq!(rc["http"]["method"], "GET");
        assert_eq!(rc["http"]["userAgent"], "curl/8");
        assert_eq!(rc["routeKey"], "GET /orders/{id}");
        assert_eq!(rc["time"], "12/Mar/2020:19:03:58 +0000");
        assert_eq!(rc["timeEpoch"], 1_584_039_838_000u64);
        assert!(rc.get("authorizer").is_none());

        let jwt = JwtContext {
            claims: Map::from_iter([("sub".to_string(), json!("u1"))]),
            scopes: Some(vec!["orders/read".into()]),
        };
        let e = to_event_v2(&req, &m, &v2_context(Some(&jwt)));
        assert_eq!(
            e["requestContext"]["authorizer"],
            json!({"jwt": {"claims": {"sub": "u1"}, "scopes": ["orders/read"]}})
        );
    }

    #[test]
    fn v2_responses_follow_the_2_0_rules() {
        // Valid JSON without statusCode: a 200 JSON answer of it.
        let r = from_payload_v2(br#"{"id": 1}"#);
        assert_eq!(r.status, 200);
        assert_eq!(
            r.headers,
            vec![("content-type".to_string(), "application/json".to_string())]
        );
        assert_eq!(
            serde_json::from_slice::<Value>(&r.body).unwrap(),
            json!({"id": 1})
        );
        assert_eq!(from_payload_v2(b"\"hi\"").body, b"\"hi\"");
        // Cookies become set-cookie headers; multiValueHeaders is not 2.0.
        let r = from_payload_v2(
            br#"{"statusCode": 201, "headers": {"x-a": "1"}, "cookies": ["a=1", "b=2"], "multiValueHeaders": {"x-b": ["2"]}, "body": "done"}"#,
        );
        assert_eq!(r.status, 201);
        assert_eq!(
            r.headers,
            vec![
                ("x-a".to_string(), "1".to_string()),
                ("set-cookie".into(), "a=1".into()),
                ("set-cookie".into(), "b=2".into())
            ]
        );
        assert_eq!(r.body, b"done");
        assert_eq!(from_payload_v2(b"not json").status, 500);
        assert_eq!(from_payload_v2(br#"{"statusCode": "nope"}"#).status, 500);
    }
}
