//! The HTTP API that serves HTTP triggers when `[providers.aws] http =
//! "http-api"`: `http_api` (with its CORS configuration), one
//! `http_api_integration` per function, one `http_api_authorizer` per JWT
//! issuer+audience, one `http_api_route` per method and path, and the
//! `http_api_stage` named after the fnctl stage.
//!
//! One HTTP API per app+stage, found by name and this app+stage's tags
//! (HTTP APIs take their tags at CreateApi). Integrations are Lambda proxy
//! integrations on the function's stage alias with payload format 2.0;
//! routes point at them (`integrations/{id}`) and, when JWT-protected, at
//! an authorizer. The stage deploys itself (`AutoDeploy`), so unlike the
//! REST API there is no deployment to create after the routes. Everything
//! but a route whose authorization is being taken away is updated in place;
//! deleting the API takes its routes, integrations, authorizers and stage
//! with it.
//!
//! API reference:
//! <https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/api-reference.html>;
//! Lambda integrations and payload 2.0:
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html>;
//! JWT authorizers:
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html>;
//! CORS: <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html>.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::common::{attrs, owned_tags, string_list, string_map, NOT_FOUND};
use super::{function, permission, Kind, Shared, Step};
use crate::model::{App, Cors, Function, Gateway, HttpAuth, HttpTrigger, ProviderId, Trigger};
use crate::plan::{Action, Attrs, Change, Resource, ResourceId};
use crate::provider::aws::backend::{arn, gone_ok, AwsBackend, AwsError, Live, SdkResultExt};
use crate::provider::aws::names;
use crate::provider::aws::resources::tags;
use crate::provider::CodeDigests;

pub struct HttpApi;

/// Where a JWT authorizer finds the token: the `Authorization` header
/// (`Bearer <token>`), the only identity source a JWT authorizer takes.
pub const IDENTITY_SOURCE: &str = "$request.header.Authorization";

/// The permission's source in the plan: every stage, method and path of
/// the app's HTTP API (`arn:aws:execute-api:REGION:ACCOUNT:API_ID/*/*`
/// once applied, see [`permission`]).
pub fn permission_source(app: &App) -> String {
    format!("execute-api:{}/*/*", api_name(app))
}

/// The HTTP API's name: `{app}-{stage}`, like the REST API's (an app has
/// one or the other, and switching replaces one with the other).
fn api_name(app: &App) -> String {
    names::rest_api(app)
}

fn routes(app: &App) -> Vec<(&Function, &HttpTrigger)> {
    app.functions_for(ProviderId::Aws)
        .flat_map(|f| {
            f.triggers.iter().filter_map(move |t| match t {
                Trigger::Http(h) => Some((f, h)),
                _ => None,
            })
        })
        .collect()
}

/// The API's CORS configuration in the plan's terms. Lists are sorted (AWS
/// treats them as sets) and header names lower-cased (they are
/// case-insensitive, so a read-back in another spelling is no change).
/// Methods: every route's, merged, as `Cors::allow_methods` gives them.
pub fn cors_attrs(cors: &Cors, route_methods: &[String]) -> Value {
    let sorted = |v: Vec<String>| -> Vec<String> {
        let set: BTreeSet<String> = v.into_iter().collect();
        set.into_iter().collect()
    };
    let lower = |v: &[String]| sorted(v.iter().map(|h| h.to_ascii_lowercase()).collect());
    json!({
        "allow_origins": sorted(cors.origins.clone()),
        "allow_methods": sorted(cors.allow_methods(route_methods)),
        "allow_headers": lower(&cors.headers),
        "expose_headers": lower(&cors.expose_headers),
        "max_age": cors.max_age_s,
        "allow_credentials": cors.credentials,
    })
}

/// The same attributes from what AWS reports.
fn read_cors(c: &aws_sdk_apigatewayv2::types::Cors) -> Value {
    let sorted = |v: &[String], lower: bool| -> Vec<String> {
        let set: BTreeSet<String> = v
            .iter()
            .map(|s| {
                if lower {
                    s.to_ascii_lowercase()
                } else {
                    s.clone()
                }
            })
            .collect();
        set.into_iter().collect()
    };
    json!({
        "allow_origins": sorted(c.allow_origins(), false),
        "allow_methods": sorted(c.allow_methods(), false),
        "allow_headers": sorted(c.allow_headers(), true),
        "expose_headers": sorted(c.expose_headers(), true),
        "max_age": c.max_age(),
        "allow_credentials": c.allow_credentials().unwrap_or(false),
    })
}

