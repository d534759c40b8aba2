//! What Azure does with the HTTP keys of issue 17: CORS and JWT authorizers.
//!
//! **CORS.** A Function App has one CORS configuration, `siteConfig.cors`
//! (Microsoft.Web `CorsSettings`: `allowedOrigins` and `supportCredentials`,
//! nothing else; <https://learn.microsoft.com/python/api/azure-mgmt-web/azure.mgmt.web.models.corssettings>).
//! It is app-wide, so every route deployed to Azure with CORS must agree on
//! origins and credentials ([`check`] refuses an app whose routes differ);
//! what it cannot hold (methods, headers, max age, exposed headers, a route
//! without CORS among routes with it) is a warning ([`notes`]) naming what
//! Azure does instead.
//!
//! **JWT.** App Service Authentication (`config/authsettingsV2`) validates
//! bearer tokens with its Microsoft Entra provider: `registration.openIdIssuer`
//! and `validation.allowedAudiences`. Its custom OpenID Connect providers
//! have no `validation` block (Microsoft.Web `CustomOpenIdConnectProvider`:
//! `enabled`, `registration`, `login` only), so they cannot check an
//! audience: an issuer that is not Microsoft Entra's is refused. The
//! settings are app-wide (`globalValidation.requireAuthentication` with
//! `unauthenticatedClientAction = Return401`), with `excludedPaths` for
//! the routes that stay public. Microsoft documents `excludedPaths` only as
//! "the paths for which unauthenticated flow would not be redirected to the
//! login page" (`GlobalValidation`,
//! <https://learn.microsoft.com/python/api/azure-mgmt-web/azure.mgmt.web.types.globalvalidation>),
//! with no wildcard syntax and no statement whether a path also covers the
//! paths under it. fnctl therefore only uses it where both readings give
//! the same answer: a public route must have a literal path, and no
//! protected route may sit at or under it. Everything else that Azure
//! cannot express is a validation error: a JWT route is never left public.

use crate::manifest::Diagnostic;
use crate::model::route::Segment;
use crate::model::{App, AzurePlan, Function, HttpAuth, HttpTrigger, ProviderId, Trigger};

/// The Function App's CORS settings (`siteConfig.cors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteCors {
    pub allowed_origins: Vec<String>,
    pub support_credentials: bool,
}

/// The Function App's App Service Authentication, as fnctl sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteAuth {
    /// `identityProviders.azureActiveDirectory.registration.openIdIssuer`.
    pub issuer: String,
    /// `...validation.allowedAudiences`; the first is also the
    /// registration's `clientId` (the Entra provider requires one).
    pub audiences: Vec<String>,
    /// `globalValidation.excludedPaths`: the public routes' request paths,
    /// and the host's own endpoints fnctl calls or Azure calls.
    pub excluded_paths: Vec<String>,
}

/// Issuers of the Microsoft identity platform, the ones App Service's
/// Microsoft Entra provider validates tokens of (v2.0 and v1.0 token
/// issuers; "Configure your App Service or Azure Functions app to use
/// Microsoft Entra sign-in",
/// <https://learn.microsoft.com/azure/app-service/configure-authentication-provider-aad>).
const ENTRA_ISSUERS: &[&str] = &[
    "https://login.microsoftonline.com/",
    "https://sts.windows.net/",
];

fn http_routes(app: &App) -> Vec<(&Function, &HttpTrigger)> {
    if app.azure.is_none() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for f in app.functions_for(ProviderId::Azure) {
        for t in &f.triggers {
            if let Trigger::Http(h) = t {
                out.push((f, h));
            }
        }
    }
    out
}

/// The CORS the Function App gets: the first route's origins and
/// credentials (`check` makes every route agree), or `None` when no Azure
/// route has CORS.
pub fn site_cors(app: &App) -> Option<SiteCors> {
    http_routes(app)
        .into_iter()
        .find_map(|(_, h)| h.cors.as_ref())
        .map(|c| SiteCors {
            allowed_origins: c.origins.clone(),
            support_credentials: c.credentials,
        })
}

