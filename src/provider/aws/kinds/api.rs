//! The REST API that serves HTTP triggers: `rest_api`, `api_resource`,
//! `api_method`, `api_deployment` (the stage), and for routes with
//! `auth = "key"` an `api_key` and the `usage_plan` that binds it to the
//! stage.
//!
//! One regional REST API per app+stage, found by name and this app+stage's
//! tags. Resources are created parents first (their ids are learnt on the
//! way, see [`Shared`]); a method is put with its Lambda proxy integration,
//! and a changed method is deleted and put again. The deployment is created
//! after every method and carries a digest of the routes it serves in its
//! description, which is how a read tells whether the stage serves the
//! current routes. Deleting the API takes its resources, methods and stage
//! with it; the key and usage plan are found by name and deleted on their
//! own.
//!
//! Routes with CORS add, per path, an `OPTIONS` method on a mock
//! integration that answers the preflight, and the `DEFAULT_4XX` /
//! `DEFAULT_5XX` gateway responses (`api_gateway_response`) that put the
//! CORS headers on the gateway's own errors ([`api_cors`]).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// CORS helpers, in a file of their own beside this one.
#[path = "api_cors.rs"]
mod api_cors;

use super::common::{attrs, owned_tags, read_each, string_map, NOT_FOUND};
use super::{function, permission, Kind, Shared, Step};
use crate::model::route::{Route, Segment};
use crate::model::{App, Function, HttpAuth, HttpTrigger, ProviderId, Trigger};
use crate::plan::{Action, Attrs, Change, Resource, ResourceId};
use crate::provider::aws::backend::{arn, gone_ok, AwsBackend, AwsError, Live, SdkResultExt};
use crate::provider::aws::names;
use crate::provider::aws::resources::tags;
use crate::provider::CodeDigests;

/// Deployment descriptions start with this, then the routes digest.
pub const DEPLOYMENT_PREFIX: &str = "fnctl routes ";

pub struct Api;

/// API Gateway resource path of a route (same syntax: `{id}`, `{path+}`).
pub fn resource_path(route: &Route) -> String {
    route.to_string()
}

/// Every API Gateway resource a route needs, parents first (`/users`, `/users/{id}`).
pub fn resource_chain(route: &Route) -> Vec<String> {
    let mut out = Vec::new();
    let mut path = String::new();
    for seg in &route.segments {
        path.push('/');
        match seg {
            Segment::Literal(l) => path.push_str(l),
            Segment::Param(n) => path.push_str(&format!("{{{n}}}")),
            Segment::Greedy(n) => path.push_str(&format!("{{{n}+}}")),
        }
        out.push(path.clone());
    }
    out
}

/// `routes_digest` of an API deployment: which routes a deployment serves.
pub fn routes_digest(lines: &[String]) -> String {
    let mut h = Sha256::new();
    for l in lines {
        h.update(l.as_bytes());
        h.update(b"\n");
    }
    format!("sha256:{}", &hex::encode(h.finalize())[..16])
}

