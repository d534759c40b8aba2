//! HTTP APIs on AWS (`[providers.aws] http = "http-api"`) against moto:
//! deploy, read back through API Gateway v2 (routes, integrations, the JWT
//! authorizer, CORS, the stage) and Lambda (the invoke permission), a
//! no-op redeploy, targeted updates, remove; and switching an app between
//! a REST API and an HTTP API.
//!
//! moto 5.2.5's gaps, and what these tests do about them:
//! - it has no GetAuthorizers (listing an API's authorizers answers 500,
//!   "not implemented"), which fnctl's read needs on AWS: [`Server`] runs
//!   moto through `tests/support/moto_http_api.py`, which adds that one
//!   operation, listing what moto already stores (its GetAuthorizer returns
//!   the same shape per authorizer);
//! - it serves no HTTP API stage, so routes are not called here (the same
//!   script routes requests through a deployed API:
//!   `tests/it/http_api_e2e.rs`);
//! - its UpdateRoute cannot clear scopes or an authorizer; fnctl does not
//!   rely on it (a route losing its authorization is recreated).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{fnctl, json_result, python_project, repo};

/// moto_server with GetAuthorizers and the HTTP API router
/// (`tests/support/moto_http_api.py`) on a free loopback port, stopped when
/// dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) endpoint: String,
    /// What the server and the handlers it runs printed, for failure messages.
    log: tempfile::NamedTempFile,
}

