//! AWS rules for the HTTP keys: the gateway's integration timeout, and
//! what this version of fnctl does not deploy yet (HTTP APIs, CORS), which
//! is refused before any call rather than deployed as if it were not
//! written.

use crate::manifest::Diagnostic;
use crate::model::{App, Gateway, ProviderId, Trigger};

pub fn check(app: &App) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let Some(aws) = &app.aws else { return out };
    if aws.http == Gateway::HttpApi {
        return out;
    }
    for f in app.functions_for(ProviderId::Aws) {
        for t in &f.triggers {
            let Trigger::Http(h) = t else { continue };
            if let Some(c) = &h.cors {
                out.push(
                    Diagnostic::new(c.span.clone(), format!("route `{}` of function `{}` has CORS settings, which this version of fnctl does not deploy to AWS yet", h.route, f.name))
                        .with_help("leave CORS out for now and set the headers in the handler"),
                );
            }
        }
    }
    out
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