#[async_trait::async_trait]
impl Kind for Api {
    fn kinds(&self) -> &'static [&'static str] {
        &[
            "rest_api",
            "api_resource",
            "api_method",
            "api_deployment",
            "api_key",
            "usage_plan",
            "api_gateway_response",
        ]
    }

    fn desired(&self, app: &App, _code: &CodeDigests, out: &mut Vec<Resource>) {
        if app.gateway() != crate::model::Gateway::Rest {
            return; // an HTTP API serves the routes: see `super::http_api`
        }
        let routes: Vec<(&Function, &HttpTrigger)> = app
            .functions_for(ProviderId::Aws)
            .flat_map(|f| {
                f.triggers.iter().filter_map(move |t| match t {
                    Trigger::Http(h) => Some((f, h)),
                    _ => None,
                })
            })
            .collect();
        if routes.is_empty() {
            return;
        }
        let api = Resource::new("rest_api", names::rest_api(app))
            .attr("endpoint_type", "REGIONAL")
            .attr("tags", tags(app, None));
        let api_id = api.id.clone();
        out.push(api);

        let mut paths: BTreeSet<String> = BTreeSet::new();
        for (_, h) in &routes {
            paths.extend(resource_chain(&h.route));
        }
        let mut path_ids = BTreeMap::new();
        for path in &paths {
            let parent = path
                .rsplit_once('/')
                .map(|(p, _)| if p.is_empty() { "/" } else { p })
                .unwrap_or("/");
            let mut r = Resource::new("api_resource", format!("{}{}", names::rest_api(app), path))
                .attr("path", path.clone())
                .attr("parent", parent)
                .depends_on(&api_id);
            if let Some(parent_id) = path_ids.get(parent) {
                r = r.depends_on(parent_id);
            }
            path_ids.insert(path.clone(), r.id.clone());
            out.push(r);
        }

        let mut method_ids = Vec::new();
        let mut needs_key = false;
        let mut route_lines = Vec::new();
        for (f, h) in &routes {
            let path = resource_path(&h.route);
            for m in &h.methods {
                needs_key |= h.auth == HttpAuth::Key;
                let mut r = Resource::new("api_method", format!("{} {}{}", m, names::rest_api(app), path))
                    .for_function(&f.name)
                    .attr("http_method", m.clone())
                    .attr("path", path.clone())
                    .attr("authorization", "NONE")
                    .attr("api_key_required", h.auth == HttpAuth::Key)
                    .attr("integration", json!({"type": "AWS_PROXY", "http_method": "POST", "target": format!("{}:{}", names::function(app, &f.name), names::alias(app))}))
                    .depends_on(&api_id);
                if let Some(pid) = path_ids.get(&path) {
                    r = r.depends_on(pid);
                }
                r = r.depends_on(&function::alias_id(app, &f.name));
                route_lines.push(format!("{m} {path} -> {}", f.name));
                method_ids.push(r.id.clone());
                out.push(r);
            }
        }
        for p in api_cors::preflights(routes.iter().map(|(_, h)| (resource_path(&h.route), *h))) {
            let mut r = api_cors::preflight_resource(app, &p).depends_on(&api_id);
            if let Some(pid) = path_ids.get(&p.path) {
                r = r.depends_on(pid);
            }
            route_lines.push(format!(
                "OPTIONS {} -> cors {}",
                p.path, r.attrs["integration_response"]
            ));
            method_ids.push(r.id.clone());
            out.push(r);
        }
        for r in
            api_cors::gateway_responses(app, routes.iter().filter_map(|(_, h)| h.cors.as_ref()))
        {
            let r = r.depends_on(&api_id);
            route_lines.push(api_cors::digest_line(&r));
            method_ids.push(r.id.clone());
            out.push(r);
        }
        let mut invoked: Vec<&str> = routes.iter().map(|(f, _)| f.name.as_str()).collect();
        invoked.sort();
        invoked.dedup();
        for f in invoked {
            out.push(
                permission::resource(
                    app,
                    f,
                    "apigateway",
                    "apigateway.amazonaws.com",
                    &format!("execute-api:{}/*", names::rest_api(app)),
                )
                .depends_on(&function::alias_id(app, f)),
            );
        }
        route_lines.sort();
        let mut deployment = Resource::new(
            "api_deployment",
            format!("{}/{}", names::rest_api(app), app.stage),
        )
        .attr("stage", app.stage.clone())
        .attr("routes_digest", routes_digest(&route_lines));
        for id in &method_ids {
            deployment = deployment.depends_on(id);
        }
        if needs_key {
            let key = Resource::new("api_key", format!("{}-key", names::rest_api(app)))
                .attr("enabled", true)
                .attr("tags", tags(app, None));
            let plan = Resource::new("usage_plan", format!("{}-usage", names::rest_api(app)))
                .attr(
                    "api_stage",
                    format!("{}/{}", names::rest_api(app), app.stage),
                )
                .depends_on(&key.id)
                .depends_on(&deployment.id);
            out.push(deployment);
            out.push(key);
            out.push(plan);
        } else {
            out.push(deployment);
        }
    }

    /// The REST API, its resources and methods, stage, key and usage plan.
    async fn read(&self, b: &AwsBackend) -> Result<Live, AwsError> {
        let mut live = Live::default();
        let app = &b.app;
        let name = names::rest_api(app);
        let Some(api) = b.find_rest_api().await? else {
            return Ok(live);
        };
        let api_id = api.id().unwrap_or_default().to_string();
        live.ids.rest_api_id = Some(api_id.clone());
        let api_tags: BTreeMap<String, String> = api
            .tags()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let endpoint = api
            .endpoint_configuration()
            .and_then(|e| e.types().first())
            .map(|t| t.as_str().to_string())
            .unwrap_or_else(|| "EDGE".into());
        let mut r = Resource::new("rest_api", &name);
        r.attrs = attrs(vec![
            ("endpoint_type", json!(endpoint)),
            ("tags", owned_tags(&api_tags, &tags(app, None))),
        ]);
        live.resources.push(r);

        let mut items = Vec::new();
        let mut pages = b
            .clients
            .apigw
            .get_resources()
            .rest_api_id(&api_id)
            .embed("methods")
            .limit(500)
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            items.push(item.or_api_error("GetResources", &name)?);
        }
        let by_id: BTreeMap<String, String> = items
            .iter()
            .filter_map(|r| Some((r.id()?.to_string(), r.path()?.to_string())))
            .collect();
        let mut methods = Vec::new();
        for res in &items {
            let (Some(id), Some(path)) = (res.id(), res.path()) else {
                continue;
            };
            live.ids
                .resource_ids
                .insert(path.to_string(), id.to_string());
            if path != "/" {
                let parent = res
                    .parent_id()
                    .and_then(|p| by_id.get(p))
                    .cloned()
                    .unwrap_or_else(|| "/".into());
                let mut r = Resource::new("api_resource", format!("{name}{path}"));
                r.attrs = attrs(vec![("path", json!(path)), ("parent", json!(parent))]);
                live.resources.push(r);
            }
            for (m, embedded) in res.resource_methods().into_iter().flatten() {
                methods.push((id, path, m.as_str(), embedded));
            }
        }
        let api_ref = api_id.as_str();
        // By index: a future that takes borrowed tuples by value is not
        // provably `Send` for every lifetime, which `Kind::read` needs.
        let methods = &methods;
        let read_methods = read_each(0..methods.len(), |i| async move {
            let (id, path, m, embedded) = methods[i];
            // `embed=methods` usually returns each method whole; only a
            // bare entry (no httpMethod) needs its own GetMethod call.
            if embedded.http_method().is_some() && !api_cors::needs_full_read(embedded) {
                Ok(method_resource(
                    app,
                    path,
                    m,
                    embedded.authorization_type(),
                    embedded.api_key_required(),
                    embedded.method_integration(),
                    embedded.method_responses(),
                ))
            } else {
                read_method(b, api_ref, id, path, m).await
            }
        });
        // Gateway responses cost a call, so they are read only where fnctl
        // may have put some: the app has CORS now, or the API has a mock
        // method (a preflight an earlier deploy with CORS made), which is
        // how the responses are found and deleted once CORS goes away.
        let cors_now = app
            .functions_for(ProviderId::Aws)
            .flat_map(|f| &f.triggers)
            .any(|t| matches!(t, Trigger::Http(h) if h.cors.is_some()));
        let had_cors = methods.iter().any(|(_, _, _, m)| {
            m.method_integration()
                .and_then(|i| i.r#type())
                .is_some_and(|t| t.as_str() == "MOCK")
        });
        let read_responses = async {
            if cors_now || had_cors {
                api_cors::read_gateway_responses(b, api_ref).await
            } else {
                Ok(Vec::new())
            }
        };
        let (methods, stage, key, usage_plan, responses) = tokio::try_join!(
            read_methods,
            read_stage(b, &api_id),
            read_api_key(b),
            read_usage_plan(b, &api_id),
            read_responses,
        )?;
        live.resources.extend(methods);
        live.resources.extend(responses);
        live.resources.extend(stage);
        live.resources.extend(key);
        live.resources.extend(usage_plan);
        Ok(live)
    }

    async fn apply(&self, step: &Step<'_>) -> Result<(), AwsError> {
        let (b, change, shared) = (step.backend, step.change, step.shared);
        let after = step.after();
        let name = change.id.name.as_str();
        match change.id.kind.as_str() {
            "rest_api" => put_rest_api(b, change, after, shared).await,
            "api_resource" => put_resource(b, after, shared).await,
            "api_method" => put_method(b, change, after, shared).await,
            "api_deployment" => put_deployment(b, after, shared).await,
            "api_key" => put_api_key(b, change, name, after).await,
            "api_gateway_response" => {
                let api = rest_api_id(shared).await;
                api_cors::put_gateway_response(b, change, after, &api).await
            }
            _ => put_usage_plan(b, change, name, shared).await,
        }
    }

    async fn delete(&self, step: &Step<'_>) -> Result<(), AwsError> {
        let (b, change, shared) = (step.backend, step.change, step.shared);
        let apigw = &b.clients.apigw;
        let name = change.id.name.as_str();
        match change.id.kind.as_str() {
            "rest_api" => {
                let Some(id) = shared.ids.lock().await.rest_api_id.clone() else {
                    return Ok(());
                };
                gone_ok(
                    apigw.delete_rest_api().rest_api_id(&id).send().await,
                    &["NotFoundException"],
                    "DeleteRestApi",
                    name,
                )
            }
            "api_method" => {
                let before = step.before();
                let path = before["path"].as_str().unwrap_or("/");
                let (api, resource) = api_and_resource(path, shared).await?;
                let method = before["http_method"].as_str().unwrap_or_default();
                apigw
                    .delete_method()
                    .rest_api_id(&api)
                    .resource_id(&resource)
                    .http_method(method)
                    .send()
                    .await
                    .or_api_error("DeleteMethod", name)?;
                Ok(())
            }
            "api_resource" => {
                let path = step.before()["path"].as_str().unwrap_or("/");
                let (api, resource) = api_and_resource(path, shared).await?;
                gone_ok(
                    apigw
                        .delete_resource()
                        .rest_api_id(&api)
                        .resource_id(&resource)
                        .send()
                        .await,
                    &["NotFoundException"],
                    "DeleteResource",
                    name,
                )
            }
            "api_deployment" => {
                let api = rest_api_id(shared).await;
                gone_ok(
                    apigw
                        .delete_stage()
                        .rest_api_id(&api)
                        .stage_name(&b.app.stage)
                        .send()
                        .await,
                    &["NotFoundException"],
                    "DeleteStage",
                    name,
                )
            }
            "api_key" => delete_api_key(b, name).await,
            "api_gateway_response" => {
                let api = rest_api_id(shared).await;
                api_cors::delete_gateway_response(b, change, &api).await
            }
            _ => delete_usage_plan(b, name).await,
        }
    }

    async fn after_deletes(
        &self,
        b: &AwsBackend,
        deleted: &[&Change],
        shared: &Shared,
    ) -> Result<(), AwsError> {
        let served = deleted.iter().any(|c| {
            matches!(
                c.id.kind.as_str(),
                "api_method" | "api_resource" | "api_gateway_response"
            )
        });
        if served {
            redeploy_after_delete(b, shared).await?;
        }
        Ok(())
    }

    fn deleted_with(&self, app: &App, id: &ResourceId) -> Option<ResourceId> {
        matches!(
            id.kind.as_str(),
            "api_resource" | "api_method" | "api_deployment" | "api_gateway_response"
        )
        .then(|| ResourceId::new("rest_api", names::rest_api(app)))
    }
}

