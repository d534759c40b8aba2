//! `site_cors` and `auth_settings`: the Function App's CORS
//! (`siteConfig.cors`) and its App Service Authentication
//! (`config/authsettingsV2`), from the app's `[http.cors]` and JWT routes
//! ([`http_checks`] says what Azure can express of them).
//!
//! Both are settings inside the Function App. They are planned only when
//! the manifest asks for them, and read as fnctl's only when the Function
//! App's `fnctl-http` tag lists them ([`HTTP_TAG`], written with them):
//! CORS or authentication set by hand on an app whose manifest has none is
//! left alone, as app settings set by hand are. An app without them plans
//! nothing new; when the manifest drops them, the plan shows a delete and
//! apply clears them (CORS with no origins, authentication disabled).
//!
//! Sources: Microsoft.Web 2024-04-01, `PATCH .../sites/{name}/config/web`
//! (`SiteConfigResource`, whose `properties.cors` is `CorsSettings`) and
//! `PUT .../sites/{name}/config/authsettingsV2` (`SiteAuthSettingsV2`:
//! `platform`, `globalValidation`, `identityProviders.azureActiveDirectory`),
//! the models of Microsoft's azure-mgmt-web SDK (11.0.1) generated from the
//! same spec; "Web Apps - Update Auth Settings V2"
//! (<https://learn.microsoft.com/rest/api/appservice/web-apps/update-auth-settings-v2>)
//! and "Web Apps - Update Configuration"
//! (<https://learn.microsoft.com/rest/api/appservice/web-apps/update-configuration>).

use serde_json::{json, Value};

use super::{function_app, Kind, Outcome, Reading, Run, Then};
use crate::model::{App, AzureSettings};
use crate::plan::{Change, Resource, ResourceId};
use crate::provider::azure::backend::{
    paths, AzureBackend, AzureError, API_RESOURCES, API_WEB, HTTP_TAG,
};
use crate::provider::azure::http_checks::{self, SiteAuth, SiteCors};
use crate::provider::azure::names;
use crate::provider::CodeDigests;

pub struct HttpSettings;

pub fn cors_id(app: &App, az: &AzureSettings) -> ResourceId {
    ResourceId::new("site_cors", names::function_app(app, az))
}

pub fn auth_id(app: &App, az: &AzureSettings) -> ResourceId {
    ResourceId::new("auth_settings", names::function_app(app, az))
}

fn cors_resource(name: &str, c: &SiteCors) -> Resource {
    Resource::new("site_cors", name)
        .attr("allowed_origins", json!(c.allowed_origins))
        .attr("support_credentials", c.support_credentials)
}

fn auth_resource(name: &str, a: &SiteAuth) -> Resource {
    Resource::new("auth_settings", name)
        .attr("provider", "azureActiveDirectory")
        .attr("open_id_issuer", a.issuer.clone())
        .attr("allowed_audiences", json!(a.audiences))
        .attr("require_authentication", true)
        .attr("unauthenticated_client_action", "Return401")
        .attr("excluded_paths", json!(a.excluded_paths))
}

/// `siteConfig.cors` as fnctl sends it (also in the Function App's PUT, so
/// replacing the site never drops it).
pub fn cors_body(c: Option<&SiteCors>) -> Value {
    match c {
        Some(c) => {
            json!({"allowedOrigins": c.allowed_origins, "supportCredentials": c.support_credentials})
        }
        None => json!({"allowedOrigins": [], "supportCredentials": false}),
    }
}

