//! CORS on the REST API: the parts [`super`] (the REST API's module, whose
//! submodule this is) adds for routes with `cors`.
//!
//! Who adds which header on a REST API with Lambda proxy integrations:
//! - the **preflight** (`OPTIONS`) is answered by the gateway itself: one
//!   `OPTIONS` method per API resource (path) with a CORS route, on a MOCK
//!   integration, whose integration response sets the `Access-Control-*`
//!   headers. A proxy integration passes the function's answer through
//!   unchanged, so nothing fnctl configures can add headers to it;
//! - the gateway's **own errors** (403 `Missing Authentication Token`, 429,
//!   504, ...) carry `Access-Control-Allow-Origin` (and `-Credentials`)
//!   through the `DEFAULT_4XX` and `DEFAULT_5XX` gateway responses, so a
//!   browser shows the status instead of a CORS failure;
//! - the **handler** sets `Access-Control-Allow-Origin` (and
//!   `-Credentials`, `-Expose-Headers`) on its own responses
//!   (docs/manifest.md says so; `fnctl dev` warns when they are missing).
//!
//! Sources: <https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-cors.html>
//! (OPTIONS with a mock integration, a 200 method response declaring the
//! headers, passthrough NEVER, static values in single quotes; with a
//! Lambda proxy integration "your backend is responsible for returning the
//! Access-Control-Allow-Origin and Access-Control-Allow-Headers headers,
//! because a proxy integration doesn't return an integration response") and
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html>.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::model::route::ALL_METHODS;
use crate::model::{App, Cors, HttpTrigger};
use crate::plan::{Action, Attrs, Change, Resource};
use crate::provider::aws::backend::{gone_ok, AwsBackend, AwsError, SdkResultExt};
use crate::provider::aws::kinds::common::attrs;
use crate::provider::aws::names;

/// What a mock integration's request template must produce for it to
/// answer 200 (the mock integration selects its response by `statusCode`).
pub const MOCK_REQUEST_TEMPLATE: &str = "{\"statusCode\": 200}";

/// The gateway responses fnctl customises: every 4XX and 5XX the gateway
/// answers on its own falls back to these when its own type (e.g.
/// `MISSING_AUTHENTICATION_TOKEN`, `THROTTLED`, `INTEGRATION_TIMEOUT`) is
/// not customised.
pub const GATEWAY_RESPONSE_TYPES: &[&str] = &["DEFAULT_4XX", "DEFAULT_5XX"];

const METHOD_HEADER: &str = "method.response.header.";
const GATEWAY_HEADER: &str = "gatewayresponse.header.";

/// The preflight answer of one API resource: the CORS settings its routes
/// share (checks refuse routes on one path whose settings differ) and the
/// union of the methods they allow.
pub struct Preflight {
    pub path: String,
    pub cors: Cors,
    pub methods: Vec<String>,
}

/// One preflight per path that has at least one route with CORS, in path
/// order. `routes` are (path, trigger) pairs in manifest order.
pub fn preflights<'a>(routes: impl Iterator<Item = (String, &'a HttpTrigger)>) -> Vec<Preflight> {
    let mut by_path: BTreeMap<String, Preflight> = BTreeMap::new();
    for (path, h) in routes {
        let Some(cors) = &h.cors else { continue };
        let allowed = cors.allow_methods(&h.methods);
        let p = by_path.entry(path.clone()).or_insert_with(|| Preflight {
            path,
            cors: cors.clone(),
            methods: Vec::new(),
        });
        p.methods.extend(allowed);
    }
    for p in by_path.values_mut() {
        let set: BTreeSet<&str> = p.methods.iter().map(String::as_str).collect();
        p.methods = ALL_METHODS
            .iter()
            .filter(|m| set.contains(*m))
            .map(|m| m.to_string())
            .collect();
    }
    by_path.into_values().collect()
}

/// `value` as an API Gateway static mapping value: in single quotes.
fn quoted(value: &str) -> String {
    format!("'{value}'")
}