impl AwsBackend {
    /// This app+stage's REST API: fnctl's name and tags, nothing else.
    pub(crate) async fn find_rest_api(
        &self,
    ) -> Result<Option<aws_sdk_apigateway::types::RestApi>, AwsError> {
        let app = &self.app;
        let name = names::rest_api(app);
        let mut pages = self
            .clients
            .apigw
            .get_rest_apis()
            .into_paginator()
            .items()
            .send();
        while let Some(item) = pages.next().await {
            let a = item.or_api_error("GetRestApis", &name)?;
            let ours = a.name() == Some(name.as_str())
                && a.tags().is_some_and(|t| {
                    t.get("fnctl:app") == Some(&app.name)
                        && t.get("fnctl:stage") == Some(&app.stage)
                });
            if ours {
                return Ok(Some(a));
            }
        }
        Ok(None)
    }

    /// The app's API key (for routes with `auth = "key"`), with its secret
    /// value only when `with_value` (invoking a route; never for plans).
    pub(crate) async fn find_api_key(
        &self,
        with_value: bool,
    ) -> Result<Option<aws_sdk_apigateway::types::ApiKey>, AwsError> {
        let key_name = format!("{}-key", names::rest_api(&self.app));
        let keys = self
            .clients
            .apigw
            .get_api_keys()
            .name_query(&key_name)
            .include_values(with_value)
            .send()
            .await
            .or_api_error("GetApiKeys", &key_name)?;
        Ok(keys
            .items
            .unwrap_or_default()
            .into_iter()
            .find(|k| k.name() == Some(key_name.as_str())))
    }
}

