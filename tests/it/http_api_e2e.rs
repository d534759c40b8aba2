//! Issue 17: real HTTP requests through a deployed HTTP API, offline.
//!
//! An app like `examples/http-api-cors` (CORS, a public route, a
//! JWT-protected route with a scope, plus an `echo` route that returns the
//! event it got) is deployed with fnctl into moto, run through
//! `tests/support/moto_http_api.py`: that script's router serves
//! `/_http_api/{api-id}/{stage}/{path}` from what the deploy stored (routes,
//! CORS configuration, JWT authorizer, integrations) and runs the deployed
//! Python code, so these requests test what fnctl deployed, not what it
//! meant to. The JWT issuer is a loopback server publishing the JWKS of
//! `tests/fixtures/jwt/` (test-only keys); tokens are signed here.
//!
//! Then `fnctl invoke --via url --base-url` calls a route through the same
//! router, a redeploy makes no mutating call and `remove` leaves nothing.
//! A second app with overlapping routes checks the router's route
//! precedence and how bodies travel (text, base64, a binary reply).

use std::path::{Path, PathBuf};

use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::common::{block_on, copy_tree, fnctl, json_result, repo, serve, Served};
use crate::http_api::Server;

const ALLOWED: &str = "https://shop.example.com";
const AUDIENCE: &str = "orders-web-client";

/// Returns the whole event, after printing to stdout (which must not become
/// the result), with CORS headers of its own (which the gateway drops) and
/// a cookie (which becomes a Set-Cookie).
const ECHO: &str = r#"import json


def echo(event, context):
    print("printed by the handler, not its result")
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"},
        "cookies": ["seen=1; Path=/"],
        "body": json.dumps(event),
    }
"#;

/// The echo function, appended to the example's manifest.
const ECHO_FUNCTION: &str = r#"
[functions.echo]
handler = "src/echo.echo"
include = ["src/**"]

[[functions.echo.triggers]]
type = "http"
method = "GET"
path = "/echo/{proxy+}"
"#;

/// A loopback OpenID issuer serving the fixture JWKS.
fn issuer() -> Served {
    let jwks: Value = serde_json::from_slice(
        &std::fs::read(repo().join("tests/fixtures/jwt/jwks.json")).unwrap(),
    )
    .unwrap();
    let app = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(|headers: HeaderMap| async move {
                let host = headers
                    .get("host")
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                Json(json!({
                    "issuer": format!("http://{host}"),
                    "jwks_uri": format!("http://{host}/jwks.json"),
                }))
            }),
        )
        .route(
            "/jwks.json",
            get(move || {
                let jwks = jwks.clone();
                async move { Json(jwks) }
            }),
        );
    serve(app)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A bearer token for the issuer's claims with `patch` applied, signed by
/// the fixture key `key_file` under the JWKS's key id.
fn bearer(key_file: &str, issuer: &str, patch: Value) -> String {
    let mut claims = json!({
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": "user-1",
        "exp": now() + 600,
        "iat": now() - 10,
        "scope": "orders/read orders/write",
    });
    for (k, v) in patch.as_object().unwrap() {
        claims[k] = v.clone();
    }
    let der = std::fs::read(repo().join("tests/fixtures/jwt").join(key_file)).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("test-key-1".into());
    let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_der(&der)).unwrap();
    format!("Bearer {token}")
}

/// The example in a temporary directory, its issuer the loopback one, with
/// the echo function added.
fn project(issuer: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&repo().join("examples/http-api-cors"), dir.path());
    let manifest = dir.path().join("fnctl.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let example_issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE";
    assert!(
        text.contains(example_issuer),
        "the example changed:\n{text}"
    );
    let text = text.replace(example_issuer, issuer) + ECHO_FUNCTION;
    std::fs::write(&manifest, text).unwrap();
    std::fs::write(dir.path().join("src/echo.py"), ECHO).unwrap();
    (dir, manifest)
}

fn fnctl_json(moto: &Server, manifest: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = fnctl()
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .arg("--manifest")
        .arg(manifest)
        .args(args)
        .args(["--output", "json"])
        .output()
        .unwrap();
    json_result(out)
}

/// An answer: status, headers (names lower-cased), body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn cors_headers(&self) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.starts_with("access-control-"))
            .map(|(k, _)| k.as_str())
            .collect()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// What the router and the handlers it ran printed (the server's output
