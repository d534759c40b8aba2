//! CORS on a REST API, on moto: the preflight `OPTIONS` methods (mock
//! integrations) exist exactly on the paths with CORS, carry the headers in
//! their integration responses, the gateway's `DEFAULT_4XX` / `DEFAULT_5XX`
//! responses carry the origin, everything is read back so a redeploy is a
//! no-op, a changed setting changes only its path's preflight (and the
//! deployment), and dropping CORS removes all of it.
//!
//! No preflight request is sent: moto does not route requests to a mock
//! integration, and ../shared/moto-exec (which routes REST API requests to
//! functions) says "CORS preflight (no OPTIONS mock integrations)" is not
//! covered. What API Gateway answers is what these settings say; the
//! settings are what this test reads back.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::common::{python_project, MotoClients};
use crate::faults::fnctl_json_at;
use crate::moto::Moto;

const MANIFEST: &str = r#"
[app]
name = "corsy"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"

CORS

[functions.orders]
handler = "app.handler"
# Only the code: the manifest, edited between deploys, stays out of it.
include = ["app.py"]
[[functions.orders.triggers]]
type = "http"
method = "GET"
path = "/orders"
[[functions.orders.triggers]]
type = "http"
method = "POST"
path = "/orders"
auth = "key"
[[functions.orders.triggers]]
type = "http"
method = "GET"
path = "/orders/{id}"
cors = { max_age = MAX_AGE }
[[functions.orders.triggers]]
type = "http"
method = "GET"
path = "/health"
cors = false
"#;

const CORS: &str = "[http.cors]\norigins = [\"https://a.example\", \"https://b.example\"]\ncredentials = true\nexpose_headers = [\"X-Request-Id\"]\n";

fn manifest(cors: bool, max_age: u32) -> String {
    let m = MANIFEST.replace("MAX_AGE", &max_age.to_string());
    if cors {
        m.replace("CORS", CORS)
    } else {
        m.replace("CORS", "")
            .replace(&format!("cors = {{ max_age = {max_age} }}\n"), "")
            .replace("cors = false\n", "")
    }
}

