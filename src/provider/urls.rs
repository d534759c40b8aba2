//! Public URLs of an app's HTTP routes, from what a cloud assigned.

use crate::model::{App, ProviderId, Trigger};

/// One HTTP route's public URL.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RouteUrl {
    pub function: String,
    pub method: String,
    pub url: String,
}

/// URLs of every HTTP route of the Function App (no `api/` prefix: the
/// generated host.json clears it).
pub fn azure_urls(app: &App, host: Option<&str>) -> Vec<RouteUrl> {
    let (Some(host), Some(az)) = (host, app.azure.as_ref()) else {
        return Vec::new();
    };
    let base = crate::provider::azure::backend::paths::app_base(az, host);
    route_urls(app, ProviderId::Azure, &base)
}

/// Invoke URLs of every HTTP route, from the API id AWS assigned.
pub fn aws_urls(app: &App, api_id: Option<&str>, region: &str) -> Vec<RouteUrl> {
    let Some(api_id) = api_id else {
        return Vec::new();
    };
    let base = crate::provider::aws::names::stage_url(api_id, region, &app.stage);
    route_urls(app, ProviderId::Aws, &base)
}

/// One URL per (function, HTTP route, method): `base` followed by the route.
fn route_urls(app: &App, provider: ProviderId, base: &str) -> Vec<RouteUrl> {
    let mut out = Vec::new();
    for f in app.functions_for(provider) {
        for t in &f.triggers {
            if let Trigger::Http(h) = t {
                for m in &h.methods {
                    out.push(RouteUrl {
                        function: f.name.clone(),
                        method: m.clone(),
                        url: format!("{base}{}", h.route),
                    });
                }
            }
        }
    }
    out
}