async fn read_method(
    b: &AwsBackend,
    api_id: &str,
    resource_id: &str,
    path: &str,
    method: &str,
) -> Result<Resource, AwsError> {
    let got = b
        .clients
        .apigw
        .get_method()
        .rest_api_id(api_id)
        .resource_id(resource_id)
        .http_method(method)
        .send()
        .await
        .or_api_error("GetMethod", format!("{method} {path}"))?;
    Ok(method_resource(
        &b.app,
        path,
        method,
        got.authorization_type(),
        got.api_key_required(),
        got.method_integration(),
        got.method_responses(),
    ))
}

/// A method as a resource, from GetMethod or from GetResources' embedded copy.
fn method_resource(
    app: &App,
    path: &str,
    method: &str,
    authorization: Option<&str>,
    api_key_required: Option<bool>,
    integration: Option<&aws_sdk_apigateway::types::Integration>,
    method_responses: Option<
        &std::collections::HashMap<String, aws_sdk_apigateway::types::MethodResponse>,
    >,
) -> Resource {
    let name = names::rest_api(app);
    let preflight = api_cors::preflight_attrs(integration, method_responses);
    let integration = integration.map(|i| {
        json!({
            "type": i.r#type().map(|t| t.as_str()).unwrap_or_default(),
            "http_method": i.http_method().unwrap_or_default(),
            "target": arn::integration_target(i.uri().unwrap_or_default()),
        })
    });
    let mut r = Resource::new("api_method", format!("{method} {name}{path}"));
    r.function = integration
        .as_ref()
        .and_then(|i| i["target"].as_str())
        .and_then(|t| t.split(':').next())
        .and_then(|f| f.strip_prefix(&format!("{}-", names::prefix(app))))
        .map(str::to_string);
    r.attrs = attrs(vec![
        ("http_method", json!(method)),
        ("path", json!(path)),
        ("authorization", json!(authorization.unwrap_or("NONE"))),
        ("api_key_required", json!(api_key_required.unwrap_or(false))),
        ("integration", integration.unwrap_or(Value::Null)),
    ]);
    // A preflight's mock integration replaces the proxy integration's
    // shape, and its responses are part of what is compared.
    for (k, v) in preflight.into_iter().flatten() {
        r.attrs.insert(k.to_string(), v);
    }
    r
}

