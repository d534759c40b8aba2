//! What Azure does with the HTTP keys of issue 17 (CORS, JWT authorizers)
//! that this version of fnctl does not deploy there yet.
//!
//! A route protected by a JWT on AWS must not become public on Azure, and
//! CORS the app relies on must not silently vanish: until the Function App's
//! CORS (`siteConfig.cors`) and App Service Authentication
//! (`config/authsettingsV2`) are applied, an app that targets Azure with
//! either is refused at validation, before any call.

use crate::manifest::Diagnostic;
use crate::model::{App, HttpAuth, ProviderId, Trigger};

pub fn check(app: &App) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if app.azure.is_none() {
        return out;
    }
    for f in app.functions_for(ProviderId::Azure) {
        for t in &f.triggers {
            let Trigger::Http(h) = t else { continue };
            if let HttpAuth::Jwt(_) = h.auth {
                out.push(
                    Diagnostic::new(h.span.clone(), format!("route `{}` of function `{}` uses a JWT authorizer, which fnctl does not deploy to Azure yet", h.route, f.name))
                        .with_help("deploy this function only to AWS with `providers = [\"aws\"]` until then; on Azure the route would otherwise be public"),
                );
            }
            if let Some(c) = &h.cors {
                out.push(
                    Diagnostic::new(c.span.clone(), format!("route `{}` of function `{}` has CORS settings, which fnctl does not apply to Azure yet", h.route, f.name))
                        .with_help("deploy this function only to AWS with `providers = [\"aws\"]`, or leave CORS out for now"),
                );
            }
        }
    }
    out
}
