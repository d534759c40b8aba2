//! The HTTP API JWT authorizer, under `fnctl dev`: a route with
//! `auth = { jwt = { issuer, audience, scopes } }` is refused without a
//! token the deployed API would accept, so access rules are tried before
//! deploying.
//!
//! The checks follow "Control access to HTTP APIs with JWT authorizers"
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html>):
//! the token from `Authorization` (alone or after `Bearer`), its signature
//! by the key its `kid` names in the issuer's JWKS (found through
//! `{issuer}/.well-known/openid-configuration`; RSA algorithms only, as
//! API Gateway supports), `iss` equal to the issuer, `aud` (or, when there
//! is no `aud`, `client_id`) one of the audiences, `exp` in the future,
//! `nbf` and `iat` in the past, and at least one of the route's scopes in
//! `scope` (space-separated) or `scp` (a list). A failed check is a 401
//! `{"message":"Unauthorized"}`; a valid token without a required scope is
//! a 403 `{"message":"Forbidden"}`
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-jwt.html>).
//! Signatures are checked by the `jsonwebtoken` crate.
//!
//! Keys are fetched once per issuer per `fnctl dev` run, and once more when
//! a token names a key id they lack (the issuer rotated its keys). When the
//! issuer cannot be reached, dev says so once and checks everything but
//! the signature: that keeps offline work possible, and the warning keeps
//! it from passing for verification. Tokens are never printed.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use super::http::JwtContext;
use crate::model::JwtAuth;

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// 401: no token, or one the authorizer rejects; the reason is for
    /// dev's log and the `www-authenticate` header, as API Gateway gives.
    Unauthorized(String),
    /// 403: a valid token without any of the route's scopes.
    Forbidden(String),
}

impl Denied {
    pub fn status(&self) -> u16 {
        match self {
            Denied::Unauthorized(_) => 401,
            Denied::Forbidden(_) => 403,
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Denied::Unauthorized(r) | Denied::Forbidden(r) => r,
        }
    }

    /// The answer's body, API Gateway's.
    pub fn body(&self) -> &'static str {
        match self {
            Denied::Unauthorized(_) => r#"{"message":"Unauthorized"}"#,
            Denied::Forbidden(_) => r#"{"message":"Forbidden"}"#,
        }
    }

    /// `www-authenticate`, in the form API Gateway sends it.
    pub fn www_authenticate(&self) -> String {
        let error = match self {
            Denied::Unauthorized(_) => "invalid_token",
            Denied::Forbidden(_) => "insufficient_scope",
        };
        format!(
            "Bearer scope=\"\" error=\"{error}\" error_description=\"{}\"",
            self.reason().replace('"', "'")
        )
    }
}

/// What is known of an issuer's keys.
enum Keys {
    /// The JWKS, and the key ids already refetched for (each at most once).
    Online(JwkSet, HashSet<String>),
    /// The keys could not be fetched; dev has said so.
    Offline,
}

/// Checks tokens for every JWT route of a `fnctl dev` run.
pub struct Verifier {
    client: reqwest::Client,
    issuers: Mutex<HashMap<String, Keys>>,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier::new()
    }
}

