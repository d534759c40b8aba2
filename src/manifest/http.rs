//! Resolving the HTTP keys: `[providers.aws] http`, `[http.cors]`, and a
//! route's `auth` and `cors`; and the rules that tie them together (an HTTP
//! API has no API keys and one CORS configuration, JWT authorizers exist
//! only on HTTP APIs, the gateway's timeout is an HTTP function's default).
//!
//! Rules that belong to one cloud (what Azure's CORS cannot express) live in
//! that provider's checks; these are about the manifest's own meaning and
//! the AWS gateway it names, which decides the event shape on every cloud.

use std::collections::BTreeMap;
use std::ops::Range;

use super::diagnostic::Diagnostic;
use super::raw::{self, AuthSection, CorsSection, CorsValue, OneOrMany, Sp};
use crate::model::http::DEFAULT_CORS_HEADERS;
use crate::model::{Cors, Function, Gateway, HttpAuth, JwtAuth, ProviderId, Trigger};
use crate::suggest::did_you_mean;

/// `[providers.aws] http`.
pub fn gateway(value: Option<&Sp<String>>, out: &mut Vec<Diagnostic>) -> Gateway {
    let Some(v) = value else {
        return Gateway::default();
    };
    match v.get().as_str() {
        "rest" => Gateway::Rest,
        "http-api" => Gateway::HttpApi,
        other => {
            out.push(
                Diagnostic::new(v.span(), format!("unknown API Gateway flavour `{other}`"))
                    .with_label("expected `rest` or `http-api`")
                    .with_help_opt(did_you_mean(other, ["rest", "http-api"])),
            );
            Gateway::default()
        }
    }
}

/// `[http.cors]`: `true` is every default; `false` or absent is none.
pub fn app_cors(http: Option<&raw::HttpSection>, out: &mut Vec<Diagnostic>) -> Option<Cors> {
    let value = http?.cors.as_ref()?;
    match value.get() {
        CorsValue::Flag(false) => None,
        CorsValue::Flag(true) => Some(defaults(value.span())),
        CorsValue::Settings(s) => Some(settings(s, defaults(value.span()), value.span(), out)),
    }
}

/// A route's effective CORS: its own `cors` over `[http.cors]`.
pub fn route_cors(
    value: Option<&Sp<CorsValue>>,
    app: Option<&Cors>,
    out: &mut Vec<Diagnostic>,
) -> Option<Cors> {
    let Some(value) = value else {
        return app.cloned();
    };
    let base = app.cloned().unwrap_or_else(|| defaults(value.span()));
    match value.get() {
        CorsValue::Flag(false) => None,
        CorsValue::Flag(true) => Some(Cors {
            span: value.span(),
            ..base
        }),
        CorsValue::Settings(s) => Some(settings(s, base, value.span(), out)),
    }
}

fn defaults(span: Range<usize>) -> Cors {
    Cors {
        origins: vec!["*".into()],
        methods: Vec::new(),
        headers: DEFAULT_CORS_HEADERS.iter().map(|h| h.to_string()).collect(),
        expose_headers: Vec::new(),
        max_age_s: None,
        credentials: false,
        span,
    }
}

