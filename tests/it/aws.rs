//! The AWS backend against moto: deploy, verify by direct API reads, no-op
//! redeploy, targeted updates, foreign notifications, remove (twice).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{copy_tree, example, fnctl};
use crate::moto::Moto;

/// Runs fnctl against `moto` and returns (exit code, parsed JSON stdout, stderr).
fn fnctl_json(moto: &Moto, manifest: &Path, args: &[&str]) -> (i32, Value, String) {
    crate::faults::fnctl_json_at(moto, &moto.endpoint, manifest, args)
}

fn project(example_name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(example(example_name).parent().unwrap(), dir.path());
    let manifest = dir.path().join("fnctl.toml");
    (dir, manifest)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn changes(doc: &Value) -> Vec<(String, String, Vec<String>)> {
    doc["deployments"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let changed = c["changed"]
                .as_array()
                .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                .unwrap_or_default();
            (
                c["action"].as_str().unwrap().to_string(),
                format!(
                    "{}.{}",
                    c["id"]["kind"].as_str().unwrap(),
                    c["id"]["name"].as_str().unwrap()
                ),
                changed,
            )
        })
        .collect()
}

#[test]
fn full_cycle_on_the_all_triggers_example() {
    let moto = Moto::start();
    let (dir, manifest) = project("all-triggers");

    // 1. Deploy, then check what AWS reports, call by call.
    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}");
    let d = &doc["deployments"][0];
    assert_eq!(d["verified"], true);
    assert_eq!(d["summary"]["create"], 22, "{doc:#}");
    let urls: Vec<&str> = d["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["url"].as_str().unwrap())
        .collect();
    assert_eq!(urls.len(), 3);
    assert!(
        urls[0].ends_with(".execute-api.us-east-1.amazonaws.com/dev/orders"),
        "{urls:?}"
    );
    // Deployed through an endpoint override: said to be AWS's form, with
    // where the emulator serves the stage.
    let note = d["urls_note"].as_str().unwrap_or_else(|| panic!("{doc:#}"));
    assert!(
        note.contains(&moto.endpoint) && note.contains("/_user_request_/"),
        "{note}"
    );

    rt().block_on(async {
        let conf = moto.sdk_config().await;
        let iam = aws_sdk_iam::Client::new(&conf);
        let lambda = aws_sdk_lambda::Client::new(&conf);
        let apigw = aws_sdk_apigateway::Client::new(&conf);
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .build(),
        );
        let events = aws_sdk_eventbridge::Client::new(&conf);

        let role = iam
            .get_role()
            .role_name("shop-dev-orders-role")
            .send()
            .await
            .unwrap()
            .role
            .unwrap();
        let attached = iam
            .list_attached_role_policies()
            .role_name("shop-dev-orders-role")
            .send()
            .await
            .unwrap();
        assert_eq!(
            attached
                .attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn())
                .collect::<Vec<_>>(),
            vec!["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]
        );

        let orders = lambda
            .get_function()
            .function_name("shop-dev-orders")
            .send()
            .await
            .unwrap();
        let c = orders.configuration().unwrap();
        assert_eq!(c.runtime().unwrap().as_str(), "python3.12");
        assert_eq!(c.handler(), Some("orders.handler"));
        assert_eq!(c.memory_size(), Some(512));
        assert_eq!(c.role(), Some(role.arn()));
        let env = c.environment().unwrap().variables().unwrap();
        assert_eq!(env.get("LOG_LEVEL").map(String::as_str), Some("info"));
        assert_eq!(
            env.get("PAYMENT_KEY").map(String::as_str),
            Some("sk_test_local"),
            "the secret is deployed, only never printed"
        );
        assert_eq!(
            orders
                .tags()
                .unwrap()
                .get("fnctl:function")
                .map(String::as_str),
            Some("orders")
        );
        let alias = lambda
            .get_alias()
            .function_name("shop-dev-orders")
            .name("dev")
            .send()
            .await
            .unwrap();
        assert_eq!(alias.function_version(), Some("1"));

        let api = apigw
            .get_rest_apis()
            .send()
            .await
            .unwrap()
            .items()
            .iter()
            .find(|a| a.name() == Some("shop-dev"))
            .cloned()
            .unwrap();
        let api_id = api.id().unwrap();
        let resources = apigw
            .get_resources()
            .rest_api_id(api_id)
            .send()
            .await
            .unwrap();
        let mut paths: Vec<&str> = resources.items().iter().filter_map(|r| r.path()).collect();
        paths.sort();
        assert_eq!(paths, vec!["/", "/orders", "/orders/{id}"]);
        let orders_id = resources
            .items()
            .iter()
            .find(|r| r.path() == Some("/orders"))
            .unwrap()
            .id()
            .unwrap();
        for method in ["GET", "POST"] {
            let m = apigw
                .get_method()
                .rest_api_id(api_id)
                .resource_id(orders_id)
                .http_method(method)
                .send()
                .await
                .unwrap();
            let i = m.method_integration().unwrap();
            assert_eq!(i.r#type().unwrap().as_str(), "AWS_PROXY");
            assert!(
                i.uri()
                    .unwrap()
                    .ends_with(":function:shop-dev-orders:dev/invocations"),
                "{:?}",
                i.uri()
            );
        }
        let stage = apigw
            .get_stage()
            .rest_api_id(api_id)
            .stage_name("dev")
            .send()
            .await
            .unwrap();
        assert!(stage.deployment_id().is_some());

        let policy: Value = serde_json::from_str(
            lambda
                .get_policy()
                .function_name("shop-dev-orders")
                .qualifier("dev")
                .send()
                .await
                .unwrap()
                .policy()
                .unwrap(),
        )
        .unwrap();
        let st = &policy["Statement"][0];
        assert_eq!(st["Sid"], "fnctl-apigateway");
        assert_eq!(st["Principal"]["Service"], "apigateway.amazonaws.com");
        assert!(st["Condition"]["ArnLike"]["AWS:SourceArn"]
            .as_str()
            .unwrap()
            .contains(api_id));

        let notif = s3
            .get_bucket_notification_configuration()
            .bucket("shop-dev-invoices")
            .send()
            .await
            .unwrap();
        let lc = &notif.lambda_function_configurations()[0];
        assert_eq!(lc.id(), Some("fnctl-shop-dev-invoices-n0"));
        assert!(lc
            .lambda_function_arn()
            .ends_with(":function:shop-dev-invoices:dev"));
        let rules = lc.filter().unwrap().key().unwrap().filter_rules();
        assert_eq!(
            (
                rules[0].name().unwrap().as_str().to_ascii_lowercase(),
                rules[0].value()
            ),
            ("suffix".to_string(), Some(".pdf"))
        );

        let rule = events
            .describe_rule()
            .name("shop-dev-digest-s0")
            .send()
            .await
            .unwrap();
        assert_eq!(rule.schedule_expression(), Some("cron(0 7 ? * 2 *)"));
        let targets = events
            .list_targets_by_rule()
            .rule("shop-dev-digest-s0")
            .send()
            .await
            .unwrap();
        assert!(targets.targets()[0]
            .arn()
            .ends_with(":function:shop-dev-digest:dev"));
    });

    // 2. Nothing changed: reads only.
    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");
    assert!(
        doc["deployments"][0]["api_calls"].as_u64().unwrap() > 10,
        "the recorder sees the reads"
    );
    assert_eq!(doc["deployments"][0]["summary"]["unchanged"], 22);

    // 3. One function's code and another's memory: only those change.
    std::fs::write(
        dir.path().join("api/orders.py"),
        "def handler(event, context):\n    return {\"statusCode\": 204}\n",
    )
    .unwrap();
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        "handler = \"digest.run\"",
        "handler = \"digest.run\"\nmemory = 1024",
    );
    std::fs::write(&manifest, text).unwrap();
    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}");
    let mut got = changes(&doc);
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                "update".to_string(),
                "lambda_alias.shop-dev-digest:dev".to_string(),
                vec!["version".to_string()]
            ),
            (
                "update".to_string(),
                "lambda_alias.shop-dev-orders:dev".to_string(),
                vec!["version".to_string()]
            ),
            (
                "update".to_string(),
                "lambda_function.shop-dev-digest".to_string(),
                vec!["memory_size".to_string()]
            ),
            (
                "update".to_string(),
                "lambda_function.shop-dev-orders".to_string(),
                vec!["code".to_string()]
            ),
        ]
    );
    let mutating: u64 = doc["deployments"][0]["mutating_calls"].as_u64().unwrap();
    assert_eq!(
        mutating, 6,
        "UpdateFunctionConfiguration, UpdateFunctionCode, 2x PublishVersion, 2x UpdateAlias"
    );
    rt().block_on(async {
        let lambda = aws_sdk_lambda::Client::new(&moto.sdk_config().await);
        let digest = lambda
            .get_function_configuration()
            .function_name("shop-dev-digest")
            .send()
            .await
            .unwrap();
        assert_eq!(digest.memory_size(), Some(1024));
        let alias = lambda
            .get_alias()
            .function_name("shop-dev-orders")
            .name("dev")
            .send()
            .await
            .unwrap();
        assert_eq!(alias.function_version(), Some("2"));
    });

    // 4. Remove: nothing of the app+stage is left; a second remove succeeds.
    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["remove", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(doc["removals"][0]["removed"].as_array().unwrap().len(), 22);
    rt().block_on(async {
        let conf = moto.sdk_config().await;
        let lambda = aws_sdk_lambda::Client::new(&conf);
        let fns = lambda.list_functions().send().await.unwrap();
        assert!(fns.functions().iter().all(|f| !f
            .function_name()
            .unwrap_or_default()
            .starts_with("shop-dev-")));
        let apis = aws_sdk_apigateway::Client::new(&conf)
            .get_rest_apis()
            .send()
            .await
            .unwrap();
        assert!(apis.items().iter().all(|a| a.name() != Some("shop-dev")));
        let rules = aws_sdk_eventbridge::Client::new(&conf)
            .list_rules()
            .name_prefix("shop-dev-")
            .send()
            .await
            .unwrap();
        assert!(rules.rules().is_empty());
        for role in [
            "shop-dev-orders-role",
            "shop-dev-invoices-role",
            "shop-dev-digest-role",
        ] {
            assert!(aws_sdk_iam::Client::new(&conf)
                .get_role()
                .role_name(role)
                .send()
                .await
                .is_err());
        }
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .build(),
        );
        assert!(
            s3.head_bucket()
                .bucket("shop-dev-invoices")
                .send()
                .await
                .is_err(),
            "the empty bucket fnctl created is gone"
        );
    });
    let (code, doc, _) = fnctl_json(&moto, &manifest, &["remove", "-p", "aws"]);
    assert_eq!(code, 0);
    assert_eq!(doc["removals"][0]["removed"].as_array().unwrap().len(), 0);
}