/// The authsettingsV2 body: the Microsoft Entra provider validating bearer
/// tokens of `issuer` for `audiences` (the first is the registration's
/// client id, which the provider also accepts as an audience), every
/// request required to be authenticated except `excludedPaths`, and 401 —
/// not a login redirect — for a request without a valid token, as API
/// Gateway's JWT authorizer answers.
pub fn auth_body(a: Option<&SiteAuth>) -> Value {
    let Some(a) = a else {
        return json!({"properties": {"platform": {"enabled": false}}});
    };
    json!({"properties": {
        "platform": {"enabled": true},
        "globalValidation": {
            "requireAuthentication": true,
            "unauthenticatedClientAction": "Return401",
            "excludedPaths": a.excluded_paths,
        },
        "identityProviders": {"azureActiveDirectory": {
            "enabled": true,
            "registration": {"openIdIssuer": a.issuer, "clientId": a.audiences.first()},
            "validation": {"allowedAudiences": a.audiences},
        }},
    }})
}

/// The [`HTTP_TAG`] value for what the manifest wants: the kinds fnctl
/// owns once this run is done.
fn wanted_tag(app: &App) -> String {
    let mut kinds = Vec::new();
    if http_checks::site_cors(app).is_some() {
        kinds.push("site_cors");
    }
    if http_checks::site_auth(app).is_some() {
        kinds.push("auth_settings");
    }
    kinds.join(",")
}

fn tag_lists(tag: Option<&str>, kind: &str) -> bool {
    tag.unwrap_or_default().split(',').any(|k| k == kind)
}