/// The preflight's `OPTIONS` method as an `api_method` resource.
///
/// `Access-Control-Expose-Headers` is not here: it belongs on actual
/// responses (the handler's), a preflight answer's is ignored
/// (<https://fetch.spec.whatwg.org/#http-responses>).
pub fn preflight_resource(app: &App, p: &Preflight) -> Resource {
    let c = &p.cors;
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    let mut templates: BTreeMap<String, String> = BTreeMap::new();
    params.insert(
        "Access-Control-Allow-Methods".into(),
        quoted(&p.methods.join(",")),
    );
    params.insert(
        "Access-Control-Allow-Headers".into(),
        quoted(&c.headers.join(",")),
    );
    if let Some(age) = c.max_age_s {
        params.insert("Access-Control-Max-Age".into(), quoted(&age.to_string()));
    }
    if c.credentials {
        params.insert("Access-Control-Allow-Credentials".into(), quoted("true"));
    }
    let origins: Vec<String> = c.origins.iter().map(|o| o.to_ascii_lowercase()).collect();
    // A static header holds one value. With several origins the first is
    // the static answer and the mapping template replaces it with the
    // request's Origin when that is another listed one: response templates
    // may override a response header through
    // `$context.responseOverride.header.<name>`
    // (<https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-override-request-response-parameters.html>).
    // An unlisted origin gets the first origin back, which the browser
    // rejects as it should. `Vary: Origin` keeps caches from serving one
    // origin's answer to another.
    // `origins` is never empty here (the manifest refuses `origins = []`).
    let first = origins.first().map_or("*", String::as_str);
    params.insert("Access-Control-Allow-Origin".into(), quoted(first));
    if origins.len() > 1 {
        params.insert("Vary".into(), quoted("Origin"));
        templates.insert("application/json".into(), origin_template(&origins[1..]));
    }
    let headers: Vec<&String> = params.keys().collect();
    Resource::new(
        "api_method",
        format!("OPTIONS {}{}", names::rest_api(app), p.path),
    )
    .attr("http_method", "OPTIONS")
    .attr("path", p.path.clone())
    .attr("authorization", "NONE")
    // A preflight carries no API key (browsers send no custom headers on
    // it), so it never requires one, even where the route does.
    .attr("api_key_required", false)
    .attr("integration", mock_integration())
    .attr("method_response", json!({ "200": headers }))
    .attr(
        "integration_response",
        json!({ "status": "200", "parameters": params, "templates": templates }),
    )
}

fn mock_integration() -> Value {
    json!({
        "type": "MOCK",
        "passthrough": "NEVER",
        "request_templates": { "application/json": MOCK_REQUEST_TEMPLATE },
    })
}

/// The response template that echoes the request's `Origin` when it is one
/// of `others` (already lower case; `check_origin` in the manifest refuses
/// quotes and anything but scheme, host and port). HTTP/2 clients send the
/// header in lower case, hence the second lookup.
fn origin_template(others: &[String]) -> String {
    let test = others
        .iter()
        .map(|o| format!("$origin == '{o}'"))
        .collect::<Vec<_>>()
        .join(" || ");
    format!(
        "#set($origin = $input.params().header.get('Origin'))\n\
         #if(\"$!origin\" == \"\")#set($origin = $input.params().header.get('origin'))#end\n\
         #if({test})\n\
         #set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)\n\
         #end\n"
    )
}