const SHARED_BUCKET_APP: &str = r#"
[app]
name = "tenant"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"

[functions.ingest]
handler = "app.handler"

[[functions.ingest.triggers]]
type = "storage"
bucket = "shared-bucket"
prefix = "tenant/"
"#;

#[test]
fn foreign_notifications_survive_deploy_and_remove() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fnctl.toml"), SHARED_BUCKET_APP).unwrap();
    std::fs::write(
        dir.path().join("app.py"),
        "def handler(e, c):\n    return e\n",
    )
    .unwrap();
    let manifest = dir.path().join("fnctl.toml");

    // A bucket the app does not own, with someone else's notification.
    rt().block_on(async {
        let conf = moto.sdk_config().await;
        let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&conf).force_path_style(true).build());
        s3.create_bucket().bucket("shared-bucket").send().await.unwrap();
        let iam = aws_sdk_iam::Client::new(&conf);
        let role = iam
            .create_role()
            .role_name("other-role")
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
            .send()
            .await
            .unwrap();
        let lambda = aws_sdk_lambda::Client::new(&conf);
        let f = lambda
            .create_function()
            .function_name("other-team-fn")
            .runtime(aws_sdk_lambda::types::Runtime::Python312)
            .handler("x.y")
            .role(role.role.unwrap().arn())
            .code(aws_sdk_lambda::types::FunctionCode::builder().zip_file(aws_sdk_lambda::primitives::Blob::new(tiny_zip())).build())
            .send()
            .await
            .unwrap();
        let foreign = aws_sdk_s3::types::LambdaFunctionConfiguration::builder()
            .id("other-team")
            .lambda_function_arn(f.function_arn().unwrap())
            .events(aws_sdk_s3::types::Event::S3ObjectCreated)
            .build()
            .unwrap();
        s3.put_bucket_notification_configuration()
            .bucket("shared-bucket")
            .notification_configuration(aws_sdk_s3::types::NotificationConfiguration::builder().lambda_function_configurations(foreign).build())
            .send()
            .await
            .unwrap();
    });

    let ids = |moto: &Moto| -> Vec<String> {
        rt().block_on(async {
            let conf = moto.sdk_config().await;
            let s3 = aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&conf)
                    .force_path_style(true)
                    .build(),
            );
            let n = s3
                .get_bucket_notification_configuration()
                .bucket("shared-bucket")
                .send()
                .await
                .unwrap();
            let mut ids: Vec<String> = n
                .lambda_function_configurations()
                .iter()
                .filter_map(|c| c.id().map(str::to_string))
                .collect();
            ids.sort();
            ids
        })
    };
    let (code, _, stderr) = fnctl_json(&moto, &manifest, &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(ids(&moto), vec!["fnctl-tenant-dev-ingest-n0", "other-team"]);
    let (code, _, stderr) = fnctl_json(&moto, &manifest, &["remove"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        ids(&moto),
        vec!["other-team"],
        "the foreign notification is kept"
    );
    rt().block_on(async {
        let conf = moto.sdk_config().await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .build(),
        );
        assert!(
            s3.head_bucket()
                .bucket("shared-bucket")
                .send()
                .await
                .is_ok(),
            "a bucket fnctl did not create is never deleted"
        );
    });
}