impl Server {
    pub(crate) fn start() -> Server {
        let python = repo().join(".venv-test/bin/python");
        assert!(
            python.is_file(),
            "{} not found: run `bash .ci/run` once (it installs moto into .venv-test)",
            python.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = tempfile::NamedTempFile::new().unwrap();
        // Appending, so the two streams share the file without overwriting.
        let appending = || {
            std::fs::File::options()
                .append(true)
                .open(log.path())
                .unwrap()
        };
        let mut child = Command::new(python)
            .arg(repo().join("tests/support/moto_http_api.py"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdout(Stdio::from(appending()))
            .stderr(Stdio::from(appending()))
            .spawn()
            .expect("moto starts");
        let endpoint = format!("http://127.0.0.1:{port}");
        // Polled until it answers (as `Moto::start` does); the deadline
        // only stops a broken start from hanging the test.
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "moto exited ({status}) before answering on {endpoint}:\n{}",
                    std::fs::read_to_string(log.path()).unwrap_or_default()
                );
            }
            if crate::moto::post_json(
                &format!("{endpoint}/moto-api/config"),
                r#"{"lambda":{"use_docker":false}}"#,
            )
            .is_ok()
            {
                return Server {
                    child,
                    endpoint,
                    log,
                };
            }
            assert!(
                Instant::now() < deadline,
                "moto did not answer on {endpoint}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything printed so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    pub(crate) async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "test", "test", None, None, "tests",
            ))
            .load()
            .await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The code is `app.py` alone, so editing the manifest changes no package.
const MANIFEST: &str = r#"
[app]
name = "shop"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"
http = "http-api"

[http.cors]
origins = ["https://app.example"]
headers = ["Content-Type", "Authorization"]
max_age = 300
credentials = true

[functions.items]
handler = "app.handler"
include = ["app.py"]
[[functions.items.triggers]]
type = "http"
method = "GET"
path = "/items/{id}"

[functions.orders]
handler = "app.handler"
include = ["app.py"]
timeout = 10
[[functions.orders.triggers]]
type = "http"
method = "POST"
path = "/orders"
auth = { jwt = { issuer = "https://issuer.example", audience = ["shop-api"], scopes = ["orders/write"] } }
"#;

fn fnctl_json(moto: &Server, manifest: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = fnctl()
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .arg("--manifest")
        .arg(manifest)
        .args(args)
        .args(["--output", "json"])
        .output()
        .unwrap();
    json_result(out)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// `(action, kind.name, changed fields)` of every change a deploy made.
fn changes(doc: &Value) -> Vec<(String, String, Vec<String>)> {
    doc["deployments"][0]["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc:#}"))
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_string(),
                format!(
                    "{}.{}",
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

fn deploy(moto: &Server, manifest: &Path) -> Value {
    let (code, doc, stderr) = fnctl_json(moto, manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true, "{doc:#}");
    doc
}

/// The app's HTTP APIs (by fnctl's name) as moto reports them.
async fn http_apis(v2: &aws_sdk_apigatewayv2::Client) -> Vec<aws_sdk_apigatewayv2::types::Api> {
    v2.get_apis()
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .filter(|a| a.name() == Some("shop-dev"))
        .cloned()
        .collect()
}

async fn rest_apis(apigw: &aws_sdk_apigateway::Client) -> Vec<String> {
    apigw
        .get_rest_apis()
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .filter(|a| a.name() == Some("shop-dev"))
        .filter_map(|a| a.id().map(str::to_string))
        .collect()
}

/// fnctl's statements in the policy of `function`'s `dev` alias: (sid, source ARN).
async fn permissions(lambda: &aws_sdk_lambda::Client, function: &str) -> Vec<(String, String)> {
    let policy = lambda
        .get_policy()
        .function_name(function)
        .qualifier("dev")
        .send()
        .await
        .unwrap();
    let doc: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["Sid"].as_str().unwrap().to_string(),
                s["Condition"]["ArnLike"]["AWS:SourceArn"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn an_http_api_with_cors_and_a_jwt_route_deploys_verifies_updates_in_place_and_removes() {
    let moto = Server::start();
    let (_dir, manifest) = python_project(MANIFEST);

    let doc = deploy(&moto, &manifest);
    let d = &doc["deployments"][0];
    let urls: Vec<&str> = d["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["url"].as_str().unwrap())
        .collect();

    let api_id = rt().block_on(async {
        let conf = moto.sdk_config().await;
        let v2 = aws_sdk_apigatewayv2::Client::new(&conf);
        let lambda = aws_sdk_lambda::Client::new(&conf);

        let apis = http_apis(&v2).await;
        assert_eq!(apis.len(), 1, "{apis:?}");
        let api = &apis[0];
        let id = api.api_id().unwrap().to_string();
        assert_eq!(api.protocol_type().unwrap().as_str(), "HTTP");
        let tags = api.tags().unwrap();
        assert_eq!(tags.get("fnctl:app").map(String::as_str), Some("shop"));
        assert_eq!(tags.get("fnctl:stage").map(String::as_str), Some("dev"));
        let cors = api.cors_configuration().expect("a CORS configuration");
        assert_eq!(cors.allow_origins(), ["https://app.example"]);
        let mut methods = cors.allow_methods().to_vec();
        methods.sort();
        assert_eq!(methods, ["GET", "OPTIONS", "POST"]);
        let mut headers: Vec<String> = cors
            .allow_headers()
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        headers.sort();
        assert_eq!(headers, ["authorization", "content-type"]);
        assert_eq!(cors.max_age(), Some(300));
        assert_eq!(cors.allow_credentials(), Some(true));

        // The URLs are the stage's, on the API's own host.
        assert_eq!(
            urls,
            [
                format!("https://{id}.execute-api.us-east-1.amazonaws.com/dev/items/{{id}}"),
                format!("https://{id}.execute-api.us-east-1.amazonaws.com/dev/orders"),
            ]
        );

        let integrations = v2.get_integrations().api_id(&id).send().await.unwrap();
        let integration = |function: &str| {
            integrations
                .items()
                .iter()
                .find(|i| {
                    i.integration_uri()
                        .unwrap_or_default()
                        .ends_with(&format!(":function:shop-dev-{function}:dev"))
                })
                .unwrap_or_else(|| panic!("no integration for {function}: {integrations:?}"))
                .clone()
        };
        assert_eq!(integrations.items().len(), 2);
        let (items, orders) = (integration("items"), integration("orders"));
        for i in [&items, &orders] {
            assert_eq!(i.integration_type().unwrap().as_str(), "AWS_PROXY");
            assert_eq!(i.payload_format_version(), Some("2.0"));
        }
        // min(function timeout, 30 s): `items` has the HTTP API's default
        // (30 s), `orders` its own 10 s.
        assert_eq!(items.timeout_in_millis(), Some(30_000));
        assert_eq!(orders.timeout_in_millis(), Some(10_000));

        let authorizers = v2.get_authorizers().api_id(&id).send().await.unwrap();
        assert_eq!(authorizers.items().len(), 1);
        let authorizer = &authorizers.items()[0];
        assert_eq!(authorizer.authorizer_type().unwrap().as_str(), "JWT");
        assert_eq!(
            authorizer.identity_source(),
            ["$request.header.Authorization"]
        );
        let jwt = authorizer.jwt_configuration().unwrap();
        assert_eq!(jwt.issuer(), Some("https://issuer.example"));
        assert_eq!(jwt.audience(), ["shop-api"]);

        let routes = v2.get_routes().api_id(&id).send().await.unwrap();
        let route = |key: &str| {
            routes
                .items()
                .iter()
                .find(|r| r.route_key() == Some(key))
                .unwrap_or_else(|| panic!("no route {key}: {routes:?}"))
                .clone()
        };
        assert_eq!(routes.items().len(), 2);
        let public = route("GET /items/{id}");
        assert_eq!(
            public.target(),
            Some(format!("integrations/{}", items.integration_id().unwrap()).as_str())
        );
        assert_eq!(
            public.authorization_type().map(|t| t.as_str()),
            Some("NONE")
        );
        assert_eq!(public.authorizer_id(), None);
        let protected = route("POST /orders");
        assert_eq!(
            protected.target(),
            Some(format!("integrations/{}", orders.integration_id().unwrap()).as_str())
        );
        assert_eq!(
            protected.authorization_type().map(|t| t.as_str()),
            Some("JWT")
        );
        assert_eq!(protected.authorizer_id(), authorizer.authorizer_id());
        assert_eq!(protected.authorization_scopes(), ["orders/write"]);

        let stage = v2
            .get_stage()
            .api_id(&id)
            .stage_name("dev")
            .send()
            .await
            .unwrap();
        assert_eq!(stage.auto_deploy(), Some(true));

        // API Gateway may invoke each function's alias from any stage,
        // method and path of this API, and of nothing else.
        for f in ["shop-dev-items", "shop-dev-orders"] {
            assert_eq!(
                permissions(&lambda, f).await,
                [(
                    "fnctl-http-api".to_string(),
                    format!("arn:aws:execute-api:us-east-1:123456789012:{id}/*/*")
                )]
            );
        }
        id
    });

    // Unchanged: nothing to do, not one mutating call.
    let doc = deploy(&moto, &manifest);
    assert!(changes(&doc).is_empty(), "{doc:#}");
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");

    // A route's scopes: that route, updated in place, and nothing else.
    let scoped = MANIFEST.replace(
        "scopes = [\"orders/write\"]",
        "scopes = [\"orders/write\", \"orders/admin\"]",
    );
    std::fs::write(&manifest, &scoped).unwrap();
    let doc = deploy(&moto, &manifest);
    assert_eq!(
        changes(&doc),
        [(
            "update".to_string(),
            "http_api_route.POST shop-dev/orders".to_string(),
            vec!["scopes".to_string()]
        )],
        "{doc:#}"
    );
    // The CORS max age: the API's CORS configuration, and nothing else.
    std::fs::write(&manifest, scoped.replace("max_age = 300", "max_age = 600")).unwrap();
    let doc = deploy(&moto, &manifest);
    assert_eq!(
        changes(&doc),
        [(
            "update".to_string(),
            "http_api.shop-dev".to_string(),
            vec!["cors".to_string()]
        )],
        "{doc:#}"
    );
    rt().block_on(async {
        let conf = moto.sdk_config().await;
        let v2 = aws_sdk_apigatewayv2::Client::new(&conf);
        let apis = http_apis(&v2).await;
        assert_eq!(apis.len(), 1);
        assert_eq!(
            apis[0].api_id(),
            Some(api_id.as_str()),
            "updated, not replaced"
        );
        assert_eq!(apis[0].cors_configuration().unwrap().max_age(), Some(600));
        let routes = v2.get_routes().api_id(&api_id).send().await.unwrap();
        let orders = routes
            .items()
            .iter()
            .find(|r| r.route_key() == Some("POST /orders"))
            .unwrap();
        let mut scopes = orders.authorization_scopes().to_vec();
        scopes.sort();
        assert_eq!(scopes, ["orders/admin", "orders/write"]);
    });

    // Made public: the route loses its authorizer and scopes.
    std::fs::write(
        &manifest,
        MANIFEST.replace(
            "auth = { jwt = { issuer = \"https://issuer.example\", audience = [\"shop-api\"], scopes = [\"orders/write\"] } }",
            "",
        ),
    )
    .unwrap();
    deploy(&moto, &manifest);
    rt().block_on(async {
        let conf = moto.sdk_config().await;
        let v2 = aws_sdk_apigatewayv2::Client::new(&conf);
        let routes = v2.get_routes().api_id(&api_id).send().await.unwrap();
        let orders = routes
            .items()
            .iter()
            .find(|r| r.route_key() == Some("POST /orders"))
            .unwrap();
        assert_eq!(
            orders.authorization_type().map(|t| t.as_str()),
            Some("NONE")
        );
        assert_eq!(orders.authorizer_id(), None);
        assert!(orders.authorization_scopes().is_empty());
        let authorizers = v2.get_authorizers().api_id(&api_id).send().await.unwrap();
        assert!(authorizers.items().is_empty(), "{authorizers:?}");
    });

    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["remove", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    rt().block_on(async {
        let conf = moto.sdk_config().await;
        let v2 = aws_sdk_apigatewayv2::Client::new(&conf);
        assert!(v2.get_apis().send().await.unwrap().items().is_empty());
    });
    rt().block_on(async {
        let conf = moto.sdk_config().await;
        let lambda = aws_sdk_lambda::Client::new(&conf);
        let functions = lambda.list_functions().send().await.unwrap();
        assert!(functions.functions().is_empty(), "{functions:?}");
    });
}

#[test]
fn switching_between_a_rest_api_and_an_http_api_replaces_the_api() {
    let moto = Server::start();
    let rest = "[app]\nname = \"shop\"\nruntime = \"python3.12\"\n\n[providers.aws]\nregion = \"us-east-1\"\n\n[functions.items]\nhandler = \"app.handler\"\n[[functions.items.triggers]]\ntype = \"http\"\nmethod = \"GET\"\npath = \"/items/{id}\"\n";
    let http = rest.replace(
        "region = \"us-east-1\"\n",
        "region = \"us-east-1\"\nhttp = \"http-api\"\n",
    );
    let (_dir, manifest) = python_project(rest);
    deploy(&moto, &manifest);

    std::fs::write(&manifest, &http).unwrap();
    // The plan says it before anything changes, in text and in JSON.
    let (code, plan, stderr) = fnctl_json(&moto, &manifest, &["plan", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}\n{plan:#}");
    let notes = plan["plans"][0]["notes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().is_some_and(|n| n.contains("to an HTTP API")
                && n.contains("every URL changes")
                && n.contains("payload format 2.0 events instead of 1.0"))),
        "{plan:#}"
    );
    let out = fnctl()
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .arg("--manifest")
        .arg(&manifest)
        .args(["plan", "-p", "aws"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let changes_end = text.find("- rest_api").expect("the old API is deleted");
    let note_at = text
        .find("note: this plan moves the routes from API ")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(note_at > changes_end, "under the changes: {text}");
    assert!(text[note_at..].contains("every URL changes"), "{text}");
    let doc = deploy(&moto, &manifest);
    let note = doc["deployments"][0]["urls_note"]
        .as_str()
        .unwrap_or_default();
    assert!(
        note.contains("every URL changed") && note.contains("payload format 2.0"),
        "{doc:#}"
    );
    let c = changes(&doc);
    let has = |action: &str, id: &str| c.iter().any(|(a, i, _)| a == action && i == id);
    assert!(has("create", "http_api.shop-dev"), "{c:?}");
    assert!(has("delete", "rest_api.shop-dev"), "{c:?}");
    assert!(
        has(
            "create",
            "lambda_permission.shop-dev-items:dev/fnctl-http-api"
        ),
        "{c:?}"
    );
    assert!(
        has(
            "delete",
            "lambda_permission.shop-dev-items:dev/fnctl-apigateway"
        ),
        "{c:?}"
    );
    rt().block_on(async {
        let conf = moto.sdk_config().await;
        let v2 = aws_sdk_apigatewayv2::Client::new(&conf);
        let apigw = aws_sdk_apigateway::Client::new(&conf);
        let lambda = aws_sdk_lambda::Client::new(&conf);
        assert!(rest_apis(&apigw).await.is_empty());
        let apis = http_apis(&v2).await;
        assert_eq!(apis.len(), 1);
        let id = apis[0].api_id().unwrap();
        let url = doc["deployments"][0]["urls"][0]["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("https://{id}.execute-api.")),
            "the URL is the new API's: {url}"
        );
        assert_eq!(
            permissions(&lambda, "shop-dev-items").await,
            [(
                "fnctl-http-api".to_string(),
                format!("arn:aws:execute-api:us-east-1:123456789012:{id}/*/*")
            )]
        );
    });
    let doc = deploy(&moto, &manifest);
    assert!(changes(&doc).is_empty(), "{doc:#}");
    let (_, plan, _) = fnctl_json(&moto, &manifest, &["plan", "-p", "aws"]);
    assert!(
        plan["plans"][0].get("notes").is_none(),
        "said once: {plan:#}"
    );
    let note = doc["deployments"][0]["urls_note"]
        .as_str()
        .unwrap_or_default();
    assert!(!note.contains("every URL changed"), "said once: {note}");

    // And back.
    std::fs::write(&manifest, rest).unwrap();
    let doc = deploy(&moto, &manifest);
    let c = changes(&doc);
    let has = |action: &str, id: &str| c.iter().any(|(a, i, _)| a == action && i == id);
    assert!(has("create", "rest_api.shop-dev"), "{c:?}");
    assert!(has("delete", "http_api.shop-dev"), "{c:?}");
    let note = doc["deployments"][0]["urls_note"]
        .as_str()
        .unwrap_or_default();
    assert!(note.contains("to a REST API"), "{doc:#}");
    rt().block_on(async {
        let conf = moto.sdk_config().await;
        let v2 = aws_sdk_apigatewayv2::Client::new(&conf);
        let apigw = aws_sdk_apigateway::Client::new(&conf);
        let lambda = aws_sdk_lambda::Client::new(&conf);
        assert!(http_apis(&v2).await.is_empty());
        let rest = rest_apis(&apigw).await;
        assert_eq!(rest.len(), 1);
        assert_eq!(
            permissions(&lambda, "shop-dev-items").await,
            [(
                "fnctl-apigateway".to_string(),
                format!("arn:aws:execute-api:us-east-1:123456789012:{}/*", rest[0])
            )]
        );
    });
}