/// `s`'s keys over `base`, each value checked.
fn settings(s: &CorsSection, base: Cors, span: Range<usize>, out: &mut Vec<Diagnostic>) -> Cors {
    let strings = |list: &Option<Vec<Sp<String>>>| -> Option<Vec<String>> {
        list.as_ref()
            .map(|l| l.iter().map(|v| v.get().clone()).collect())
    };
    if let Some(origins) = &s.origins {
        if origins.is_empty() {
            out.push(
                Diagnostic::new(span.clone(), "`origins` is empty").with_help(
                    "list the origins allowed to call the API, or write `cors = false` for none",
                ),
            );
        }
        for o in origins {
            if let Err(why) = check_origin(o.get()) {
                out.push(
                    Diagnostic::new(o.span(), format!("`{}` is not a CORS origin: {why}", o.get()))
                        .with_help("an origin is `*` or `scheme://host[:port]`, e.g. `https://app.example.com`, with no path or trailing `/`"),
                );
            }
        }
        if origins.len() > 1 && origins.iter().any(|o| o.get() == "*") {
            out.push(Diagnostic::new(
                span.clone(),
                "`*` already allows every origin; list it alone",
            ));
        }
    }
    if let Some(methods) = &s.methods {
        for m in methods {
            let upper = m.get().to_ascii_uppercase();
            if upper != "*" && !super::resolve::HTTP_METHODS.contains(&upper.as_str()) {
                out.push(
                    Diagnostic::new(m.span(), format!("unknown HTTP method `{}`", m.get()))
                        .with_help_opt(did_you_mean(
                            &upper,
                            super::resolve::HTTP_METHODS.iter().copied(),
                        )),
                );
            }
        }
    }
    for list in [&s.headers, &s.expose_headers].into_iter().flatten() {
        for h in list {
            let ok = h.get() == "*"
                || (!h.get().is_empty()
                    && h.get()
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)));
            if !ok {
                out.push(
                    Diagnostic::new(h.span(), format!("`{}` is not a header name", h.get()))
                        .with_help(
                            "header names are letters, digits, `-` and `_`, such as `Content-Type`",
                        ),
                );
            }
        }
    }
    let cors = Cors {
        origins: strings(&s.origins).unwrap_or(base.origins),
        methods: s
            .methods
            .as_ref()
            .map(|l| l.iter().map(|m| m.get().to_ascii_uppercase()).collect())
            .unwrap_or(base.methods),
        headers: strings(&s.headers).unwrap_or(base.headers),
        expose_headers: strings(&s.expose_headers).unwrap_or(base.expose_headers),
        max_age_s: s.max_age.as_ref().map(|m| *m.get()).or(base.max_age_s),
        credentials: s
            .credentials
            .as_ref()
            .map(|c| *c.get())
            .unwrap_or(base.credentials),
        span: span.clone(),
    };
    if cors.credentials && cors.origins.iter().any(|o| o == "*") {
        let at = s
            .credentials
            .as_ref()
            .map(|c| c.span())
            .unwrap_or(span.clone());
        out.push(
            Diagnostic::new(at, "`credentials = true` needs explicit origins, not `*`")
                .with_help("browsers refuse credentialed responses allowed for `*`, and API Gateway refuses the setting: list the origins, e.g. `origins = [\"https://app.example.com\"]`"),
        );
    }
    cors
}

/// `*`, or `scheme://host[:port]` with nothing after.
fn check_origin(o: &str) -> Result<(), &'static str> {
    if o == "*" {
        return Ok(());
    }
    let Ok(u) = url::Url::parse(o) else {
        return Err("not a URL");
    };
    if u.host_str().is_none() {
        return Err("it has no host");
    }
    if !matches!(u.scheme(), "http" | "https") {
        return Err("the scheme must be http or https");
    }
    // Url normalises `https://a.example` to `https://a.example/`: compare
    // with what was written, so a path or trailing slash is caught.
    if o.trim_end_matches(|c: char| c.is_ascii_digit() || c == ':')
        .ends_with('/')
        || u.path() != "/"
        || o.contains(['?', '#'])
    {
        return Err("a browser's Origin header has no path, query or trailing `/`");
    }
    Ok(())
}

/// A route's `auth`.
pub fn auth(value: Option<&Sp<AuthSection>>, out: &mut Vec<Diagnostic>) -> HttpAuth {
    let Some(value) = value else {
        return HttpAuth::None;
    };
    match value.get() {
        AuthSection::Name(n) if n == "none" => HttpAuth::None,
        AuthSection::Name(n) if n == "key" => HttpAuth::Key,
        AuthSection::Name(other) => {
            out.push(
                Diagnostic::new(value.span(), format!("unknown auth `{other}`"))
                    .with_label("expected `none`, `key` or `{ jwt = { issuer, audience } }`")
                    .with_help_opt(did_you_mean(other, ["none", "key"])),
            );
            HttpAuth::None
        }
        AuthSection::Jwt(j) => {
            let j = j.jwt.get();
            let issuer = j.issuer.get().clone();
            match url::Url::parse(&issuer) {
                Ok(u) if u.scheme() == "https" && u.host_str().is_some() => {}
                // Loopback issuers are how `fnctl dev` and the tests serve
                // keys; API Gateway itself accepts only https.
                Ok(u) if u.scheme() == "http"
                    && matches!(u.host_str(), Some("127.0.0.1" | "localhost")) => {}
                _ => out.push(
                    Diagnostic::new(j.issuer.span(), format!("JWT issuer `{issuer}` is not an https URL"))
                        .with_help("the issuer is the token's `iss` claim, e.g. `https://cognito-idp.us-east-1.amazonaws.com/us-east-1_ABC123` or `https://login.microsoftonline.com/TENANT/v2.0`"),
                ),
            }
            let audience: Vec<String> = match j.audience.get() {
                OneOrMany::One(a) => vec![a.clone()],
                OneOrMany::Many(list) => list.clone(),
            };
            if audience.is_empty() || audience.iter().any(String::is_empty) {
                out.push(
                    Diagnostic::new(
                        j.audience.span(),
                        "a JWT authorizer needs at least one audience",
                    )
                    .with_help("list the accepted `aud` values (for Cognito, the app client id)"),
                );
            }
            let scopes = j
                .scopes
                .as_ref()
                .map(|l| l.iter().map(|s| s.get().clone()).collect())
                .unwrap_or_default();
            HttpAuth::Jwt(JwtAuth {
                issuer,
                audience,
                scopes,
            })
        }
    }
}

