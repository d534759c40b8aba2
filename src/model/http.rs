//! HTTP front doors: which AWS gateway serves the routes, CORS, and JWT
//! authorizers.
//!
//! The handler contract depends on the gateway: a REST API hands the handler
//! a payload format 1.0 event, an HTTP API a 2.0 event, and they answer an
//! unrouted request differently. Everything that builds or consumes HTTP
//! events (the Azure adapter, `invoke --event http`, `invoke --local`,
//! `fnctl dev`) asks [`App::gateway`](super::App::gateway) so a handler sees
//! the same shape wherever it runs.

use std::ops::Range;

use serde::Serialize;

/// Which API Gateway flavour serves an app's routes on AWS
/// (`[providers.aws] http`).
///
/// The default stays [`Gateway::Rest`]: it is what fnctl has always
/// deployed, and switching changes the event every handler receives (1.0 →
/// 2.0) and the API's id, so it must be a choice the user writes down. HTTP
/// APIs are cheaper ($1.00 against $3.50 per million requests in us-east-1,
/// <https://aws.amazon.com/api-gateway/pricing/>) and allow a 30 s
/// integration timeout, but have no API keys or usage plans
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-vs-rest.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Gateway {
    /// API Gateway REST API, Lambda proxy integrations, payload format 1.0.
    #[default]
    Rest,
    /// API Gateway HTTP API, Lambda integrations with payload format 2.0.
    HttpApi,
}

impl Gateway {
    pub fn as_str(self) -> &'static str {
        match self {
            Gateway::Rest => "rest",
            Gateway::HttpApi => "http-api",
        }
    }

    /// The longest an integration may run before the gateway answers 504,
    /// and so the default timeout of a function behind it. REST: 29 s
    /// ("Integration timeout", raisable for regional APIs by a quota
    /// request), HTTP API: 30 s ("Maximum integration timeout"). Sources:
    /// <https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html>
    /// and
    /// <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html>.
    pub fn integration_timeout_s(self) -> u32 {
        match self {
            Gateway::Rest => 29,
            Gateway::HttpApi => 30,
        }
    }

    /// The largest request body the gateway accepts: 10 MB for both
    /// (same sources as [`Gateway::integration_timeout_s`]). Lambda's own
    /// synchronous payload limit (6 MB) is lower and applies after it.
    pub fn max_payload_bytes(self) -> u64 {
        10 * 1024 * 1024
    }

    /// The event payload format version the handler receives.
    pub fn payload_version(self) -> &'static str {
        match self {
            Gateway::Rest => "1.0",
            Gateway::HttpApi => "2.0",
        }
    }
}

/// Cross-origin resource sharing for a route (or, as `[http.cors]`, every
/// route), resolved: what a preflight answers and which headers a response
/// carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cors {
    /// Allowed origins: `*`, or `scheme://host[:port]` values.
    pub origins: Vec<String>,
    /// Allowed methods, upper case. Empty means "the route's methods" (every
    /// method for `ANY`), which each gateway renders in its own way.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// Allowed request headers.
    pub headers: Vec<String>,
    /// Response headers the browser may read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expose_headers: Vec<String>,
    /// Seconds a browser may cache a preflight answer; `None` leaves it to
    /// the browser (no `Access-Control-Max-Age` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age_s: Option<u32>,
    /// `Access-Control-Allow-Credentials: true`.
    pub credentials: bool,
    /// Where the setting is written (the route's `cors`, else `[http.cors]`).
    #[serde(skip)]
    pub span: Range<usize>,
}

/// Request headers allowed when `headers` is not written: the ones a
/// browser client of an AWS-hosted API typically sends (the same list the
/// Serverless Framework and API Gateway's console "Enable CORS" use).
pub const DEFAULT_CORS_HEADERS: &[&str] = &[
    "Content-Type",
    "X-Amz-Date",
    "Authorization",
    "X-Api-Key",
    "X-Amz-Security-Token",
];

impl Cors {
    /// `Access-Control-Allow-Origin` for a request from `origin`: the
    /// origin itself when it is allowed (or `*` when everything is and
    /// credentials are off), else `None` (no CORS headers at all).
    pub fn allow_origin(&self, origin: &str) -> Option<String> {
        if self.origins.iter().any(|o| o == "*") {
            return Some(if self.credentials {
                origin.to_string()
            } else {
                "*".to_string()
            });
        }
        self.origins
            .iter()
            .find(|o| o.eq_ignore_ascii_case(origin))
            .map(|_| origin.to_string())
    }