/// The request path of a literal route, as the Function App serves it
/// (host.json sets an empty route prefix, so it is the manifest's path).
fn literal_path(h: &HttpTrigger) -> Option<String> {
    let mut out = String::new();
    for s in &h.route.segments {
        match s {
            Segment::Literal(l) => {
                out.push('/');
                out.push_str(l);
            }
            _ => return None,
        }
    }
    Some(if out.is_empty() { "/".into() } else { out })
}

/// The routes' own path with `{x}` shown, for messages.
fn shown(h: &HttpTrigger) -> String {
    h.route.to_string()
}

/// The Function App's authentication, when an Azure route has a JWT
/// authorizer. Valid only for an app [`check`] accepts.
pub fn site_auth(app: &App) -> Option<SiteAuth> {
    let routes = http_routes(app);
    let jwt = routes.iter().find_map(|(_, h)| match &h.auth {
        HttpAuth::Jwt(j) => Some(j.clone()),
        _ => None,
    })?;
    let mut excluded: Vec<String> = routes
        .iter()
        .filter(|(_, h)| !matches!(h.auth, HttpAuth::Jwt(_)))
        .filter_map(|(_, h)| literal_path(h))
        .collect();
    // What Azure and fnctl call on the host must not need a user's token:
    // Event Grid's deliveries to Flex Consumption blob triggers
    // (`/runtime/webhooks/blobs`) and fnctl's runs of non-HTTP functions
    // (`/admin/functions/{name}`, with the master key).
    let flex = app
        .azure
        .as_ref()
        .is_some_and(|a| a.plan == AzurePlan::Flex);
    for af in super::package::azure_functions(app) {
        match af.trigger {
            Trigger::Http(_) => {}
            Trigger::Storage(_) => {
                if flex {
                    excluded.push("/runtime/webhooks/blobs".into());
                }
                excluded.push(format!("/admin/functions/{}", af.name));
            }
            Trigger::Schedule(_) => excluded.push(format!("/admin/functions/{}", af.name)),
        }
    }
    for qf in super::package::queue_functions(app) {
        excluded.push(format!("/admin/functions/{}", qf.name));
    }
    excluded.sort();
    excluded.dedup();
    Some(SiteAuth {
        issuer: jwt.issuer.clone(),
        audiences: jwt.audience.clone(),
        excluded_paths: excluded,
    })
}

const AWS_ONLY: &str = "deploy this function to AWS only with `providers = [\"aws\"]`, or check the token in the handler";

