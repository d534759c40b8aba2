//! CORS under `fnctl dev`, as the app's AWS gateway does it, so a browser
//! client that works against `fnctl dev` works against the deployed API.
//!
//! The two gateways differ, and dev follows each:
//!
//! - **REST API** (<https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-cors.html>):
//!   the preflight is an `OPTIONS` method on the resource that the gateway
//!   answers itself (a mock integration), so dev answers it without running
//!   a handler. The actual request goes through a Lambda proxy integration,
//!   which passes the handler's headers unchanged: the handler must set
//!   `Access-Control-Allow-Origin` itself, and dev warns when it does not.
//!   The gateway's own error answers (the 403 for no route) carry the
//!   allow-origin header, as "Enable CORS" sets on the default 4XX/5XX
//!   gateway responses.
//! - **HTTP API** (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html>):
//!   the gateway answers every preflight (an `OPTIONS` request carrying
//!   `Origin` and `Access-Control-Request-Method`) for any path, and adds
//!   the configured headers to every response of an allowed origin. "If you
//!   configure CORS for an API, API Gateway ignores CORS headers returned
//!   from your backend integration": the handler's are replaced.

use crate::model::Cors;

/// Response headers, names as sent.
pub type Headers = Vec<(String, String)>;

/// Whether an HTTP API treats the request as a preflight: `OPTIONS` with
/// both `Origin` and `Access-Control-Request-Method`.
pub fn is_http_api_preflight(
    method: &str,
    origin: Option<&str>,
    request_method: Option<&str>,
) -> bool {
    method.eq_ignore_ascii_case("OPTIONS") && origin.is_some() && request_method.is_some()
}

/// The headers of a preflight answer for a request from `origin` to a
/// resource serving `route_methods`; none when the origin is not allowed
/// (or the request names none), so the browser refuses the call.
pub fn preflight_headers(cors: &Cors, origin: Option<&str>, route_methods: &[String]) -> Headers {
    let Some(allow) = origin.and_then(|o| cors.allow_origin(o)) else {
        return Vec::new();
    };
    let mut out = vec![
        ("access-control-allow-origin".to_string(), allow),
        (
            "access-control-allow-methods".to_string(),
            cors.allow_methods(route_methods).join(","),
        ),
    ];
    if !cors.headers.is_empty() {
        out.push((
            "access-control-allow-headers".to_string(),
            cors.headers.join(","),
        ));
    }
    if let Some(age) = cors.max_age_s {
        out.push(("access-control-max-age".to_string(), age.to_string()));
    }
    if cors.credentials {
        out.push((
            "access-control-allow-credentials".to_string(),
            "true".to_string(),
        ));
    }
    out
}

fn is_cors_header(name: &str) -> bool {
    name.len() > "access-control-".len()
        && name[.."access-control-".len()].eq_ignore_ascii_case("access-control-")
}

/// An HTTP API response with CORS configured: the backend's CORS headers
/// are dropped, and for an allowed origin the configured ones are added
/// (allow-origin, expose-headers, allow-credentials).
pub fn apply_http_api(headers: &mut Headers, cors: &Cors, origin: Option<&str>) {
    headers.retain(|(k, _)| !is_cors_header(k));
    let Some(allow) = origin.and_then(|o| cors.allow_origin(o)) else {
        return;
    };
    headers.push(("access-control-allow-origin".into(), allow));
    if !cors.expose_headers.is_empty() {
        headers.push((
            "access-control-expose-headers".into(),
            cors.expose_headers.join(","),
        ));
    }
    if cors.credentials {
        headers.push(("access-control-allow-credentials".into(), "true".into()));
    }
}

/// A REST API's own error answer (a gateway response) to a CORS request:
/// the allow-origin header only.
pub fn rest_gateway_response_headers(cors: &Cors, origin: Option<&str>) -> Headers {
    origin
        .and_then(|o| cors.allow_origin(o))
        .map(|allow| vec![("access-control-allow-origin".to_string(), allow)])
        .unwrap_or_default()
}

