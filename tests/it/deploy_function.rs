//! `deploy -f NAME`: one function's change deployed on its own, against
//! moto — only its code, version and alias change, the other functions are
//! not touched, verify passes, and the JSON document says the scope.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::run;
use crate::moto::Moto;

/// Three Python functions, each with its own source folder, an HTTP route
/// and a schedule.
fn three_functions() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let mut manifest = String::from(
        "[app]\nname = \"shop\"\nruntime = \"python3.12\"\n[providers.aws]\nregion = \"us-east-1\"\n",
    );
    for f in ["orders", "users", "stock"] {
        manifest.push_str(&format!(
            "[functions.{f}]\nsource = \"src/{f}\"\nhandler = \"handler.handler\"\n\
             [[functions.{f}.triggers]]\ntype = \"http\"\nmethod = \"GET\"\npath = \"/{f}\"\n\
             [[functions.{f}.triggers]]\ntype = \"schedule\"\nschedule = \"rate(1 hour)\"\n"
        ));
        std::fs::create_dir_all(dir.path().join("src").join(f)).unwrap();
        std::fs::write(
            dir.path().join("src").join(f).join("handler.py"),
            format!("def handler(event, context):\n    return {{\"statusCode\": 200, \"body\": \"{f}\"}}\n"),
        )
        .unwrap();
    }
    let path = dir.path().join("fnctl.toml");
    std::fs::write(&path, manifest).unwrap();
    (dir, path)
}

fn deploy(moto: &Moto, manifest: &Path, args: &[&str]) -> (i32, Value, String) {
    crate::faults::fnctl_json_at(moto, &moto.endpoint, manifest, args)
}

/// (action, kind.name) of every change the deploy made.
fn made(doc: &Value) -> Vec<(String, String)> {
    doc["deployments"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_string(),
                format!(
                    "{}.{}",
                    c["id"]["kind"].as_str().unwrap(),
                    c["id"]["name"].as_str().unwrap()
                ),
            )
        })
        .collect()
}

/// Each function's (code sha256, latest published version, alias version).
async fn lambda_state(moto: &Moto) -> Vec<(String, String, String, String)> {
    let conf = moto.sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let mut out = Vec::new();
    for f in ["orders", "users", "stock"] {
        let name = format!("shop-dev-{f}");
        let got = lambda
            .get_function()
            .function_name(&name)
            .send()
            .await
            .unwrap();
        let sha = got
            .configuration()
            .and_then(|c| c.code_sha256())
            .unwrap_or_default()
            .to_string();
        let versions = lambda
            .list_versions_by_function()
            .function_name(&name)
            .send()
            .await
            .unwrap();
        let latest = versions
            .versions()
            .iter()
            .filter_map(|v| v.version())
            .filter(|v| *v != "$LATEST")
            .max_by_key(|v| v.parse::<u64>().unwrap_or(0))
            .unwrap_or_default()
            .to_string();
        let alias = lambda
            .get_alias()
            .function_name(&name)
            .name("dev")
            .send()
            .await
            .unwrap();
        out.push((
            f.to_string(),
            sha,
            latest,
            alias.function_version().unwrap_or_default().to_string(),
        ));
    }
    out
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn one_functions_change_is_deployed_alone_and_verified() {
    let moto = Moto::start();
    let (dir, manifest) = three_functions();
    let (code, _, stderr) = deploy(&moto, &manifest, &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    let before = rt().block_on(lambda_state(&moto));

    // Unchanged, `-f` reads only what its function needs: fewer calls
    // than reading the whole app.
    let (code, full, stderr) = deploy(&moto, &manifest, &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, one, stderr) = deploy(&moto, &manifest, &["deploy", "-f", "orders"]);
    assert_eq!(code, 0, "{stderr}");
    let calls = |d: &Value| d["deployments"][0]["api_calls"].as_u64().unwrap();
    assert_eq!(one["deployments"][0]["mutating_calls"], 0, "{one:#}");
    assert!(calls(&one) < calls(&full), "{one:#}\n{full:#}");

    // Change two functions' code, deploy one of them.
    for f in ["users", "stock"] {
        let handler = dir.path().join("src").join(f).join("handler.py");
        let mut text = std::fs::read_to_string(&handler).unwrap();
        text.push_str("# changed\n");
        std::fs::write(&handler, text).unwrap();
    }
    let (code, doc, stderr) = deploy(&moto, &manifest, &["deploy", "-f", "users"]);
    assert_eq!(code, 0, "{stderr}");
    let d = &doc["deployments"][0];
    assert_eq!(d["status"], "applied", "{doc:#}");
    assert_eq!(d["verified"], true);
    assert_eq!(d["scope"]["kind"], "functions", "{doc:#}");
    assert_eq!(d["scope"]["functions"], serde_json::json!(["users"]));
    assert_eq!(d["scope"]["rest_of_app"], "not_checked");
    // Only users' code (update, which publishes a version) and its alias.
    assert_eq!(
        made(&doc),
        [
            (
                "update".to_string(),
                "lambda_function.shop-dev-users".to_string()
            ),
            (
                "update".to_string(),
                "lambda_alias.shop-dev-users:dev".to_string()
            ),
        ],
        "{doc:#}"
    );
    assert!(
        d["mutating_calls"].as_u64().unwrap() <= 4,
        "update code, configuration?, publish, alias: {doc:#}"
    );
    // Every change of the plan is the selected function's.
    assert_eq!(d["summary"]["create"], 0);
    assert_eq!(d["summary"]["delete"], 0);

    let after = rt().block_on(lambda_state(&moto));
    for (b, a) in before.iter().zip(&after) {
        if b.0 == "users" {
            assert_ne!(b.1, a.1, "users' code changed");
            assert_ne!(b.2, a.2, "a version was published");
            assert_eq!(a.3, a.2, "the alias points at it");
        } else {
            assert_eq!(b, a, "{} untouched", b.0);
        }
    }

    // The next full deploy still finds stock's change: nothing was lost.
    let (code, doc, stderr) = deploy(&moto, &manifest, &["plan"]);
    assert!(code == 0, "{stderr}");
    let planned: Vec<String> = doc["plans"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "noop")
        .map(|c| c["id"]["name"].as_str().unwrap().to_string())
        .collect();
    assert!(
        planned.contains(&"shop-dev-stock".to_string())
            && !planned.iter().any(|n| n.contains("users")),
        "{planned:?}"
    );

    // A new route for users: its API path and method are made and the
    // stage redeployed, and verify checks them.
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        "[functions.stock]\n",
        "[[functions.users.triggers]]\ntype = \"http\"\nmethod = \"POST\"\npath = \"/users/{id}\"\n\
         [functions.stock]\n",
    );
    std::fs::write(&manifest, text).unwrap();
    let (code, doc, stderr) = deploy(&moto, &manifest, &["deploy", "-f", "users"]);
    assert_eq!(code, 0, "{stderr}");
    let mut kinds: Vec<String> = made(&doc)
        .into_iter()
        .map(|(a, id)| format!("{a} {}", id.split('.').next().unwrap()))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "create api_method",
            "create api_resource",
            "update api_deployment"
        ],
        "{doc:#}"
    );
    assert_eq!(doc["deployments"][0]["verified"], true);
}