fn deploy(moto: &Moto, path: &Path) -> Value {
    let (code, doc, stderr) = fnctl_json_at(moto, &moto.endpoint, path, &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    // Read again after apply and compared with the plan.
    assert_eq!(doc["deployments"][0]["verified"], true, "{doc:#}");
    doc
}

/// (action, kind name, changed fields) of every change that did something.
fn changes(doc: &Value) -> Vec<(String, String, Vec<String>)> {
    doc["deployments"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op" && c["action"] != "noop")
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_string(),
                format!(
                    "{} {}",
                    c["id"]["kind"].as_str().unwrap(),
                    c["id"]["name"].as_str().unwrap()
                ),
                c["changed"]
                    .as_array()
                    .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// What the API holds, read with the SDK: per path, its methods, and for
/// OPTIONS the whole method; the customised gateway responses.
struct Read {
    methods: BTreeMap<String, Vec<String>>,
    options: BTreeMap<String, aws_sdk_apigateway::operation::get_method::GetMethodOutput>,
    responses: BTreeMap<String, BTreeMap<String, String>>,
}

fn read(moto: &Moto) -> Read {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = MotoClients::new(moto, "us-east-1").await;
        let apis = c.apigw.get_rest_apis().send().await.unwrap();
        let api = apis.items()[0].id().unwrap().to_string();
        let resources = c
            .apigw
            .get_resources()
            .rest_api_id(&api)
            .send()
            .await
            .unwrap();
        let mut methods = BTreeMap::new();
        let mut options = BTreeMap::new();
        for r in resources.items() {
            let path = r.path().unwrap().to_string();
            let mut ms: Vec<String> = r
                .resource_methods()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            ms.sort();
            if ms.iter().any(|m| m == "OPTIONS") {
                let got = c
                    .apigw
                    .get_method()
                    .rest_api_id(&api)
                    .resource_id(r.id().unwrap())
                    .http_method("OPTIONS")
                    .send()
                    .await
                    .unwrap();
                options.insert(path.clone(), got);
            }
            if !ms.is_empty() {
                methods.insert(path, ms);
            }
        }
        let got = c
            .apigw
            .get_gateway_responses()
            .rest_api_id(&api)
            .send()
            .await
            .unwrap();
        let responses = got
            .items()
            .iter()
            .filter(|g| !g.default_response())
            .map(|g| {
                (
                    g.response_type().unwrap().as_str().to_string(),
                    g.response_parameters()
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .collect(),
                )
            })
            .collect();
        Read {
            methods,
            options,
            responses,
        }
    })
}

fn header(
    m: &aws_sdk_apigateway::operation::get_method::GetMethodOutput,
    name: &str,
) -> Option<String> {
    m.method_integration()?
        .integration_responses()?
        .get("200")?
        .response_parameters()?
        .get(&format!("method.response.header.{name}"))
        .cloned()
}

#[test]
fn rest_cors_is_deployed_read_back_changed_and_removed() {
    let moto = Moto::start();
    let (_dir, path) = python_project(&manifest(true, 600));

    deploy(&moto, &path);
    let got = read(&moto);
    // Preflights exactly on the paths with CORS: not /health (cors = false),
    // not the parent-only /  (no route).
    assert_eq!(
        got.options.keys().collect::<Vec<_>>(),
        vec!["/orders", "/orders/{id}"],
        "{:?}",
        got.methods
    );
    assert_eq!(got.methods["/health"], vec!["GET"]);
    assert_eq!(got.methods["/orders"], vec!["GET", "OPTIONS", "POST"]);

    let orders = &got.options["/orders"];
    let integration = orders.method_integration().unwrap();
    assert_eq!(integration.r#type().unwrap().as_str(), "MOCK");
    assert_eq!(
        integration.request_templates().unwrap()["application/json"],
        "{\"statusCode\": 200}"
    );
    assert_eq!(orders.authorization_type(), Some("NONE"));
    assert_eq!(
        orders.api_key_required(),
        Some(false),
        "POST /orders needs a key, its preflight must not"
    );
    let declared: Vec<String> = {
        let mut d: Vec<String> = orders.method_responses().unwrap()["200"]
            .response_parameters()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        d.sort();
        d
    };
    assert_eq!(
        declared,
        [
            "Access-Control-Allow-Credentials",
            "Access-Control-Allow-Headers",
            "Access-Control-Allow-Methods",
            "Access-Control-Allow-Origin",
            "Vary",
        ]
        .map(|h| format!("method.response.header.{h}"))
    );
    assert_eq!(
        header(orders, "Access-Control-Allow-Methods").as_deref(),
        Some("'GET,POST,OPTIONS'")
    );
    assert_eq!(
        header(orders, "Access-Control-Allow-Origin").as_deref(),
        Some("'https://a.example'")
    );
    assert_eq!(
        header(orders, "Access-Control-Allow-Credentials").as_deref(),
        Some("'true'")
    );
    assert_eq!(
        header(orders, "Access-Control-Allow-Headers").as_deref(),
        Some("'Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token'")
    );
    assert_eq!(header(orders, "Access-Control-Max-Age"), None);
    assert_eq!(
        header(orders, "Access-Control-Expose-Headers"),
        None,
        "not a preflight header"
    );
    let template = integration.integration_responses().unwrap()["200"]
        .response_templates()
        .unwrap()["application/json"]
        .clone();
    assert!(
        template.contains("$origin == 'https://b.example'")
            && template.contains("$context.responseOverride.header.Access-Control-Allow-Origin"),
        "{template}"
    );
    assert_eq!(
        header(&got.options["/orders/{id}"], "Access-Control-Max-Age").as_deref(),
        Some("'600'")
    );
    assert_eq!(
        header(&got.options["/orders/{id}"], "Access-Control-Allow-Methods").as_deref(),
        Some("'GET,OPTIONS'")
    );

    // The gateway's own errors: two origins, so the request's is echoed.
    assert_eq!(
        got.responses.keys().collect::<Vec<_>>(),
        vec!["DEFAULT_4XX", "DEFAULT_5XX"]
    );
    for params in got.responses.values() {
        assert_eq!(
            params["gatewayresponse.header.Access-Control-Allow-Origin"],
            "method.request.header.Origin"
        );
        assert_eq!(
            params["gatewayresponse.header.Access-Control-Allow-Credentials"],
            "'true'"
        );
    }

    // Read back in the same terms: an unchanged redeploy changes nothing.
    let doc = deploy(&moto, &path);
    assert_eq!(changes(&doc), vec![], "{doc:#}");
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");

    // A changed max age: that path's preflight response and the stage.
    std::fs::write(&path, manifest(true, 60)).unwrap();
    let doc = deploy(&moto, &path);
    assert_eq!(
        changes(&doc),
        vec![
            (
                "update".to_string(),
                "api_method OPTIONS corsy-dev/orders/{id}".to_string(),
                vec!["integration_response".to_string()]
            ),
            (
                "update".to_string(),
                "api_deployment corsy-dev/dev".to_string(),
                vec!["routes_digest".to_string()]
            ),
        ],
        "{doc:#}"
    );
    assert_eq!(
        doc["deployments"][0]["mutating_calls"], 2,
        "PutIntegrationResponse and CreateDeployment: {doc:#}"
    );
    let got = read(&moto);
    assert_eq!(
        header(&got.options["/orders/{id}"], "Access-Control-Max-Age").as_deref(),
        Some("'60'")
    );

    // No CORS: preflights and gateway responses are gone.
    std::fs::write(&path, manifest(false, 60)).unwrap();
    let doc = deploy(&moto, &path);
    let mut deleted: Vec<String> = changes(&doc)
        .into_iter()
        .filter(|(a, _, _)| a == "delete")
        .map(|(_, n, _)| n)
        .collect();
    deleted.sort();
    assert_eq!(
        deleted,
        vec![
            "api_gateway_response corsy-dev/DEFAULT_4XX",
            "api_gateway_response corsy-dev/DEFAULT_5XX",
            "api_method OPTIONS corsy-dev/orders",
            "api_method OPTIONS corsy-dev/orders/{id}",
        ],
        "{doc:#}"
    );
    // The deployment (an update: the digest changed) is made before the
    // engine's deletes, so the stage is deployed once more after them: else
    // its snapshot would keep answering preflights. moto keeps no snapshot
    // (no `embed=apisummary`), so the calls are what is checked: 4
    // deletes, the planned deployment and one redeploy.
    assert_eq!(doc["deployments"][0]["mutating_calls"], 6, "{doc:#}");
    let got = read(&moto);
    assert!(got.options.is_empty(), "{:?}", got.methods);
    assert!(got.responses.is_empty(), "{:?}", got.responses);
    let doc = deploy(&moto, &path);
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");
}