/// Errors: what Azure cannot express for the app's CORS and JWT routes.
pub fn check(app: &App) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let routes = http_routes(app);
    // CORS: one app-wide setting.
    let mut first: Option<(&Function, &HttpTrigger)> = None;
    for (f, h) in &routes {
        let Some(c) = &h.cors else { continue };
        match first {
            None => first = Some((f, h)),
            Some((f0, h0)) => {
                let Some(c0) = h0.cors.as_ref() else { continue };
                if c0.origins != c.origins || c0.credentials != c.credentials {
                    out.push(
                        Diagnostic::new(c.span.clone(), format!(
                            "route `{}` of function `{}` has CORS origins or credentials that differ from route `{}` of function `{}`, and a Function App has one CORS setting for all its routes",
                            shown(h), f.name, shown(h0), f0.name))
                        .with_help("give every route deployed to Azure the same `origins` and `credentials` (set them once in `[http.cors]`), or deploy one of the functions to AWS only with `providers = [\"aws\"]`"),
                    );
                }
            }
        }
    }
    // JWT: App Service Authentication.
    let mut auth: Option<(&Function, &HttpTrigger, &crate::model::JwtAuth)> = None;
    for (f, h) in &routes {
        let HttpAuth::Jwt(j) = &h.auth else { continue };
        if !ENTRA_ISSUERS.iter().any(|p| j.issuer.starts_with(p)) {
            out.push(
                Diagnostic::new(h.span.clone(), format!(
                    "route `{}` of function `{}` trusts tokens of `{}`, which App Service Authentication cannot validate on Azure: only its Microsoft Entra provider checks a bearer token's audience, and its custom OpenID Connect providers have no audience validation",
                    shown(h), f.name, j.issuer))
                .with_help(format!("use a Microsoft Entra issuer (`https://login.microsoftonline.com/TENANT/v2.0`), or {AWS_ONLY}")),
            );
        }
        if !j.scopes.is_empty() {
            out.push(
                Diagnostic::new(h.span.clone(), format!(
                    "route `{}` of function `{}` requires the scopes {}, which App Service Authentication cannot enforce on Azure (it checks issuer and audience only)",
                    shown(h), f.name, j.scopes.join(", ")))
                .with_help("leave `scopes` out and check the `scp` claim in the handler (the adapter passes it in `requestContext.authorizer.jwt.scopes`), or deploy this function to AWS only with `providers = [\"aws\"]`"),
            );
        }
        match auth {
            None => auth = Some((f, h, j)),
            Some((f0, h0, j0)) => {
                if j0.issuer != j.issuer || j0.audience != j.audience {
                    out.push(
                        Diagnostic::new(h.span.clone(), format!(
                            "route `{}` of function `{}` uses another JWT issuer or audience than route `{}` of function `{}`, and a Function App validates tokens of one issuer and one set of audiences for all its routes",
                            shown(h), f.name, shown(h0), f0.name))
                        .with_help(format!("give every JWT route deployed to Azure the same `issuer` and `audience`, or {AWS_ONLY}")),
                    );
                }
            }
        }
    }
    if auth.is_none() {
        return out;
    }
    let protected: Vec<(&Function, &HttpTrigger)> = routes
        .iter()
        .copied()
        .filter(|(_, h)| matches!(h.auth, HttpAuth::Jwt(_)))
        .collect();
    for (f, h) in &routes {
        if matches!(h.auth, HttpAuth::Jwt(_)) {
            continue;
        }
        let Some(path) = literal_path(h) else {
            out.push(
                Diagnostic::new(h.span.clone(), format!(
                    "route `{}` of function `{}` has no JWT authorizer but has path parameters, and App Service Authentication, which protects the app's JWT routes on Azure, can exempt only literal paths (`excludedPaths`): on Azure it would demand a token",
                    shown(h), f.name))
                .with_help(format!("give this route a literal path, protect it with the same JWT authorizer, or {AWS_ONLY} for the JWT routes")),
            );
            continue;
        };
        for (pf, ph) in &protected {
            let p = ph.route.to_string();
            let under = path == "/" || p == path || p.starts_with(&format!("{path}/"));
            if under {
                out.push(
                    Diagnostic::new(h.span.clone(), format!(
                        "route `{}` of function `{}` has no JWT authorizer and shares its path with JWT route `{}` of function `{}`, or the JWT route lies under it; App Service Authentication exempts a path for every method, so on Azure the JWT route would be public",
                        shown(h), f.name, p, pf.name))
                    .with_help(format!("move one of the routes to another path, or {AWS_ONLY}")),
                );
            }
        }
    }
    out
}

/// The longest an HTTP-triggered function can take to answer on Azure,
/// whatever `functionTimeout` says: "Regardless of the function app timeout
/// setting, 230 seconds is the maximum amount of time that an HTTP
/// triggered function can take to respond to a request. This is because of
/// the default idle timeout of Azure Load Balancer." Source: "Function app
/// timeout duration",
/// <https://learn.microsoft.com/azure/azure-functions/functions-scale#timeout>.
pub const HTTP_RESPONSE_LIMIT_S: u32 = 230;