/// Whether a response lacks `Access-Control-Allow-Origin` (a REST
/// handler answering a CORS request must set it).
pub fn lacks_allow_origin(headers: &Headers) -> bool {
    !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("access-control-allow-origin"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(origins: &[&str]) -> Cors {
        Cors {
            origins: origins.iter().map(|s| s.to_string()).collect(),
            methods: vec![],
            headers: vec!["Content-Type".into(), "Authorization".into()],
            expose_headers: vec![],
            max_age_s: None,
            credentials: false,
            span: 0..0,
        }
    }

    fn get<'a>(h: &'a Headers, name: &str) -> Option<&'a str> {
        h.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn preflights_allow_listed_origins_with_the_routes_methods() {
        let c = Cors {
            max_age_s: Some(600),
            credentials: true,
            ..cors(&["https://app.example"])
        };
        let h = preflight_headers(&c, Some("https://app.example"), &["GET".into()]);
        assert_eq!(
            get(&h, "access-control-allow-origin"),
            Some("https://app.example")
        );
        assert_eq!(get(&h, "access-control-allow-methods"), Some("GET,OPTIONS"));
        assert_eq!(
            get(&h, "access-control-allow-headers"),
            Some("Content-Type,Authorization")
        );
        assert_eq!(get(&h, "access-control-max-age"), Some("600"));
        assert_eq!(get(&h, "access-control-allow-credentials"), Some("true"));
        assert!(preflight_headers(&c, Some("https://evil.example"), &["GET".into()]).is_empty());
        assert!(preflight_headers(&c, None, &["GET".into()]).is_empty());
        // Without max_age or credentials, neither header appears.
        let h = preflight_headers(&cors(&["*"]), Some("https://x.example"), &["PUT".into()]);
        assert_eq!(get(&h, "access-control-allow-origin"), Some("*"));
        assert_eq!(get(&h, "access-control-max-age"), None);
        assert_eq!(get(&h, "access-control-allow-credentials"), None);
    }

    #[test]
    fn http_api_replaces_the_handlers_cors_headers() {
        let c = Cors {
            expose_headers: vec!["X-Request-Id".into()],
            ..cors(&["https://app.example"])
        };
        let mut h: Headers = vec![
            ("Access-Control-Allow-Origin".into(), "*".into()),
            ("x-other".into(), "1".into()),
        ];
        apply_http_api(&mut h, &c, Some("https://app.example"));
        assert_eq!(
            h,
            vec![
                ("x-other".to_string(), "1".to_string()),
                (
                    "access-control-allow-origin".into(),
                    "https://app.example".into()
                ),
                (
                    "access-control-expose-headers".into(),
                    "X-Request-Id".into()
                ),
            ]
        );
        // A disallowed origin gets none, not even the handler's.
        let mut h: Headers = vec![("access-control-allow-origin".into(), "*".into())];
        apply_http_api(&mut h, &c, Some("https://evil.example"));
        assert!(h.is_empty());
    }

    #[test]
    fn rest_gateway_responses_carry_allow_origin_only() {
        let c = cors(&["https://app.example"]);
        assert_eq!(
            rest_gateway_response_headers(&c, Some("https://app.example")),
            vec![(
                "access-control-allow-origin".to_string(),
                "https://app.example".to_string()
            )]
        );
        assert!(rest_gateway_response_headers(&c, Some("https://evil.example")).is_empty());
        assert!(lacks_allow_origin(&vec![("x".into(), "y".into())]));
        assert!(!lacks_allow_origin(&vec![(
            "Access-Control-Allow-Origin".into(),
            "*".into()
        )]));
    }

    #[test]
    fn preflight_needs_origin_and_request_method() {
        assert!(is_http_api_preflight(
            "OPTIONS",
            Some("https://a"),
            Some("GET")
        ));
        assert!(!is_http_api_preflight("OPTIONS", Some("https://a"), None));
        assert!(!is_http_api_preflight("OPTIONS", None, Some("GET")));
        assert!(!is_http_api_preflight(
            "GET",
            Some("https://a"),
            Some("GET")
        ));
    }
}