/// The SDK's CORS configuration from the plan's attributes.
fn sdk_cors(v: &Value) -> aws_sdk_apigatewayv2::types::Cors {
    let mut b = aws_sdk_apigatewayv2::types::Cors::builder()
        .set_allow_origins(Some(string_list(&v["allow_origins"])))
        .set_allow_methods(Some(string_list(&v["allow_methods"])))
        .set_allow_headers(Some(string_list(&v["allow_headers"])))
        .set_expose_headers(Some(string_list(&v["expose_headers"])))
        .allow_credentials(v["allow_credentials"].as_bool().unwrap_or(false));
    if let Some(age) = v["max_age"].as_i64() {
        b = b.max_age(age as i32);
    }
    b.build()
}

fn integration_name(app: &App, function: &str) -> String {
    format!("{}/{function}", api_name(app))
}

fn authorizer_name(app: &App, key: &str) -> String {
    format!("{}/{key}", api_name(app))
}

/// `GET /orders/{id}` → `GET shop-dev/orders/{id}` (the REST API's method
/// names have the same form).
fn route_name(app: &App, route_key: &str) -> String {
    let (method, path) = route_key.split_once(' ').unwrap_or(("ANY", route_key));
    format!("{method} {}{path}", api_name(app))
}

/// The manifest name of the function a Lambda function name belongs to
/// (names can be shortened with a hash, so they are matched, not parsed);
/// a function no longer in the manifest keeps its Lambda name less the
/// app's prefix.
fn manifest_function(app: &App, lambda: &str) -> String {
    app.functions
        .keys()
        .find(|f| names::function(app, f) == lambda)
        .cloned()
        .unwrap_or_else(|| {
            lambda
                .strip_prefix(&format!("{}-", names::prefix(app)))
                .unwrap_or(lambda)
                .to_string()
        })
}

/// The key under which a part's cloud id is kept in `LiveIds::http_api_parts`.
fn part_key(kind: &str, name: &str) -> String {
    format!("{kind}:{name}")
}

