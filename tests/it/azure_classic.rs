//! Classic Linux Consumption (`plan = "consumption"`): run-from-package.
//! ARM is the test server ([`super::arm`]); the storage account's data
//! plane is Azurite, so the package upload, the SAS tokens fnctl signs and
//! the app host's fetch of its package are checked by Microsoft's emulator.

use std::path::Path;

use serde_json::Value;

use crate::arm::{self, ArmServer};
use crate::azure::{project_at, run};
use crate::azurite::Azurite;

/// The portable fixture on classic Consumption, with ARM at `server` and the
/// blob service at Azurite (started here, with the storage account fnctl
/// will create and the key the test server will hand out for it).
fn classic_project(server: &ArmServer) -> (tempfile::TempDir, Azurite, String) {
    classic_project_at(server, &server.url)
}

/// As [`classic_project`], with ARM calls sent to `arm` (a proxy in front
/// of `server`).
pub fn classic_project_at(server: &ArmServer, arm: &str) -> (tempfile::TempDir, Azurite, String) {
    classic_fixture_at(server, arm, "tests/fixtures/portable")
}

fn classic_fixture_at(
    server: &ArmServer,
    arm: &str,
    fixture: &str,
) -> (tempfile::TempDir, Azurite, String) {
    let dir = project_at(arm, fixture);
    let manifest = dir.path().join("fnctl.toml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        "location = \"westeurope\"\n",
        "location = \"westeurope\"\nplan = \"consumption\"\n",
    );
    std::fs::write(&manifest, &text).unwrap();
    let sa = storage_account(dir.path());
    let azurite = Azurite::start(&[(&sa, &arm::storage_key(&sa, 1))]);
    point_storage_at(
        dir.path(),
        &format!("{arm}/devstoreaccount1"),
        &azurite.url,
        &sa,
    );
    server.world.lock().unwrap().blob_service = Some(azurite.url.clone());
    (dir, azurite, sa)
}