#[test]
fn missing_bucket_fails_before_any_change() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fnctl.toml"), SHARED_BUCKET_APP).unwrap();
    std::fs::write(
        dir.path().join("app.py"),
        "def handler(e, c):\n    return e\n",
    )
    .unwrap();
    let (code, doc, _) = fnctl_json(&moto, &dir.path().join("fnctl.toml"), &["deploy"]);
    assert_eq!(code, 1);
    assert_eq!(doc["error"]["kind"], "aws");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bucket `shared-bucket` does not exist"),
        "{doc}"
    );
    assert!(doc["error"]["help"]
        .as_str()
        .unwrap()
        .contains("create = true"));
    rt().block_on(async {
        let iam = aws_sdk_iam::Client::new(&moto.sdk_config().await);
        assert!(
            iam.get_role()
                .role_name("tenant-dev-ingest-role")
                .send()
                .await
                .is_err(),
            "nothing was created"
        );
    });
}

#[test]
fn live_plan_shows_changed_fields_and_mutates_nothing() {
    let moto = Moto::start();
    let (_dir, manifest) = project("scheduled-job");
    let (code, _, stderr) = fnctl_json(&moto, &manifest, &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        "schedule = \"rate(5 minutes)\"",
        "schedule = \"rate(10 minutes)\"",
    );
    std::fs::write(&manifest, text).unwrap();
    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["plan"]);
    assert_eq!(code, 0, "{stderr}");
    let plan = &doc["plans"][0];
    assert_eq!(plan["live"]["status"], "read");
    let updates: Vec<&Value> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "noop")
        .collect();
    assert_eq!(updates.len(), 1, "{plan:#}");
    assert_eq!(updates[0]["id"]["name"], "reports-dev-heartbeat-s0");
    assert_eq!(
        updates[0]["changed"],
        serde_json::json!(["schedule_expression"])
    );
    assert_eq!(
        updates[0]["before"]["schedule_expression"],
        "rate(5 minutes)"
    );
    assert_eq!(
        updates[0]["after"]["schedule_expression"],
        "rate(10 minutes)"
    );
    rt().block_on(async {
        let events = aws_sdk_eventbridge::Client::new(&moto.sdk_config().await);
        let rule = events
            .describe_rule()
            .name("reports-dev-heartbeat-s0")
            .send()
            .await
            .unwrap();
        assert_eq!(
            rule.schedule_expression(),
            Some("rate(5 minutes)"),
            "plan changed nothing"
        );
    });
}

