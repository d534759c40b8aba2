//! The Azure backend against the ARM + scm test server ([`super::arm`]): a
//! full cycle of deploy, verification by reading the server's state,
//! a no-op redeploy with zero mutating requests, targeted changes that keep
//! settings set by hand, live plan, info, and remove (twice).

use std::path::Path;

use serde_json::Value;

use crate::arm::{ArmServer, TOKEN};
use crate::common::{fnctl, repo};

/// A copy of the portable Python fixture whose Azure endpoints point at `server`.
fn project(server: &ArmServer) -> tempfile::TempDir {
    project_from(server, "tests/fixtures/portable")
}

fn project_from(server: &ArmServer, fixture: &str) -> tempfile::TempDir {
    project_at(&server.url, fixture)
}

/// A copy of `fixture` whose Azure endpoints all point at `url` (the test
/// server, or a proxy in front of it).
pub fn project_at(url: &str, fixture: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    crate::common::copy_tree(&repo().join(fixture), dir.path());
    let manifest = dir.path().join("fnctl.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let text = text.replace(
        "location = \"westeurope\"\n",
        &format!(
            "location = \"westeurope\"\nendpoints = {{ arm = \"{u}\", scm = \"{u}\", app = \"{u}\", storage = \"{u}/devstoreaccount1\", logs = \"{u}\" }}\n",
            u = url
        ),
    );
    std::fs::write(&manifest, text).unwrap();
    dir
}

/// The key of the (one) storage account the test server holds.
fn storage_key_of(server: &ArmServer) -> String {
    let w = server.world.lock().unwrap();
    crate::arm::storage_key(w.storage_accounts.keys().next().unwrap(), 1)
}

pub fn run(dir: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = fnctl()
        .current_dir(dir)
        .env("FNCTL_AZURE_ACCESS_TOKEN", TOKEN)
        .args(["--provider", "azure", "--output", "json"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), doc, stderr)
}

