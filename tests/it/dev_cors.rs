//! Issue 17: `fnctl dev` answers CORS preflights and sets CORS headers
//! exactly as the app's AWS gateway would. A REST API answers the preflight
//! itself and passes the handler's headers unchanged (dev warns once per
//! route when a handler leaves out Access-Control-Allow-Origin); an HTTP API
//! answers every preflight and replaces the handler's CORS headers with its
//! own for an allowed origin.

use crate::dev_http_api::{header, DevApp};

const HANDLERS: &str = r#"
def bare(event, context):
    return {"statusCode": 200, "body": "bare"}

def own(event, context):
    return {"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "https://handler.example", "X-Own": "1"}, "body": "own"}
"#;

const ROUTES: &str = r#"
[functions.bare]
handler = "handlers.bare"

[[functions.bare.triggers]]
type = "http"
method = ["GET", "PUT"]
path = "/bare"

[functions.own]
handler = "handlers.own"

[[functions.own.triggers]]
type = "http"
method = "GET"
path = "/own"
"#;

const APP: &str = "https://app.example";
const EVIL: &str = "https://evil.example";

fn cors_headers(answer: &crate::dev_http_api::Answer) -> Vec<&(String, String)> {
    answer
        .1
        .iter()
        .filter(|(k, _)| k.starts_with("access-control-"))
        .collect()
}

#[test]
fn a_rest_api_answers_preflights_and_passes_the_handlers_headers() {
    let manifest = format!(
        r#"
[app]
name = "restcors"
runtime = "python3.12"
timeout = 10

[providers.aws]
region = "eu-west-1"

[http.cors]
origins = ["{APP}"]
max_age = 600
credentials = true
{ROUTES}"#
    );
    let dev = DevApp::start(&manifest, HANDLERS);

    // The preflight is dev's (the gateway's), not the handler's.
    let pre = dev.request(
        "OPTIONS",
        "/bare",
        &[("Origin", APP), ("Access-Control-Request-Method", "PUT")],
    );
    assert_eq!(pre.0, 200, "{}", dev.stderr());
    assert_eq!(header(&pre, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(&pre, "access-control-allow-methods"),
        Some("GET,PUT,OPTIONS")
    );
    assert_eq!(
        header(&pre, "access-control-allow-headers"),
        Some("Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token")
    );
    assert_eq!(header(&pre, "access-control-max-age"), Some("600"));
    assert_eq!(
        header(&pre, "access-control-allow-credentials"),
        Some("true")
    );
    // A disallowed origin gets no CORS headers at all.
    let pre = dev.request(
        "OPTIONS",
        "/bare",
        &[("Origin", EVIL), ("Access-Control-Request-Method", "PUT")],
    );
    assert_eq!(pre.0, 200);
    assert!(cors_headers(&pre).is_empty(), "{:?}", pre.1);
    dev.wait_for_count("OPTIONS /bare -> 200 (CORS preflight)", 2);

    // The actual request: the handler's headers pass unchanged, and dev
    // warns (once for the route) that the handler left out the header.
    for _ in 0..2 {
        let answer = dev.request("GET", "/bare", &[("Origin", APP)]);
        assert_eq!(answer.0, 200);
        assert!(cors_headers(&answer).is_empty(), "{:?}", answer.1);
    }
    let own = dev.request("GET", "/own", &[("Origin", APP)]);
    assert_eq!(
        header(&own, "access-control-allow-origin"),
        Some("https://handler.example"),
        "a proxy integration's headers are the handler's"
    );
    assert_eq!(header(&own, "x-own"), Some("1"));
    // Everything the two /bare requests made dev print was printed before
    // it answered them, so it is in by the /own line.
    dev.wait_for("GET /own -> own 200");
    let stderr = dev.stderr();
    let warnings = stderr
        .lines()
        .filter(|l| l.contains("without Access-Control-Allow-Origin"))
        .collect::<Vec<_>>();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("GET /bare") && warnings[0].contains("`bare`"),
        "the warning names the route and function: {}",
        warnings[0]
    );
    assert!(
        !stderr.contains("OPTIONS /bare -> bare"),
        "the handler ran for a preflight:\n{stderr}"
    );

    // dev's own error answer carries the allow-origin header.
    let unrouted = dev.request("GET", "/nope", &[("Origin", APP)]);
    assert_eq!(unrouted.0, 403);
    assert_eq!(header(&unrouted, "access-control-allow-origin"), Some(APP));
}

#[test]
fn an_http_api_answers_preflights_and_sets_its_own_headers() {
    let manifest = format!(
        r#"
[app]
name = "apicors"
runtime = "python3.12"
timeout = 10

[providers.aws]
region = "eu-west-1"
http = "http-api"

[http.cors]
origins = ["{APP}"]
expose_headers = ["X-Request-Id"]
max_age = 300
{ROUTES}"#
    );
    let dev = DevApp::start(&manifest, HANDLERS);

    let pre = dev.request(
        "OPTIONS",
        "/own",
        &[("Origin", APP), ("Access-Control-Request-Method", "GET")],
    );
    assert_eq!(pre.0, 204, "{}", dev.stderr());
    assert_eq!(header(&pre, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(&pre, "access-control-allow-methods"),
        Some("GET,PUT,OPTIONS"),
        "the API's methods: one CORS configuration for every route"
    );
    assert_eq!(header(&pre, "access-control-max-age"), Some("300"));
    assert_eq!(header(&pre, "access-control-allow-credentials"), None);
    // An HTTP API answers a preflight for any path.
    let pre = dev.request(
        "OPTIONS",
        "/not/a/route",
        &[("Origin", APP), ("Access-Control-Request-Method", "GET")],
    );
    assert_eq!(pre.0, 204);
    let pre = dev.request(
        "OPTIONS",
        "/own",
        &[("Origin", EVIL), ("Access-Control-Request-Method", "GET")],
    );
    assert_eq!(pre.0, 204);
    assert!(cors_headers(&pre).is_empty(), "{:?}", pre.1);

    // The gateway's headers replace the handler's, for an allowed origin.
    let answer = dev.request("GET", "/own", &[("Origin", APP)]);
    assert_eq!(answer.0, 200);
    assert_eq!(header(&answer, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(&answer, "access-control-expose-headers"),
        Some("X-Request-Id")
    );
    assert_eq!(header(&answer, "x-own"), Some("1"));
    assert_eq!(
        answer
            .1
            .iter()
            .filter(|(k, _)| k == "access-control-allow-origin")
            .count(),
        1
    );
    // Another origin gets none, not even the handler's.
    let answer = dev.request("GET", "/own", &[("Origin", EVIL)]);
    assert!(cors_headers(&answer).is_empty(), "{:?}", answer.1);
    // The handler omitting them is no problem on an HTTP API.
    let answer = dev.request("GET", "/bare", &[("Origin", APP)]);
    assert_eq!(header(&answer, "access-control-allow-origin"), Some(APP));
    // dev's own answers too.
    let unrouted = dev.request("GET", "/nope", &[("Origin", APP)]);
    assert_eq!(unrouted.0, 404);
    assert_eq!(header(&unrouted, "access-control-allow-origin"), Some(APP));
    dev.wait_for("GET /nope -> 404 (no route)");
    let stderr = dev.stderr();
    assert!(
        !stderr.contains("without Access-Control-Allow-Origin"),
        "no REST warning on an HTTP API:\n{stderr}"
    );
    assert!(
        !stderr.contains("OPTIONS /own -> own"),
        "the handler ran for a preflight:\n{stderr}"
    );
}