#[async_trait::async_trait]
impl Kind for HttpApi {
    fn kinds(&self) -> &'static [&'static str] {
        &[
            "http_api",
            "http_api_integration",
            "http_api_authorizer",
            "http_api_route",
            "http_api_stage",
        ]
    }

    fn desired(&self, app: &App, _code: &CodeDigests, out: &mut Vec<Resource>) {
        if app.gateway() != Gateway::HttpApi {
            return;
        }
        let routes = routes(app);
        if routes.is_empty() {
            return;
        }
        // Validation guarantees one CORS setting for every route of an HTTP
        // API (it has one configuration).
        let cors = routes
            .iter()
            .find_map(|(_, h)| h.cors.clone())
            .or_else(|| app.cors.clone());
        let all_methods: Vec<String> = routes
            .iter()
            .flat_map(|(_, h)| h.methods.iter().cloned())
            .collect();
        let api = Resource::new("http_api", api_name(app))
            .attr("protocol", "HTTP")
            .attr(
                "cors",
                cors.map_or(Value::Null, |c| cors_attrs(&c, &all_methods)),
            )
            .attr("tags", tags(app, None));
        let api_id = api.id.clone();
        out.push(api);

        let mut functions: Vec<&Function> = routes.iter().map(|(f, _)| *f).collect();
        functions.sort_by(|a, b| a.name.cmp(&b.name));
        functions.dedup_by(|a, b| a.name == b.name);
        let limit = Gateway::HttpApi.integration_timeout_s();
        let mut integration_ids = BTreeMap::new();
        for f in &functions {
            let r = Resource::new("http_api_integration", integration_name(app, &f.name))
                .for_function(&f.name)
                .attr("type", "AWS_PROXY")
                .attr(
                    "target",
                    format!("{}:{}", names::function(app, &f.name), names::alias(app)),
                )
                .attr("payload_format_version", Gateway::HttpApi.payload_version())
                .attr("timeout_ms", u64::from(f.timeout_s.min(limit)) * 1000)
                .depends_on(&api_id)
                .depends_on(&function::alias_id(app, &f.name));
            integration_ids.insert(f.name.clone(), r.id.clone());
            out.push(r);
        }

        let mut authorizer_ids = BTreeMap::new();
        for (_, h) in &routes {
            let HttpAuth::Jwt(jwt) = &h.auth else {
                continue;
            };
            let key = jwt.authorizer_key();
            if authorizer_ids.contains_key(&key) {
                continue;
            }
            let mut audience = jwt.audience.clone();
            audience.sort();
            let r = Resource::new("http_api_authorizer", authorizer_name(app, &key))
                .attr("type", "JWT")
                .attr("identity_source", json!([IDENTITY_SOURCE]))
                .attr("issuer", jwt.issuer.clone())
                .attr("audience", audience)
                .depends_on(&api_id);
            authorizer_ids.insert(key, r.id.clone());
            out.push(r);
        }

        let mut route_ids = Vec::new();
        for (f, h) in &routes {
            for m in &h.methods {
                let route_key = format!("{m} {}", h.route);
                let mut r = Resource::new("http_api_route", route_name(app, &route_key))
                    .for_function(&f.name)
                    .attr("route_key", route_key.clone())
                    .attr("integration", f.name.clone())
                    .depends_on(&api_id)
                    .depends_on(&integration_ids[&f.name]);
                match &h.auth {
                    HttpAuth::Jwt(jwt) => {
                        let key = jwt.authorizer_key();
                        let mut scopes = jwt.scopes.clone();
                        scopes.sort();
                        r = r
                            .attr("authorization", "JWT")
                            .attr("authorizer", key.clone())
                            .attr("scopes", scopes)
                            .depends_on(&authorizer_ids[&key]);
                    }
                    _ => {
                        r = r
                            .attr("authorization", "NONE")
                            .attr("authorizer", Value::Null)
                            .attr("scopes", json!([]));
                    }
                }
                route_ids.push(r.id.clone());
                out.push(r);
            }
        }

        for f in &functions {
            out.push(
                permission::resource(
                    app,
                    &f.name,
                    "http-api",
                    "apigateway.amazonaws.com",
                    &permission_source(app),
                )
                .depends_on(&function::alias_id(app, &f.name)),
            );
        }

        // Created after the routes so its first automatic deployment
        // already serves them.
        let mut stage = Resource::new("http_api_stage", format!("{}/{}", api_name(app), app.stage))
            .attr("stage", app.stage.clone())
            .attr("auto_deploy", true)
            .depends_on(&api_id);
        for id in &route_ids {
            stage = stage.depends_on(id);
        }
        out.push(stage);
    }

    /// The HTTP API, whatever the app's gateway (an app switched back to a
    /// REST API must see its HTTP API to delete it), and its parts, pushed
    /// in creation order (deletes run in the reverse).
    async fn read(&self, b: &AwsBackend) -> Result<Live, AwsError> {
        let mut live = Live::default();
        let app = &b.app;
        let name = api_name(app);
        let Some(api) = b.find_http_api().await? else {
            return Ok(live);
        };
        let api_id = api.api_id().unwrap_or_default().to_string();
        live.ids.http_api_id = Some(api_id.clone());
        let api_tags: BTreeMap<String, String> = api
            .tags()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let mut r = Resource::new("http_api", &name);
        r.attrs = attrs(vec![
            ("protocol", json!(api.protocol_type().map(|p| p.as_str()))),
            (
                "cors",
                api.cors_configuration().map_or(Value::Null, read_cors),
            ),
            ("tags", owned_tags(&api_tags, &tags(app, None))),
        ]);
        live.resources.push(r);

        let (integrations, authorizers, routes, stage) = tokio::try_join!(
            read_integrations(b, &api_id),
            read_authorizers(b, &api_id),
            read_routes(b, &api_id),
            read_stage(b, &api_id),
        )?;

        let mut function_by_integration = BTreeMap::new();
        for i in &integrations {
            let target = arn::lambda_target(i.integration_uri().unwrap_or_default());
            let lambda = target.split(':').next().unwrap_or_default();
            let f = manifest_function(app, lambda);
            let mut r = Resource::new("http_api_integration", integration_name(app, &f));
            r.function = Some(f.clone());
            r.attrs = attrs(vec![
                (
                    "type",
                    json!(i.integration_type().map(|t| t.as_str()).unwrap_or_default()),
                ),
                ("target", json!(target)),
                ("payload_format_version", json!(i.payload_format_version())),
                ("timeout_ms", json!(i.timeout_in_millis())),
            ]);
            let id = i.integration_id().unwrap_or_default().to_string();
            live.ids
                .http_api_parts
                .insert(part_key("http_api_integration", &r.id.name), id.clone());
            function_by_integration.insert(id, f);
            live.resources.push(r);
        }

        let mut key_by_authorizer = BTreeMap::new();
        for a in &authorizers {
            let key = a.name().unwrap_or_default().to_string();
            let jwt = a.jwt_configuration();
            let mut audience: Vec<String> = jwt.map(|j| j.audience().to_vec()).unwrap_or_default();
            audience.sort();
            let mut r = Resource::new("http_api_authorizer", authorizer_name(app, &key));
            r.attrs = attrs(vec![
                (
                    "type",
                    json!(a.authorizer_type().map(|t| t.as_str()).unwrap_or_default()),
                ),
                ("identity_source", json!(a.identity_source())),
                ("issuer", json!(jwt.and_then(|j| j.issuer()))),
                ("audience", json!(audience)),
            ]);
            let id = a.authorizer_id().unwrap_or_default().to_string();
            live.ids
                .http_api_parts
                .insert(part_key("http_api_authorizer", &r.id.name), id.clone());
            key_by_authorizer.insert(id, key);
            live.resources.push(r);
        }

        for route in &routes {
            let route_key = route.route_key().unwrap_or_default();
            let integration = route
                .target()
                .and_then(|t| t.strip_prefix("integrations/"))
                .and_then(|id| function_by_integration.get(id))
                .cloned();
            let authorizer = route
                .authorizer_id()
                .and_then(|id| key_by_authorizer.get(id))
                .cloned();
            let mut scopes = route.authorization_scopes().to_vec();
            scopes.sort();
            let mut r = Resource::new("http_api_route", route_name(app, route_key));
            r.function = integration.clone();
            r.attrs = attrs(vec![
                ("route_key", json!(route_key)),
                ("integration", json!(integration)),
                (
                    "authorization",
                    json!(route
                        .authorization_type()
                        .map(|t| t.as_str())
                        .unwrap_or("NONE")),
                ),
                ("authorizer", json!(authorizer)),
                ("scopes", json!(scopes)),
            ]);
            live.ids.http_api_parts.insert(
                part_key("http_api_route", &r.id.name),
                route.route_id().unwrap_or_default().to_string(),
            );
            live.resources.push(r);
        }
        live.resources.extend(stage);
        Ok(live)
    }

    async fn apply(&self, step: &Step<'_>) -> Result<(), AwsError> {
        let (b, change, shared) = (step.backend, step.change, step.shared);
        let after = step.after();
        match change.id.kind.as_str() {
            "http_api" => put_api(b, change, after, shared).await,
            "http_api_integration" => put_integration(b, change, after, shared).await,
            "http_api_authorizer" => put_authorizer(b, change, after, shared).await,
            "http_api_route" => put_route(b, change, after, shared).await,
            _ => put_stage(b, change, shared).await,
        }
    }

    async fn delete(&self, step: &Step<'_>) -> Result<(), AwsError> {
        let (b, change, shared) = (step.backend, step.change, step.shared);
        let v2 = &b.clients.apigw2;
        let name = change.id.name.as_str();
        let kind = change.id.kind.as_str();
        let Some(api) = shared.ids.lock().await.http_api_id.clone() else {
            return Ok(());
        };
        if kind == "http_api" {
            return gone_ok(
                v2.delete_api().api_id(&api).send().await,
                &["NotFoundException"],
                "DeleteApi",
                name,
            );
        }
        if kind == "http_api_stage" {
            return gone_ok(
                v2.delete_stage()
                    .api_id(&api)
                    .stage_name(&b.app.stage)
                    .send()
                    .await,
                &["NotFoundException"],
                "DeleteStage",
                name,
            );
        }
        let id = part_id(shared, kind, name).await?;
        match kind {
            "http_api_route" => gone_ok(
                v2.delete_route().api_id(&api).route_id(&id).send().await,
                &["NotFoundException"],
                "DeleteRoute",
                name,
            ),
            "http_api_integration" => gone_ok(
                v2.delete_integration()
                    .api_id(&api)
                    .integration_id(&id)
                    .send()
                    .await,
                &["NotFoundException"],
                "DeleteIntegration",
                name,
            ),
            _ => gone_ok(
                v2.delete_authorizer()
                    .api_id(&api)
                    .authorizer_id(&id)
                    .send()
                    .await,
                &["NotFoundException"],
                "DeleteAuthorizer",
                name,
            ),
        }
    }

    fn deleted_with(&self, app: &App, id: &ResourceId) -> Option<ResourceId> {
        (id.kind != "http_api").then(|| ResourceId::new("http_api", api_name(app)))
    }
}

