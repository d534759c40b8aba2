//! Issue 17: `fnctl dev` checks JWTs on routes with `auth = { jwt = ... }`
//! as an HTTP API's JWT authorizer does: a request with a valid token
//! reaches the handler (which sees the claims), one without is refused.
//!
//! The issuer is a tiny HTTP server on loopback serving
//! `/.well-known/openid-configuration` and the JWKS of
//! `tests/fixtures/jwt/` (test-only keys); tokens are signed here with the
//! `jsonwebtoken` crate. A second test points the route at a loopback port
//! nothing listens on: dev warns that it cannot verify signatures and
//! checks the claims alone.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::common::{closed_port, repo, serve};
use crate::dev_http_api::{json_body, DevApp};

const HANDLERS: &str = r#"
import json

def me(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"].get("authorizer"))}
"#;

fn manifest(issuer: &str) -> String {
    format!(
        r#"
[app]
name = "jwtapp"
runtime = "python3.12"
timeout = 10

[providers.aws]
region = "eu-west-1"
http = "http-api"

[functions.me]
handler = "handlers.me"

[[functions.me.triggers]]
type = "http"
method = "GET"
path = "/me"
auth = {{ jwt = {{ issuer = "{issuer}", audience = ["app", "mobile"] }} }}

[functions.admin]
handler = "handlers.me"

[[functions.admin.triggers]]
type = "http"
method = "GET"
path = "/admin"
auth = {{ jwt = {{ issuer = "{issuer}", audience = "app", scopes = ["admin", "ops"] }} }}
"#
    )
}

/// A loopback OpenID issuer; counts the times its JWKS is fetched.
struct Issuer {
    url: String,
    jwks_fetches: Arc<AtomicUsize>,
    _served: crate::common::Served,
}

fn issuer() -> Issuer {
    let jwks: Value = serde_json::from_slice(
        &std::fs::read(repo().join("tests/fixtures/jwt/jwks.json")).unwrap(),
    )
    .unwrap();
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = fetches.clone();
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
                counter.fetch_add(1, Ordering::SeqCst);
                let jwks = jwks.clone();
                async move { Json(jwks) }
            }),
        );
    let served = serve(app);
    Issuer {
        url: served.url.clone(),
        jwks_fetches: fetches,
        _served: served,
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A token for `claims`, signed by a fixture key under `kid`.
fn token(key_file: &str, kid: &str, claims: &Value) -> String {
    let der = std::fs::read(repo().join("tests/fixtures/jwt").join(key_file)).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(&der)).unwrap()
}