/// The seconds since the epoch.
fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Verifier {
    pub fn new() -> Verifier {
        Verifier {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            issuers: Mutex::new(HashMap::new()),
        }
    }

    /// Checks the `Authorization` header for a route with `auth`.
    pub async fn check(
        &self,
        auth: &JwtAuth,
        authorization: Option<&str>,
    ) -> Result<JwtContext, Denied> {
        let unauthorized = |why: &str| Denied::Unauthorized(why.to_string());
        let Some(value) = authorization.map(str::trim).filter(|v| !v.is_empty()) else {
            return Err(unauthorized("no Authorization header"));
        };
        let token = match value.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => value,
        };
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| unauthorized("the Authorization header does not hold a JWT"))?;
        let claims: Map<String, Value> = match self
            .key_for(&auth.issuer, header.kid.as_deref())
            .await
        {
            KeyLookup::Offline => {
                jsonwebtoken::dangerous::insecure_decode::<Map<String, Value>>(token)
                    .map_err(|_| unauthorized("the token's claims are not readable"))?
                    .claims
            }
            KeyLookup::Missing(why) => return Err(Denied::Unauthorized(why)),
            KeyLookup::Key(key) => {
                if !matches!(
                    header.alg,
                    Algorithm::RS256
                        | Algorithm::RS384
                        | Algorithm::RS512
                        | Algorithm::PS256
                        | Algorithm::PS384
                        | Algorithm::PS512
                ) {
                    return Err(Denied::Unauthorized(format!(
                        "the token is signed with {:?}; API Gateway accepts RSA algorithms only",
                        header.alg
                    )));
                }
                // The library checks the signature; the claims are checked
                // below, the same way whether keys could be fetched or not.
                let mut validation = Validation::new(header.alg);
                validation.required_spec_claims = HashSet::new();
                validation.validate_exp = false;
                validation.validate_aud = false;
                jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
                    .map_err(|e| {
                        Denied::Unauthorized(format!("the token's signature does not verify ({e})"))
                    })?
                    .claims
            }
        };
        check_claims(&claims, auth, now_s())
    }

    /// The key for `kid` from the issuer's JWKS, fetching it on first use
    /// and once more for a key id it lacks.
    async fn key_for(&self, issuer: &str, kid: Option<&str>) -> KeyLookup {
        let mut issuers = self.issuers.lock().await;
        if !issuers.contains_key(issuer) {
            let keys = match fetch_jwks(&self.client, issuer).await {
                Ok(set) => Keys::Online(set, HashSet::new()),
                Err(why) => {
                    eprintln!(
                        "fnctl dev: warning: cannot fetch the signing keys of JWT issuer `{issuer}`: {why}. \
                         Until fnctl dev restarts, tokens for its routes are checked WITHOUT their signatures \
                         (issuer, audience, expiry and scopes only), so a forged token with the right claims is \
                         accepted here, unlike on AWS. Make the issuer reachable and restart fnctl dev to verify signatures."
                    );
                    Keys::Offline
                }
            };
            issuers.insert(issuer.to_string(), keys);
        }
        let Some(Keys::Online(set, refetched)) = issuers.get_mut(issuer) else {
            return KeyLookup::Offline;
        };
        let Some(kid) = kid else {
            return KeyLookup::Missing("the token's header has no key id (kid)".into());
        };
        if set.find(kid).is_none() && refetched.insert(kid.to_string()) {
            match fetch_jwks(&self.client, issuer).await {
                Ok(fresh) => *set = fresh,
                Err(why) => eprintln!(
                    "fnctl dev: warning: cannot refresh the signing keys of JWT issuer `{issuer}`: {why}"
                ),
            }
        }
        match set.find(kid).map(DecodingKey::from_jwk) {
            Some(Ok(key)) => KeyLookup::Key(key),
            Some(Err(e)) => {
                KeyLookup::Missing(format!("the issuer's key `{kid}` is not usable ({e})"))
            }
            None => KeyLookup::Missing(format!(
                "the issuer publishes no key `{kid}`, the token's key id"
            )),
        }
    }
}

enum KeyLookup {
    Key(DecodingKey),
    Missing(String),
    Offline,
}

/// `{issuer}/.well-known/openid-configuration` → `jwks_uri` → the JWKS.
async fn fetch_jwks(client: &reqwest::Client, issuer: &str) -> Result<JwkSet, String> {
    let discovery = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let get = |url: String| async move {
        let response = client
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("GET {url} failed ({e})"))?;
        if !response.status().is_success() {
            return Err(format!("GET {url} answered HTTP {}", response.status()));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("GET {url} failed while reading ({e})"))?;
        serde_json::from_slice::<Value>(&bytes)
            .map_err(|e| format!("GET {url} did not answer JSON ({e})"))
    };
    let config = get(discovery.clone()).await?;
    let Some(jwks_uri) = config.get("jwks_uri").and_then(Value::as_str) else {
        return Err(format!("{discovery} names no `jwks_uri`"));
    };
    let jwks = get(jwks_uri.to_string()).await?;
    serde_json::from_value(jwks).map_err(|e| format!("{jwks_uri} is not a JWK set ({e})"))
}

/// A claim's value as API Gateway hands it to the handler: a string;
/// lists as `[a b]` (observed behaviour, which handlers parsing
/// `cognito:groups` rely on), other values as JSON text.
fn claim_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(claim_string).collect::<Vec<_>>().join(" ")
        ),
        other => other.to_string(),
    }
}

/// The token's scopes: `scope` (space-separated) or `scp` (a list, or a
/// space-separated string).
fn token_scopes(claims: &Map<String, Value>) -> Vec<String> {
    let split = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(s)), _) => split(s),
        (_, Some(Value::Array(list))) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        (_, Some(Value::String(s))) => split(s),
        _ => Vec::new(),
    }
}