/// A valid zip with one small file, for functions created by tests.
fn tiny_zip() -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        z.start_file("x.py", zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(b"def y(e, c):\n    return e\n").unwrap();
        z.finish().unwrap();
    }
    buf.into_inner()
}

/// Queues the next results of Invoke in moto (its Lambda runs no code).
/// The queue is per region: the python-http-api example deploys to eu-west-1.
fn queue_invoke_results(moto: &Moto, region: &str, results: &[&str]) {
    let body = serde_json::json!({"results": results, "region": region}).to_string();
    crate::moto::post_json(
        &format!("{}/moto-api/static/lambda-simple/response", moto.endpoint),
        &body,
    )
    .unwrap();
}

#[test]
fn invoke_is_a_smoke_test_gate_and_rollback_repoints_the_alias() {
    let moto = Moto::start();
    let (dir, manifest) = project("python-http-api");
    let (code, _, stderr) = fnctl_json(&moto, &manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}");

    // The sample event reaches the function (moto echoes it back).
    let (code, doc, stderr) = fnctl_json(
        &moto,
        &manifest,
        &["invoke", "get-user", "-p", "aws", "--event", "http"],
    );
    assert_eq!(code, 0, "{stderr}");
    let echoed: Value = doc["invocation"]["payload"].clone();
    assert_eq!(echoed["pathParameters"]["id"], "1");
    assert_eq!(echoed["httpMethod"], "GET");
    assert_eq!(echoed["resource"], "/users/{id}");

    queue_invoke_results(
        &moto,
        "eu-west-1",
        &[r#"{"statusCode": 200, "body": "{\"name\": \"Ada\"}"}"#],
    );
    let (code, doc, _) = fnctl_json(
        &moto,
        &manifest,
        &[
            "invoke",
            "get-user",
            "-p",
            "aws",
            "--data",
            "{}",
            "--expect-status",
            "200",
            "--expect-body",
            "Ada",
        ],
    );
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["ok"], true);

    queue_invoke_results(
        &moto,
        "eu-west-1",
        &[r#"{"statusCode": 500, "body": "boom"}"#],
    );
    let (code, doc, _) = fnctl_json(
        &moto,
        &manifest,
        &[
            "invoke",
            "get-user",
            "-p",
            "aws",
            "--data",
            "{}",
            "--expect-status",
            "200",
            "--expect-body",
            "Ada",
        ],
    );
    assert_eq!(code, 4, "a failed expectation exits 4");
    assert_eq!(
        doc["failures"],
        serde_json::json!([
            "expected status 200, got 500",
            "the body does not match /Ada/"
        ])
    );

    let (code, _, _) = fnctl_json(
        &moto,
        &manifest,
        &["invoke", "get-user", "-p", "aws", "--event", "storage"],
    );
    assert_eq!(code, 2, "no storage trigger to build a sample from");

    // Rollback: nothing before version 1; after a code change, back to 1.
    let (code, doc, _) = fnctl_json(&moto, &manifest, &["rollback", "list-users", "-p", "aws"]);
    assert_eq!(code, 1);
    assert!(doc["error"]["message"]
        .as_str()
        .unwrap()
        .contains("nothing to roll back to"));
    std::fs::write(
        dir.path().join("src/users.py"),
        std::fs::read_to_string(dir.path().join("src/users.py")).unwrap() + "\n# v2\n",
    )
    .unwrap();
    let (code, _, stderr) = fnctl_json(&moto, &manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, doc, stderr) =
        fnctl_json(&moto, &manifest, &["rollback", "list-users", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(doc["rollbacks"][0]["from_version"], "2");
    assert_eq!(doc["rollbacks"][0]["to_version"], "1");
    // The alias now lags the manifest's code, so plan proposes moving it forward.
    let (_, plan, _) = fnctl_json(&moto, &manifest, &["plan", "-p", "aws"]);
    let pending: Vec<&str> = plan["plans"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "noop")
        .map(|c| c["id"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(pending, vec!["users-api-dev-list-users:dev"]);
}

/// `--via url` calls a route over HTTP the way the API's clients do. moto
/// serves no deployed API URLs, so the calls go through `--base-url` (the
/// custom-domain case) to a stand-in that records what arrives; the API key
/// the route needs must be the one AWS holds for the app.
#[test]
fn invoke_via_url_sends_the_request_the_event_describes() {
    let moto = Moto::start();
    let (_dir, manifest) = project("python-http-api");
    let (code, _, stderr) = fnctl_json(&moto, &manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}");
    let api = crate::stand_in::StandIn::start();
    let base = format!("{}/v1", api.url);

    // The sample request of the first route; the reply is read back as a
    // proxy result, so the smoke-test flags work as after a direct invoke.
    api.answer(200, "application/json", r#"{"name": "Ada"}"#);
    let (code, doc, stderr) = fnctl_json(
        &moto,
        &manifest,
        &[
            "invoke",
            "get-user",
            "-p",
            "aws",
            "--base-url",
            &base,
            "--expect-status",
            "200",
            "--expect-body",
            "Ada",
        ],
    );
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(
        doc["invocation"]["url"],
        format!("GET {base}/users/1"),
        "{doc:#}"
    );
    let result: Value = doc["invocation"]["payload"].clone();
    assert_eq!(result["statusCode"], 200);
    assert_eq!(result["headers"]["x-served-by"], "stand-in");
    let got = api.take();
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].method.as_str(), got[0].uri.as_str()),
        ("GET", "/v1/users/1")
    );
    assert_eq!(got[0].header("x-api-key"), None, "this route needs no key");
    assert_eq!(got[0].header("user-agent"), Some("fnctl-invoke"));

    // A proxy event of one's own, for the route that requires the API key.
    let event = serde_json::json!({
        "httpMethod": "GET",
        "resource": "/users/{id}/files/{path+}",
        "path": "/users/7/files/a/b.txt",
        "multiValueQueryStringParameters": {"v": ["1", "2"]},
        "headers": {"Accept": "text/plain", "Host": "ignored.example"},
        "body": "cGluZw==",
        "isBase64Encoded": true,
    });
    api.answer(404, "text/plain", "no such file");
    let (code, doc, stderr) = fnctl_json(
        &moto,
        &manifest,
        &[
            "invoke",
            "get-user",
            "-p",
            "aws",
            "--via",
            "url",
            "--base-url",
            &base,
            "--data",
            &event.to_string(),
            "--expect-status",
            "200",
        ],
    );
    assert_eq!(code, 4, "a 404 fails --expect-status 200: {stderr}");
    assert_eq!(
        doc["failures"],
        serde_json::json!(["expected status 200, got 404"])
    );
    let got = api.take();
    assert_eq!(got[0].uri, "/v1/users/7/files/a/b.txt?v=1&v=2");
    assert_eq!(got[0].header("accept"), Some("text/plain"));
    assert_eq!(got[0].body, b"ping", "a base64 body is sent decoded");
    assert!(
        got[0].header("host").unwrap().starts_with("127.0.0.1:"),
        "the URL decides the host, not the event"
    );
    let key = rt().block_on(async {
        let conf = moto.sdk_config().await;
        let apigw = aws_sdk_apigateway::Client::from_conf(
            aws_sdk_apigateway::config::Builder::from(&conf)
                .region(aws_config::Region::new("eu-west-1"))
                .build(),
        );
        let keys = apigw
            .get_api_keys()
            .include_values(true)
            .send()
            .await
            .unwrap();
        keys.items()[0].value().unwrap().to_string()
    });
    assert_eq!(got[0].header("x-api-key"), Some(key.as_str()));
    assert!(
        !doc.to_string().contains(&key) && !stderr.contains(&key),
        "the API key is sent, never printed"
    );

    // A gateway error is the function failing.
    api.answer(
        502,
        "application/json",
        r#"{"message": "Internal server error"}"#,
    );
    let (code, doc, _) = fnctl_json(
        &moto,
        &manifest,
        &[
            "invoke",
            "list-users",
            "-p",
            "aws",
            "--via",
            "url",
            "--base-url",
            &base,
        ],
    );
    assert_eq!(code, 4, "{doc:#}");
    assert_eq!(
        doc["failures"],
        serde_json::json!(["the function raised an error (the function answered HTTP 502)"])
    );
    assert_eq!(api.take()[0].uri, "/v1/users");

    // Events that describe no request, and options that contradict.
    for (args, says) in [
        (
            vec!["--via", "url", "--data", r#"{"name": "Ada"}"#],
            "not an API Gateway proxy event",
        ),
        (
            vec!["--via", "direct", "--base-url", "http://127.0.0.1:9"],
            "--base-url applies to calls through the function's URL",
        ),
    ] {
        let mut full = vec!["invoke", "get-user", "-p", "aws"];
        full.extend(args);
        let (code, doc, _) = fnctl_json(&moto, &manifest, &full);
        assert_eq!(code, 2, "{doc:#}");
        let message = doc["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
    }
    assert!(api.take().is_empty(), "nothing was sent for refused calls");

    // Nothing listening: a clear error naming the URL, exit 1.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (code, doc, _) = fnctl_json(
        &moto,
        &manifest,
        &[
            "invoke",
            "list-users",
            "-p",
            "aws",
            "--base-url",
            &format!("http://127.0.0.1:{closed}"),
        ],
    );
    assert_eq!(code, 1, "{doc:#}");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("cannot call http://127.0.0.1:{closed}/users")),
        "{message}"
    );
    assert!(doc["error"]["help"]
        .as_str()
        .unwrap()
        .contains("--base-url"));
}

#[test]
fn logs_prints_the_function_log_lines() {
    let moto = Moto::start();
    let (_dir, manifest) = project("scheduled-job");
    rt().block_on(async {
        let logs = aws_sdk_cloudwatchlogs::Client::new(&moto.sdk_config().await);
        let group = "/aws/lambda/reports-dev-heartbeat";
        logs.create_log_group()
            .log_group_name(group)
            .send()
            .await
            .unwrap();
        logs.create_log_stream()
            .log_group_name(group)
            .log_stream_name("s1")
            .send()
            .await
            .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let events = ["first line", "second line"]
            .iter()
            .enumerate()
            .map(|(i, m)| {
                aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                    .timestamp(now - 1000 + i as i64)
                    .message(*m)
                    .build()
                    .unwrap()
            })
            .collect::<Vec<_>>();
        logs.put_log_events()
            .log_group_name(group)
            .log_stream_name("s1")
            .set_log_events(Some(events))
            .send()
            .await
            .unwrap();
    });
    let mut cmd = fnctl();
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    let out = cmd
        .arg("--manifest")
        .arg(&manifest)
        .args(["logs", "heartbeat", "--since", "5m"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].ends_with(" first line") && lines[1].ends_with(" second line"),
        "{text}"
    );
}

/// A package over Lambda's 50 MiB inline limit is staged in the artifact
/// bucket, deployed from there, and deleted once Lambda holds its copy;
/// `remove` clears what a killed deploy may have left under the app's
/// prefix and nothing of other apps.
#[test]
fn a_package_over_50_mib_is_staged_in_s3_and_leaves_nothing_there() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("fnctl.toml");
    std::fs::write(
        &manifest,
        "[app]\nname = \"bigpkg\"\nruntime = \"python3.12\"\n\n[providers.aws]\n\n[functions.heavy]\nhandler = \"app.handler\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("app.py"),
        "def handler(event, context):\n    return {'statusCode': 200}\n",
    )
    .unwrap();
    // Random bytes do not compress: the zip stays over 50 MiB.
    let mut rng = crate::common::XorShift(0x0b16_b10b);
    let mut data = Vec::with_capacity(52 << 20);
    while data.len() < 52 << 20 {
        data.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    std::fs::write(dir.path().join("model.bin"), &data).unwrap();

    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(doc["deployments"][0]["verified"], true);
    let (account, size) = rt().block_on(async {
        let conf = moto.sdk_config().await;
        let account = aws_sdk_sts::Client::new(&conf)
            .get_caller_identity()
            .send()
            .await
            .unwrap()
            .account()
            .unwrap()
            .to_string();
        (account, code_size(&conf).await)
    });
    let bucket = format!("fnctl-artifacts-{account}-us-east-1");
    let keys = staged_keys(&moto, &bucket);
    assert!(
        size > 50 << 20,
        "Lambda holds the whole package: {size} bytes"
    );
    assert_eq!(
        keys,
        Vec::<String>::new(),
        "staged package deleted after use"
    );

    let (code, doc, _) = fnctl_json(&moto, &manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0);
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");

    // New code goes the same way (UpdateFunctionCode from S3).
    data.extend_from_slice(b"v2");
    std::fs::write(dir.path().join("model.bin"), &data).unwrap();
    let (code, _, stderr) = fnctl_json(&moto, &manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}");
    let new_size = rt().block_on(async { code_size(&moto.sdk_config().await).await });
    assert_ne!(new_size, size, "the function runs the new package");
    let keys = staged_keys(&moto, &bucket);
    assert_eq!(keys, Vec::<String>::new());

    // Leftovers of a killed deploy go with `remove`; other apps' stay.
    rt().block_on(async {
        let s3 = s3_client(&moto).await;
        for key in ["bigpkg/dev/heavy-0123.zip", "other-app/dev/api-4567.zip"] {
            s3.put_object()
                .bucket(&bucket)
                .key(key)
                .body(b"zip".to_vec().into())
                .send()
                .await
                .unwrap();
        }
    });
    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["remove", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}");
    let removed: Vec<&str> = doc["removals"][0]["removed"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["id"]["kind"] == "staged_package")
        .map(|r| r["id"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        removed,
        vec![format!("s3://{bucket}/bigpkg/dev/heavy-0123.zip")]
    );
    assert_eq!(
        staged_keys(&moto, &bucket),
        vec!["other-app/dev/api-4567.zip".to_string()]
    );
}

async fn s3_client(moto: &Moto) -> aws_sdk_s3::Client {
    let conf = moto.sdk_config().await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    )
}

/// Every key in `bucket`, which must exist.
fn staged_keys(moto: &Moto, bucket: &str) -> Vec<String> {
    rt().block_on(async {
        let listed = s3_client(moto)
            .await
            .list_objects_v2()
            .bucket(bucket)
            .send()
            .await
            .expect("the artifact bucket exists: the package went through S3");
        listed
            .contents()
            .iter()
            .map(|o| o.key().unwrap().to_string())
            .collect()
    })
}

/// The deployed package size of the big-package test's function.
async fn code_size(conf: &aws_config::SdkConfig) -> i64 {
    aws_sdk_lambda::Client::new(conf)
        .get_function()
        .function_name("bigpkg-dev-heavy")
        .send()
        .await
        .unwrap()
        .configuration()
        .unwrap()
        .code_size()
}