#[test]
fn deploy_verify_noop_change_and_remove_cycle() {
    let server = ArmServer::start();
    let dir = project(&server);

    // 1. Deploy into an empty subscription.
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let d = &doc["deployments"][0];
    assert_eq!(d["provider"], "azure");
    assert_eq!(d["verified"], true);
    let urls: Vec<String> = d["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["url"].as_str().unwrap().to_string())
        .collect();
    assert!(
        urls.contains(&format!("{}/items/{{id}}", server.url)),
        "{urls:?}"
    );

    // 2. What the server holds is exactly what fnctl should have created.
    {
        let w = server.world.lock().unwrap();
        let rg = &w.resource_groups["portable-rg"];
        assert_eq!(rg["tags"]["managed-by"], "fnctl");
        assert_eq!(w.storage_accounts.len(), 1);
        let (sa_name, sa) = w.storage_accounts.iter().next().unwrap();
        assert!(sa_name.starts_with("fnportabledev"), "{sa_name}");
        assert_eq!(sa["kind"], "StorageV2");
        assert_eq!(sa["tags"]["fnctl-app"], "portable");
        assert!(w
            .containers
            .contains(&(sa_name.clone(), "app-package".into())));
        let plan = w.plans.values().next().unwrap();
        assert_eq!(plan["sku"]["name"], "FC1");
        assert_eq!(plan["properties"]["reserved"], true);
        assert_eq!(w.sites.len(), 1);
        let site = w.sites.values().next().unwrap();
        let cfg = &site.body["properties"]["functionAppConfig"];
        assert_eq!(site.body["kind"], "functionapp,linux");
        assert_eq!(cfg["runtime"]["name"], "python");
        assert_eq!(cfg["runtime"]["version"], "3.12");
        assert_eq!(cfg["scaleAndConcurrency"]["instanceMemoryMB"], 512);
        assert_eq!(
            cfg["deployment"]["storage"]["value"],
            format!("{}/devstoreaccount1/app-package", server.url)
        );
        assert!(site.settings["AzureWebJobsStorage"].contains(&format!("AccountName={sa_name};")));
        assert_eq!(site.settings["GREETING"], "hello");
        assert!(site.body["tags"]["fnctl-package"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"));
        let names: Vec<&String> = site.functions.keys().collect();
        assert_eq!(
            names,
            ["api-http1", "api-http2", "broken", "tick", "upload"],
            "one Azure function per trigger"
        );
        assert_eq!(
            site.functions["api-http1"]["bindings"][0]["route"],
            "items/{id}"
        );
        assert_eq!(
            site.functions["tick"]["bindings"][0]["schedule"],
            "0 */5 * * * *"
        );
        assert_eq!(
            site.functions["upload"]["bindings"][0]["path"],
            "incoming/in/{name}"
        );
        assert_eq!(
            site.functions["upload"]["bindings"][0]["source"],
            "EventGrid"
        );
        // Flex runs blob triggers from Event Grid: one subscription, made
        // after the host knew the trigger (the server checked the webhook's
        // function name and blobs_extension key in its handshake).
        let subs: Vec<&Value> = w.event_subscriptions.values().collect();
        assert_eq!(subs.len(), 1, "{subs:?}");
        let sub = &subs[0]["properties"];
        assert_eq!(
            sub["filter"]["includedEventTypes"],
            serde_json::json!(["Microsoft.Storage.BlobCreated"])
        );
        assert_eq!(
            sub["filter"]["subjectBeginsWith"],
            "/blobServices/default/containers/incoming/blobs/in/"
        );
        assert!(sub["destination"]["properties"]["endpointBaseUrl"]
            .as_str()
            .unwrap()
            .ends_with("/runtime/webhooks/blobs"));
        // Telemetry: a workspace-based Application Insights component the
        // host reports to through the connection string setting.
        let ws = &w.workspaces["portable-dev-logs"];
        assert_eq!(ws["properties"]["sku"]["name"], "PerGB2018");
        assert_eq!(ws["properties"]["retentionInDays"], 30);
        assert_eq!(ws["tags"]["fnctl-stage"], "dev");
        let ai = &w.components["portable-dev-insights"];
        assert_eq!(ai["kind"], "web");
        assert_eq!(ai["properties"]["Application_Type"], "web");
        assert!(ai["properties"]["WorkspaceResourceId"]
            .as_str()
            .unwrap()
            .ends_with("/providers/Microsoft.OperationalInsights/workspaces/portable-dev-logs"));
        assert_eq!(
            site.settings["APPLICATIONINSIGHTS_CONNECTION_STRING"],
            ai["properties"]["ConnectionString"].as_str().unwrap()
        );
        let zip = site.package.clone().unwrap();
        let archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
        assert!(archive
            .file_names()
            .any(|n| n.unwrap() == "fnctl_code/api/handlers.py"));
    }
    // Secrets of the storage account never reach the output.
    let key = storage_key_of(&server);
    assert!(!stderr.contains(&key), "{stderr}");
    assert!(!doc.to_string().contains(&key));

    // 3. Someone sets an app setting by hand; an unchanged redeploy makes no
    //    mutating call and keeps it.
    {
        let mut w = server.world.lock().unwrap();
        let site = w.sites.values_mut().next().unwrap();
        site.settings.insert("SET_BY_HAND".into(), "keep me".into());
    }
    server.clear_log();
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");
    assert_eq!(server.mutating_requests(), Vec::<String>::new());

    let (code, doc, _) = run(dir.path(), &["plan"]);
    assert_eq!(code, 0);
    assert_eq!(doc["plans"][0]["live"]["status"], "read", "{doc:#}");
    assert_eq!(doc["plans"][0]["summary"]["create"], 0, "{doc:#}");
    assert_eq!(doc["plans"][0]["summary"]["update"], 0, "{doc:#}");

    // 4. A code change publishes the package and records it; nothing else.
    let handlers = dir.path().join("src/handlers.py");
    let mut code_text = std::fs::read_to_string(&handlers).unwrap();
    code_text.push_str("\n# a change\n");
    std::fs::write(&handlers, code_text).unwrap();
    server.clear_log();
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    let mutating = server.mutating_requests();
    assert_eq!(mutating.len(), 2, "{mutating:?}");
    assert!(mutating[0].starts_with("POST /api/publish"), "{mutating:?}");
    assert!(mutating[1].ends_with("/tags/default"), "{mutating:?}");

    // 5. An env change updates only the settings, keeping the hand-set one.
    let manifest = dir.path().join("fnctl.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("GREETING = \"hello\"", "GREETING = \"bonjour\"");
    std::fs::write(&manifest, text).unwrap();
    server.clear_log();
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    let mutating = server.mutating_requests();
    assert_eq!(mutating.len(), 1, "{mutating:?}");
    assert!(mutating[0].ends_with("/config/appsettings"), "{mutating:?}");
    {
        let w = server.world.lock().unwrap();
        let site = w.sites.values().next().unwrap();
        assert_eq!(site.settings["GREETING"], "bonjour");
        assert_eq!(site.settings["SET_BY_HAND"], "keep me");
    }

    // 6. info reads it back from Azure.
    let (code, doc, stderr) = run(dir.path(), &["info"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(doc["deployed"], true);
    assert_eq!(doc["functions"].as_array().unwrap().len(), 5, "{doc:#}");
    assert_eq!(doc["app_insights"], "portable-dev-insights");

    // 7. invoke: HTTP functions over their URL (the server runs the
    //    deployed package), others through the admin endpoint.
    let (code, doc, stderr) = run(
        dir.path(),
        &[
            "invoke",
            "api",
            "--event",
            "http",
            "--expect-status",
            "200",
            "--expect-body",
            "\"greeting\": \"bonjour\"",
        ],
    );
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let url = doc["invocation"]["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("GET {}", server.url)) && url.ends_with("/items/1"),
        "the URL called is reported: {url}"
    );
    let (code, doc, _) = run(dir.path(), &["invoke", "broken", "--event", "http"]);
    assert_eq!(code, 4, "a raising handler answers 502: {doc:#}");
    assert_eq!(doc["status"], 502);
    let (code, doc, _) = run(
        dir.path(),
        &["invoke", "api", "--event", "http", "--via", "direct"],
    );
    assert_eq!(
        code, 2,
        "Azure has no direct way into an HTTP function: {doc:#}"
    );
    assert_eq!(doc["error"]["help"], "drop --via direct");
    // --base-url: the same request to a front door of one's own.
    let front = crate::stand_in::StandIn::start();
    front.answer(200, "application/json", "{}");
    let (code, doc, stderr) = run(
        dir.path(),
        &["invoke", "api", "--event", "http", "--base-url", &front.url],
    );
    assert_eq!(code, 0, "{stderr}{doc:#}");
    let got = front.take();
    assert_eq!(
        (got[0].method.as_str(), got[0].uri.as_str()),
        ("GET", "/items/1")
    );
    assert_eq!(
        got[0].header("authorization"),
        None,
        "no ARM token leaves for the app"
    );
    let (code, doc, stderr) = run(dir.path(), &["invoke", "tick", "--event", "schedule"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        doc["invocation"]["note"]
            .as_str()
            .unwrap()
            .contains("asynchronously"),
        "{doc:#}"
    );
    {
        let w = server.world.lock().unwrap();
        let (name, outcome) = w.admin_runs.last().unwrap();
        assert_eq!(name, "tick");
        assert!(outcome.get("error").is_none(), "{outcome:#}");
    }

    // 8. Azure added resources of its own to the group, as it does: the
    //    component's smart detection (an action group and a Failure
    //    Anomalies rule, there from the first read after the component was
    //    created) and the storage account's Event Grid system topic.
    {
        let w = server.world.lock().unwrap();
        let group: Vec<&Value> = w.action_groups.values().collect();
        assert_eq!(group.len(), 1, "{group:?}");
        assert_eq!(group[0]["name"], "Application Insights Smart Detection");
        let rules: Vec<&Value> = w.alert_rules.values().collect();
        assert_eq!(rules.len(), 1, "{rules:?}");
        assert_eq!(
            rules[0]["name"],
            "Failure Anomalies - portable-dev-insights"
        );
        assert_eq!(w.system_topics.len(), 1);
    }

    // 9. remove deletes what fnctl made and what Azure made for it, then
    //    the group; the second run finds nothing.
    let (code, doc, stderr) = run(dir.path(), &["remove"]);
    assert_eq!(code, 0, "{stderr}");
    let removed: Vec<String> = doc["removals"][0]["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_string())
        .collect();
    for kind in [
        "action_group",
        "smart_detector_alert_rule",
        "system_topic",
        "resource_group",
    ] {
        assert!(removed.iter().any(|k| k == kind), "{kind}: {doc:#}");
    }
    assert_eq!(doc["removals"][0]["kept"], serde_json::json!([]), "{doc:#}");
    {
        let w = server.world.lock().unwrap();
        assert!(w.sites.is_empty());
        assert!(w.plans.is_empty());
        assert!(w.storage_accounts.is_empty());
        assert!(w.workspaces.is_empty() && w.components.is_empty());
        assert!(w.action_groups.is_empty() && w.alert_rules.is_empty());
        assert!(w.system_topics.is_empty());
        assert!(
            w.resource_groups.is_empty(),
            "fnctl created the group and it is empty"
        );
    }
    let (code, doc, stderr) = run(dir.path(), &["remove"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(doc["removals"][0]["removed"].as_array().unwrap().is_empty());
}

/// `app_insights = false` removes the component, its workspace and the
/// setting that named it; turning it back on brings all three back. A
/// connection string set by hand to another resource is shown as such.
#[test]
fn application_insights_follows_the_manifest() {
    let server = ArmServer::start();
    let dir = project(&server);
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    let manifest = dir.path().join("fnctl.toml");
    let original = std::fs::read_to_string(&manifest).unwrap();
    let with_switch = |on: bool| {
        original.replace(
            "location = \"westeurope\"\n",
            &format!("location = \"westeurope\"\napp_insights = {on}\n"),
        )
    };

    std::fs::write(&manifest, with_switch(false)).unwrap();
    let (code, plan, _) = run(dir.path(), &["plan"]);
    assert_eq!(code, 0);
    let deleted: Vec<&str> = plan["plans"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "delete")
        .map(|c| c["id"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(deleted, ["app_insights", "log_workspace"], "{plan:#}");
    server.clear_log();
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(doc["deployments"][0]["verified"], true);
    // The settings stop naming the component before it goes, and the
    // component goes before its workspace.
    let mutating = server.mutating_requests();
    let order: Vec<&str> = mutating
        .iter()
        .map(|l| l.rsplit('/').nth(1).unwrap_or_default())
        .collect();
    assert_eq!(
        order,
        ["config", "components", "workspaces"],
        "{mutating:?}"
    );
    {
        let w = server.world.lock().unwrap();
        assert!(w.workspaces.is_empty() && w.components.is_empty());
        let site = w.sites.values().next().unwrap();
        assert!(!site
            .settings
            .contains_key("APPLICATIONINSIGHTS_CONNECTION_STRING"));
    }
    let (_, doc, _) = run(dir.path(), &["deploy"]);
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");

    std::fs::write(&manifest, with_switch(true)).unwrap();
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    {
        let mut w = server.world.lock().unwrap();
        let cs = w.components["portable-dev-insights"]["properties"]["ConnectionString"]
            .as_str()
            .unwrap()
            .to_string();
        let site = w.sites.values_mut().next().unwrap();
        assert_eq!(site.settings["APPLICATIONINSIGHTS_CONNECTION_STRING"], cs);
        site.settings.insert(
            "APPLICATIONINSIGHTS_CONNECTION_STRING".into(),
            "InstrumentationKey=someone-elses".into(),
        );
    }
    let (_, plan, _) = run(dir.path(), &["plan"]);
    let settings = plan["plans"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"]["kind"] == "app_settings")
        .unwrap();
    assert_eq!(settings["action"], "update", "{settings:#}");
    assert_eq!(
        settings["before"]["owned"]["APPLICATIONINSIGHTS_CONNECTION_STRING"],
        "(a connection string fnctl did not set)"
    );
    assert!(!plan.to_string().contains("someone-elses"));
}

#[test]
fn the_blob_triggers_event_subscription_follows_the_manifest() {
    let server = ArmServer::start();
    let dir = project(&server);
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    let manifest = dir.path().join("fnctl.toml");
    let subject = |server: &ArmServer| {
        let w = server.world.lock().unwrap();
        w.event_subscriptions
            .values()
            .map(|s| s["properties"]["filter"]["subjectBeginsWith"].clone())
            .collect::<Vec<_>>()
    };

    // A new prefix: the plan names the subscription, the deploy replaces it.
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("prefix = \"in/\"", "prefix = \"inbox/\""),
    )
    .unwrap();
    let (code, doc, stderr) = run(dir.path(), &["plan"]);
    assert_eq!(code, 0, "{stderr}");
    let planned: Vec<String> = doc["plans"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "noop")
        .map(|c| {
            format!(
                "{} {}",
                c["action"].as_str().unwrap(),
                c["id"]["kind"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        planned.contains(&"update event_subscription".to_string()),
        "{planned:?}\n{doc:#}"
    );
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        subject(&server),
        vec![serde_json::json!(
            "/blobServices/default/containers/incoming/blobs/inbox/"
        )]
    );

    // The blob-triggered function goes: so does its subscription.
    let text = std::fs::read_to_string(&manifest).unwrap();
    let start = text.find("[functions.upload]").unwrap();
    let end = text.find("[functions.tick]").unwrap();
    std::fs::write(&manifest, format!("{}{}", &text[..start], &text[end..])).unwrap();
    server.clear_log();
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(subject(&server).is_empty());
    assert!(
        server
            .mutating_requests()
            .iter()
            .any(|m| m.starts_with("DELETE") && m.contains("/eventSubscriptions/fnctl-upload")),
        "{:?}",
        server.mutating_requests()
    );
}

#[test]
fn a_resource_group_fnctl_did_not_create_is_kept_with_its_other_resources() {
    let server = ArmServer::start();
    let dir = project(&server);
    {
        let mut w = server.world.lock().unwrap();
        w.resource_groups.insert(
            "portable-rg".into(),
            serde_json::json!({"name": "portable-rg", "location": "westeurope", "tags": {}}),
        );
    }
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(dir.path(), &["remove"]);
    assert_eq!(code, 0, "{stderr}");
    let w = server.world.lock().unwrap();
    assert!(w.sites.is_empty());
    assert!(
        w.resource_groups.contains_key("portable-rg"),
        "not fnctl's to delete"
    );
}

#[test]
fn without_credentials_the_error_says_how_to_sign_in() {
    let server = ArmServer::start();
    let dir = project(&server);
    let out = fnctl()
        .current_dir(dir.path())
        .env("FNCTL_AZURE_ACCESS_TOKEN", "wrong-token")
        .args(["--provider", "azure", "deploy"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("AuthenticationFailed"), "{stderr}");
    assert!(stderr.contains("Contributor"), "{stderr}");
}

#[test]
fn throttling_and_transient_errors_are_retried_and_a_failed_deployment_converges_on_rerun() {
    let server = ArmServer::start();
    let dir = project(&server);
    {
        let mut w = server.world.lock().unwrap();
        w.faults = vec![
            ("GET /subscriptions".into(), 429),
            ("PUT /subscriptions".into(), 503),
            ("/config/appsettings/list".into(), 500),
            ("/providers/Microsoft.Web/sites/".into(), 429),
        ];
        w.fail_next_deployment = true;
    }
    // The package deployment fails (status 3): the deploy says so.
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(doc["error"]["kind"], "azure", "{doc:#}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("deploying the package"),
        "{doc:#}"
    );
    assert!(
        server.world.lock().unwrap().faults.is_empty(),
        "every injected fault was hit and retried"
    );
    // Run again: it picks up from what Azure reports and finishes.
    server.clear_log();
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(doc["deployments"][0]["verified"], true);
    let mutating = server.mutating_requests();
    // The package, its digest tag, and the blob trigger's Event Grid
    // subscription (which waits for the package) — nothing before them.
    assert!(
        mutating.iter().all(|m| m.starts_with("POST /api/publish")
            || m.ends_with("/tags/default")
            || m.contains("/eventSubscriptions/fnctl-upload")),
        "only what follows the package is redone: {mutating:?}"
    );
    assert!(
        mutating.iter().any(|m| m.contains("/eventSubscriptions/")),
        "{mutating:?}"
    );
    let (code, doc, _) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0);
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0);
}

#[test]
fn a_node_app_deploys_registers_its_functions_and_answers() {
    let server = ArmServer::start();
    let dir = project_from(&server, "tests/fixtures/portable-node");
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    {
        let w = server.world.lock().unwrap();
        let site = w.sites.values().next().unwrap();
        assert_eq!(
            site.body["properties"]["functionAppConfig"]["runtime"]["name"],
            "node"
        );
        let names: Vec<&String> = site.functions.keys().collect();
        assert_eq!(
            names,
            ["api-http1", "api-http2", "broken", "tick", "upload"]
        );
        let zip = site.package.clone().unwrap();
        let archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
        assert!(archive
            .file_names()
            .any(|n| n.unwrap() == "node_modules/@azure/functions/package.json"));
    }
    let (code, doc, stderr) = run(
        dir.path(),
        &["invoke", "api", "--event", "http", "--expect-status", "200"],
    );
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let (code, doc, _) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0);
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0);
}

/// With the most verbose output, no secret reaches stdout, stderr or any file
/// fnctl writes: the storage account key, the function and master keys, the
/// ARM token, and a secret env value.
#[test]
fn secrets_never_appear_in_output_or_files() {
    let server = ArmServer::start();
    let dir = project(&server);
    let manifest = dir.path().join("fnctl.toml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        "env = { GREETING = \"hello\" }",
        "env = { GREETING = \"hello\", API_SECRET = { value = \"${env:PLANTED_SECRET}\", secret = true } }",
    );
    std::fs::write(&manifest, text).unwrap();
    // A key-protected route, so invoke has to fetch and send a function key.
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("path = \"/broken\"", "path = \"/broken\"\nauth = \"key\"");
    std::fs::write(&manifest, text).unwrap();
    let mut transcript = String::new();
    for args in [
        vec!["-v", "deploy"],
        vec!["-v", "plan"],
        vec!["-v", "info"],
        vec!["-v", "invoke", "broken", "--event", "http"],
        vec!["-v", "invoke", "tick", "--event", "schedule"],
    ] {
        for json in [false, true] {
            let mut cmd = fnctl();
            cmd.current_dir(dir.path())
                .env("FNCTL_AZURE_ACCESS_TOKEN", TOKEN)
                .env("PLANTED_SECRET", "planted-s3cret-value")
                .args(["--provider", "azure"]);
            if json {
                cmd.args(["--output", "json"]);
            }
            let out = cmd.args(&args).output().unwrap();
            transcript.push_str(&String::from_utf8_lossy(&out.stdout));
            transcript.push_str(&String::from_utf8_lossy(&out.stderr));
        }
    }
    {
        let w = server.world.lock().unwrap();
        let site = w.sites.values().next().unwrap();
        assert_eq!(site.settings["API_SECRET"], "planted-s3cret-value");
    }
    assert!(transcript.contains("(sensitive)"), "{transcript}");
    let mut files = String::new();
    collect_text(dir.path(), &mut files);
    let key = storage_key_of(&server);
    // The Application Insights connection string holds the ingestion key.
    let insights = server.world.lock().unwrap().components["portable-dev-insights"]["properties"]
        ["InstrumentationKey"]
        .as_str()
        .unwrap()
        .to_string();
    for secret in [
        "planted-s3cret-value",
        key.as_str(),
        insights.as_str(),
        "function-secret-key",
        "master-secret-key",
        crate::arm::BLOBS_EXTENSION_KEY,
        TOKEN,
    ] {
        assert!(
            !transcript.contains(secret),
            "`{secret}` in output:\n{transcript}"
        );
        assert!(!files.contains(secret), "`{secret}` in a file fnctl wrote");
    }
}

/// Every file under `dir` as text, zips opened (for secret greps).
pub fn collect_text(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            collect_text(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push_str(&String::from_utf8_lossy(&bytes));
            // Zips: look inside too.
            if let Ok(mut zip) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
                for i in 0..zip.len() {
                    let mut f = zip.by_index(i).unwrap();
                    let mut s = String::new();
                    let _ = std::io::Read::read_to_string(&mut f, &mut s);
                    out.push_str(&s);
                }
            }
        }
    }
}

/// `fnctl logs` reads a function's lines from Application Insights (the
/// workspace's `AppTraces`, through the Log Analytics query API): what the
/// handler printed when it ran, that function's only.
#[test]
fn logs_read_what_the_function_printed_from_application_insights() {
    let server = ArmServer::start();
    let dir = project(&server);
    let handlers = dir.path().join("src/handlers.py");
    let text = std::fs::read_to_string(&handlers).unwrap();
    let printing = text.replace(
        "def tick(event, context):\n",
        "def tick(event, context):\n    print(\"tick fired for\", event[\"detail-type\"])\n",
    );
    assert_ne!(printing, text, "the fixture's tick handler was found");
    std::fs::write(&handlers, printing).unwrap();
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    for args in [
        ["invoke", "tick", "--event", "schedule"],
        ["invoke", "api", "--event", "http"],
    ] {
        let (code, doc, stderr) = run(dir.path(), &args);
        assert_eq!(code, 0, "{stderr}{doc:#}");
    }
    let logs = |args: &[&str]| {
        let out = fnctl()
            .current_dir(dir.path())
            .env("FNCTL_AZURE_ACCESS_TOKEN", TOKEN)
            .args(["--provider", "azure"])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = logs(&["--output", "json", "logs", "tick", "--since", "5m"]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert_eq!(lines[0]["function"], "tick");
    assert_eq!(lines[0]["message"], "tick fired for Scheduled Event");
    let (code, stdout, _) = logs(&["logs", "tick"]);
    assert_eq!(code, 0);
    assert!(
        stdout
            .trim_end()
            .ends_with("[tick] tick fired for Scheduled Event"),
        "{stdout}"
    );
    let time = stdout.split(' ').next().unwrap();
    assert!(
        time.len() == 24 && time.as_bytes()[10] == b'T' && time.ends_with('Z'),
        "starts with the date, time and UTC offset: {stdout}"
    );
    assert_eq!(
        lines[0]["time"].as_str(),
        Some(time),
        "RFC 3339 in JSON too"
    );
    let (code, stdout, stderr) = logs(&["logs", "api"]);
    assert_eq!((code, stdout.as_str()), (0, ""), "api printed nothing");
    assert!(
        stderr.contains("no log lines since") && stderr.contains("Application Insights"),
        "says what it read: {stderr}"
    );
    {
        let w = server.world.lock().unwrap();
        let last = w.log_queries.last().unwrap();
        assert!(
            last.contains("OperationName in ('api-http1', 'api-http2')"),
            "one Azure function per trigger: {last}"
        );
    }

    // Without Application Insights there is nothing to read, and it says so.
    let manifest = dir.path().join("fnctl.toml");
    let off = std::fs::read_to_string(&manifest).unwrap().replace(
        "location = \"westeurope\"\n",
        "location = \"westeurope\"\napp_insights = false\n",
    );
    std::fs::write(&manifest, off).unwrap();
    let (code, doc, _) = run(dir.path(), &["logs", "tick"]);
    assert_eq!(code, 2, "{doc:#}");
    assert!(doc["error"]["message"]
        .as_str()
        .unwrap()
        .contains("app_insights = false"));
}

#[test]
fn a_flex_rollback_says_what_to_do_instead() {
    let server = ArmServer::start();
    let dir = project(&server);
    let (code, doc, stderr) = run(dir.path(), &["rollback"]);
    assert_eq!(code, 1, "{doc:#}{stderr}");
    assert!(
        format!("{doc}{stderr}").contains("Flex Consumption"),
        "{doc:#}{stderr}"
    );
    assert!(
        server.mutating_requests().is_empty(),
        "refused before any change"
    );
}

/// A stand-in for the Azure CLI that hands out the test server's token and
/// records how it was asked.
fn fake_az(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let script = format!(
        "#!/bin/sh\necho \"$@\" >> \"{log}\"\necho '{{\"accessToken\": \"{TOKEN}\", \"expires_on\": {expires}, \"subscription\": \"00000000-0000-0000-0000-000000000000\", \"tenant\": \"t\", \"tokenType\": \"Bearer\"}}'\n",
        log = dir.join("az-calls.log").display()
    );
    let az = bin.join("az");
    std::fs::write(&az, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn an_azure_cli_login_is_used_and_asked_once() {
    let server = ArmServer::start();
    let dir = project(&server);
    let tools = tempfile::tempdir().unwrap();
    let bin = fake_az(tools.path());
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = fnctl()
        .current_dir(dir.path())
        .env_remove("FNCTL_AZURE_ACCESS_TOKEN")
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_CLIENT_SECRET")
        .env_remove("AZURE_FEDERATED_TOKEN_FILE")
        .env_remove("AZURE_CREDENTIAL_KIND")
        .env("PATH", path)
        .args(["--provider", "azure", "--output", "json", "plan"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["plans"][0]["live"]["status"], "read", "{doc:#}");
    let calls = std::fs::read_to_string(tools.path().join("az-calls.log")).unwrap();
    assert!(
        calls.contains(&format!(
            "account get-access-token --output json --scope {}/.default",
            server.url
        )),
        "{calls}"
    );
    assert_eq!(calls.lines().count(), 1, "asked once, then cached: {calls}");
}

const RG_PATH: &str =
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/portable-rg";

/// `remove` deletes what Azure made on fnctl's behalf — the Failure
/// Anomalies rule whose scope is fnctl's component, the smart detection
/// action group when no other alert rule uses it, the system topic whose
/// source is fnctl's storage account — and nothing else: a rule with
/// another name on the same component, another component's rule (and with
/// it the action group it shares), another account's system topic stay,
/// and so does the group fnctl created, with the output naming what keeps it.
#[test]
fn remove_deletes_what_azure_made_for_fnctl_and_nothing_else() {
    let server = ArmServer::start();
    let dir = project(&server);
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    let (group_id, component_id) = {
        let w = server.world.lock().unwrap();
        let rule = w.alert_rules.values().next().unwrap();
        (
            rule["properties"]["actionGroups"]["groupIds"][0]
                .as_str()
                .unwrap()
                .to_string(),
            rule["properties"]["scope"][0].as_str().unwrap().to_string(),
        )
    };
    let other_component = component_id.replace("portable-dev-insights", "other-insights");
    let rule = |scope: &str| {
        serde_json::json!({"location": "global", "properties": {
            "state": "Enabled", "severity": "Sev3", "frequency": "PT1M",
            "detector": {"id": "FailureAnomaliesDetector"},
            "scope": [scope], "actionGroups": {"groupIds": [group_id]}}})
    };
    let rules = format!("{RG_PATH}/providers/microsoft.alertsManagement/smartDetectorAlertRules");
    for (name, scope) in [
        // Azure's rule for someone else's component, sharing the group.
        (
            "Failure%20Anomalies%20-%20other-insights",
            other_component.as_str(),
        ),
        // Someone's own rule on fnctl's component.
        ("my-watch-on-portable", component_id.as_str()),
    ] {
        let (status, body) = server.call(
            "PUT",
            &format!("{rules}/{name}?api-version=2021-04-01"),
            Some(&rule(scope)),
        );
        assert_eq!(status, 201, "{body}");
    }
    {
        // A topic of another account, as Event Grid would have made it.
        let mut w = server.world.lock().unwrap();
        let theirs = serde_json::json!({
            "id": format!("{RG_PATH}/providers/Microsoft.EventGrid/systemTopics/theirs"),
            "name": "theirs", "type": "Microsoft.EventGrid/systemTopics",
            "listedType": "Microsoft.EventGrid/systemTopics", "location": "westeurope",
            "properties": {"source": format!("{RG_PATH}/providers/microsoft.storage/storageaccounts/theiraccount"),
                "topicType": "microsoft.storage.storageaccounts"}});
        w.system_topics
            .insert(("portable-rg".into(), "theirs".into()), theirs);
    }

    let (code, doc, stderr) = run(dir.path(), &["remove"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    {
        let w = server.world.lock().unwrap();
        let rules: Vec<&str> = w
            .alert_rules
            .values()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            rules,
            ["Failure Anomalies - other-insights", "my-watch-on-portable"],
            "only fnctl's component's Failure Anomalies rule went"
        );
        assert_eq!(w.action_groups.len(), 1, "another rule still uses it");
        let topics: Vec<&str> = w
            .system_topics
            .values()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(topics, ["theirs"], "fnctl's account's topic went");
        assert!(w.resource_groups.contains_key("portable-rg"));
        assert!(w.sites.is_empty() && w.storage_accounts.is_empty());
    }
    let kept = doc["removals"][0]["kept"].as_array().unwrap();
    assert_eq!(kept.len(), 1, "{doc:#}");
    assert_eq!(kept[0]["id"]["kind"], "resource_group");
    let reason = kept[0]["reason"].as_str().unwrap();
    for name in [
        "Application Insights Smart Detection",
        "Failure Anomalies - other-insights",
        "my-watch-on-portable",
        "theirs",
    ] {
        assert!(reason.contains(name), "{name}: {reason}");
    }
    // In words, too.
    let out = fnctl()
        .current_dir(dir.path())
        .env("FNCTL_AZURE_ACCESS_TOKEN", TOKEN)
        .args(["--provider", "azure", "remove", "--yes"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("kept resource_group portable-rg") && stdout.contains("theirs"),
        "{stdout}"
    );

    // Once the other things are gone, the group goes with the rest.
    for id in [
        format!("{rules}/Failure%20Anomalies%20-%20other-insights?api-version=2021-04-01"),
        format!("{rules}/my-watch-on-portable?api-version=2021-04-01"),
        format!("{RG_PATH}/providers/Microsoft.EventGrid/systemTopics/theirs?api-version=2022-06-15"),
        format!("{RG_PATH}/providers/microsoft.insights/actionGroups/Application%20Insights%20Smart%20Detection?api-version=2023-01-01"),
    ] {
        let (status, body) = server.call("DELETE", &id, None);
        assert!(status == 200 || status == 202, "{id}: {status} {body}");
    }
    let (code, doc, stderr) = run(dir.path(), &["remove"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(doc["removals"][0]["kept"], serde_json::json!([]), "{doc:#}");
    assert!(server.world.lock().unwrap().resource_groups.is_empty());
}

/// While a Function App's host restarts (its settings written, a package
/// deployed), it answers `host/default/listkeys` and
/// `syncfunctiontriggers` with 400 "Encountered an error
/// (ServiceUnavailable) from host runtime.": a first Flex deploy with a
/// blob trigger asks for the host's keys right after the package, and
/// waits for the host instead of failing.
#[test]
fn a_restarting_host_is_waited_for() {
    let server = ArmServer::start();
    let dir = project(&server);
    server.world.lock().unwrap().host_restart_requests = 2;
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true);
    let w = server.world.lock().unwrap();
    assert_eq!(w.host_unavailable_answers, 2, "both answered and retried");
    assert_eq!(w.event_subscriptions.len(), 1);
}

/// One-deploy reports more end states than failed (3) and succeeded (4):
/// cancelled (-1), conflict (5), partial success (6). Each ends the wait at
/// once, named in the error (the server counts the status polls), and a
/// rerun deploys the package.
#[test]
fn a_deployment_that_ends_cancelled_conflicting_or_partial_stops_the_wait_at_once() {
    for (status, words) in [
        (-1, "cancelled (status -1)"),
        (5, "conflict (status 5)"),
        (6, "partial success (status 6)"),
    ] {
        let server = ArmServer::start();
        let dir = project(&server);
        server.world.lock().unwrap().next_deployment_ends = Some(status);
        let (code, doc, stderr) = run(dir.path(), &["deploy"]);
        assert_eq!(code, 1, "{status}: {stderr}\n{doc:#}");
        let message = doc["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{status}: {message}");
        let polls = server
            .world
            .lock()
            .unwrap()
            .log
            .iter()
            .filter(|l| l.starts_with("GET /api/deployments/"))
            .count();
        assert_eq!(polls, 2, "building, then the end: no more polls");
        let (code, doc, stderr) = run(dir.path(), &["deploy"]);
        assert_eq!(code, 0, "{status}: {stderr}\n{doc:#}");
        assert_eq!(doc["deployments"][0]["verified"], true);
    }
}

/// The Functions host takes a blob trigger's manual input as a blob path
/// (`container/blob`) and reads that blob: `invoke` of a blob function
/// uploads a sample blob into fnctl's own container when the event's
/// object is not there, and sends its path; the handler gets the S3
/// record the adapter builds from the blob. An object that exists is
/// used as it is.
#[test]
fn invoking_a_blob_function_hands_the_host_a_blob_it_can_read() {
    let server = ArmServer::start();
    let dir = project(&server);
    // The fixture's handlers write what they saw into $OBSERVE_DIR.
    let observed = observe(dir.path());
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");

    let (code, doc, stderr) = run(dir.path(), &["invoke", "upload", "--event", "storage"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let note = doc["invocation"]["note"].as_str().unwrap();
    assert!(
        note.contains("app-package/fnctl-invoke/upload/in/sample.txt"),
        "{note}"
    );
    let last_run = |server: &ArmServer| {
        let w = server.world.lock().unwrap();
        w.admin_runs.last().cloned().unwrap()
    };
    let (name, outcome) = last_run(&server);
    assert_eq!(name, "upload");
    assert!(outcome.get("error").is_none(), "{outcome:#}");
    let payload = observed.seen("upload");
    assert_eq!(payload["eventSource"], "aws:s3");
    assert_eq!(payload["eventName"], "ObjectCreated:Put");
    assert_eq!(payload["bucket"], "app-package");
    assert_eq!(payload["key"], "fnctl-invoke/upload/in/sample.txt");
    assert!(payload["size"].as_u64().unwrap() > 0, "{payload}");

    // A blob the event names that is in the account: its own path.
    {
        let mut w = server.world.lock().unwrap();
        let sa = w.storage_accounts.keys().next().unwrap().clone();
        w.containers.insert((sa.clone(), "incoming".into()));
        w.blobs
            .entry((sa.clone(), "incoming".into()))
            .or_default()
            .insert("in/photo 1.jpg".into());
        w.blob_bodies.insert(
            (sa, "incoming".into(), "in/photo 1.jpg".into()),
            b"not a photo".to_vec(),
        );
    }
    let event = r#"{"Records": [{"s3": {"bucket": {"name": "incoming"}, "object": {"key": "in/photo+1.jpg"}}}]}"#;
    let (code, doc, stderr) = run(dir.path(), &["invoke", "upload", "--data", event]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let (_, outcome) = last_run(&server);
    assert!(outcome.get("error").is_none(), "{outcome:#}");
    let payload = observed.seen("upload");
    assert_eq!(payload["bucket"], "incoming");
    assert_eq!(payload["key"], "in/photo+1.jpg");
    assert_eq!(payload["size"], 11);
}

/// Where the portable fixture's handlers record what they saw: a directory
/// named in the manifest's env (`OBSERVE_DIR`), so the app settings carry
/// it to the functions the server runs.
pub struct Observed(tempfile::TempDir);

impl Observed {
    /// What the handler `name` saw last.
    pub fn seen(&self, name: &str) -> Value {
        let file = self.0.path().join(format!("{name}.json"));
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{} was not written: {e}", file.display()));
        serde_json::from_str(&text).unwrap()
    }
}

pub fn observe(project: &Path) -> Observed {
    let dir = tempfile::tempdir().unwrap();
    let manifest = project.join("fnctl.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let with = text.replace(
        "env = { GREETING = \"hello\" }",
        &format!(
            "env = {{ GREETING = \"hello\", OBSERVE_DIR = \"{}\" }}",
            dir.path().display()
        ),
    );
    assert_ne!(with, text, "the fixture's env was found");
    std::fs::write(&manifest, with).unwrap();
    Observed(dir)
}

/// A host that does not come back: the restart answers are retried a
/// bounded number of times (here three, without waiting), then the call
/// fails saying what happened and what to do. Counted in requests.
#[test]
fn a_host_that_stays_down_fails_clearly_after_bounded_retries() {
    use fnctl::provider::azure::backend::{AzureBackend, HostRetry};
    let server = ArmServer::start();
    let dir = project(&server);
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    {
        let mut w = server.world.lock().unwrap();
        w.sites.values_mut().next().unwrap().restarting = u32::MAX;
        w.host_unavailable_answers = 0;
    }
    let opts = fnctl::manifest::LoadOptions {
        stage: "dev",
        env: &fnctl::manifest::ProcessEnv,
        check_files: true,
    };
    let app = fnctl::manifest::load(&dir.path().join("fnctl.toml"), &opts)
        .unwrap()
        .0;
    let mut backend =
        AzureBackend::connect_with(&app, std::sync::Arc::new(crate::arm::TestToken)).unwrap();
    backend.host_retry = HostRetry {
        delays: vec![std::time::Duration::ZERO; 3],
    };
    let err = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(backend.invoke_admin("tick", &serde_json::json!({})))
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("was still not up after 4 attempts")
            && text.contains("host/default/listkeys")
            && text.contains("(ServiceUnavailable) from host runtime"),
        "{text}"
    );
    assert!(
        err.hint().unwrap().contains("run the same command again"),
        "{:?}",
        err.hint()
    );
    assert_eq!(server.world.lock().unwrap().host_unavailable_answers, 4);
}

/// A remove stopped after the action group went and before its rule: the
/// rerun finds the rule (which still says whose the action group was),
/// deletes it, does not claim the action group again, and the group goes.
#[test]
fn a_remove_stopped_between_the_action_group_and_its_rule_finishes_on_rerun() {
    let server = ArmServer::start();
    let dir = project(&server);
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    let (status, body) = server.call(
        "DELETE",
        &format!("{RG_PATH}/providers/microsoft.insights/actionGroups/Application%20Insights%20Smart%20Detection?api-version=2023-01-01"),
        None,
    );
    assert_eq!(status, 200, "{body}");
    let (code, doc, stderr) = run(dir.path(), &["remove"]);
    assert_eq!(code, 0, "{stderr}");
    let removed: Vec<&str> = doc["removals"][0]["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert!(removed.contains(&"smart_detector_alert_rule"), "{doc:#}");
    assert!(!removed.contains(&"action_group"), "{doc:#}");
    let w = server.world.lock().unwrap();
    assert!(w.alert_rules.is_empty() && w.resource_groups.is_empty());
}