/// The stage and the routes digest its current deployment carries.
async fn read_stage(b: &AwsBackend, api_id: &str) -> Result<Option<Resource>, AwsError> {
    let app = &b.app;
    let apigw = &b.clients.apigw;
    let name = names::rest_api(app);
    let Some(stage) = apigw
        .get_stage()
        .rest_api_id(api_id)
        .stage_name(&app.stage)
        .send()
        .await
        .or_missing(NOT_FOUND, "GetStage", format!("{name}/{}", app.stage))?
    else {
        return Ok(None);
    };
    let deployment = stage.deployment_id().unwrap_or_default().to_string();
    let got = apigw
        .get_deployment()
        .rest_api_id(api_id)
        .deployment_id(&deployment)
        .send()
        .await
        .or_api_error("GetDeployment", &deployment)?;
    let digest = got
        .description()
        .and_then(|d| d.strip_prefix(DEPLOYMENT_PREFIX))
        .unwrap_or("(not deployed by fnctl)");
    let mut r = Resource::new("api_deployment", format!("{name}/{}", app.stage));
    r.attrs = attrs(vec![
        ("stage", json!(app.stage)),
        ("routes_digest", json!(digest)),
    ]);
    Ok(Some(r))
}

async fn read_api_key(b: &AwsBackend) -> Result<Option<Resource>, AwsError> {
    let key_name = format!("{}-key", names::rest_api(&b.app));
    let Some(key) = b.find_api_key(false).await? else {
        return Ok(None);
    };
    let key_tags: BTreeMap<String, String> = key
        .tags()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut r = Resource::new("api_key", &key_name);
    r.attrs = attrs(vec![
        ("enabled", json!(key.enabled())),
        ("tags", owned_tags(&key_tags, &tags(&b.app, None))),
    ]);
    Ok(Some(r))
}