/// without its access log), for failure messages.
fn router_log(moto: &Server) -> String {
    moto.log()
        .lines()
        .filter(|l| !l.starts_with("127.0.0.1 - - "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Sends one request through the router to the API's `dev` stage.
fn call(
    moto: &Server,
    api: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let url = format!("{}/_http_api/{api}/dev{path}", moto.endpoint);
    block_on(async {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut req = client.request(method.parse().unwrap(), &url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if !body.is_empty() {
            req = req.body(body.to_string());
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        Answer {
            status: resp.status().as_u16(),
            headers: resp
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap().to_string()))
                .collect(),
            body: resp.bytes().await.unwrap().to_vec(),
        }
    })
}

#[test]
fn an_http_api_with_cors_and_a_jwt_route_serves_real_requests_redeploys_as_a_no_op_and_removes() {
    let moto = Server::start();
    let iss = issuer();
    let (_dir, manifest) = project(&iss.url);

    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true, "{doc:#}");
    let url = doc["deployments"][0]["urls"][0]["url"].as_str().unwrap();
    // https://{api-id}.execute-api.us-east-1.amazonaws.com/dev/...
    let api = url
        .strip_prefix("https://")
        .and_then(|u| u.split('.').next())
        .unwrap_or_else(|| panic!("{doc:#}"))
        .to_string();
    let log = || router_log(&moto);

    // The public route: the handler's answer, with the API's CORS headers
    // for an allowed origin.
    let list = call(&moto, &api, "GET", "/orders", &[("Origin", ALLOWED)], "");
    assert_eq!(list.status, 200, "{}", log());
    assert_eq!(
        list.json(),
        json!({"method": "GET", "path": "/dev/orders", "orders": []})
    );
    assert_eq!(list.header("access-control-allow-origin"), Some(ALLOWED));
    assert_eq!(
        list.header("access-control-expose-headers")
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("x-request-id")
    );
    assert_eq!(
        list.header("access-control-allow-credentials"),
        Some("true")
    );

    // The event is payload format 2.0, and the handler's own CORS header is
    // replaced by the API's configuration.
    let echo = call(
        &moto,
        &api,
        "GET",
        "/echo/a/b%20c?x=1&x=2&y=",
        &[
            ("Origin", ALLOWED),
            ("Cookie", "k=v; t=u"),
            ("X-Trace", "t1"),
        ],
        "",
    );
    assert_eq!(echo.status, 200, "{}", log());
    let event = echo.json();
    assert_eq!(event["version"], "2.0", "{event:#}");
    assert_eq!(event["routeKey"], "GET /echo/{proxy+}");
    assert_eq!(event["rawPath"], "/dev/echo/a/b%20c");
    assert_eq!(event["rawQueryString"], "x=1&x=2&y=");
    assert_eq!(event["queryStringParameters"], json!({"x": "1,2", "y": ""}));
    assert_eq!(event["pathParameters"], json!({"proxy": "a/b c"}));
    assert_eq!(event["cookies"], json!(["k=v", "t=u"]));
    assert_eq!(event["headers"]["x-trace"], "t1");
    assert_eq!(event["headers"].get("cookie"), None);
    assert_eq!(event["isBase64Encoded"], false);
    assert_eq!(event.get("body"), None);
    let cx = &event["requestContext"];
    assert_eq!(cx["apiId"], api.as_str());
    assert_eq!(cx["accountId"], "123456789012");
    assert_eq!(cx["stage"], "dev");
    assert_eq!(cx["routeKey"], "GET /echo/{proxy+}");
    assert_eq!(cx["http"]["method"], "GET");
    assert_eq!(cx["http"]["path"], "/dev/echo/a/b%20c");
    assert!(cx["timeEpoch"].as_u64().unwrap() > 0);
    assert_eq!(cx.get("authorizer"), None, "a public route");
    assert_eq!(echo.header("access-control-allow-origin"), Some(ALLOWED));
    assert_eq!(echo.header("set-cookie"), Some("seen=1; Path=/"));
    // Another origin gets no CORS header at all, not even the handler's.
    let other = call(
        &moto,
        &api,
        "GET",
        "/echo/x",
        &[("Origin", "https://evil.example")],
        "",
    );
    assert_eq!(other.status, 200, "{}", log());
    assert!(other.cors_headers().is_empty(), "{:?}", other.headers);

    // The JWT route.
    let body = r#"{"item": "book"}"#;
    let json_type = ("Content-Type", "application/json");
    let post = |auth: Option<&str>| {
        let mut headers = vec![json_type, ("Origin", ALLOWED)];
        if let Some(a) = auth {
            headers.push(("Authorization", a));
        }
        call(&moto, &api, "POST", "/orders", &headers, body)
    };
    let created = post(Some(&bearer("signing-key.der", &iss.url, json!({}))));
    assert_eq!(created.status, 201, "{}", log());
    assert_eq!(
        created.json(),
        json!({"created": {"item": "book"}, "by": "user-1"}),
        "the handler saw the token's claims"
    );
    assert_eq!(created.header("access-control-allow-origin"), Some(ALLOWED));

    let unauthorized = json!({"message": "Unauthorized"});
    for (why, auth) in [
        ("no token", None),
        (
            "a key the issuer does not publish",
            Some(bearer("other-key.der", &iss.url, json!({}))),
        ),
        (
            "another audience",
            Some(bearer(
                "signing-key.der",
                &iss.url,
                json!({"aud": "someone-else"}),
            )),
        ),
        (
            "expired",
            Some(bearer(
                "signing-key.der",
                &iss.url,
                json!({"exp": now() - 600}),
            )),
        ),
        (
            "another issuer",
            Some(bearer(
                "signing-key.der",
                "https://issuer.example",
                json!({}),
            )),
        ),
    ] {
        let refused = post(auth.as_deref());
        assert_eq!(refused.status, 401, "{why}: {}", log());
        assert_eq!(refused.json(), unauthorized, "{why}");
    }
    let forbidden = post(Some(&bearer(
        "signing-key.der",
        &iss.url,
        json!({"scope": "orders/read"}),
    )));
    assert_eq!(forbidden.status, 403, "{}", log());
    assert_eq!(forbidden.json(), json!({"message": "Forbidden"}));

    // Preflights are the gateway's, from the API's CORS configuration.
    let preflight = |origin: &str| {
        call(
            &moto,
            &api,
            "OPTIONS",
            "/orders",
            &[
                ("Origin", origin),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "authorization"),
            ],
            "",
        )
    };
    let allowed = preflight(ALLOWED);
    assert_eq!(allowed.status, 204, "{}", log());
    assert_eq!(allowed.header("access-control-allow-origin"), Some(ALLOWED));
    let listed = |name: &str| -> Vec<String> {
        let mut v: Vec<String> = allowed
            .header(name)
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        listed("access-control-allow-methods"),
        ["get", "options", "post"]
    );
    assert_eq!(
        listed("access-control-allow-headers"),
        ["authorization", "content-type"]
    );
    assert_eq!(allowed.header("access-control-max-age"), Some("600"));
    assert_eq!(
        allowed.header("access-control-allow-credentials"),
        Some("true")
    );
    let refused = preflight("https://evil.example");
    assert_eq!(refused.status, 204);
    assert!(refused.cors_headers().is_empty(), "{:?}", refused.headers);

    // No route: the path, or the method on a routed path.
    for (method, path) in [("GET", "/nowhere"), ("DELETE", "/orders")] {
        let missing = call(&moto, &api, method, path, &[], "");
        assert_eq!(missing.status, 404, "{method} {path}");
        assert_eq!(missing.json(), json!({"message": "Not Found"}));
    }

    // `invoke --via url`: the function's sample HTTP event, sent through
    // the router (`--base-url`: the stage's URL the cloud assigned is not
    // on this machine).
    let base = format!("{}/_http_api/{api}/dev", moto.endpoint);
    let (code, doc, stderr) = fnctl_json(
        &moto,
        &manifest,
        &[
            "invoke",
            "list-orders",
            "-p",
            "aws",
            "--via",
            "url",
            "--event",
            "http",
            "--base-url",
            &base,
            "--expect-status",
            "200",
        ],
    );
    assert_eq!(code, 0, "{stderr}\n{doc:#}\n{}", log());
    assert_eq!(
        doc["invocation"]["url"],
        format!("GET {base}/orders"),
        "{doc:#}"
    );
    let payload = &doc["invocation"]["payload"];
    let answered: Value = serde_json::from_str(payload["body"].as_str().unwrap()).unwrap();
    assert_eq!(answered["path"], "/dev/orders", "{doc:#}");

    // Unchanged: not one mutating call.
    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");
    assert!(
        doc["deployments"][0]["changes"]
            .as_array()
            .is_some_and(|c| c.is_empty()),
        "{doc:#}"
    );

    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["remove", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let gone = call(&moto, &api, "GET", "/orders", &[], "");
    assert_eq!(gone.status, 404, "the API is gone");
    block_on(async {
        let conf = moto.sdk_config().await;
        let v2 = aws_sdk_apigatewayv2::Client::new(&conf);
        assert!(v2.get_apis().send().await.unwrap().items().is_empty());
        let lambda = aws_sdk_lambda::Client::new(&conf);
        let functions = lambda.list_functions().send().await.unwrap();
        assert!(functions.functions().is_empty(), "{functions:?}");
    });
}

/// Routes that overlap, one function answering with the route key API
/// Gateway chose, the body it got, and a binary reply.
const ROUTES: &str = r#"
[app]
name = "routes"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"
http = "http-api"

[functions.which]
handler = "app.which"
include = ["app.py"]

[[functions.which.triggers]]
type = "http"
method = "GET"
path = "/items/special"

[[functions.which.triggers]]
type = "http"
method = "GET"
path = "/items/{id}"

[[functions.which.triggers]]
type = "http"
method = "ANY"
path = "/{path+}"
"#;

const WHICH: &str = r#"import base64


def which(event, context):
    if event["rawPath"].endswith("/bytes"):
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/octet-stream"},
            "body": base64.b64encode(bytes([0, 255, 1])).decode(),
            "isBase64Encoded": True,
        }
    return {
        "route": event["routeKey"],
        "params": event.get("pathParameters"),
        "body": event.get("body"),
        "base64": event["isBase64Encoded"],
    }
"#;

#[test]
fn the_router_picks_routes_and_carries_bodies_as_an_http_api_does() {
    let moto = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("fnctl.toml");
    std::fs::write(&manifest, ROUTES).unwrap();
    std::fs::write(dir.path().join("app.py"), WHICH).unwrap();
    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let url = doc["deployments"][0]["urls"][0]["url"].as_str().unwrap();
    let api = url
        .strip_prefix("https://")
        .and_then(|u| u.split('.').next())
        .unwrap()
        .to_string();

    // A literal segment over a parameter over a greedy path, which
    // catches the methods and depths the others do not; a result
    // without statusCode is the JSON body of a 200.
    for (method, path, route, params) in [
        ("GET", "/items/special", "GET /items/special", Value::Null),
        ("GET", "/items/7", "GET /items/{id}", json!({"id": "7"})),
        (
            "DELETE",
            "/items/7",
            "ANY /{path+}",
            json!({"path": "items/7"}),
        ),
        (
            "GET",
            "/items/7/parts",
            "ANY /{path+}",
            json!({"path": "items/7/parts"}),
        ),
        ("GET", "/items", "ANY /{path+}", json!({"path": "items"})),
    ] {
        let answer = call(&moto, &api, method, path, &[], "");
        assert_eq!(answer.status, 200, "{method} {path}: {}", router_log(&moto));
        assert_eq!(
            answer.header("content-type"),
            Some("application/json"),
            "{method} {path}"
        );
        let got = answer.json();
        assert_eq!(got["route"], route, "{method} {path}");
        assert_eq!(got["params"], params, "{method} {path}");
    }
    // A greedy variable needs at least one segment, and there is no
    // `$default` route.
    assert_eq!(call(&moto, &api, "GET", "/", &[], "").status, 404);

    // Text bodies arrive as text, others base64-encoded.
    let text = call(
        &moto,
        &api,
        "POST",
        "/items/x",
        &[("Content-Type", "text/plain")],
        "hello",
    )
    .json();
    assert_eq!(
        (&text["body"], &text["base64"]),
        (&json!("hello"), &json!(false))
    );
    let binary = call(
        &moto,
        &api,
        "POST",
        "/items/x",
        &[("Content-Type", "application/octet-stream")],
        "hello",
    )
    .json();
    assert_eq!(
        (&binary["body"], &binary["base64"]),
        (&json!("aGVsbG8="), &json!(true))
    );
    // A base64 reply is decoded to its bytes.
    let bytes = call(&moto, &api, "GET", "/items/bytes", &[], "");
    assert_eq!(bytes.status, 200);
    assert_eq!(bytes.body, [0, 255, 1]);
}
