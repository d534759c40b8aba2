//! Every selected cloud before any change (issue 13, case 4): with AWS and
//! Azure in one manifest, `deploy` and `remove` read, plan and lock both
//! before changing either. An Azure that cannot be reached (broken
//! credentials) or is locked by someone else leaves AWS exactly as it was,
//! and the JSON document reports every provider with its status.

use std::path::Path;

use serde_json::Value;

use fnctl::provider::lock::LockHolder;

use crate::arm::{ArmServer, TOKEN};
use crate::common::{block_on, closed_port, fnctl, json_result, python_project, MotoClients};
use crate::moto::Moto;

/// Both clouds; Azure's endpoints at `azure_url`.
fn app(azure_url: &str) -> String {
    format!(
        r#"[app]
name = "both"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"

[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "both-rg"
location = "westeurope"
endpoints = {{ arm = "{u}", scm = "{u}", app = "{u}", storage = "{u}/devstoreaccount1", logs = "{u}" }}

[functions.ingest]
handler = "app.handler"

[[functions.ingest.triggers]]
type = "storage"
bucket = "${{app}}-${{stage}}-in"
events = ["created"]
create = true

[functions.tick]
handler = "app.handler"

[[functions.tick.triggers]]
type = "schedule"
schedule = "rate(5 minutes)"

[functions.api]
handler = "app.handler"

[[functions.api.triggers]]
type = "http"
method = "GET"
path = "/items"
"#,
        u = azure_url
    )
}

/// Credentials Azure cannot use: azure_identity pinned to the environment
/// source with nothing in the environment (no token, no service principal).
const NO_AZURE: &[&str] = &[
    "FNCTL_AZURE_ACCESS_TOKEN",
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_USERNAME",
    "AZURE_PASSWORD",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "MSI_ENDPOINT",
    "MSI_SECRET",
];

/// `fnctl --manifest M ARGS --output json` with moto for AWS and `azure`
/// as Azure's environment (NO_AZURE removed first).
fn both(
    moto: &Moto,
    manifest: &Path,
    azure: &[(&str, &str)],
    args: &[&str],
) -> (i32, Value, String) {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = fnctl();
    for var in NO_AZURE {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home.path());
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    for (k, v) in azure {
        cmd.env(k, v);
    }
    let out = cmd
        .arg("--manifest")
        .arg(manifest)
        .args(args)
        .args(["--output", "json"])
        .output()
        .unwrap();
    json_result(out)
}

/// The statuses of a multi-provider document's `key` list, by provider.
fn statuses(doc: &Value, key: &str) -> Vec<(String, String)> {
    doc[key]
        .as_array()
        .unwrap_or_else(|| panic!("no `{key}` in {doc:#}"))
        .iter()
        .map(|d| {
            (
                d["provider"].as_str().unwrap().to_string(),
                d["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Everything of app `both`, stage `dev` on moto, read directly.
fn on_aws(c: &MotoClients) -> Vec<String> {
    block_on(async {
        let mut found: Vec<String> = c
            .functions("both-dev-")
            .await
            .into_iter()
            .map(|f| format!("function {f}"))
            .collect();
        for f in ["api", "ingest", "tick"] {
            let role = format!("both-dev-{f}-role");
            if c.role_exists(&role).await {
                found.push(format!("role {role}"));
            }
        }
        if c.bucket_exists("both-dev-in").await {
            found.push("bucket both-dev-in".into());
        }
        for api in c.apigw.get_rest_apis().send().await.unwrap().items() {
            if api.name() == Some("both-dev") {
                found.push("rest api both-dev".into());
            }
        }
        for rule in c
            .events
            .list_rules()
            .name_prefix("both-dev-")
            .send()
            .await
            .unwrap()
            .rules()
        {
            found.push(format!("rule {}", rule.name().unwrap_or_default()));
        }
        found.sort();
        found
    })
}

/// The AWS deploy lock of app `both`, stage `dev`, if one is left.
fn aws_lock(c: &MotoClients) -> Option<LockHolder> {
    block_on(async {
        let out = c
            .ssm
            .get_parameter()
            .name("/fnctl/both/dev/lock")
            .send()
            .await
            .ok()?;
        let value = out.parameter()?.value()?;
        Some(LockHolder::from_json(value).expect("fnctl's lock holder"))
    })
}

#[test]
fn azure_without_credentials_stops_deploy_and_remove_before_any_change_on_aws() {
    let moto = Moto::start();
    let c = block_on(MotoClients::new(&moto, "us-east-1"));
    // Nothing listens on Azure's endpoints: no real network either way.
    let (_dir, manifest) = python_project(&app(&format!("http://127.0.0.1:{}", closed_port())));
    let broken = [("AZURE_CREDENTIAL_KIND", "environment")];

    let (code, doc, stderr) = both(&moto, &manifest, &broken, &["deploy"]);
    assert_eq!(code, 1, "{stderr}\n{doc:#}");
    assert_eq!(
        statuses(&doc, "deployments"),
        vec![
            ("aws".to_string(), "not_started".to_string()),
            ("azure".to_string(), "failed".to_string()),
        ],
        "{doc:#}"
    );
    assert!(doc["error"].is_object(), "{doc:#}");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(
        message.to_lowercase().contains("azure") && message.contains("credential"),
        "names the provider and the cause: {doc:#}"
    );
    assert_eq!(on_aws(&c), Vec::<String>::new(), "nothing changed on AWS");
    assert_eq!(aws_lock(&c), None, "no lock was taken on AWS");

    // remove: AWS deployed alone first, then both selected.
    let (code, doc, stderr) = both(&moto, &manifest, &broken, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let deployed = on_aws(&c);
    assert_eq!(
        deployed,
        vec![
            "bucket both-dev-in",
            "function both-dev-api",
            "function both-dev-ingest",
            "function both-dev-tick",
            "rest api both-dev",
            "role both-dev-api-role",
            "role both-dev-ingest-role",
            "role both-dev-tick-role",
            "rule both-dev-tick-s0",
        ]
    );
    let (code, doc, stderr) = both(&moto, &manifest, &broken, &["remove"]);
    assert_eq!(code, 1, "{stderr}\n{doc:#}");
    assert_eq!(
        statuses(&doc, "removals"),
        vec![
            ("aws".to_string(), "not_started".to_string()),
            ("azure".to_string(), "failed".to_string()),
        ],
        "{doc:#}"
    );
    assert!(doc["error"].is_object(), "{doc:#}");
    assert_eq!(on_aws(&c), deployed, "nothing removed on AWS");
    assert_eq!(aws_lock(&c), None, "no lock was taken on AWS");
}

/// Both clouds reachable, Azure's deploy lock held by another command:
/// exit 5, AWS untouched, and the document says which cloud was locked.
#[test]
fn an_azure_lock_held_elsewhere_stops_the_deploy_before_any_change_on_aws() {
    let moto = Moto::start();
    let c = block_on(MotoClients::new(&moto, "us-east-1"));
    let server = ArmServer::start();
    let (dir, manifest) = python_project(&app(&server.url));
    let azure = [("FNCTL_AZURE_ACCESS_TOKEN", TOKEN)];

    // Azure deployed (its lock container exists), AWS not yet.
    let (code, doc, stderr) = both(&moto, &manifest, &azure, &["deploy", "-p", "azure"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    {
        let mut w = server.world.lock().unwrap();
        let account = w.storage_accounts.keys().next().unwrap().clone();
        let key = (account, "fnctl-lock".to_string());
        assert!(w.containers.contains(&key), "the lock container exists");
        w.leases.insert(
            key.clone(),
            (
                "11111111-2222-4333-8444-555555555555".into(),
                60,
                Some(std::time::Instant::now() + std::time::Duration::from_secs(60)),
            ),
        );
        let holder = fnctl::provider::lock::LockHolder {
            id: "0123456789abcdef01234567".into(),
            operation: "deploy".into(),
            host: "ci-runner-7".into(),
            pid: 4242,
            acquired_unix: fnctl::provider::lock::now_unix() - 5,
            expires_unix: fnctl::provider::lock::now_unix() + 60,
            pidns: None,
            creating: Vec::new(),
        };
        w.container_metadata
            .insert(key, serde_json::json!({"fnctlholder": holder.to_json()}));
    }
    // A change on Azure too, so its plan needs the lock.
    std::fs::write(
        dir.path().join("app.py"),
        "def handler(event, context):\n    return {'changed': True}\n",
    )
    .unwrap();
    server.clear_log();

    let (code, doc, stderr) = both(&moto, &manifest, &azure, &["deploy"]);
    assert_eq!(code, 5, "{stderr}\n{doc:#}");
    assert_eq!(doc["error"]["kind"], "locked", "{doc:#}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("process 4242 on ci-runner-7"),
        "{doc:#}"
    );
    assert_eq!(
        statuses(&doc, "deployments"),
        vec![
            ("aws".to_string(), "not_started".to_string()),
            ("azure".to_string(), "locked".to_string()),
        ],
        "{doc:#}"
    );
    assert_eq!(on_aws(&c), Vec::<String>::new(), "nothing changed on AWS");
    // AWS was locked before Azure refused. Its apply never started, so the
    // lock is given back whole: an expired lock naming the app's bucket
    // would let a later deploy take over a bucket someone made by hand.
    assert_eq!(aws_lock(&c), None, "the AWS lock is released");
    assert_eq!(
        server.mutating_requests(),
        Vec::<String>::new(),
        "nothing changed on Azure"
    );
    let (code, doc, stderr) = both(&moto, &manifest, &azure, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0, "AWS alone deploys at once: {stderr}\n{doc:#}");
}

/// `info` with two clouds shows both (JSON: one document per provider under
/// `deployments`), each function under its manifest name with its
/// triggers; `invoke` and `logs` act on one deployment and say how to pick
/// it.
#[test]
fn info_shows_every_cloud_and_single_deployment_commands_ask_for_one() {
    let moto = Moto::start();
    let server = ArmServer::start();
    let (_dir, manifest) = python_project(&app(&server.url));
    let azure = [("FNCTL_AZURE_ACCESS_TOKEN", TOKEN)];
    let (code, doc, stderr) = both(&moto, &manifest, &azure, &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");

    let (code, doc, stderr) = both(&moto, &manifest, &azure, &["info"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let providers: Vec<&str> = doc["deployments"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc:#}"))
        .iter()
        .map(|d| d["provider"].as_str().unwrap())
        .collect();
    assert_eq!(providers, ["aws", "azure"], "{doc:#}");
    assert!(doc["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["deployed"] == true));

    // Text: both clouds; functions in manifest order under their manifest
    // names, the cloud's name beside, triggers beneath.
    let mut cmd = fnctl();
    for var in NO_AZURE {
        cmd.env_remove(var);
    }
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    let out = cmd
        .env("FNCTL_AZURE_ACCESS_TOKEN", TOKEN)
        .arg("--manifest")
        .arg(&manifest)
        .arg("info")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("aws (us-east-1)") && text.contains("azure ("),
        "{text}"
    );
    let aws_part = text.split("azure (").next().unwrap();
    let ingest = aws_part.find("  ingest (both-dev-ingest)").expect(&text);
    let tick = aws_part.find("  tick (both-dev-tick)").expect(&text);
    let api = aws_part.find("  api (both-dev-api)").expect(&text);
    assert!(ingest < tick && tick < api, "manifest order: {text}");
    assert!(
        aws_part[tick..]
            .lines()
            .nth(1)
            .unwrap()
            .trim()
            .starts_with("schedule rate(5 minutes)"),
        "{text}"
    );
    let azure_part = &text[text.find("azure (").unwrap()..];
    assert!(azure_part.contains("\n  api\n      http /items"), "{text}");

    // One deployment at a time: the rule is said, with the way to pick.
    let (code, doc, _) = both(&moto, &manifest, &azure, &["invoke", "api"]);
    assert_eq!(code, 2, "{doc:#}");
    assert!(
        doc["error"]["help"]
            .as_str()
            .unwrap()
            .contains("--provider"),
        "{doc:#}"
    );
}
