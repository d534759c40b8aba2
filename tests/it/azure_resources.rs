//! App resources on Azure (issue 16, part 1): a bucket, a queue and a table
//! become a blob container, a Storage queue and a Table in an app-data
//! storage account; the Function App gets a system-assigned identity and
//! one role assignment per (resource, role) from the union of its
//! functions' access, named deterministically; the settings carry
//! identity-based connections (no keys) and the `FNCTL_*` variables. A
//! no-op redeploy changes nothing, a changed access level changes only its
//! assignment, `remove` deletes the assignments and keeps what may hold
//! data, and a deployer without `roleAssignments/write` is told which role
//! to grant.
//!
//! ARM is the test server ([`super::arm`]).

use std::path::Path;

use serde_json::{json, Value};

use crate::arm::ArmServer;
use crate::azure::{project_at, run};

const SUB: &str = "00000000-0000-0000-0000-000000000000";

const BLOB_READER: &str = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
const BLOB_CONTRIBUTOR: &str = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
const QUEUE_SENDER: &str = "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a";
const QUEUE_PROCESSOR: &str = "8a0f0c08-91a1-4084-bc3d-661d67233fed";
const TABLE_CONTRIBUTOR: &str = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3";

const MANIFEST: &str = r#"[app]
name = "stock"
runtime = "python3.12"
timeout = 10