/// Warnings: a written timeout an HTTP function cannot use on Azure, CORS
/// settings a Function App cannot hold, and what Azure does instead.
pub fn notes(app: &App) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for f in app.functions_for(ProviderId::Azure) {
        let Some(span) = &f.timeout_span else {
            continue;
        };
        let http = f.triggers.iter().any(|t| matches!(t, Trigger::Http(_)));
        if http && f.timeout_s > HTTP_RESPONSE_LIMIT_S {
            out.push(
                Diagnostic::new(span.clone(), format!(
                    "function `{}` has a timeout of {} s, but on Azure an HTTP request gets no answer after {HTTP_RESPONSE_LIMIT_S} s (the load balancer's idle timeout): the caller sees an error while the function goes on",
                    f.name, f.timeout_s,
                ))
                .with_help(format!("lower the timeout to {HTTP_RESPONSE_LIMIT_S} s or less, or answer at once and move the long work to a queue-triggered function")),
            );
        }
    }
    let routes = http_routes(app);
    let any_cors = routes.iter().any(|(_, h)| h.cors.is_some());
    let mut warned = false;
    for (f, h) in &routes {
        match &h.cors {
            Some(c) => {
                let mut lost = Vec::new();
                if !c.methods.is_empty() {
                    lost.push("`methods`");
                }
                if c.headers
                    != crate::model::http::DEFAULT_CORS_HEADERS
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                {
                    lost.push("`headers`");
                }
                if !c.expose_headers.is_empty() {
                    lost.push("`expose_headers`");
                }
                if c.max_age_s.is_some() {
                    lost.push("`max_age`");
                }
                if !lost.is_empty() && !warned {
                    warned = true;
                    out.push(
                        Diagnostic::new(c.span.clone(), format!(
                            "on Azure, {} of route `{}` (function `{}`) cannot be set: a Function App's CORS holds only allowed origins and whether credentials are allowed, for all routes; App Service answers preflights itself from those, and fnctl does not set `Access-Control-Expose-Headers` or `Access-Control-Max-Age` there",
                            lost.join(", "), shown(h), f.name))
                        .with_help("they still apply on AWS; on Azure, a handler whose responses need exposed headers returns `Access-Control-Expose-Headers` itself"),
                    );
                }
            }
            None if any_cors => out.push(
                Diagnostic::new(h.span.clone(), format!(
                    "route `{}` of function `{}` has no CORS, but on Azure it gets the Function App's CORS anyway: a Function App has one CORS setting for all its routes",
                    shown(h), f.name))
                .with_help("deploy this function to AWS only with `providers = [\"aws\"]` if browsers from the allowed origins must not call it"),
            ),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(extra: &str) -> App {
        crate::manifest::test_app(format!(
            r#"
[app]
name = "shop"
runtime = "python3.12"
[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "rg"
location = "westeurope"
{extra}
"#
        ))
    }

    const ENTRA: &str =
        "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0";

    fn messages(d: &[Diagnostic]) -> Vec<String> {
        d.iter().map(|d| d.message.clone()).collect()
    }

    #[test]
    fn an_entra_jwt_route_and_a_public_literal_route_are_expressed() {
        let a = app(&format!(
            r#"
[http.cors]
origins = ["https://shop.example.com"]
credentials = true
[functions.list]
handler = "app.handler"
triggers = [{{ type = "http", method = "GET", path = "/health" }}]
[functions.create]
handler = "app.handler"
triggers = [{{ type = "http", method = "POST", path = "/orders", auth = {{ jwt = {{ issuer = "{ENTRA}", audience = ["api://shop"] }} }} }}]
[functions.nightly]
handler = "app.handler"
triggers = [{{ type = "schedule", schedule = "rate(1 day)" }}]
"#
        ));
        assert!(check(&a).is_empty(), "{:?}", messages(&check(&a)));
        let auth = site_auth(&a).unwrap();
        assert_eq!(auth.issuer, ENTRA);
        assert_eq!(auth.audiences, ["api://shop"]);
        assert_eq!(auth.excluded_paths, ["/admin/functions/nightly", "/health"]);
        assert_eq!(
            site_cors(&a),
            Some(SiteCors {
                allowed_origins: vec!["https://shop.example.com".into()],
                support_credentials: true
            })
        );
        // Default headers and no methods/max age: nothing is lost.
        assert!(notes(&a).is_empty(), "{:?}", messages(&notes(&a)));
    }

    #[test]
    fn what_app_service_cannot_express_is_refused() {
        let a = app(r#"
[functions.pub]
handler = "app.handler"
triggers = [
  { type = "http", method = "GET", path = "/orders" },
  { type = "http", method = "GET", path = "/items/{id}" },
]
[functions.create]
handler = "app.handler"
triggers = [
  { type = "http", method = "POST", path = "/orders/{id}", auth = { jwt = { issuer = "https://cognito-idp.us-east-1.amazonaws.com/pool", audience = ["c"], scopes = ["orders/write"] } } },
  { type = "http", method = "POST", path = "/other", auth = { jwt = { issuer = "https://sts.windows.net/t/", audience = ["d"] } } },
]
"#);
        let m = messages(&check(&a)).join("\n");
        assert!(m.contains("cannot validate on Azure"), "{m}");
        assert!(m.contains("scopes orders/write"), "{m}");
        assert!(m.contains("another JWT issuer or audience"), "{m}");
        assert!(
            m.contains(
                "`/items/{id}` of function `pub` has no JWT authorizer but has path parameters"
            ),
            "{m}"
        );
        assert!(
            m.contains("`/orders` of function `pub` has no JWT authorizer and shares its path with JWT route `/orders/{id}`"),
            "{m}"
        );
        assert_eq!(check(&a).len(), 5, "{m}");
    }

    #[test]
    fn same_path_different_methods_is_refused_and_aws_only_functions_are_ignored() {
        let a = app(&format!(
            r#"
[functions.list]
handler = "app.handler"
triggers = [{{ type = "http", method = "GET", path = "/orders" }}]
[functions.create]
handler = "app.handler"
triggers = [{{ type = "http", method = "POST", path = "/orders", auth = {{ jwt = {{ issuer = "{ENTRA}", audience = ["a"] }} }} }}]
"#
        ));
        assert_eq!(check(&a).len(), 1);
        let b = app(r#"
[providers.aws]
region = "us-east-1"
http = "http-api"
[functions.list]
handler = "app.handler"
triggers = [{ type = "http", method = "GET", path = "/orders" }]
[functions.create]
handler = "app.handler"
providers = ["aws"]
triggers = [{ type = "http", method = "POST", path = "/orders", auth = { jwt = { issuer = "https://issuer.example", audience = ["a"], scopes = ["s"] } } }]
"#);
        assert!(check(&b).is_empty(), "{:?}", messages(&check(&b)));
        assert_eq!(site_auth(&b), None);
    }

    #[test]
    fn cors_must_agree_and_what_azure_drops_is_a_warning() {
        let a = app(r#"
[http.cors]
origins = ["https://a.example"]
max_age = 600
expose_headers = ["X-Id"]
[functions.one]
handler = "app.handler"
triggers = [{ type = "http", method = "GET", path = "/one" }]
[functions.two]
handler = "app.handler"
triggers = [{ type = "http", method = "GET", path = "/two", cors = { origins = ["https://b.example"] } }]
[functions.three]
handler = "app.handler"
triggers = [{ type = "http", method = "GET", path = "/three", cors = false }]
"#);
        let m = messages(&check(&a));
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].contains("differ from route `/one`"), "{m:?}");
        let n = messages(&notes(&a)).join("\n");
        assert!(n.contains("`expose_headers`, `max_age`"), "{n}");
        assert!(
            n.contains("`/three` of function `three` has no CORS"),
            "{n}"
        );
    }

    #[test]
    fn an_http_timeout_over_azures_230_s_warns_with_both_numbers() {
        let text = r#"
[app]
name = "slow"
runtime = "python3.12"
[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "rg"
location = "westeurope"
[functions.report]
handler = "app.handler"
timeout = TIMEOUT
[[functions.report.triggers]]
type = "http"
path = "/report"
"#;
        let app = |t: &str| crate::manifest::test_app(text.replace("TIMEOUT", t));
        let w = notes(&app("300"));
        assert!(
            w.iter()
                .any(|d| d.message.contains("timeout of 300 s") && d.message.contains("230 s")),
            "{w:?}"
        );
        assert!(!notes(&app("230"))
            .iter()
            .any(|d| d.message.contains("230 s")));
    }
}