async fn read_usage_plan(b: &AwsBackend, api_id: &str) -> Result<Option<Resource>, AwsError> {
    let name = names::rest_api(&b.app);
    let plan_name = format!("{name}-usage");
    let plans = b
        .clients
        .apigw
        .get_usage_plans()
        .send()
        .await
        .or_api_error("GetUsagePlans", &plan_name)?;
    let Some(plan) = plans
        .items()
        .iter()
        .find(|p| p.name() == Some(plan_name.as_str()))
    else {
        return Ok(None);
    };
    let stage = plan
        .api_stages()
        .first()
        .filter(|s| s.api_id() == Some(api_id))
        .and_then(|s| s.stage())
        .map(|s| format!("{name}/{s}"))
        .unwrap_or_default();
    let mut r = Resource::new("usage_plan", &plan_name);
    r.attrs = attrs(vec![("api_stage", json!(stage))]);
    Ok(Some(r))
}

/// The API's id: read, or learnt when this run created the API.
async fn rest_api_id(shared: &Shared) -> String {
    shared
        .ids
        .lock()
        .await
        .rest_api_id
        .clone()
        .unwrap_or_default()
}

/// The API's id and the id of its resource at `path`.
async fn api_and_resource(path: &str, shared: &Shared) -> Result<(String, String), AwsError> {
    let ids = shared.ids.lock().await;
    let api = ids.rest_api_id.clone().unwrap_or_default();
    let resource = ids
        .resource_ids
        .get(path)
        .cloned()
        .ok_or_else(|| AwsError::Api {
            operation: "ResolveResource",
            resource: path.to_string(),
            message: "the API resource for this path is unknown".into(),
            hint: Some("run the deploy again".into()),
        })?;
    Ok((api, resource))
}

async fn put_rest_api(
    b: &AwsBackend,
    change: &Change,
    after: &Attrs,
    shared: &Shared,
) -> Result<(), AwsError> {
    let apigw = &b.clients.apigw;
    let name = change.id.name.as_str();
    if change.action == Action::Create {
        let endpoint = aws_sdk_apigateway::types::EndpointConfiguration::builder()
            .types(aws_sdk_apigateway::types::EndpointType::Regional)
            .build();
        let out = apigw
            .create_rest_api()
            .name(name)
            .description("managed by fnctl")
            .endpoint_configuration(endpoint)
            .set_tags(Some(string_map(&after["tags"])))
            .send()
            .await
            .or_api_error("CreateRestApi", name)?;
        let id = out.id().unwrap_or_default().to_string();
        let root = apigw
            .get_resources()
            .rest_api_id(&id)
            .send()
            .await
            .or_api_error("GetResources", name)?;
        let mut ids = shared.ids.lock().await;
        ids.rest_api_id = Some(id);
        for r in root.items() {
            if let (Some(p), Some(i)) = (r.path(), r.id()) {
                ids.resource_ids.insert(p.to_string(), i.to_string());
            }
        }
        return Ok(());
    }
    let id = rest_api_id(shared).await;
    if change.changed.iter().any(|c| c == "tags") {
        let arn = format!("arn:aws:apigateway:{}::/restapis/{id}", b.clients.region);
        apigw
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(string_map(&after["tags"])))
            .send()
            .await
            .or_api_error("TagResource", name)?;
    }
    Ok(())
}

