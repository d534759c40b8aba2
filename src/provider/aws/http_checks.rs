//! AWS rules for the HTTP keys: the gateway's integration timeout and what a
//! REST API's CORS cannot express. (An HTTP API's CORS is one
//! configuration for the whole API, which the model's checks already hold
//! to one setting, and `kinds/http_api.rs` deploys.)

use std::collections::BTreeMap;

use crate::manifest::Diagnostic;
use crate::model::{App, Cors, Gateway, HttpTrigger, ProviderId, Trigger};

pub fn check(app: &App) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let Some(aws) = &app.aws else { return out };
    if aws.http == Gateway::Rest {
        rest_cors(app, &mut out);
    }
    out
}

/// What a REST API's CORS cannot express. fnctl answers a path's preflight
/// with one `OPTIONS` method on a mock integration, so:
/// - a route of the app's own that serves `OPTIONS` on that path would be
///   the same method twice. A route with `ANY` is fine: API Gateway's
///   `ANY` "will catch any HTTP method that wasn't explicitly declared"
///   (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-any-method.html>),
///   so fnctl's `OPTIONS` answers preflights and `ANY` the rest;
/// - routes on one path share that one answer, so their CORS settings
///   (all but `methods`, whose union is allowed) must agree.
fn rest_cors(app: &App, out: &mut Vec<Diagnostic>) {
    let mut by_path: BTreeMap<String, Vec<(&str, &HttpTrigger)>> = BTreeMap::new();
    for f in app.functions_for(ProviderId::Aws) {
        for t in &f.triggers {
            if let Trigger::Http(h) = t {
                by_path
                    .entry(h.route.to_string())
                    .or_default()
                    .push((f.name.as_str(), h));
            }
        }
    }
    for routes in by_path.values() {
        let with_cors: Vec<&(&str, &HttpTrigger)> =
            routes.iter().filter(|(_, h)| h.cors.is_some()).collect();
        let Some((first_fn, first)) = with_cors.first() else {
            continue;
        };
        for (f, h) in routes {
            if h.methods.iter().any(|m| m == "OPTIONS") {
                out.push(
                    Diagnostic::new(h.span.clone(), format!(
                        "route `OPTIONS {}` of function `{f}` is on a path with CORS, whose preflight (`OPTIONS`) fnctl answers in API Gateway itself",
                        h.route
                    ))
                    .with_help("drop the OPTIONS route and let fnctl answer preflights, or set `cors = false` on every route of this path and answer OPTIONS in the handler"),
                );
            }
        }
        let first_cors = first.cors.as_ref().expect("filtered on cors");
        for (f, h) in &with_cors[1..] {
            let c = h.cors.as_ref().expect("filtered on cors");
            let without_methods = |c: &Cors| Cors {
                methods: Vec::new(),
                ..c.clone()
            };
            if !without_methods(c).same_settings(&without_methods(first_cors)) {
                out.push(
                    Diagnostic::new(c.span.clone(), format!(
                        "route `{} {}` of function `{f}` has other CORS settings than route `{} {}` of function `{first_fn}`, but a REST API answers one path's preflight once for all its methods",
                        h.methods.join(","), h.route, first.methods.join(","), first.route
                    ))
                    .with_help("give the routes of one path the same `cors` settings (only `methods` may differ), e.g. by moving them to `[http.cors]`"),
                );
            }
        }
    }
}