#[test]
fn a_human_deploy_says_the_rest_was_not_checked() {
    let moto = Moto::start();
    let (_dir, manifest) = three_functions();
    let (code, _, stderr) = deploy(&moto, &manifest, &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    let mut cmd = crate::common::fnctl();
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    let out = cmd
        .env("CI", "true")
        .arg("--manifest")
        .arg(&manifest)
        .args(["deploy", "-f", "orders", "-f", "stock"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("deploying only `orders`, `stock`")
            && stderr.contains("the rest of the app was not checked"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_function_is_a_usage_error_with_a_suggestion() {
    let (_dir, manifest) = three_functions();
    // No cloud is contacted: the name is checked first.
    let (code, _, stderr) = run(&manifest, &["deploy", "-f", "order"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no function named `order`"), "{stderr}");
    assert!(stderr.contains("did you mean `orders`?"), "{stderr}");
}

#[test]
fn a_first_deploy_with_f_asks_for_a_full_one() {
    let moto = Moto::start();
    let (_dir, manifest) = three_functions();
    let (code, doc, stderr) = deploy(&moto, &manifest, &["deploy", "-f", "orders"]);
    assert_eq!(code, 2, "{stderr}");
    let text = format!("{doc}{stderr}");
    assert!(
        text.contains("does not exist yet") && text.contains("run a full `fnctl deploy` first"),
        "{text}"
    );
}

/// On Azure a Function App runs one package: `-f` redeploys all of its
/// code and says so, and leaves the rest (here a changed app setting) for
/// a full deploy.
#[test]
fn on_azure_f_redeploys_the_one_package_and_says_so() {
    let server = crate::arm::ArmServer::start();
    let dir = crate::azure::project_at(&server.url, "tests/fixtures/portable");
    let (code, doc, stderr) = crate::azure::run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");

    let handlers = dir.path().join("src/handlers.py");
    let mut text = std::fs::read_to_string(&handlers).unwrap();
    text.push_str("\n# changed\n");
    std::fs::write(&handlers, text).unwrap();
    let manifest = dir.path().join("fnctl.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("GREETING = \"hello\"", "GREETING = \"hi\"");
    std::fs::write(&manifest, text).unwrap();

    server.clear_log();
    let (code, doc, stderr) = crate::azure::run(dir.path(), &["deploy", "-f", "tick"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let d = &doc["deployments"][0];
    assert_eq!(d["verified"], true, "{doc:#}");
    assert_eq!(d["scope"]["functions"], serde_json::json!(["tick"]));
    assert_eq!(d["scope"]["whole_code"][0]["kind"], "function_package");
    let changes: Vec<(&str, &str)> = d["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["action"].as_str().unwrap(), c["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(changes, [("update", "function_package")], "{doc:#}");
    // The setting was left for a full deploy.
    {
        let w = server.world.lock().unwrap();
        assert_eq!(
            w.sites.values().next().unwrap().settings["GREETING"],
            "hello"
        );
    }
    let (code, doc, _) = crate::azure::run(dir.path(), &["plan"]);
    assert_eq!(code, 0);
    assert_eq!(doc["plans"][0]["summary"]["update"], 1, "{doc:#}");
}