/// The preflight parts of a method read back, in [`preflight_resource`]'s
/// terms. `None` for a method that is not a mock (a route's own method).
pub fn preflight_attrs(
    integration: Option<&aws_sdk_apigateway::types::Integration>,
    method_responses: Option<
        &std::collections::HashMap<String, aws_sdk_apigateway::types::MethodResponse>,
    >,
) -> Option<Vec<(&'static str, Value)>> {
    let i = integration?;
    if i.r#type().map(|t| t.as_str()) != Some("MOCK") {
        return None;
    }
    let request_templates: BTreeMap<String, String> = i
        .request_templates()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let integration = json!({
        "type": "MOCK",
        "passthrough": i.passthrough_behavior().unwrap_or("WHEN_NO_MATCH"),
        "request_templates": request_templates,
    });
    let mut declared: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (status, r) in method_responses.into_iter().flatten() {
        let mut names: Vec<String> = r
            .response_parameters()
            .map(|p| {
                p.keys()
                    .filter_map(|k| k.strip_prefix(METHOD_HEADER))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        declared.insert(status.clone(), names);
    }
    let response = i
        .integration_responses()
        .and_then(|r| r.get("200"))
        .map(|r| {
            let params: BTreeMap<String, String> = r
                .response_parameters()
                .map(|p| {
                    p.iter()
                        .filter_map(|(k, v)| Some((k.strip_prefix(METHOD_HEADER)?.to_string(), v.clone())))
                        .collect()
                })
                .unwrap_or_default();
            // An empty template reads back as null (moto) or is left out.
            let templates: BTreeMap<String, String> = r
                .response_templates()
                .map(|t| {
                    t.iter()
                        .filter(|(_, v)| !v.is_empty())
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            json!({ "status": r.status_code().unwrap_or_default(), "parameters": params, "templates": templates })
        })
        .unwrap_or(Value::Null);
    Some(vec![
        ("integration", integration),
        ("method_response", json!(declared)),
        ("integration_response", response),
    ])
}

/// Whether a method read from GetResources' embedded copy lacks what a
/// preflight's read needs (a mock whose responses were left out), so it
/// must be read whole with GetMethod.
pub fn needs_full_read(m: &aws_sdk_apigateway::types::Method) -> bool {
    m.method_integration().is_some_and(|i| {
        i.r#type().map(|t| t.as_str()) == Some("MOCK") && i.integration_responses().is_none()
    })
}

/// Puts a preflight method: the method, its mock integration, the 200
/// method response and the integration response. When only the
/// integration response changed (a header's value), that is the one call.
pub async fn put_preflight(
    b: &AwsBackend,
    change: &Change,
    after: &Attrs,
    api: &str,
    resource: &str,
) -> Result<(), AwsError> {
    let apigw = &b.clients.apigw;
    let name = change.id.name.as_str();
    let only_response = change.action == Action::Update
        && change.changed.iter().all(|c| c == "integration_response");
    if !only_response {
        if change.action == Action::Update {
            gone_ok(
                apigw
                    .delete_method()
                    .rest_api_id(api)
                    .resource_id(resource)
                    .http_method("OPTIONS")
                    .send()
                    .await,
                &["NotFoundException"],
                "DeleteMethod",
                name,
            )?;
        }
        apigw
            .put_method()
            .rest_api_id(api)
            .resource_id(resource)
            .http_method("OPTIONS")
            .authorization_type("NONE")
            .api_key_required(false)
            .send()
            .await
            .or_api_error("PutMethod", name)?;
        apigw
            .put_integration()
            .rest_api_id(api)
            .resource_id(resource)
            .http_method("OPTIONS")
            .r#type(aws_sdk_apigateway::types::IntegrationType::Mock)
            .passthrough_behavior("NEVER")
            .request_templates("application/json", MOCK_REQUEST_TEMPLATE)
            .send()
            .await
            .or_api_error("PutIntegration", name)?;
        let declared: std::collections::HashMap<String, bool> = after["method_response"]["200"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|h| (format!("{METHOD_HEADER}{h}"), false))
            .collect();
        apigw
            .put_method_response()
            .rest_api_id(api)
            .resource_id(resource)
            .http_method("OPTIONS")
            .status_code("200")
            .set_response_parameters(Some(declared))
            .send()
            .await
            .or_api_error("PutMethodResponse", name)?;
    }
    let response = &after["integration_response"];
    let params: std::collections::HashMap<String, String> = string_map(&response["parameters"])
        .into_iter()
        .map(|(k, v)| (format!("{METHOD_HEADER}{k}"), v))
        .collect();
    let templates = string_map(&response["templates"]);
    apigw
        .put_integration_response()
        .rest_api_id(api)
        .resource_id(resource)
        .http_method("OPTIONS")
        .status_code("200")
        .set_response_parameters(Some(params))
        .set_response_templates((!templates.is_empty()).then_some(templates))
        .send()
        .await
        .or_api_error("PutIntegrationResponse", name)?;
    Ok(())
}

fn string_map(v: &Value) -> std::collections::HashMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The `DEFAULT_4XX` / `DEFAULT_5XX` gateway responses an app with CORS on
/// any route needs, as `api_gateway_response` resources.
///
/// Gateway responses belong to the whole API, not to a route, so they
/// allow the union of the routes' origins: `*` when that is all and no
/// route uses credentials, the origin itself when there is one, else the
/// request's `Origin` header (`method.request.header.Origin`, the mapping
/// source gateway responses take, see
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-gateway-responses.responseParameters.html>).
/// A gateway response's template is not run through VTL, so it cannot test
/// the origin against a list: with several origins the gateway's own error
/// answers (which carry no data of the app) are readable from any origin.
pub fn gateway_responses<'a>(app: &App, cors: impl Iterator<Item = &'a Cors>) -> Vec<Resource> {
    let mut origins: BTreeSet<String> = BTreeSet::new();
    let mut credentials = false;
    let mut any = false;
    for c in cors {
        any = true;
        origins.extend(c.origins.iter().map(|o| o.to_ascii_lowercase()));
        credentials |= c.credentials;
    }
    if !any {
        return Vec::new();
    }
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    let only: Vec<&String> = origins.iter().collect();
    match only.as_slice() {
        [o] if o.as_str() != "*" || !credentials => {
            params.insert("Access-Control-Allow-Origin".into(), quoted(o));
        }
        _ => {
            params.insert(
                "Access-Control-Allow-Origin".into(),
                "method.request.header.Origin".into(),
            );
            params.insert("Vary".into(), quoted("Origin"));
        }
    }
    if credentials {
        params.insert("Access-Control-Allow-Credentials".into(), quoted("true"));
    }
    GATEWAY_RESPONSE_TYPES
        .iter()
        .map(|t| {
            Resource::new(
                "api_gateway_response",
                format!("{}/{t}", names::rest_api(app)),
            )
            .attr("response_type", *t)
            .attr("parameters", json!(params))
        })
        .collect()
}

/// The lines a gateway-response resource adds to the deployment digest:
/// gateway responses, like methods, take effect only when deployed.
pub fn digest_line(r: &Resource) -> String {
    format!(
        "{} -> {}",
        r.attrs["response_type"].as_str().unwrap_or_default(),
        r.attrs["parameters"]
    )
}

/// fnctl's gateway responses read back: the customised (not
/// `defaultResponse`) `DEFAULT_4XX` / `DEFAULT_5XX`. AWS lists every type,
/// the ones never customised with `defaultResponse: true`; moto lists only
/// the ones put.
pub async fn read_gateway_responses(
    b: &AwsBackend,
    api_id: &str,
) -> Result<Vec<Resource>, AwsError> {
    let name = names::rest_api(&b.app);
    let got = b
        .clients
        .apigw
        .get_gateway_responses()
        .rest_api_id(api_id)
        .limit(500)
        .send()
        .await
        .or_api_error("GetGatewayResponses", &name)?;
    let mut out = Vec::new();
    for g in got.items() {
        let Some(t) = g.response_type().map(|t| t.as_str()) else {
            continue;
        };
        if !GATEWAY_RESPONSE_TYPES.contains(&t) || g.default_response() {
            continue;
        }
        let params: Map<String, Value> = g
            .response_parameters()
            .map(|p| {
                p.iter()
                    .filter_map(|(k, v)| {
                        Some((k.strip_prefix(GATEWAY_HEADER)?.to_string(), json!(v)))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut r = Resource::new("api_gateway_response", format!("{name}/{t}"));
        r.attrs = attrs(vec![
            ("response_type", json!(t)),
            ("parameters", Value::Object(params)),
        ]);
        out.push(r);
    }
    out.sort_by(|a, b| a.id.name.cmp(&b.id.name));
    Ok(out)
}

/// Puts a gateway response (PutGatewayResponse replaces it whole), keeping
/// the type's default status code.
pub async fn put_gateway_response(
    b: &AwsBackend,
    change: &Change,
    after: &Attrs,
    api: &str,
) -> Result<(), AwsError> {
    let t = after["response_type"].as_str().unwrap_or_default();
    let params: std::collections::HashMap<String, String> = string_map(&after["parameters"])
        .into_iter()
        .map(|(k, v)| (format!("{GATEWAY_HEADER}{k}"), v))
        .collect();
    b.clients
        .apigw
        .put_gateway_response()
        .rest_api_id(api)
        .response_type(aws_sdk_apigateway::types::GatewayResponseType::from(t))
        .set_response_parameters(Some(params))
        .send()
        .await
        .or_api_error("PutGatewayResponse", &change.id.name)?;
    Ok(())
}

/// Deletes a gateway response: the type goes back to API Gateway's default
/// (no CORS headers).
pub async fn delete_gateway_response(
    b: &AwsBackend,
    change: &Change,
    api: &str,
) -> Result<(), AwsError> {
    let before = change
        .before
        .as_ref()
        .expect("deletes carry the live attributes");
    let t = before["response_type"].as_str().unwrap_or_default();
    gone_ok(
        b.clients
            .apigw
            .delete_gateway_response()
            .rest_api_id(api)
            .response_type(aws_sdk_apigateway::types::GatewayResponseType::from(t))
            .send()
            .await,
        &["NotFoundException"],
        "DeleteGatewayResponse",
        &change.id.name,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{App, Trigger};

    fn app(extra: &str) -> App {
        crate::manifest::test_app(format!(
            r#"
[app]
name = "shop"
runtime = "python3.12"
[providers.aws]
region = "us-east-1"
{extra}
[functions.api]
handler = "h.main"
[[functions.api.triggers]]
type = "http"
method = "GET"
path = "/orders"
[[functions.api.triggers]]
type = "http"
method = "POST"
path = "/orders"
[[functions.api.triggers]]
type = "http"
method = "GET"
path = "/health"
cors = false
"#
        ))
    }

    fn routes(app: &App) -> Vec<(String, &HttpTrigger)> {
        app.functions["api"]
            .triggers
            .iter()
            .filter_map(|t| match t {
                Trigger::Http(h) => Some((h.route.to_string(), h)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn one_preflight_per_cors_path_allowing_the_union_of_its_methods() {
        let a = app("[http.cors]\nmax_age = 600\n");
        let p = preflights(routes(&a).into_iter());
        assert_eq!(p.len(), 1, "/health has cors = false");
        assert_eq!(p[0].path, "/orders");
        assert_eq!(p[0].methods, vec!["GET", "POST", "OPTIONS"]);
        let r = preflight_resource(&a, &p[0]);
        let params = &r.attrs["integration_response"]["parameters"];
        assert_eq!(params["Access-Control-Allow-Methods"], "'GET,POST,OPTIONS'");
        assert_eq!(params["Access-Control-Allow-Origin"], "'*'");
        assert_eq!(params["Access-Control-Max-Age"], "'600'");
        assert!(params.get("Access-Control-Allow-Credentials").is_none());
        assert_eq!(r.attrs["api_key_required"], false);
        assert_eq!(
            r.attrs["integration_response"]["templates"],
            json!({}),
            "one origin needs no template"
        );
    }

    #[test]
    fn several_origins_answer_the_first_and_echo_the_others_by_template() {
        let a = app(
            "[http.cors]\norigins = [\"https://a.example\", \"https://B.example\"]\ncredentials = true\n",
        );
        let p = preflights(routes(&a).into_iter());
        let r = preflight_resource(&a, &p[0]);
        let resp = &r.attrs["integration_response"];
        assert_eq!(
            resp["parameters"]["Access-Control-Allow-Origin"],
            "'https://a.example'"
        );
        assert_eq!(resp["parameters"]["Vary"], "'Origin'");
        assert_eq!(
            resp["parameters"]["Access-Control-Allow-Credentials"],
            "'true'"
        );
        let t = resp["templates"]["application/json"].as_str().unwrap();
        assert!(t.contains("$origin == 'https://b.example'"), "{t}");
        assert!(
            !t.contains("a.example"),
            "the first is the static answer: {t}"
        );
        assert!(
            t.contains("$context.responseOverride.header.Access-Control-Allow-Origin = $origin")
        );
        let g = gateway_responses(&a, a.cors.iter());
        assert_eq!(g.len(), 2);
        assert_eq!(
            g[0].attrs["parameters"]["Access-Control-Allow-Origin"],
            "method.request.header.Origin"
        );
        assert_eq!(g[1].attrs["response_type"], "DEFAULT_5XX");
    }

    #[test]
    fn no_cors_means_no_gateway_responses_and_one_origin_is_static() {
        assert!(gateway_responses(&app(""), std::iter::empty()).is_empty());
        let a = app("[http.cors]\norigins = [\"https://a.example\"]\n");
        let g = gateway_responses(&a, a.cors.iter());
        assert_eq!(
            g[0].attrs["parameters"],
            json!({"Access-Control-Allow-Origin": "'https://a.example'"})
        );
    }
}