/// Warnings: the app deploys, but something will not behave as written.
pub fn warnings(app: &App) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let gateway = app.gateway();
    for f in app.functions_for(ProviderId::Aws) {
        let Some(span) = &f.timeout_span else {
            continue;
        };
        let limit = gateway.integration_timeout_s();
        let http = f.triggers.iter().any(|t| matches!(t, Trigger::Http(_)));
        if http && f.timeout_s > limit {
            out.push(
                Diagnostic::new(span.clone(), format!(
                    "function `{}` has a timeout of {} s, but its {} answers 504 after {limit} s: a request still running then gets an error while the function goes on",
                    f.name, f.timeout_s, match gateway { Gateway::Rest => "REST API", Gateway::HttpApi => "HTTP API" },
                ))
                .with_help(format!("lower the timeout to {limit} s or less, or move long work to a queue-triggered function (a REST API's limit can be raised by a quota request; HTTP APIs stop at 30 s)")),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::test_app;

    const BASE: &str = r#"
[app]
name = "shop"
runtime = "python3.12"
[providers.aws]
region = "us-east-1"
HTTP
[functions.api]
handler = "h.main"
TIMEOUT
[[functions.api.triggers]]
type = "http"
path = "/orders"
"#;

    fn app(http: &str, timeout: &str) -> App {
        test_app(&BASE.replace("HTTP", http).replace("TIMEOUT", timeout)[..])
    }

    fn cors_app(routes: &str) -> App {
        test_app(format!(
            "[app]\nname = \"shop\"\nruntime = \"python3.12\"\n[providers.aws]\nregion = \"us-east-1\"\n[http.cors]\norigins = [\"https://a.example\", \"https://b.example\"]\n[functions.api]\nhandler = \"h.main\"\n{routes}"
        ))
    }

    const ROUTE: &str = "[[functions.api.triggers]]\ntype = \"http\"\n";

    #[test]
    fn rest_cors_deploys_and_any_beside_it_is_fine() {
        let a = cors_app(&format!(
            "{ROUTE}method = \"GET\"\npath = \"/b\"\n{ROUTE}method = \"ANY\"\npath = \"/a\"\ncors = {{ methods = [\"GET\"] }}\n"
        ));
        assert!(check(&a).is_empty(), "{:?}", check(&a));
        // Before REST CORS deployed, every route with CORS was refused.
        assert!(a.functions["api"]
            .triggers
            .iter()
            .all(|t| matches!(t, Trigger::Http(h) if h.cors.is_some())));
    }

    #[test]
    fn an_options_route_on_a_cors_path_is_refused_naming_both_ways_out() {
        let a = cors_app(&format!(
            "{ROUTE}method = \"GET\"\npath = \"/a\"\n{ROUTE}method = \"OPTIONS\"\npath = \"/a\"\ncors = false\n{ROUTE}method = \"OPTIONS\"\npath = \"/b\"\ncors = false\n"
        ));
        let d = check(&a);
        assert_eq!(d.len(), 1, "only /a has CORS: {d:?}");
        assert!(d[0].message.contains("`OPTIONS /a`"), "{}", d[0].message);
    }

    #[test]
    fn routes_of_one_path_must_share_cors_settings_but_not_methods() {
        let a = cors_app(&format!(
            "{ROUTE}method = \"GET\"\npath = \"/a\"\ncors = {{ methods = [\"GET\"] }}\n{ROUTE}method = \"POST\"\npath = \"/a\"\ncors = {{ max_age = 60 }}\n"
        ));
        let d = check(&a);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            d[0].message.contains("other CORS settings"),
            "{}",
            d[0].message
        );
    }

    #[test]
    fn the_default_timeout_of_an_http_function_is_the_gateways_and_never_warns() {
        let a = app("", "");
        assert_eq!(a.functions["api"].timeout_s, 29);
        assert!(warnings(&a).is_empty());
        let a = app("http = \"http-api\"", "");
        assert_eq!(a.functions["api"].timeout_s, 30);
        assert!(warnings(&a).is_empty());
    }

    #[test]
    fn a_written_timeout_over_the_gateways_warns_with_both_numbers() {
        let a = app("", "timeout = 60");
        assert_eq!(a.functions["api"].timeout_s, 60);
        let w = warnings(&a);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].message.contains("60 s") && w[0].message.contains("504 after 29 s"),
            "{}",
            w[0].message
        );
        assert!(warnings(&app("", "timeout = 29")).is_empty());
    }
}