/// Every check but the signature, at `now` (seconds since the epoch).
pub fn check_claims(
    claims: &Map<String, Value>,
    auth: &JwtAuth,
    now: i64,
) -> Result<JwtContext, Denied> {
    let unauthorized = |why: String| Err(Denied::Unauthorized(why));
    match claims.get("iss").and_then(Value::as_str) {
        Some(iss) if iss == auth.issuer => {}
        Some(iss) => {
            return unauthorized(format!(
                "the token's issuer `{iss}` is not the route's `{}`",
                auth.issuer
            ))
        }
        None => return unauthorized("the token has no `iss` claim".into()),
    }
    // `aud` when present, else `client_id` (Cognito access tokens).
    let audiences: Vec<String> = match (claims.get("aud"), claims.get("client_id")) {
        (Some(Value::String(a)), _) => vec![a.clone()],
        (Some(Value::Array(list)), _) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        (None, Some(Value::String(c))) => vec![c.clone()],
        _ => Vec::new(),
    };
    if !audiences.iter().any(|a| auth.audience.contains(a)) {
        return unauthorized(format!(
            "the token's audience {} is not one of the route's ({})",
            if audiences.is_empty() {
                "(none)".to_string()
            } else {
                audiences.join(", ")
            },
            auth.audience.join(", ")
        ));
    }
    let time = |name: &str| claims.get(name).and_then(Value::as_f64).map(|t| t as i64);
    match time("exp") {
        Some(exp) if exp > now => {}
        Some(_) => return unauthorized("the token has expired".into()),
        None => return unauthorized("the token has no `exp` claim".into()),
    }
    if time("nbf").is_some_and(|nbf| nbf > now) {
        return unauthorized("the token is not valid yet (nbf)".into());
    }
    if time("iat").is_some_and(|iat| iat > now) {
        return unauthorized("the token is issued in the future (iat)".into());
    }
    let scopes = token_scopes(claims);
    if !auth.scopes.is_empty() && !auth.scopes.iter().any(|s| scopes.contains(s)) {
        return Err(Denied::Forbidden(format!(
            "the token has none of the route's scopes ({})",
            auth.scopes.join(", ")
        )));
    }
    Ok(JwtContext {
        claims: claims
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(claim_string(v))))
            .collect(),
        scopes: if scopes.is_empty() {
            None
        } else {
            Some(scopes)
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn auth(scopes: &[&str]) -> JwtAuth {
        JwtAuth {
            issuer: "https://issuer.example".into(),
            audience: vec!["app".into(), "other".into()],
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    const NOW: i64 = 1_700_000_000;

    fn valid() -> Value {
        json!({"iss": "https://issuer.example", "aud": "app", "exp": NOW + 60, "iat": NOW - 1, "sub": "u1", "groups": ["a", "b"], "n": 3})
    }

    #[test]
    fn valid_claims_become_strings() {
        let cx = check_claims(&claims(valid()), &auth(&[]), NOW).unwrap();
        assert_eq!(cx.claims["sub"], "u1");
        assert_eq!(cx.claims["groups"], "[a b]");
        assert_eq!(cx.claims["exp"], (NOW + 60).to_string());
        assert_eq!(cx.claims["n"], "3");
        assert_eq!(cx.scopes, None);
    }

    #[test]
    fn each_claim_check_refuses() {
        let refused = |patch: Value| {
            let mut c = claims(valid());
            for (k, v) in patch.as_object().unwrap() {
                if v.is_null() {
                    c.remove(k);
                } else {
                    c.insert(k.clone(), v.clone());
                }
            }
            check_claims(&c, &auth(&[]), NOW).unwrap_err()
        };
        assert!(refused(json!({"iss": "https://evil.example"}))
            .reason()
            .contains("issuer"));
        assert!(refused(json!({"aud": "nope"}))
            .reason()
            .contains("audience"));
        assert!(refused(json!({"exp": NOW - 1}))
            .reason()
            .contains("expired"));
        assert!(refused(json!({"exp": null})).reason().contains("exp"));
        assert!(refused(json!({"nbf": NOW + 10})).reason().contains("nbf"));
        assert!(refused(json!({"iat": NOW + 10})).reason().contains("iat"));
        assert_eq!(refused(json!({"aud": "nope"})).status(), 401);
    }

    #[test]
    fn client_id_counts_only_without_aud() {
        let mut c = claims(valid());
        c.remove("aud");
        c.insert("client_id".into(), json!("other"));
        assert!(check_claims(&c, &auth(&[]), NOW).is_ok());
        c.insert("aud".into(), json!("nope"));
        assert!(check_claims(&c, &auth(&[]), NOW).is_err());
        // A list of audiences passes when one is accepted.
        c.insert("aud".into(), json!(["x", "app"]));
        assert!(check_claims(&c, &auth(&[]), NOW).is_ok());
    }

    #[test]
    fn one_of_the_routes_scopes_is_enough() {
        let mut c = claims(valid());
        c.insert("scope".into(), json!("orders/read profile"));
        let cx = check_claims(&c, &auth(&["orders/write", "orders/read"]), NOW).unwrap();
        assert_eq!(
            cx.scopes,
            Some(vec!["orders/read".to_string(), "profile".to_string()])
        );
        let denied = check_claims(&c, &auth(&["admin"]), NOW).unwrap_err();
        assert_eq!(denied.status(), 403);
        assert!(denied.www_authenticate().contains("insufficient_scope"));
        c.remove("scope");
        c.insert("scp".into(), json!(["admin"]));
        assert!(check_claims(&c, &auth(&["admin"]), NOW).is_ok());
    }
}
