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
    // In manifest order, as the user wrote them (not f1, f10, f2).
    let mut functions: Vec<_> = app.functions_for(provider).collect();
    functions.sort_by_key(|f| crate::provider::cloud::manifest_order(app, Some(&f.name)));
    for f in functions {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_manifest_not_the_alphabet() {
        let mut text = String::from("[app]\nname = \"order\"\nruntime = \"python3.12\"\n\n[providers.aws]\nregion = \"us-east-1\"\n");
        for i in 1..=11 {
            text.push_str(&format!(
                "\n[functions.f{i}]\nhandler = \"h.handler\"\n[[functions.f{i}.triggers]]\ntype = \"http\"\nmethod = \"GET\"\npath = \"/f{i}\"\n"
            ));
        }
        let app = crate::manifest::test_app(text);
        let urls = aws_urls(&app, Some("abc"), "us-east-1");
        let order: Vec<&str> = urls.iter().map(|u| u.function.as_str()).collect();
        assert_eq!(
            order,
            ["f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11"]
        );
    }
}