impl crate::provider::aws::backend::LiveIds {
    /// The id of the API that serves the app's routes: its HTTP API or its
    /// REST API, as `[providers.aws] http` says (during a switch both can
    /// exist; the URLs are the new one's).
    pub fn api_id(&self, app: &App) -> Option<&str> {
        match app.gateway() {
            Gateway::Rest => self.rest_api_id.as_deref(),
            Gateway::HttpApi => self.http_api_id.as_deref(),
        }
    }
}

/// When a read finds the app's routes served by the other flavour of API
/// than `[providers.aws] http` asks for, what a deploy says: the plan
/// replaces the API, so every URL changes (a new API id), and handlers get
/// the other payload format.
pub fn switch_note(app: &App, ids: &crate::provider::aws::backend::LiveIds) -> Option<String> {
    if routes(app).is_empty() {
        return None;
    }
    let (old, new, payload) = match app.gateway() {
        Gateway::HttpApi => (ids.rest_api_id.as_deref()?, "an HTTP API", "2.0"),
        Gateway::Rest => (ids.http_api_id.as_deref()?, "a REST API", "1.0"),
    };
    Some(format!(
        "the routes moved from API {old} to {new} (`[providers.aws] http = \"{}\"`): every URL changed, and handlers now receive payload format {payload} events",
        app.gateway().as_str()
    ))
}