async fn put_resource(b: &AwsBackend, after: &Attrs, shared: &Shared) -> Result<(), AwsError> {
    let path = after["path"].as_str().unwrap_or_default();
    let (api, parent) = api_and_resource(after["parent"].as_str().unwrap_or("/"), shared).await?;
    let part = path.rsplit('/').next().unwrap_or_default();
    let out = b
        .clients
        .apigw
        .create_resource()
        .rest_api_id(&api)
        .parent_id(&parent)
        .path_part(part)
        .send()
        .await
        .or_api_error("CreateResource", path)?;
    shared
        .ids
        .lock()
        .await
        .resource_ids
        .insert(path.to_string(), out.id().unwrap_or_default().to_string());
    Ok(())
}

async fn put_method(
    b: &AwsBackend,
    change: &Change,
    after: &Attrs,
    shared: &Shared,
) -> Result<(), AwsError> {
    let apigw = &b.clients.apigw;
    let path = after["path"].as_str().unwrap_or("/");
    let method = after["http_method"].as_str().unwrap_or("ANY");
    let (api, resource) = api_and_resource(path, shared).await?;
    if after["integration"]["type"] == "MOCK" {
        return api_cors::put_preflight(b, change, after, &api, &resource).await;
    }
    if change.action == Action::Update {
        gone_ok(
            apigw
                .delete_method()
                .rest_api_id(&api)
                .resource_id(&resource)
                .http_method(method)
                .send()
                .await,
            &["NotFoundException"],
            "DeleteMethod",
            &change.id.name,
        )?;
    }
    apigw
        .put_method()
        .rest_api_id(&api)
        .resource_id(&resource)
        .http_method(method)
        .authorization_type("NONE")
        .api_key_required(after["api_key_required"].as_bool().unwrap_or(false))
        .send()
        .await
        .or_api_error("PutMethod", &change.id.name)?;
    let target = after["integration"]["target"].as_str().unwrap_or_default();
    let account = shared.ids.lock().await.account.clone();
    let region = &b.clients.region;
    let uri = format!(
        "arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{}/invocations",
        arn::lambda_function(region, &account, target)
    );
    apigw
        .put_integration()
        .rest_api_id(&api)
        .resource_id(&resource)
        .http_method(method)
        .r#type(aws_sdk_apigateway::types::IntegrationType::AwsProxy)
        .integration_http_method("POST")
        .uri(uri)
        .send()
        .await
        .or_api_error("PutIntegration", &change.id.name)?;
    Ok(())
}

async fn put_deployment(b: &AwsBackend, after: &Attrs, shared: &Shared) -> Result<(), AwsError> {
    let api = rest_api_id(shared).await;
    let digest = after["routes_digest"].as_str().unwrap_or_default();
    b.clients
        .apigw
        .create_deployment()
        .rest_api_id(&api)
        .stage_name(&b.app.stage)
        .description(format!("{DEPLOYMENT_PREFIX}{digest}"))
        .send()
        .await
        .or_api_error("CreateDeployment", format!("{api}/{}", b.app.stage))?;
    Ok(())
}

/// Deploys the stage again after methods, resources or gateway responses
/// were deleted ([`Kind::after_deletes`], once per deploy). The engine
/// deletes after every create and update, so the deployment this run made
/// (a snapshot of the API) still holds what was deleted since: without
/// another one the stage would go on serving a removed route (with its
/// function gone: 502), answering preflights and adding CORS headers to its
/// errors. The description is the digest the plan wanted, computed offline
/// from the app, so a read after the apply still matches the plan. The
/// API's own deletion skips this (its parts are deleted with it, see
/// [`Kind::deleted_with`]), and so does an app left with no routes (no
/// deployment is desired; the stage is deleted).
async fn redeploy_after_delete(b: &AwsBackend, shared: &Shared) -> Result<(), AwsError> {
    let mut desired = Vec::new();
    Api.desired(&b.app, &CodeDigests(BTreeMap::new()), &mut desired);
    let Some(deployment) = desired.iter().find(|r| r.id.kind == "api_deployment") else {
        return Ok(());
    };
    put_deployment(b, &deployment.attrs, shared).await
}