/// Rewrites the manifest's storage endpoint from `from` to `{to}/{sa}`.
pub fn point_storage_at(dir: &Path, from: &str, to: &str, sa: &str) {
    let manifest = dir.join("fnctl.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains(from), "{text}");
    let text = text.replace(
        &format!("storage = \"{from}\""),
        &format!("storage = \"{to}/{sa}\""),
    );
    std::fs::write(&manifest, text).unwrap();
}

/// The storage account name fnctl derives, from an offline plan.
fn storage_account(dir: &Path) -> String {
    let (code, doc, stderr) = run(dir, &["plan", "--offline"]);
    assert_eq!(code, 0, "{stderr}");
    doc["plans"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"]["kind"] == "storage_account")
        .and_then(|c| c["id"]["name"].as_str())
        .unwrap()
        .to_string()
}

fn settings(server: &ArmServer) -> std::collections::BTreeMap<String, String> {
    let w = server.world.lock().unwrap();
    w.sites.values().next().unwrap().settings.clone()
}

fn package_history(server: &ArmServer) -> Vec<String> {
    let w = server.world.lock().unwrap();
    let site = w.sites.values().next().unwrap();
    site.body["tags"]["fnctl-packages"]
        .as_str()
        .unwrap_or_default()
        .split(',')
        .map(str::to_string)
        .collect()
}

fn change_code(dir: &Path, n: usize) {
    let handlers = dir.join("src/handlers.py");
    let mut text = std::fs::read_to_string(&handlers).unwrap();
    text.push_str(&format!("\n# change {n}\n"));
    std::fs::write(&handlers, text).unwrap();
}

#[test]
fn run_from_package_deploy_noop_change_prune_and_remove() {
    let server = ArmServer::start();
    let (dir, azurite, sa) = classic_project(&server);
    let observed = crate::azure::observe(dir.path());

    // 1. Deploy: the package goes to blob storage and the app runs it.
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true, "{doc:#}");
    let package_url = {
        let w = server.world.lock().unwrap();
        let plan = w.plans.values().next().unwrap();
        assert_eq!(plan["sku"]["name"], "Y1");
        assert_eq!(plan["sku"]["tier"], "Dynamic");
        assert_eq!(plan["properties"]["reserved"], true);
        let site = w.sites.values().next().unwrap();
        assert!(site.body["properties"]["functionAppConfig"].is_null());
        assert_eq!(site.linux_fx_version, "Python|3.12");
        assert_eq!(site.syncs, 1, "triggers synced once, after the package");
        let s = &site.settings;
        assert_eq!(s["FUNCTIONS_EXTENSION_VERSION"], "~4");
        assert_eq!(s["FUNCTIONS_WORKER_RUNTIME"], "python");
        assert!(!s.contains_key("DEPLOYMENT_STORAGE_CONNECTION_STRING"));
        let url = s["WEBSITE_RUN_FROM_PACKAGE"].clone();
        assert!(
            url.starts_with(&format!("{}/{sa}/app-package/fnctl-", azurite.url)),
            "{url}"
        );
        assert!(url.contains("sp=r&"), "read-only: {url}");
        let names: Vec<&String> = site.functions.keys().collect();
        assert_eq!(
            names,
            ["api-http1", "api-http2", "broken", "tick", "upload"]
        );
        // Classic Consumption scans for blobs: no Event Grid.
        assert_ne!(
            site.functions["upload"]["bindings"][0]["source"],
            "EventGrid"
        );
        assert!(w.event_subscriptions.is_empty());
        url
    };
    // The blob holds the zip the host loaded; without the SAS it is private.
    let (status, body) = arm::http_get(&package_url).unwrap();
    assert_eq!(status, 200);
    {
        let w = server.world.lock().unwrap();
        assert_eq!(
            w.sites.values().next().unwrap().package.as_deref(),
            Some(&body[..])
        );
    }
    let (status, _) = arm::http_get(package_url.split('?').next().unwrap()).unwrap();
    assert!(
        status == 403 || status == 404,
        "anonymous read got {status}"
    );
    // A tampered signature is refused by the storage service.
    let tampered = package_url.replace("sp=r&", "sp=rw&");
    assert_eq!(arm::http_get(&tampered).unwrap().0, 403);
    // The storage key never reaches the output.
    let key = arm::storage_key(&sa, 1);
    assert!(!stderr.contains(&key) && !doc.to_string().contains(&key));
    assert!(
        !doc.to_string().contains("sig="),
        "no SAS in the output: {doc:#}"
    );

    // Neither does the SAS: not in plans, info, or verbose logs.
    for args in [
        &["-v", "plan"][..],
        &["-v", "info"][..],
        &["-v", "deploy"][..],
    ] {
        let out = crate::common::fnctl()
            .current_dir(dir.path())
            .env("FNCTL_AZURE_ACCESS_TOKEN", arm::TOKEN)
            .args(["--provider", "azure"])
            .args(args)
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0), "{all}");
        assert!(
            !all.contains("sig=") && !all.contains(&key),
            "{args:?}: {all}"
        );
    }
    let (_, doc, _) = run(dir.path(), &["info"]);
    assert!(!doc.to_string().contains("sig="), "{doc:#}");

    // 2. The app answers with the deployed code. A blob function runs on a
    //    blob the host can read: a sample fnctl put into its own container
    //    (the blob service, Azurite, checks the signatures).
    let (code, doc, stderr) = run(
        dir.path(),
        &["invoke", "api", "--event", "http", "--expect-status", "200"],
    );
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let (code, doc, stderr) = run(dir.path(), &["invoke", "upload", "--event", "storage"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    {
        let w = server.world.lock().unwrap();
        let (name, outcome) = w.admin_runs.last().unwrap();
        assert_eq!(name, "upload");
        assert!(outcome.get("error").is_none(), "{outcome:#}");
    }
    let seen = observed.seen("upload");
    assert_eq!(seen["bucket"], "app-package");
    assert_eq!(seen["key"], "fnctl-invoke/upload/in/sample.txt");

    // 3. An unchanged redeploy changes nothing, in ARM or in storage.
    server.clear_log();
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");
    assert_eq!(server.mutating_requests(), Vec::<String>::new());
    let (code, doc, _) = run(dir.path(), &["plan"]);
    assert_eq!(code, 0);
    assert_eq!(doc["plans"][0]["summary"]["update"], 0, "{doc:#}");
    assert_eq!(doc["plans"][0]["summary"]["create"], 0, "{doc:#}");

    // 4. A code change: new blob, one settings PUT (the new URL), the tag,
    //    a sync; the previous package stays for rollback.
    change_code(dir.path(), 1);
    server.clear_log();
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let mutating = server.mutating_requests();
    assert_eq!(mutating.len(), 3, "{mutating:?}");
    assert!(mutating[0].ends_with("/config/appsettings"), "{mutating:?}");
    assert!(
        mutating[1].ends_with("/syncfunctiontriggers"),
        "{mutating:?}"
    );
    assert!(mutating[2].ends_with("/tags/default"), "{mutating:?}");
    let second_url = settings(&server)["WEBSITE_RUN_FROM_PACKAGE"].clone();
    assert_ne!(second_url, package_url);
    assert_eq!(package_history(&server).len(), 2);
    assert_eq!(arm::http_get(&package_url).unwrap().0, 200, "kept");
    {
        let w = server.world.lock().unwrap();
        assert_eq!(w.sites.values().next().unwrap().syncs, 2);
    }

    // 5. Two more changes: three packages are kept, the first is deleted.
    change_code(dir.path(), 2);
    assert_eq!(run(dir.path(), &["deploy"]).0, 0);
    change_code(dir.path(), 3);
    assert_eq!(run(dir.path(), &["deploy"]).0, 0);
    let history = package_history(&server);
    assert_eq!(history.len(), 3, "{history:?}");
    assert_eq!(arm::http_get(&package_url).unwrap().0, 404, "pruned");
    assert_eq!(arm::http_get(&second_url).unwrap().0, 200, "kept");

    // 6. rollback runs the package before, then the one before that, and
    //    stops at the oldest kept; one function alone is refused.
    let running = |server: &ArmServer| {
        let w = server.world.lock().unwrap();
        w.sites.values().next().unwrap().package.clone().unwrap()
    };
    let latest = running(&server);
    let (code, doc, stderr) = run(dir.path(), &["rollback"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let r = &doc["rollbacks"][0];
    assert_eq!(r["from_package"], history[0].as_str(), "{doc:#}");
    assert_eq!(r["to_package"], history[1].as_str(), "{doc:#}");
    let rolled = running(&server);
    assert_ne!(rolled, latest, "the host loaded the older package");
    assert!(settings(&server)["WEBSITE_RUN_FROM_PACKAGE"].contains(&history[1]));
    let (code, doc, _) = run(dir.path(), &["rollback"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["rollbacks"][0]["to_package"], history[2].as_str());
    let (code, doc, stderr) = run(dir.path(), &["rollback"]);
    assert_eq!(code, 1, "nothing older is kept: {doc:#}");
    assert!(
        format!("{doc}{stderr}").contains("oldest package"),
        "{doc:#}{stderr}"
    );
    let (code, doc, stderr) = run(dir.path(), &["rollback", "api"]);
    assert_eq!(code, 2, "{doc:#}{stderr}");
    // --list: the kept packages, newest first, the running one marked;
    // --to runs a named one.
    let (code, doc, stderr) = run(dir.path(), &["rollback", "--list"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let listed: Vec<(&str, bool)> = doc["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_str().unwrap(), v["current"] == true))
        .collect();
    assert_eq!(
        listed,
        vec![
            (history[0].as_str(), false),
            (history[1].as_str(), false),
            (history[2].as_str(), true)
        ],
        "{doc:#}"
    );
    assert!(doc["note"].as_str().unwrap().contains("last 3"), "{doc:#}");
    let (code, doc, stderr) = run(dir.path(), &["rollback", "--to", history[1].as_str()]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["rollbacks"][0]["to_package"], history[1].as_str());
    assert!(settings(&server)["WEBSITE_RUN_FROM_PACKAGE"].contains(&history[1]));
    let (code, doc, _) = run(dir.path(), &["rollback", "--to", "fnctl-nope.zip"]);
    assert_eq!(code, 1, "{doc:#}");
    // The plan shows the way forward; deploy takes it.
    let (_, doc, _) = run(dir.path(), &["plan"]);
    assert_eq!(doc["plans"][0]["summary"]["update"], 1, "{doc:#}");
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(running(&server), latest, "back on the manifest's code");
    assert_eq!(package_history(&server), history, "same three packages");

    // 7. A setting pointed elsewhere by hand is noticed and the package
    //    deployed again.
    {
        let mut w = server.world.lock().unwrap();
        let site = w.sites.values_mut().next().unwrap();
        site.settings.insert(
            "WEBSITE_RUN_FROM_PACKAGE".into(),
            "https://example.invalid/other.zip".into(),
        );
    }
    let (code, doc, _) = run(dir.path(), &["plan"]);
    assert_eq!(code, 0);
    assert!(
        doc.to_string().contains("(a URL fnctl did not set)"),
        "{doc:#}"
    );
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(settings(&server)["WEBSITE_RUN_FROM_PACKAGE"]
        .starts_with(&format!("{}/{sa}/app-package/fnctl-", azurite.url)));
    server.clear_log();
    let (code, doc, _) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0);
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");

    // 8. remove deletes the app, plan and storage account, the smart
    //    detection Azure added for the Application Insights component, and
    //    the group fnctl created.
    {
        let w = server.world.lock().unwrap();
        assert_eq!(w.action_groups.len(), 1);
        assert_eq!(w.alert_rules.len(), 1);
    }
    let (code, doc, stderr) = run(dir.path(), &["remove"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(doc["removals"][0]["kept"], serde_json::json!([]), "{doc:#}");
    let w = server.world.lock().unwrap();
    assert!(w.sites.is_empty() && w.plans.is_empty() && w.storage_accounts.is_empty());
    assert!(w.workspaces.is_empty() && w.components.is_empty());
    assert!(w.action_groups.is_empty() && w.alert_rules.is_empty());
    assert!(w.resource_groups.is_empty(), "{:?}", w.resource_groups);
}

/// Classic Consumption syncs triggers right after the settings that point
/// at a new package, which restart the host: the sync's 400 "Encountered
/// an error (ServiceUnavailable) from host runtime." is waited out.
#[test]
fn the_trigger_sync_waits_for_a_restarting_host() {
    let server = ArmServer::start();
    let (dir, _azurite, _) = classic_project(&server);
    server.world.lock().unwrap().host_restart_requests = 2;
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true);
    let w = server.world.lock().unwrap();
    assert_eq!(w.host_unavailable_answers, 2);
    assert_eq!(w.sites.values().next().unwrap().syncs, 1);
}

#[test]
fn a_package_the_app_cannot_fetch_fails_the_deploy_and_a_rerun_converges() {
    let server = ArmServer::start();
    let (dir, _azurite, _) = classic_project(&server);
    // The sync fails once (as when the host cannot start on the package).
    server
        .world
        .lock()
        .unwrap()
        .faults
        .push(("/syncfunctiontriggers".into(), 400));
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_ne!(code, 0, "{doc:#}");
    let said = format!("{doc}{stderr}");
    assert!(said.contains("syncfunctiontriggers"), "{said}");
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true);
    {
        let mut w = server.world.lock().unwrap();
        let site = w.sites.values_mut().next().unwrap();
        assert_eq!(site.functions.len(), 5);
        // The platform loses track of the triggers (a sync that never
        // happened): the package is current, yet the functions are missing.
        site.functions.clear();
    }
    server.clear_log();
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let mutating = server.mutating_requests();
    assert_eq!(mutating.len(), 1, "only a sync: {mutating:?}");
    assert!(mutating[0].ends_with("/syncfunctiontriggers"));
    let w = server.world.lock().unwrap();
    let site: &arm::Site = w.sites.values().next().unwrap();
    assert_eq!(site.functions.len(), 5);
    assert_eq!(site.body["tags"]["managed-by"], Value::from("fnctl"));
}

#[test]
fn a_node_app_runs_from_its_package_on_classic_consumption() {
    let server = ArmServer::start();
    let (dir, _azurite, _) =
        classic_fixture_at(&server, &server.url, "tests/fixtures/portable-node");
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    {
        let w = server.world.lock().unwrap();
        let site = w.sites.values().next().unwrap();
        assert_eq!(site.linux_fx_version, "Node|22");
        assert_eq!(site.settings["FUNCTIONS_WORKER_RUNTIME"], "node");
        let names: Vec<&String> = site.functions.keys().collect();
        assert_eq!(
            names,
            ["api-http1", "api-http2", "broken", "tick", "upload"]
        );
    }
    let (code, doc, stderr) = run(
        dir.path(),
        &["invoke", "api", "--event", "http", "--expect-status", "200"],
    );
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
}