/// `urls_note` for an HTTP API deployed through an endpoint override: the
/// URLs are the form AWS assigns; moto (5.2.5) stores HTTP APIs but serves
/// no stage of them, so there is no emulator address to give.
pub fn emulator_note(endpoint: &str) -> String {
    format!(
        "these are the URLs AWS assigns; the endpoint override {} is an emulator's, which may not serve HTTP API stages (moto does not)",
        endpoint.trim_end_matches('/')
    )
}

impl AwsBackend {
    /// This app+stage's HTTP API: fnctl's name, protocol and tags, nothing
    /// else (API names are not unique, so another's API of the same name is
    /// neither used nor reported).
    pub(crate) async fn find_http_api(
        &self,
    ) -> Result<Option<aws_sdk_apigatewayv2::types::Api>, AwsError> {
        let app = &self.app;
        let name = api_name(app);
        let mut token: Option<String> = None;
        loop {
            let page = self
                .clients
                .apigw2
                .get_apis()
                .set_next_token(token.clone())
                .send()
                .await
                .or_api_error("GetApis", &name)?;
            for a in page.items() {
                let ours = a.name() == Some(name.as_str())
                    && a.protocol_type().map(|p| p.as_str()) == Some("HTTP")
                    && a.tags().is_some_and(|t| {
                        t.get("fnctl:app") == Some(&app.name)
                            && t.get("fnctl:stage") == Some(&app.stage)
                    });
                if ours {
                    return Ok(Some(a.clone()));
                }
            }
            token = page
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                return Ok(None);
            }
        }
    }
}

/// Every item of one of an HTTP API's list calls. API Gateway v2's model
/// declares no paginators, so the SDK generates none; the token loop is
/// written once here for the three lists a read makes.
macro_rules! every_page {
    ($b:expr, $api:expr, $call:ident, $op:literal) => {{
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = $b
                .clients
                .apigw2
                .$call()
                .api_id($api)
                .set_next_token(token.clone())
                .send()
                .await
                .or_api_error($op, $api)?;
            out.extend(page.items().iter().cloned());
            token = page
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                break out;
            }
        }
    }};
}

async fn read_integrations(
    b: &AwsBackend,
    api: &str,
) -> Result<Vec<aws_sdk_apigatewayv2::types::Integration>, AwsError> {
    Ok(every_page!(b, api, get_integrations, "GetIntegrations"))
}