/// Rules across routes that depend on the AWS gateway, and the gateway's
/// limit as the default timeout of the functions it fronts. Only for apps
/// that deploy to AWS: an Azure-only app has no API Gateway.
pub fn check(
    gateway: Option<Gateway>,
    functions: &mut BTreeMap<String, Function>,
    out: &mut Vec<Diagnostic>,
) {
    let Some(gateway) = gateway else {
        return;
    };
    let mut first_cors: Option<(String, Option<Cors>)> = None;
    for f in functions.values_mut() {
        if !f.providers.contains(&ProviderId::Aws) {
            continue;
        }
        let mut has_http = false;
        for t in &f.triggers {
            let Trigger::Http(h) = t else { continue };
            has_http = true;
            match (&h.auth, gateway) {
                (HttpAuth::Key, Gateway::HttpApi) => out.push(
                    Diagnostic::new(h.span.clone(), format!("route `{}` of function `{}` asks for an API key, but HTTP APIs have no API keys", h.route, f.name))
                        .with_help("API keys and usage plans exist only on REST APIs: use `http = \"rest\"` in `[providers.aws]`, or protect the route with `auth = { jwt = { issuer, audience } }`"),
                ),
                (HttpAuth::Jwt(_), Gateway::Rest) => out.push(
                    Diagnostic::new(h.span.clone(), format!("route `{}` of function `{}` uses a JWT authorizer, which fnctl deploys on HTTP APIs only", h.route, f.name))
                        .with_help("add `http = \"http-api\"` to `[providers.aws]` (the handler then receives payload format 2.0 events), or use `auth = \"key\"`"),
                ),
                _ => {}
            }
            if gateway == Gateway::HttpApi {
                let this = format!("route `{}` of function `{}`", h.route, f.name);
                match &first_cors {
                    None => first_cors = Some((this, h.cors.clone())),
                    Some((other, cors)) => {
                        let same = match (cors, &h.cors) {
                            (None, None) => true,
                            (Some(a), Some(b)) => a.same_settings(b),
                            _ => false,
                        };
                        if !same {
                            out.push(
                                Diagnostic::new(
                                    h.cors.as_ref().map(|c| c.span.clone()).unwrap_or(h.span.clone()),
                                    format!("{this} has other CORS settings than {other}, but an HTTP API has one CORS configuration for all its routes"),
                                )
                                .with_help("set CORS once in `[http.cors]` and remove the routes' own `cors`, or use `http = \"rest\"`, where each route answers its own preflight"),
                            );
                        }
                    }
                }
            }
        }
        if !has_http {
            continue;
        }
        // Written timeouts stay as written (the AWS checks warn when one
        // is longer than the gateway waits); the default becomes the
        // gateway's limit, so a default never warns.
        if f.timeout_span.is_none() {
            f.timeout_s = f.timeout_s.min(gateway.integration_timeout_s());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        assert!(check_origin("*").is_ok());
        assert!(check_origin("https://app.example.com").is_ok());
        assert!(check_origin("http://localhost:3000").is_ok());
        assert!(check_origin("https://app.example.com/").is_err());
        assert!(check_origin("https://app.example.com/path").is_err());
        assert!(check_origin("app.example.com").is_err());
        assert!(check_origin("ftp://files.example").is_err());
    }
}