[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "stock-rg"
location = "westeurope"

[resources.uploads]
kind = "bucket"

[resources.jobs]
kind = "queue"

[resources.ledger]
kind = "table"
partition_key = "id"

[functions.api]
source = "src"
handler = "handlers.api"
access = { uploads = "read", jobs = "send", ledger = "read-write" }

[[functions.api.triggers]]
type = "http"
method = "GET"
path = "/items/{id}"

[functions.worker]
source = "src"
handler = "handlers.tick"
access = { uploads = "write", jobs = "consume" }

[[functions.worker.triggers]]
type = "schedule"
schedule = "rate(5 minutes)"
"#;

/// The portable fixture's handlers under [`MANIFEST`], every endpoint at
/// `server`.
fn project(server: &ArmServer) -> tempfile::TempDir {
    let dir = project_at(&server.url, "tests/fixtures/portable");
    let u = &server.url;
    let text = MANIFEST.replace(
        "location = \"westeurope\"\n",
        &format!(
            "location = \"westeurope\"\nendpoints = {{ arm = \"{u}\", scm = \"{u}\", app = \"{u}\", storage = \"{u}/devstoreaccount1\", logs = \"{u}\" }}\n"
        ),
    );
    std::fs::write(dir.path().join("fnctl.toml"), text).unwrap();
    dir
}

fn edit(dir: &Path, from: &str, to: &str) {
    let manifest = dir.join("fnctl.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains(from), "{text}");
    std::fs::write(&manifest, text.replacen(from, to, 1)).unwrap();
}

/// The offline plan's changes.
fn planned(dir: &Path) -> Vec<Value> {
    let (code, doc, stderr) = run(dir, &["plan", "--offline"]);
    assert_eq!(code, 0, "{stderr}");
    doc["plans"][0]["changes"].as_array().unwrap().clone()
}

fn name_of(changes: &[Value], kind: &str) -> String {
    changes
        .iter()
        .find(|c| c["id"]["kind"] == kind)
        .and_then(|c| c["id"]["name"].as_str())
        .unwrap_or_else(|| panic!("no {kind} in {changes:#?}"))
        .to_string()
}

/// (scope, role definition GUID, principal) of every role assignment.
fn assignments(server: &ArmServer) -> Vec<(String, String, String)> {
    let w = server.world.lock().unwrap();
    let mut out: Vec<_> = w
        .role_assignments
        .values()
        .map(|a| {
            let p = &a["properties"];
            let definition = p["roleDefinitionId"].as_str().unwrap();
            assert!(
                definition.starts_with(&format!(
                    "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/"
                )),
                "{definition}"
            );
            (
                p["scope"].as_str().unwrap().to_string(),
                definition.rsplit('/').next().unwrap().to_string(),
                p["principalId"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn data_path(account: &str, rest: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourcegroups/stock-rg/providers/Microsoft.Storage/storageAccounts/{account}/{rest}"
    )
}

#[test]
fn resources_identity_role_assignments_settings_and_remove() {
    let server = ArmServer::start();
    let dir = project(&server);
    let changes = planned(dir.path());
    let account = name_of(&changes, "data_account");
    let fnctl_account = name_of(&changes, "storage_account");
    assert_ne!(account, fnctl_account, "the data has an account of its own");
    // The plan says the identity's access is the union over the functions.
    let grants: Vec<&Value> = changes
        .iter()
        .filter(|c| c["id"]["kind"] == "role_assignment")
        .collect();
    assert_eq!(grants.len(), 4, "{grants:#?}");
    let text = serde_json::to_string(&grants).unwrap();
    assert!(text.contains("shared by all its functions"), "{text}");
    assert!(text.contains("needed_by"), "{text}");

    // 1. Deploy.
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true, "{doc:#}");

    // 2. The resources exist with fnctl's marks; the site has an identity.
    let (site, principal) = {
        let w = server.world.lock().unwrap();
        let sa = &w.storage_accounts[&account];
        assert_eq!(sa["tags"]["managed-by"], "fnctl");
        assert_eq!(sa["tags"]["fnctl-stage"], "dev");
        let marks = json!({"fnctl_app": "stock", "fnctl_stage": "dev", "managed_by": "fnctl"});
        let key = |n: &str| (account.clone(), n.to_string());
        assert_eq!(w.container_metadata[&key("stock-dev-uploads")], marks);
        assert_eq!(w.queues[&key("stock-dev-jobs")], marks);
        assert!(w.tables.contains(&key("stockdevledger")));
        let (name, site) = w.sites.iter().next().unwrap();
        assert_eq!(site.body["identity"]["type"], "SystemAssigned");
        let principal = site.body["identity"]["principalId"]
            .as_str()
            .unwrap()
            .to_string();
        // 3. Identity-based connections, the FNCTL_* variables, no keys.
        let s = &site.settings;
        assert_eq!(
            s["FNCTL_DATA__blobServiceUri"],
            format!("https://{account}.blob.core.windows.net")
        );
        assert_eq!(
            s["FNCTL_DATA__queueServiceUri"],
            format!("https://{account}.queue.core.windows.net")
        );
        assert_eq!(
            s["FNCTL_DATA__tableServiceUri"],
            format!("https://{account}.table.core.windows.net")
        );
        assert_eq!(s["FNCTL_UPLOADS_NAME"], "stock-dev-uploads");
        assert_eq!(s["FNCTL_JOBS_NAME"], "stock-dev-jobs");
        assert_eq!(
            s["FNCTL_JOBS_URL"],
            format!("https://{account}.queue.core.windows.net/stock-dev-jobs")
        );
        assert_eq!(s["FNCTL_LEDGER_NAME"], "stockdevledger");
        for (k, v) in s {
            assert!(
                !v.contains(&account) || !v.contains("AccountKey"),
                "{k} holds a key of the data account"
            );
        }
        (name.clone(), principal)
    };
    assert!(!site.is_empty());

    // 4. Exactly the expected role assignments, scoped to each resource.
    let mut expected = vec![
        (
            data_path(
                &account,
                "blobServices/default/containers/stock-dev-uploads",
            ),
            BLOB_CONTRIBUTOR.to_string(),
            principal.clone(),
        ),
        (
            data_path(&account, "queueServices/default/queues/stock-dev-jobs"),
            QUEUE_SENDER.to_string(),
            principal.clone(),
        ),
        (
            data_path(&account, "queueServices/default/queues/stock-dev-jobs"),
            QUEUE_PROCESSOR.to_string(),
            principal.clone(),
        ),
        (
            data_path(&account, "tableServices/default/tables/stockdevledger"),
            TABLE_CONTRIBUTOR.to_string(),
            principal.clone(),
        ),
    ];
    expected.sort();
    assert_eq!(assignments(&server), expected);

    // 5. A no-op redeploy changes nothing.
    server.clear_log();
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(server.mutating_requests(), Vec::<String>::new());

    // 6. One access level less: only that assignment changes (the
    //    contributor role gives way to the reader role).
    edit(
        dir.path(),
        "access = { uploads = \"write\", jobs = \"consume\" }",
        "access = { jobs = \"consume\" }",
    );
    server.clear_log();
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let mutating = server.mutating_requests();
    assert_eq!(mutating.len(), 2, "{mutating:#?}");
    assert!(
        mutating
            .iter()
            .all(|m| m.contains("/providers/Microsoft.Authorization/roleAssignments/")),
        "{mutating:#?}"
    );
    let now = assignments(&server);
    assert_eq!(now.len(), 4);
    assert!(now.iter().any(|(_, r, _)| r == BLOB_READER));
    assert!(!now.iter().any(|(_, r, _)| r == BLOB_CONTRIBUTOR));

    // 7. remove: the assignments and the app go; the data account stays
    //    with what may hold data (containers and tables; the empty queue
    //    is not a reason to keep it).
    let (code, doc, stderr) = run(dir.path(), &["remove"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert!(assignments(&server).is_empty());
    let kept = doc["removals"][0]["kept"].as_array().unwrap().clone();
    let kept_kinds: Vec<&str> = kept
        .iter()
        .map(|k| k["id"]["kind"].as_str().unwrap())
        .collect();
    assert!(kept_kinds.contains(&"data_account"), "{doc:#}");
    assert!(kept_kinds.contains(&"data_container"), "{doc:#}");
    assert!(kept_kinds.contains(&"data_table"), "{doc:#}");
    assert!(!kept_kinds.contains(&"data_queue"), "{doc:#}");
    {
        let w = server.world.lock().unwrap();
        assert!(w.sites.is_empty());
        assert!(w.storage_accounts.contains_key(&account));
        assert!(!w.storage_accounts.contains_key(&fnctl_account));
    }
    // --delete-data takes the data account too.
    let (code, doc, stderr) = run(dir.path(), &["remove", "--delete-data"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert!(!server
        .world
        .lock()
        .unwrap()
        .storage_accounts
        .contains_key(&account));
}

#[test]
fn a_queue_with_messages_is_kept() {
    let server = ArmServer::start();
    let dir = project(&server);
    // Only the queue: no container or table that would keep the account anyway.
    let text = std::fs::read_to_string(dir.path().join("fnctl.toml")).unwrap();
    let text = text
        .replace("[resources.uploads]\nkind = \"bucket\"\n", "")
        .replace(
            "[resources.ledger]\nkind = \"table\"\npartition_key = \"id\"\n",
            "",
        )
        .replace(
            "access = { uploads = \"read\", jobs = \"send\", ledger = \"read-write\" }",
            "access = { jobs = \"send\" }",
        )
        .replace(
            "access = { uploads = \"write\", jobs = \"consume\" }",
            "access = { jobs = \"consume\" }",
        );
    std::fs::write(dir.path().join("fnctl.toml"), text).unwrap();
    let account = name_of(&planned(dir.path()), "data_account");
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    server
        .world
        .lock()
        .unwrap()
        .queue_messages
        .insert((account.clone(), "stock-dev-jobs".into()), 3);
    let (code, doc, stderr) = run(dir.path(), &["remove"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let kept = &doc["removals"][0]["kept"];
    assert!(
        kept.as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"]["kind"] == "data_queue"
                && k["reason"].as_str().unwrap().contains("3 messages")),
        "{doc:#}"
    );
    // Emptied, the queue no longer keeps the account.
    server.world.lock().unwrap().queue_messages.clear();
    let (code, doc, stderr) = run(dir.path(), &["remove"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["removals"][0]["kept"], json!([]), "{doc:#}");
    assert!(server.world.lock().unwrap().storage_accounts.is_empty());
}

#[test]
fn a_deployer_without_role_assignment_rights_is_told_which_role_to_grant() {
    let server = ArmServer::start();
    server.world.lock().unwrap().deny_role_assignments = true;
    let dir = project(&server);
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_ne!(code, 0, "{stderr}\n{doc:#}");
    let all = format!("{stderr}\n{doc}");
    assert!(
        all.contains("Microsoft.Authorization/roleAssignments/write"),
        "{all}"
    );
    assert!(
        all.contains("Role Based Access Control Administrator"),
        "{all}"
    );
    assert!(all.contains("/resourcegroups/stock-rg"), "{all}");
    assert!(server.world.lock().unwrap().role_assignments.is_empty());
}

#[test]
fn a_queue_without_fnctls_marks_is_a_conflict_and_nothing_changes() {
    let server = ArmServer::start();
    let dir = project(&server);
    let account = name_of(&planned(dir.path()), "data_account");
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    // Someone else's queue under fnctl's name (no marks).
    server.world.lock().unwrap().queues.insert(
        (account.clone(), "stock-dev-jobs".into()),
        json!({"owner": "ops"}),
    );
    let (code, doc, stderr) = run(dir.path(), &["plan"]);
    assert_ne!(code, 0, "{stderr}\n{doc:#}");
    let all = format!("{stderr}\n{doc}");
    assert!(all.contains("stock-dev-jobs"), "{all}");
    assert!(all.contains("carries no fnctl metadata"), "{all}");
    server.clear_log();
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_ne!(code, 0, "{stderr}");
    assert_eq!(server.mutating_requests(), Vec::<String>::new());
    assert_eq!(
        server.world.lock().unwrap().queues[&(account, "stock-dev-jobs".to_string())],
        json!({"owner": "ops"})
    );
}

#[test]
fn an_app_that_gains_resources_gets_its_identity_and_roles_on_the_next_deploy() {
    let server = ArmServer::start();
    let dir = project(&server);
    // First without resources or access.
    let text = std::fs::read_to_string(dir.path().join("fnctl.toml")).unwrap();
    let bare: String = text
        .lines()
        .filter(|l| !l.starts_with("access = "))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("[resources.uploads]\nkind = \"bucket\"\n", "")
        .replace("[resources.jobs]\nkind = \"queue\"\n", "")
        .replace(
            "[resources.ledger]\nkind = \"table\"\npartition_key = \"id\"\n",
            "",
        );
    std::fs::write(dir.path().join("fnctl.toml"), &bare).unwrap();
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    {
        let w = server.world.lock().unwrap();
        let site = w.sites.values().next().unwrap();
        assert!(
            site.body.get("identity").is_none(),
            "no identity without resources"
        );
        assert!(!site.settings.keys().any(|k| k.starts_with("FNCTL_DATA")));
    }
    // Then with them: the site gains its identity, then its roles.
    std::fs::write(dir.path().join("fnctl.toml"), text).unwrap();
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true, "{doc:#}");
    let principal = {
        let w = server.world.lock().unwrap();
        let site = w.sites.values().next().unwrap();
        assert_eq!(site.body["identity"]["type"], "SystemAssigned");
        site.body["identity"]["principalId"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let now = assignments(&server);
    assert_eq!(now.len(), 4, "{now:#?}");
    assert!(now.iter().all(|(_, _, p)| *p == principal));
    server.clear_log();
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(server.mutating_requests(), Vec::<String>::new());
}