    /// The methods a preflight allows for a route serving `route_methods`
    /// (upper case, `ANY` for all).
    pub fn allow_methods(&self, route_methods: &[String]) -> Vec<String> {
        let source: Vec<String> = if self.methods.is_empty() {
            route_methods.to_vec()
        } else {
            self.methods.clone()
        };
        if source.iter().any(|m| m == "ANY" || m == "*") {
            return super::route::ALL_METHODS
                .iter()
                .map(|m| m.to_string())
                .collect();
        }
        let mut out = source;
        if !out.iter().any(|m| m == "OPTIONS") {
            out.push("OPTIONS".into());
        }
        out
    }

    /// Settings compared with another route's, ignoring where they are
    /// written: an HTTP API has one CORS configuration for all its routes.
    pub fn same_settings(&self, other: &Cors) -> bool {
        Cors {
            span: 0..0,
            ..self.clone()
        } == Cors {
            span: 0..0,
            ..other.clone()
        }
    }
}

/// A JWT authorizer on a route (`auth = { jwt = { issuer, audience } }`):
/// the request must carry `Authorization: Bearer <token>` signed by the
/// issuer's published keys, for one of the audiences, not expired, and,
/// when the route lists scopes, holding at least one of them (as API
/// Gateway's JWT authorizer checks `authorizationScopes`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct JwtAuth {
    /// The `iss` claim, an `https://` URL whose
    /// `/.well-known/openid-configuration` names the signing keys.
    pub issuer: String,
    /// Accepted `aud` (or, for Cognito access tokens, `client_id`) values.
    pub audience: Vec<String>,
    /// Scopes of which the token's `scope` / `scp` claim must include at
    /// least one (HTTP API `authorizationScopes`); empty: none required.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}

impl JwtAuth {
    /// One authorizer serves every route with the same issuer and
    /// audience (scopes are per route): its stable short name.
    pub fn authorizer_key(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.issuer.as_bytes());
        for a in &self.audience {
            h.update(b"\n");
            h.update(a.as_bytes());
        }
        format!("jwt-{}", &hex::encode(h.finalize())[..10])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(origins: &[&str], credentials: bool) -> Cors {
        Cors {
            origins: origins.iter().map(|s| s.to_string()).collect(),
            methods: vec![],
            headers: vec![],
            expose_headers: vec![],
            max_age_s: None,
            credentials,
            span: 0..0,
        }
    }

    #[test]
    fn a_listed_origin_is_echoed_and_others_get_nothing() {
        let c = cors(&["https://a.example", "https://b.example"], false);
        assert_eq!(
            c.allow_origin("https://b.example").as_deref(),
            Some("https://b.example")
        );
        assert_eq!(c.allow_origin("https://evil.example"), None);
        assert_eq!(
            cors(&["*"], false).allow_origin("https://x").as_deref(),
            Some("*")
        );
        // A credentialed response may not say `*`: browsers refuse it.
        assert_eq!(
            cors(&["*"], true).allow_origin("https://x").as_deref(),
            Some("https://x")
        );
    }

    #[test]
    fn methods_default_to_the_routes_plus_options() {
        let c = cors(&["*"], false);
        assert_eq!(
            c.allow_methods(&["GET".into(), "POST".into()]),
            vec!["GET", "POST", "OPTIONS"]
        );
        assert_eq!(c.allow_methods(&["ANY".into()]).len(), 7);
    }

    #[test]
    fn routes_with_one_issuer_and_audience_share_an_authorizer() {
        let a = JwtAuth {
            issuer: "https://issuer.example".into(),
            audience: vec!["app".into()],
            scopes: vec![],
        };
        let b = JwtAuth {
            scopes: vec!["orders/read".into()],
            ..a.clone()
        };
        let c = JwtAuth {
            audience: vec!["other".into()],
            ..a.clone()
        };
        assert_eq!(a.authorizer_key(), b.authorizer_key());
        assert_ne!(a.authorizer_key(), c.authorizer_key());
    }
}