async fn read_authorizers(
    b: &AwsBackend,
    api: &str,
) -> Result<Vec<aws_sdk_apigatewayv2::types::Authorizer>, AwsError> {
    Ok(every_page!(b, api, get_authorizers, "GetAuthorizers"))
}

async fn read_routes(
    b: &AwsBackend,
    api: &str,
) -> Result<Vec<aws_sdk_apigatewayv2::types::Route>, AwsError> {
    Ok(every_page!(b, api, get_routes, "GetRoutes"))
}

async fn read_stage(b: &AwsBackend, api: &str) -> Result<Option<Resource>, AwsError> {
    let app = &b.app;
    let name = format!("{}/{}", api_name(app), app.stage);
    let Some(stage) = b
        .clients
        .apigw2
        .get_stage()
        .api_id(api)
        .stage_name(&app.stage)
        .send()
        .await
        .or_missing(NOT_FOUND, "GetStage", &name)?
    else {
        return Ok(None);
    };
    let mut r = Resource::new("http_api_stage", name);
    r.attrs = attrs(vec![
        ("stage", json!(app.stage)),
        ("auto_deploy", json!(stage.auto_deploy().unwrap_or(false))),
    ]);
    Ok(Some(r))
}

/// The API's id: read, or learnt when this run created the API.
async fn api_id(shared: &Shared, name: &str) -> Result<String, AwsError> {
    shared
        .ids
        .lock()
        .await
        .http_api_id
        .clone()
        .ok_or_else(|| unknown("ResolveHttpApi", name, "the app's HTTP API"))
}

/// The cloud id of one of the API's parts: read, or learnt when this run
/// created it.
async fn part_id(shared: &Shared, kind: &str, name: &str) -> Result<String, AwsError> {
    shared
        .ids
        .lock()
        .await
        .http_api_parts
        .get(&part_key(kind, name))
        .cloned()
        .ok_or_else(|| unknown("ResolveHttpApiPart", name, "this part of the HTTP API"))
}

/// An id neither the read nor this run's earlier steps gave: the cloud
/// changed under the deploy; the next run reads it again.
fn unknown(operation: &'static str, name: &str, what: &str) -> AwsError {
    AwsError::Api {
        operation,
        resource: name.to_string(),
        message: format!(
            "the id of {what} is unknown: it was not read before the deploy and not created by it"
        ),
        hint: Some("run the deploy again: it reads the API anew".into()),
    }
}

async fn learn(shared: &Shared, kind: &str, name: &str, id: Option<&str>) {
    shared
        .ids
        .lock()
        .await
        .http_api_parts
        .insert(part_key(kind, name), id.unwrap_or_default().to_string());
}

async fn put_api(
    b: &AwsBackend,
    change: &Change,
    after: &Attrs,
    shared: &Shared,
) -> Result<(), AwsError> {
    let v2 = &b.clients.apigw2;
    let name = change.id.name.as_str();
    let cors = &after["cors"];
    if change.action == Action::Create {
        let mut req = v2
            .create_api()
            .name(name)
            .protocol_type(aws_sdk_apigatewayv2::types::ProtocolType::Http)
            .description("managed by fnctl")
            .set_tags(Some(string_map(&after["tags"])));
        if !cors.is_null() {
            req = req.cors_configuration(sdk_cors(cors));
        }
        let out = req.send().await.or_api_error("CreateApi", name)?;
        shared.ids.lock().await.http_api_id = out.api_id().map(str::to_string);
        return Ok(());
    }
    let id = api_id(shared, name).await?;
    if change.changed.iter().any(|c| c == "cors") {
        if cors.is_null() {
            v2.delete_cors_configuration()
                .api_id(&id)
                .send()
                .await
                .or_api_error("DeleteCorsConfiguration", name)?;
        } else {
            v2.update_api()
                .api_id(&id)
                .cors_configuration(sdk_cors(cors))
                .send()
                .await
                .or_api_error("UpdateApi", name)?;
        }
    }
    if change.changed.iter().any(|c| c == "tags") {
        let arn = format!("arn:aws:apigateway:{}::/apis/{id}", b.clients.region);
        v2.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(string_map(&after["tags"])))
            .send()
            .await
            .or_api_error("TagResource", name)?;
    }
    Ok(())
}