async fn put_api_key(
    b: &AwsBackend,
    change: &Change,
    name: &str,
    after: &Attrs,
) -> Result<(), AwsError> {
    if change.action == Action::Create {
        b.clients
            .apigw
            .create_api_key()
            .name(name)
            .enabled(true)
            .set_tags(Some(string_map(&after["tags"])))
            .send()
            .await
            .or_api_error("CreateApiKey", name)?;
    }
    Ok(())
}

async fn put_usage_plan(
    b: &AwsBackend,
    change: &Change,
    name: &str,
    shared: &Shared,
) -> Result<(), AwsError> {
    let apigw = &b.clients.apigw;
    let api = rest_api_id(shared).await;
    if change.action != Action::Create {
        return Ok(());
    }
    let stage = aws_sdk_apigateway::types::ApiStage::builder()
        .api_id(&api)
        .stage(&b.app.stage)
        .build();
    let plan = apigw
        .create_usage_plan()
        .name(name)
        .api_stages(stage)
        .send()
        .await
        .or_api_error("CreateUsagePlan", name)?;
    if let Some(key) = b.find_api_key(false).await? {
        apigw
            .create_usage_plan_key()
            .usage_plan_id(plan.id().unwrap_or_default())
            .key_id(key.id().unwrap_or_default())
            .key_type("API_KEY")
            .send()
            .await
            .or_api_error("CreateUsagePlanKey", name)?;
    }
    Ok(())
}

async fn delete_api_key(b: &AwsBackend, name: &str) -> Result<(), AwsError> {
    let apigw = &b.clients.apigw;
    let keys = apigw
        .get_api_keys()
        .name_query(name)
        .send()
        .await
        .or_api_error("GetApiKeys", name)?;
    for k in keys.items().iter().filter(|k| k.name() == Some(name)) {
        apigw
            .delete_api_key()
            .api_key(k.id().unwrap_or_default())
            .send()
            .await
            .or_api_error("DeleteApiKey", name)?;
    }
    Ok(())
}

/// Detaches the plan from its stages (a plan in use cannot be deleted),
/// then deletes it.
async fn delete_usage_plan(b: &AwsBackend, name: &str) -> Result<(), AwsError> {
    let apigw = &b.clients.apigw;
    let plans = apigw
        .get_usage_plans()
        .send()
        .await
        .or_api_error("GetUsagePlans", name)?;
    for p in plans.items().iter().filter(|p| p.name() == Some(name)) {
        let id = p.id().unwrap_or_default();
        let stages: Vec<String> = p
            .api_stages()
            .iter()
            .map(|s| {
                format!(
                    "{}:{}",
                    s.api_id().unwrap_or_default(),
                    s.stage().unwrap_or_default()
                )
            })
            .collect();
        if !stages.is_empty() {
            let ops: Vec<_> = stages
                .iter()
                .map(|s| {
                    aws_sdk_apigateway::types::PatchOperation::builder()
                        .op(aws_sdk_apigateway::types::Op::Remove)
                        .path("/apiStages")
                        .value(s)
                        .build()
                })
                .collect();
            let _ = apigw
                .update_usage_plan()
                .usage_plan_id(id)
                .set_patch_operations(Some(ops))
                .send()
                .await;
        }
        apigw
            .delete_usage_plan()
            .usage_plan_id(id)
            .send()
            .await
            .or_api_error("DeleteUsagePlan", name)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_chain_lists_parents_first() {
        let r = Route::parse("/users/{id}/files/{path+}").unwrap();
        assert_eq!(
            resource_chain(&r),
            vec![
                "/users",
                "/users/{id}",
                "/users/{id}/files",
                "/users/{id}/files/{path+}"
            ]
        );
        assert!(resource_chain(&Route::parse("/").unwrap()).is_empty());
    }
}
