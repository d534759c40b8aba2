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

/// Sets `[providers.azure] endpoints.KEY` (an emulator's service started
/// after the project was written) in the project's manifest, replacing an
/// earlier value; the endpoints are an inline table ending in `" }`.
pub(crate) fn set_endpoint(dir: &Path, key: &str, url: &str) {
    let path = dir.join("fnctl.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    let start = format!(", {key} = \"");
    if let Some(at) = text.find(&start) {
        let value = at + start.len();
        let end = value + text[value..].find('"').unwrap();
        text.replace_range(value..end, url);
    } else {
        let end = text.find("\" }\n").expect("the endpoints inline table");
        text.insert_str(end + 1, &format!("{start}{url}\""));
    }
    std::fs::write(&path, text).unwrap();
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

/// A queue holding messages is data, and so is its poison queue (made by
/// the Functions host beside it, without fnctl's marks): `remove` keeps
/// the account while either holds messages, and deletes it once both are
/// empty.
#[test]
fn a_queue_with_messages_is_kept() {
    let server = ArmServer::start();
    let dir = project(&server);
    queue_only(dir.path());
    let account = name_of(&planned(dir.path()), "data_account");
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let poison = (account.clone(), "stock-dev-jobs-poison".to_string());
    {
        let mut w = server.world.lock().unwrap();
        w.queue_messages
            .insert((account.clone(), "stock-dev-jobs".into()), 3);
        w.queues.insert(poison.clone(), json!({}));
        w.queue_messages.insert(poison.clone(), 2);
    }
    let (code, doc, stderr) = run(dir.path(), &["remove"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let kept = doc["removals"][0]["kept"].as_array().unwrap().clone();
    let reason = |name: &str| {
        kept.iter()
            .find(|k| {
                k["id"]["kind"] == "data_queue" && k["id"]["name"] == format!("{account}/{name}")
            })
            .and_then(|k| k["reason"].as_str())
            .unwrap_or_else(|| panic!("{name} not kept: {kept:#?}"))
            .to_string()
    };
    assert!(reason("stock-dev-jobs").contains("3 messages"), "{kept:#?}");
    let poisoned = reason("stock-dev-jobs-poison");
    assert!(
        poisoned.contains("2 messages") && poisoned.contains("poison queue of `stock-dev-jobs`"),
        "{poisoned}"
    );
    // The queue emptied, its poison queue still keeps the account.
    server
        .world
        .lock()
        .unwrap()
        .queue_messages
        .remove(&(account.clone(), "stock-dev-jobs".into()));
    let (code, doc, stderr) = run(dir.path(), &["remove"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let kept = doc["removals"][0]["kept"].as_array().unwrap();
    assert!(
        kept.iter()
            .any(|k| k["id"]["name"] == format!("{account}/stock-dev-jobs-poison")),
        "{doc:#}"
    );
    assert!(server
        .world
        .lock()
        .unwrap()
        .storage_accounts
        .contains_key(&account));
    // Both empty: nothing keeps the account, which goes with both queues.
    server.world.lock().unwrap().queue_messages.clear();
    let (code, doc, stderr) = run(dir.path(), &["remove"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["removals"][0]["kept"], json!([]), "{doc:#}");
    let w = server.world.lock().unwrap();
    assert!(w.storage_accounts.is_empty());
    assert!(!w.queues.contains_key(&poison));
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

/// Keeps only the queue of [`MANIFEST`] (no container or table that would
/// keep the data account anyway), with the functions' access cut to it.
fn queue_only(dir: &Path) {
    let text = std::fs::read_to_string(dir.join("fnctl.toml")).unwrap();
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
    std::fs::write(dir.join("fnctl.toml"), text).unwrap();
}

/// Azurite's queue service (npm `azurite`, `azurite-queue`, installed by
/// .ci/run into .node-test) on a free loopback port, with one account and
/// its key, stopped when dropped.
struct AzuriteQueue {
    url: String,
    child: std::process::Child,
    _data: tempfile::TempDir,
}

impl AzuriteQueue {
    fn start(account: &str, key: &str) -> AzuriteQueue {
        let bin = crate::common::repo().join(".node-test/node_modules/.bin/azurite-queue");
        assert!(
            bin.exists(),
            "{} is missing: run `bash .ci/run` once",
            bin.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data = tempfile::tempdir().unwrap();
        let log = data.path().join("azurite.log");
        let mut child = std::process::Command::new(&bin)
            .args(["--queueHost", "127.0.0.1", "--queuePort", &port.to_string()])
            .arg("--location")
            .arg(data.path())
            .args(["--skipApiVersionCheck", "--loose", "--silent"])
            .env("AZURITE_ACCOUNTS", format!("{account}:{key}"))
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start azurite-queue");
        // Bounded: a start that hangs fails the test instead.
        for _ in 0..6000 {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "azurite-queue exited ({status}):\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return AzuriteQueue {
                    url: format!("http://127.0.0.1:{port}"),
                    child,
                    _data: data,
                };
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = child.kill();
        panic!("azurite-queue did not listen on port {port}");
    }

    /// An account SAS of `account` for the queue service (`ss=q`) on
    /// `srt` resources with `sp` ("Create an account SAS", signed version
    /// 2020-12-06 and later).
    fn sas(account: &str, key: &str, srt: &str, sp: &str) -> String {
        let version = "2022-11-02";
        let expiry = "2099-01-01T00:00:00Z";
        let to_sign = format!("{account}\n{sp}\nq\n{srt}\n\n{expiry}\n\n\n{version}\n\n");
        let key = azure_core::auth::Secret::new(key.to_string());
        let sig = azure_core::hmac::hmac_sha256(&to_sign, &key).unwrap();
        let sig: String =
            percent_encoding::utf8_percent_encode(&sig, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        format!(
            "sv={version}&ss=q&srt={srt}&sp={sp}&se={}&sig={sig}",
            expiry.replace(':', "%3A")
        )
    }

    /// One HTTP/1.0 request: (status, body).
    fn request(&self, method: &str, path_and_query: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let authority = self.url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(authority).unwrap();
        write!(
            stream,
            "{method} {path_and_query} HTTP/1.0\r\nHost: {authority}\r\nx-ms-version: 2022-11-02\r\nContent-Length: 0\r\n\r\n"
        )
        .unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        (status, body.to_string())
    }

    fn create_queue(&self, account: &str, key: &str, queue: &str) {
        let sas = Self::sas(account, key, "c", "c");
        let (status, body) = self.request("PUT", &format!("/{account}/{queue}?{sas}"));
        assert!(status == 201 || status == 204, "{status}: {body}");
    }

    /// The texts of the messages waiting in `queue`, base64-decoded (Peek
    /// Messages).
    fn peek(&self, account: &str, key: &str, queue: &str) -> Vec<String> {
        use base64::Engine;
        let sas = Self::sas(account, key, "o", "r");
        let (status, body) = self.request(
            "GET",
            &format!("/{account}/{queue}/messages?peekonly=true&numofmessages=32&{sas}"),
        );
        assert_eq!(status, 200, "{body}");
        body.split("<MessageText>")
            .skip(1)
            .map(|rest| {
                let text = rest.split("</MessageText>").next().unwrap();
                String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .unwrap(),
                )
                .unwrap()
            })
            .collect()
    }
}

impl Drop for AzuriteQueue {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Issue 16 on Azure, end to end: a queue-triggered function deploys with
/// its `queueTrigger` binding on the app-data queue and host.json's queue
/// settings, the identity may process that queue's messages, verify finds
/// exactly the functions the package declares, an unchanged redeploy
/// changes nothing, `fnctl invoke` puts the SQS sample's body on the queue
/// (read back from Azurite), and `remove` deletes the empty queue with its
/// account.
#[test]
fn a_queue_triggered_function_deploys_verifies_is_invoked_and_removed() {
    let server = ArmServer::start();
    let dir = project(&server);
    queue_only(dir.path());
    edit(
        dir.path(),
        "[resources.jobs]\nkind = \"queue\"\n",
        "[resources.jobs]\nkind = \"queue\"\ndead_letter = { after = 4 }\n",
    );
    let text = std::fs::read_to_string(dir.path().join("fnctl.toml")).unwrap();
    std::fs::write(
        dir.path().join("fnctl.toml"),
        format!("{text}\n[functions.consumer]\nsource = \"src\"\nhandler = \"handlers.tick\"\n\n[[functions.consumer.triggers]]\ntype = \"queue\"\nqueue = \"jobs\"\nbatch_size = 8\n"),
    )
    .unwrap();
    let account = name_of(&planned(dir.path()), "data_account");

    // 1. Deploy, verified.
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true, "{doc:#}");

    // 2. The package: the binding on the stage's queue through the
    //    identity-based connection, and host.json's queue settings.
    let (package, principal, listed) = {
        let w = server.world.lock().unwrap();
        let site = w.sites.values().next().unwrap();
        let principal = site.body["identity"]["principalId"]
            .as_str()
            .unwrap()
            .to_string();
        let listed: Vec<String> = site.functions.keys().cloned().collect();
        (site.package.clone().unwrap(), principal, listed)
    };
    assert_eq!(listed, ["api", "consumer", "worker"]);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(package)).unwrap();
    let mut read = |name: &str| -> Value {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(name).unwrap(), &mut text).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let binding = &read("consumer/function.json")["bindings"][0];
    assert_eq!(binding["type"], "queueTrigger");
    assert_eq!(binding["queueName"], "stock-dev-jobs");
    assert_eq!(binding["connection"], "FNCTL_DATA");
    assert_eq!(
        read("host.json")["extensions"]["queues"],
        json!({"batchSize": 8, "maxDequeueCount": 4})
    );

    // 3. The identity processes that queue's messages (and sends, for `api`).
    let queue_scope = data_path(&account, "queueServices/default/queues/stock-dev-jobs");
    let now = assignments(&server);
    assert!(
        now.contains(&(
            queue_scope.clone(),
            QUEUE_PROCESSOR.to_string(),
            principal.clone()
        )),
        "{now:#?}"
    );

    // 4. An unchanged redeploy changes nothing (the queue function is not
    //    seen as missing or extra).
    server.clear_log();
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(server.mutating_requests(), Vec::<String>::new());
    let (code, doc, stderr) = run(dir.path(), &["plan"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let changed: Vec<&Value> = doc["plans"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "noop")
        .collect();
    assert!(changed.is_empty(), "{changed:#?}");

    // 5. invoke puts the SQS sample's body on the queue, as a sender would.
    let key = crate::arm::storage_key(&account, 1);
    let azurite = AzuriteQueue::start(&account, &key);
    azurite.create_queue(&account, &key, "stock-dev-jobs");
    set_endpoint(dir.path(), "queue", &azurite.url);
    let out = crate::common::fnctl()
        .current_dir(dir.path())
        .env("FNCTL_AZURE_ACCESS_TOKEN", crate::arm::TOKEN)
        .args(["--provider", "azure", "--output", "json"])
        .args(["invoke", "consumer", "--event", "queue"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let said = format!("{stdout}{stderr}");
    assert!(
        said.contains("put 1 message on queue `stock-dev-jobs`")
            && said.contains("runs `consumer` once per message"),
        "{said}"
    );
    assert_eq!(
        azurite.peek(&account, &key, "stock-dev-jobs"),
        ["{\"id\": \"1\"}"]
    );

    // 6. remove: the empty queue goes with the data account.
    let (code, doc, stderr) = run(dir.path(), &["remove"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["removals"][0]["kept"], json!([]), "{doc:#}");
    let w = server.world.lock().unwrap();
    assert!(w.storage_accounts.is_empty());
    assert!(w.queues.is_empty());
    assert!(w.role_assignments.is_empty());
}