async fn put_integration(
    b: &AwsBackend,
    change: &Change,
    after: &Attrs,
    shared: &Shared,
) -> Result<(), AwsError> {
    let v2 = &b.clients.apigw2;
    let name = change.id.name.as_str();
    let api = api_id(shared, name).await?;
    let account = shared.ids.lock().await.account.clone();
    let uri = arn::lambda_function(
        &b.clients.region,
        &account,
        after["target"].as_str().unwrap_or_default(),
    );
    let version = after["payload_format_version"]
        .as_str()
        .unwrap_or("2.0")
        .to_string();
    let timeout = after["timeout_ms"].as_i64().unwrap_or(30_000) as i32;
    if change.action == Action::Create {
        let out = v2
            .create_integration()
            .api_id(&api)
            .integration_type(aws_sdk_apigatewayv2::types::IntegrationType::AwsProxy)
            .integration_uri(uri)
            .payload_format_version(version)
            .timeout_in_millis(timeout)
            .send()
            .await
            .or_api_error("CreateIntegration", name)?;
        learn(shared, "http_api_integration", name, out.integration_id()).await;
        return Ok(());
    }
    let id = part_id(shared, "http_api_integration", name).await?;
    v2.update_integration()
        .api_id(&api)
        .integration_id(id)
        .integration_type(aws_sdk_apigatewayv2::types::IntegrationType::AwsProxy)
        .integration_uri(uri)
        .payload_format_version(version)
        .timeout_in_millis(timeout)
        .send()
        .await
        .or_api_error("UpdateIntegration", name)?;
    Ok(())
}

async fn put_authorizer(
    b: &AwsBackend,
    change: &Change,
    after: &Attrs,
    shared: &Shared,
) -> Result<(), AwsError> {
    let v2 = &b.clients.apigw2;
    let name = change.id.name.as_str();
    let api = api_id(shared, name).await?;
    let key = name.rsplit('/').next().unwrap_or(name);
    let jwt = aws_sdk_apigatewayv2::types::JwtConfiguration::builder()
        .set_issuer(after["issuer"].as_str().map(str::to_string))
        .set_audience(Some(string_list(&after["audience"])))
        .build();
    let sources = string_list(&after["identity_source"]);
    if change.action == Action::Create {
        let out = v2
            .create_authorizer()
            .api_id(&api)
            .name(key)
            .authorizer_type(aws_sdk_apigatewayv2::types::AuthorizerType::Jwt)
            .set_identity_source(Some(sources))
            .jwt_configuration(jwt)
            .send()
            .await
            .or_api_error("CreateAuthorizer", name)?;
        learn(shared, "http_api_authorizer", name, out.authorizer_id()).await;
        return Ok(());
    }
    let id = part_id(shared, "http_api_authorizer", name).await?;
    v2.update_authorizer()
        .api_id(&api)
        .authorizer_id(id)
        .authorizer_type(aws_sdk_apigatewayv2::types::AuthorizerType::Jwt)
        .set_identity_source(Some(sources))
        .jwt_configuration(jwt)
        .send()
        .await
        .or_api_error("UpdateAuthorizer", name)?;
    Ok(())
}