/// Records which settings are fnctl's (Tags API, merge), unless the tag
/// already says so.
async fn mark(b: &AzureBackend, run: &mut Run<'_>) -> Result<(), AzureError> {
    let want = wanted_tag(&b.app);
    if run.http_marked || run.live.http_tag.as_deref().unwrap_or_default() == want {
        return Ok(());
    }
    run.http_marked = true;
    let path = format!(
        "{}/providers/Microsoft.Resources/tags/default",
        paths::site(&b.app, &b.settings)
    );
    b.arm
        .patch(
            &path,
            API_RESOURCES,
            &json!({"operation": "Merge", "properties": {"tags": {HTTP_TAG: want}}}),
        )
        .await?;
    Ok(())
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

#[async_trait::async_trait]
impl Kind for HttpSettings {
    fn kinds(&self) -> &'static [&'static str] {
        &["site_cors", "auth_settings"]
    }

    fn desired(&self, app: &App, az: &AzureSettings, _: &CodeDigests, out: &mut Vec<Resource>) {
        let site = names::function_app(app, az);
        if let Some(c) = http_checks::site_cors(app) {
            out.push(cors_resource(&site, &c).depends_on(&function_app::id(app, az)));
        }
        if let Some(a) = http_checks::site_auth(app) {
            out.push(auth_resource(&site, &a).depends_on(&function_app::id(app, az)));
        }
    }

    /// Runs after the Function App's read, which stops the reading when
    /// there is no Function App of fnctl's.
    async fn read(&self, b: &AzureBackend, reading: &mut Reading) -> Result<Then, AzureError> {
        let (app, az) = (&b.app, &b.settings);
        let site = names::function_app(app, az);
        let base = paths::site(app, az);
        let tag = reading
            .site
            .as_ref()
            .and_then(|s| s.pointer(&format!("/tags/{HTTP_TAG}")))
            .and_then(Value::as_str)
            .map(str::to_string);
        reading.live.http_tag = tag.clone();
        let config = b
            .arm
            .get(&format!("{base}/config/web"), API_WEB)
            .await?
            .unwrap_or(Value::Null);
        let cors = config.pointer("/properties/cors").unwrap_or(&Value::Null);
        let origins = strings(&cors["allowedOrigins"]);
        let credentials = cors["supportCredentials"].as_bool().unwrap_or(false);
        if (!origins.is_empty() || credentials) && tag_lists(tag.as_deref(), "site_cors") {
            reading.live.resources.push(cors_resource(
                &site,
                &SiteCors {
                    allowed_origins: origins,
                    support_credentials: credentials,
                },
            ));
        }
        let auth = b
            .arm
            .get(&format!("{base}/config/authsettingsV2"), API_WEB)
            .await?
            .unwrap_or(Value::Null);
        let p = &auth["properties"];
        if p.pointer("/platform/enabled").and_then(Value::as_bool) == Some(true)
            && tag_lists(tag.as_deref(), "auth_settings")
        {
            let aad = p
                .pointer("/identityProviders/azureActiveDirectory")
                .unwrap_or(&Value::Null);
            let mut r = Resource::new("auth_settings", &site)
                .attr(
                    "provider",
                    if aad["enabled"].as_bool() == Some(false) || aad.is_null() {
                        Value::Null
                    } else {
                        json!("azureActiveDirectory")
                    },
                )
                .attr(
                    "open_id_issuer",
                    aad.pointer("/registration/openIdIssuer")
                        .cloned()
                        .unwrap_or(Value::Null),
                )
                .attr(
                    "allowed_audiences",
                    json!(strings(
                        aad.pointer("/validation/allowedAudiences")
                            .unwrap_or(&Value::Null)
                    )),
                );
            let g = &p["globalValidation"];
            r = r
                .attr(
                    "require_authentication",
                    g["requireAuthentication"].as_bool().unwrap_or(false),
                )
                .attr(
                    "unauthenticated_client_action",
                    g["unauthenticatedClientAction"].clone(),
                )
                .attr("excluded_paths", json!(strings(&g["excludedPaths"])));
            reading.live.resources.push(r);
        }
        Ok(Then::Continue)
    }

    async fn apply(
        &self,
        b: &AzureBackend,
        change: &Change,
        run: &mut Run<'_>,
    ) -> Result<Outcome, AzureError> {
        let (app, az) = (&b.app, &b.settings);
        let base = paths::site(app, az);
        if change.id.kind == "site_cors" {
            let c = http_checks::site_cors(app);
            b.arm
                .patch(
                    &format!("{base}/config/web"),
                    API_WEB,
                    &json!({"properties": {"cors": cors_body(c.as_ref())}}),
                )
                .await?;
        } else {
            let a = http_checks::site_auth(app);
            b.arm
                .put(
                    &format!("{base}/config/authsettingsV2"),
                    API_WEB,
                    &auth_body(a.as_ref()),
                )
                .await?;
        }
        mark(b, run).await?;
        Ok(Outcome::Done)
    }

    /// The manifest dropped them: CORS with no origins, authentication
    /// disabled (the Function App stays).
    async fn delete(
        &self,
        b: &AzureBackend,
        change: &Change,
        run: &mut Run<'_>,
    ) -> Result<Outcome, AzureError> {
        let base = paths::site(&b.app, &b.settings);
        if change.id.kind == "site_cors" {
            b.arm
                .patch(
                    &format!("{base}/config/web"),
                    API_WEB,
                    &json!({"properties": {"cors": cors_body(None)}}),
                )
                .await?;
        } else {
            b.arm
                .put(
                    &format!("{base}/config/authsettingsV2"),
                    API_WEB,
                    &auth_body(None),
                )
                .await?;
        }
        mark(b, run).await?;
        Ok(Outcome::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_follow_the_microsoft_web_models() {
        let a = SiteAuth {
            issuer: "https://login.microsoftonline.com/t/v2.0".into(),
            audiences: vec!["api://shop".into(), "other".into()],
            excluded_paths: vec!["/health".into()],
        };
        let b = auth_body(Some(&a));
        let p = &b["properties"];
        assert_eq!(p["platform"]["enabled"], true);
        assert_eq!(
            p["globalValidation"]["unauthenticatedClientAction"],
            "Return401"
        );
        assert_eq!(p["globalValidation"]["excludedPaths"], json!(["/health"]));
        let aad = &p["identityProviders"]["azureActiveDirectory"];
        assert_eq!(aad["registration"]["clientId"], "api://shop");
        assert_eq!(
            aad["validation"]["allowedAudiences"],
            json!(["api://shop", "other"])
        );
        assert_eq!(
            auth_body(None),
            json!({"properties": {"platform": {"enabled": false}}})
        );
        assert_eq!(
            cors_body(None),
            json!({"allowedOrigins": [], "supportCredentials": false})
        );
    }
}