fn claims(iss: &str, patch: Value) -> Value {
    let mut c = json!({
        "iss": iss,
        "aud": "app",
        "sub": "user-1",
        "exp": now() + 600,
        "iat": now() - 10,
        "groups": ["a", "b"],
        "scope": "read ops",
    });
    for (k, v) in patch.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn a_valid_token_reaches_the_handler_and_others_are_refused() {
    let iss = issuer();
    let dev = DevApp::start(&manifest(&iss.url), HANDLERS);
    let call = |path: &str, auth: Option<&str>| match auth {
        Some(a) => dev.request("GET", path, &[("Authorization", a)]),
        None => dev.request("GET", path, &[]),
    };

    let good = token(
        "signing-key.der",
        "test-key-1",
        &claims(&iss.url, json!({})),
    );
    let answer = call("/me", Some(&bearer(&good)));
    assert_eq!(answer.0, 200, "{}", dev.stderr());
    let authorizer = json_body(&answer);
    let seen = &authorizer["jwt"]["claims"];
    assert_eq!(seen["sub"], "user-1", "{authorizer:#}");
    assert_eq!(seen["iss"], iss.url.as_str());
    assert_eq!(seen["groups"], "[a b]", "claims arrive as strings");
    assert!(seen["exp"].is_string());
    assert_eq!(authorizer["jwt"]["scopes"], json!(["read", "ops"]));

    let unauthorized = json!({"message": "Unauthorized"});
    // No token; a token for another audience; an expired one; one signed
    // by a key the issuer does not publish (under a kid it does).
    let refused = [
        ("no token", None),
        (
            "wrong audience",
            Some(token(
                "signing-key.der",
                "test-key-1",
                &claims(&iss.url, json!({"aud": "someone-else"})),
            )),
        ),
        (
            "expired",
            Some(token(
                "signing-key.der",
                "test-key-1",
                &claims(&iss.url, json!({"exp": now() - 3600})),
            )),
        ),
        (
            "forged signature",
            Some(token(
                "other-key.der",
                "test-key-1",
                &claims(&iss.url, json!({})),
            )),
        ),
        (
            "another issuer",
            Some(token(
                "signing-key.der",
                "test-key-1",
                &claims("https://evil.example", json!({})),
            )),
        ),
    ];
    for (what, t) in &refused {
        let answer = call("/me", t.as_deref().map(bearer).as_deref());
        assert_eq!(answer.0, 401, "{what}: {}", dev.stderr());
        assert_eq!(json_body(&answer), unauthorized, "{what}");
    }

    // Scopes: one of the route's is enough; none of them is a 403.
    let answer = call("/admin", Some(&bearer(&good)));
    assert_eq!(answer.0, 200, "`ops` is one of the route's scopes");
    let reader = token(
        "signing-key.der",
        "test-key-1",
        &claims(&iss.url, json!({"scope": "read"})),
    );
    let answer = call("/admin", Some(&bearer(&reader)));
    assert_eq!(answer.0, 403, "{}", dev.stderr());
    assert_eq!(json_body(&answer), json!({"message": "Forbidden"}));

    // The keys were fetched once for all of that.
    assert_eq!(iss.jwks_fetches.load(Ordering::SeqCst), 1);
    // A key id the JWKS lacks makes dev fetch it again, once.
    let rotated = token(
        "signing-key.der",
        "rotated-key",
        &claims(&iss.url, json!({})),
    );
    for _ in 0..2 {
        assert_eq!(call("/me", Some(&bearer(&rotated))).0, 401);
    }
    assert_eq!(iss.jwks_fetches.load(Ordering::SeqCst), 2);

    dev.wait_for_count("GET /me -> 401 (JWT authorizer", refused.len() + 2);
    let stderr = dev.stderr();
    assert!(
        stderr.contains("audience"),
        "the reason is logged:\n{stderr}"
    );
    for t in refused
        .iter()
        .filter_map(|(_, t)| t.as_ref())
        .chain([&good])
    {
        assert!(
            !stderr.contains(t.as_str()),
            "a token was printed:\n{stderr}"
        );
    }
    assert!(!stderr.contains("cannot fetch"), "{stderr}");
}

#[test]
fn an_unreachable_issuer_is_said_and_claims_are_still_checked() {
    let iss = format!("http://127.0.0.1:{}", closed_port());
    let dev = DevApp::start(&manifest(&iss), HANDLERS);
    // Signed by a key nobody publishes: offline, dev cannot tell.
    let unverifiable = token("other-key.der", "test-key-1", &claims(&iss, json!({})));
    let answer = dev.request("GET", "/me", &[("Authorization", &bearer(&unverifiable))]);
    assert_eq!(answer.0, 200, "{}", dev.stderr());
    assert_eq!(json_body(&answer)["jwt"]["claims"]["sub"], "user-1");

    for patch in [json!({"aud": "someone-else"}), json!({"exp": now() - 3600})] {
        let t = token("other-key.der", "test-key-1", &claims(&iss, patch.clone()));
        let answer = dev.request("GET", "/me", &[("Authorization", &bearer(&t))]);
        assert_eq!(answer.0, 401, "{patch}: {}", dev.stderr());
    }
    assert_eq!(dev.request("GET", "/me", &[]).0, 401);
    let reader = token(
        "other-key.der",
        "test-key-1",
        &claims(&iss, json!({"scope": "read"})),
    );
    let answer = dev.request("GET", "/admin", &[("Authorization", &bearer(&reader))]);
    assert_eq!(answer.0, 403);

    dev.wait_for("GET /admin -> 403 (JWT authorizer");
    let stderr = dev.stderr();
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("cannot fetch the signing keys"))
        .collect();
    assert_eq!(warnings.len(), 1, "said once:\n{stderr}");
    assert!(
        warnings[0].contains(&iss),
        "names the issuer: {}",
        warnings[0]
    );
    assert!(
        warnings[0].contains("WITHOUT their signatures"),
        "says what is not checked: {}",
        warnings[0]
    );
    assert!(!stderr.contains(&unverifiable), "a token was printed");
}