/// Creates a route, or updates it in place. Taking authorization away (a
/// route made public, or its scopes emptied) deletes and creates the route
/// instead: an update can only say what a field becomes, and "no
/// authorizer" or "no scopes" is the absence of a value, which UpdateRoute
/// does not clear in every implementation (moto 5.2.5 ignores an empty
/// scope list and a missing authorizer id). The route is unrouted (404)
/// for the moment in between, which is the safe direction.
async fn put_route(
    b: &AwsBackend,
    change: &Change,
    after: &Attrs,
    shared: &Shared,
) -> Result<(), AwsError> {
    let v2 = &b.clients.apigw2;
    let name = change.id.name.as_str();
    let api = api_id(shared, name).await?;
    let function = after["integration"].as_str().unwrap_or_default();
    let integration = part_id(
        shared,
        "http_api_integration",
        &integration_name(&b.app, function),
    )
    .await?;
    let target = format!("integrations/{integration}");
    let authorizer = match after["authorizer"].as_str() {
        Some(key) => {
            Some(part_id(shared, "http_api_authorizer", &authorizer_name(&b.app, key)).await?)
        }
        None => None,
    };
    let scopes = string_list(&after["scopes"]);
    let auth_type = match after["authorization"].as_str() {
        Some("JWT") => aws_sdk_apigatewayv2::types::AuthorizationType::Jwt,
        _ => aws_sdk_apigatewayv2::types::AuthorizationType::None,
    };
    let route_key = after["route_key"].as_str().unwrap_or_default();

    if change.action == Action::Update {
        let before = change.before.as_ref();
        let had = |k: &str| before.is_some_and(|b| !b[k].is_null() && b[k] != json!([]));
        let recreate =
            (authorizer.is_none() && had("authorizer")) || (scopes.is_empty() && had("scopes"));
        let id = part_id(shared, "http_api_route", name).await?;
        if !recreate {
            v2.update_route()
                .api_id(&api)
                .route_id(&id)
                .route_key(route_key)
                .target(&target)
                .authorization_type(auth_type)
                .set_authorizer_id(authorizer)
                .set_authorization_scopes((!scopes.is_empty()).then_some(scopes))
                .send()
                .await
                .or_api_error("UpdateRoute", name)?;
            return Ok(());
        }
        gone_ok(
            v2.delete_route().api_id(&api).route_id(&id).send().await,
            &["NotFoundException"],
            "DeleteRoute",
            name,
        )?;
    }
    let out = v2
        .create_route()
        .api_id(&api)
        .route_key(route_key)
        .target(target)
        .authorization_type(auth_type)
        .set_authorizer_id(authorizer)
        .set_authorization_scopes((!scopes.is_empty()).then_some(scopes))
        .send()
        .await
        .or_api_error("CreateRoute", name)?;
    learn(shared, "http_api_route", name, out.route_id()).await;
    Ok(())
}

async fn put_stage(b: &AwsBackend, change: &Change, shared: &Shared) -> Result<(), AwsError> {
    let v2 = &b.clients.apigw2;
    let name = change.id.name.as_str();
    let api = api_id(shared, name).await?;
    if change.action == Action::Create {
        v2.create_stage()
            .api_id(&api)
            .stage_name(&b.app.stage)
            .auto_deploy(true)
            .send()
            .await
            .or_api_error("CreateStage", name)?;
        return Ok(());
    }
    // Only `auto_deploy` can differ (someone turned it off by hand).
    v2.update_stage()
        .api_id(&api)
        .stage_name(&b.app.stage)
        .auto_deploy(true)
        .send()
        .await
        .or_api_error("UpdateStage", name)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_attributes_are_sets_with_case_insensitive_header_names() {
        let cors = Cors {
            origins: vec!["https://b.example".into(), "https://a.example".into()],
            methods: vec![],
            headers: vec!["X-Trace".into(), "Content-Type".into()],
            expose_headers: vec!["X-Request-Id".into()],
            max_age_s: Some(600),
            credentials: true,
            span: 0..0,
        };
        let v = cors_attrs(&cors, &["POST".into(), "GET".into()]);
        assert_eq!(
            v["allow_origins"],
            json!(["https://a.example", "https://b.example"])
        );
        assert_eq!(v["allow_methods"], json!(["GET", "OPTIONS", "POST"]));
        assert_eq!(v["allow_headers"], json!(["content-type", "x-trace"]));
        assert_eq!(v["expose_headers"], json!(["x-request-id"]));
        assert_eq!(v["max_age"], json!(600));
        assert_eq!(v["allow_credentials"], json!(true));
        // What AWS reports in another spelling and order reads the same.
        let sdk = aws_sdk_apigatewayv2::types::Cors::builder()
            .allow_origins("https://b.example")
            .allow_origins("https://a.example")
            .allow_methods("POST")
            .allow_methods("OPTIONS")
            .allow_methods("GET")
            .allow_headers("CONTENT-TYPE")
            .allow_headers("x-trace")
            .expose_headers("X-Request-ID")
            .max_age(600)
            .allow_credentials(true)
            .build();
        assert_eq!(read_cors(&sdk), v);
        assert_eq!(read_cors(&sdk_cors(&v)), v);
    }

    #[test]
    fn a_route_key_names_its_route_like_a_rest_method() {
        let app = crate::manifest::test_app(
            "[app]\nname = \"shop\"\nruntime = \"python3.12\"\n[providers.aws]\nregion = \"us-east-1\"\n",
        );
        assert_eq!(
            route_name(&app, "GET /orders/{id}"),
            "GET shop-dev/orders/{id}"
        );
        assert_eq!(route_name(&app, "ANY /{proxy+}"), "ANY shop-dev/{proxy+}");
    }
}
