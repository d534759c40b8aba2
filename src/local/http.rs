//! HTTP requests ↔ API Gateway REST proxy events, for `fnctl dev`.
//!
//! Route matching follows API Gateway's precedence: at each segment a
//! literal beats a `{param}`, which beats a greedy `{param+}`. Requests
//! become the same v1 proxy events API Gateway sends (single and
//! multi-value headers and query strings, path parameters, base64 for
//! binary bodies), and the handler's `{statusCode, headers, body}` becomes
//! the HTTP response.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{json, Map, Value};

use crate::model::route::{path_parts, Route};
use crate::model::{App, Trigger};

/// One served route.
#[derive(Debug, Clone)]
pub struct RouteEntry {
    pub route: Route,
    pub methods: Vec<String>,
    pub function: String,
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
    /// answers both with API Gateway's 403.
    pub fn find(&self, method: &str, path: &str) -> Result<Matched, bool> {
        let parts = path_parts(path);
        let mut path_exists = false;
        for entry in &self.routes {
            let Some(params) = entry.route.matches(&parts) else {
                continue;
            };
            path_exists = true;
            if entry
                .methods
                .iter()
                .any(|m| m == "ANY" || m.eq_ignore_ascii_case(method))
            {
                return Ok(Matched {
                    function: entry.function.clone(),
                    resource: entry.route.to_string(),
                    params,
                });
            }
        }
        Err(path_exists)
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
    let content_type = req
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.as_str());
    let (body, is_base64) = if req.body.is_empty() {
        (Value::Null, false)
    } else if is_text(content_type) && std::str::from_utf8(&req.body).is_ok() {
        (json!(String::from_utf8_lossy(&req.body)), false)
    } else {
        (
            json!(base64::engine::general_purpose::STANDARD.encode(&req.body)),
            true,
        )
    };
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
        assert_eq!(t.find("GET", "/users/me").unwrap().function, "me");
        let m = t.find("GET", "/users/42").unwrap();
        assert_eq!(
            (
                m.function.as_str(),
                m.params["id"].as_str(),
                m.resource.as_str()
            ),
            ("get", "42", "/users/{id}")
        );
        assert_eq!(
            t.find("DELETE", "/files/a/b%20c.txt").unwrap().params["path"],
            "a/b c.txt"
        );
        assert_eq!(t.find("GET", "/").unwrap().function, "root");
        assert_eq!(
            t.find("POST", "/users/42"),
            Err(true),
            "405: the path exists"
        );
        assert_eq!(t.find("GET", "/nope"), Err(false), "404");
        assert_eq!(
            t.find("GET", "/files"),
            Err(false),
            "a greedy parameter needs at least one segment"
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
}
