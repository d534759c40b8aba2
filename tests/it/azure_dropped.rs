//! Issue 16 on Azure: what leaves the manifest is not orphaned. An app
//! with a bucket, a queue and a table and a function with access to all
//! three drops them (and the access): the next deploy deletes the empty
//! container and queue and the identity's role assignments on all three,
//! keeps the table, which holds an entity (asked of Azurite's table
//! service with Query Entities), and reports it with its account; `remove`
//! keeps them, `remove --delete-data` deletes them. A role assignment made
//! by hand for the same identity, with a role fnctl grants on a resource
//! fnctl made, is never touched: only fnctl's names are fnctl's.
//!
//! ARM is the test server ([`super::arm`]); the blob data plane is the
//! test server's, the table service Azurite's.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::arm::ArmServer;
use crate::azure::project_at;
use crate::common::{fnctl, repo};

const SUB: &str = "00000000-0000-0000-0000-000000000000";
/// Storage Queue Data Message Processor: a role fnctl grants, not granted
/// by this manifest.
const QUEUE_PROCESSOR: &str = "8a0f0c08-91a1-4084-bc3d-661d67233fed";

const MANIFEST: &str = r#"[app]
name = "drop"
runtime = "python3.12"
timeout = 10

[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "drop-rg"
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
access = { uploads = "read-write", jobs = "send", ledger = "read-write" }

[[functions.api.triggers]]
type = "http"
method = "GET"
path = "/items/{id}"
"#;

/// What is left once the three resources and the access are dropped.
const RESOURCES: &str = "[resources.uploads]\nkind = \"bucket\"\n\n[resources.jobs]\nkind = \"queue\"\n\n[resources.ledger]\nkind = \"table\"\npartition_key = \"id\"\n\n";
const ACCESS: &str =
    "access = { uploads = \"read-write\", jobs = \"send\", ledger = \"read-write\" }\n";

/// Only stops a broken test from hanging.
const HANG_GUARD: Duration = Duration::from_secs(300);

/// Azurite's table service (npm `azurite`, `azurite-table`, installed by
/// .ci/run into .node-test) on a free loopback port with one account and
/// its key, stopped when dropped.
struct AzuriteTable {
    url: String,
    child: Child,
    _data: tempfile::TempDir,
}

impl AzuriteTable {
    fn start(account: &str, key: &str) -> AzuriteTable {
        let bin = repo().join(".node-test/node_modules/.bin/azurite-table");
        assert!(
            bin.exists(),
            "{} is missing: run `bash .ci/run` once",
            bin.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data = tempfile::tempdir().unwrap();
        let log = data.path().join("azurite.log");
        let mut child = Command::new(&bin)
            .args(["--tableHost", "127.0.0.1", "--tablePort", &port.to_string()])
            .arg("--location")
            .arg(data.path())
            .args([
                "--skipApiVersionCheck",
                "--loose",
                "--silent",
                "--disableTelemetry",
            ])
            .env("AZURITE_ACCOUNTS", format!("{account}:{key}"))
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("start azurite-table");
        let guard = Instant::now() + HANG_GUARD;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "azurite-table exited ({status}):\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return AzuriteTable {
                    url: format!("http://127.0.0.1:{port}"),
                    child,
                    _data: data,
                };
            }
            if Instant::now() > guard {
                let _ = child.kill();
                panic!("azurite-table did not listen on port {port}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// An account SAS for the table service (`ss=t`), every resource type
    /// and permission ("Create an account SAS", version 2020-12-06 and
    /// later).
    fn sas(account: &str, key: &str) -> String {
        let (version, sp, expiry) = ("2022-11-02", "rwdlacu", "2099-01-01T00:00:00Z");
        let to_sign = format!("{account}\n{sp}\nt\nsco\n\n{expiry}\n\n\n{version}\n\n");
        let key = azure_core::auth::Secret::new(key.to_string());
        let sig = azure_core::hmac::hmac_sha256(&to_sign, &key).unwrap();
        let sig = percent_encoding::utf8_percent_encode(&sig, percent_encoding::NON_ALPHANUMERIC);
        format!(
            "sv={version}&ss=t&srt=sco&sp={sp}&se={}&sig={sig}",
            expiry.replace(':', "%3A")
        )
    }

    /// One JSON POST: the status.
    fn post(&self, path_and_query: &str, body: &Value) -> u16 {
        let authority = self.url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(authority).unwrap();
        let body = body.to_string();
        write!(
            stream,
            "POST {path_and_query} HTTP/1.0\r\nHost: {authority}\r\nx-ms-version: 2022-11-02\r\nContent-Type: application/json\r\nAccept: application/json;odata=nometadata\r\nPrefer: return-no-content\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        raw.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// Creates `table` and puts one entity in it.
    fn table_with_entity(&self, account: &str, key: &str, table: &str) {
        let sas = Self::sas(account, key);
        let status = self.post(
            &format!("/{account}/Tables?{sas}"),
            &json!({"TableName": table}),
        );
        assert!(status == 201 || status == 204, "Create Table: {status}");
        let status = self.post(
            &format!("/{account}/{table}?{sas}"),
            &json!({"PartitionKey": "p", "RowKey": "1", "total": 12}),
        );
        assert!(status == 201 || status == 204, "Insert Entity: {status}");
    }
}

impl Drop for AzuriteTable {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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

/// fnctl on Azure with the table service at `tables`: (exit code, JSON
/// document, stderr).
fn run(dir: &Path, tables: &str, args: &[&str]) -> (i32, Value, String) {
    crate::azure_resources::set_endpoint(dir, "table", tables);
    let out = fnctl()
        .current_dir(dir)
        .env("FNCTL_AZURE_ACCESS_TOKEN", crate::arm::TOKEN)
        .args(["--provider", "azure", "--output", "json"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let doc = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), doc, stderr)
}

fn data_path(account: &str, rest: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourcegroups/drop-rg/providers/Microsoft.Storage/storageAccounts/{account}/{rest}"
    )
}

/// (kind, name) of each kept entry of a plan or removal.
fn kept(entries: &Value) -> Vec<(String, String)> {
    let mut out: Vec<_> = entries
        .as_array()
        .unwrap_or_else(|| panic!("no kept list: {entries:#}"))
        .iter()
        .map(|k| {
            (
                k["id"]["kind"].as_str().unwrap().to_string(),
                k["id"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn dropped_resources_and_access_are_deleted_when_empty_and_kept_with_data() {
    let server = ArmServer::start();
    let dir = project(&server);
    // 1. Deploy with the three resources and the access.
    let (code, doc, stderr) = run(dir.path(), "http://127.0.0.1:9", &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let (account, principal, fnctls) = {
        let w = server.world.lock().unwrap();
        let account = w
            .storage_accounts
            .keys()
            .find(|a| a.starts_with("fd"))
            .unwrap()
            .clone();
        let principal = w.sites.values().next().unwrap().body["identity"]["principalId"]
            .as_str()
            .unwrap()
            .to_string();
        let fnctls: Vec<String> = w.role_assignments.keys().cloned().collect();
        (account, principal, fnctls)
    };
    assert_eq!(fnctls.len(), 3, "{fnctls:?}");
    // 2. The table holds an entity; someone grants the same identity a
    //    role fnctl grants too, on the queue, under a name of their own.
    let key = crate::arm::storage_key(&account, 1);
    let tables = AzuriteTable::start(&account, &key);
    tables.table_with_entity(&account, &key, "dropdevledger");
    let queue_scope = data_path(&account, "queueServices/default/queues/drop-dev-jobs");
    let by_hand = "1d0f8a52-6c2e-4b8e-9a57-3f6f0e1b2c3d";
    let hand_made = json!({
        "id": format!("{queue_scope}/providers/Microsoft.Authorization/roleAssignments/{by_hand}"),
        "name": by_hand,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{QUEUE_PROCESSOR}"),
            "principalId": principal,
            "principalType": "ServicePrincipal",
            "scope": queue_scope,
        },
    });
    server
        .world
        .lock()
        .unwrap()
        .role_assignments
        .insert(by_hand.to_string(), hand_made.clone());

    // 3. Drop the resources and the access.
    let manifest = dir.path().join("fnctl.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains(RESOURCES) && text.contains(ACCESS), "{text}");
    std::fs::write(&manifest, text.replace(RESOURCES, "").replace(ACCESS, "")).unwrap();

    // 4. The plan deletes the empty container and queue and fnctl's three
    //    assignments, and reports the table and the account as kept.
    let (code, doc, stderr) = run(dir.path(), &tables.url, &["plan"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let plan = &doc["plans"][0];
    let mut deleted: Vec<String> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "delete")
        .map(|c| format!("{} {}", c["id"]["kind"], c["id"]["name"]).replace('"', ""))
        .collect();
    deleted.sort();
    assert_eq!(
        deleted,
        [
            format!("data_container {account}/drop-dev-uploads"),
            format!("data_queue {account}/drop-dev-jobs"),
            "role_assignment jobs/Storage Queue Data Message Sender".to_string(),
            "role_assignment ledger/Storage Table Data Contributor".to_string(),
            "role_assignment uploads/Storage Blob Data Contributor".to_string(),
        ],
        "{plan:#}"
    );
    assert_eq!(
        kept(&plan["kept"]),
        [
            ("data_account".to_string(), account.clone()),
            ("data_table".to_string(), format!("{account}/dropdevledger")),
        ]
    );
    let table_kept = plan["kept"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"]["kind"] == "data_table")
        .unwrap();
    assert!(
        table_kept["reason"]
            .as_str()
            .unwrap()
            .contains("holds entities"),
        "{table_kept:#}"
    );
    assert!(
        table_kept["command"]
            .as_str()
            .unwrap()
            .contains("fnctl remove --delete-data --stage dev"),
        "{table_kept:#}"
    );

    // 5. Deploy does exactly that, and says what it kept.
    server.clear_log();
    let (code, doc, stderr) = run(dir.path(), &tables.url, &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true, "{doc:#}");
    let mutating = server.mutating_requests();
    let data_and_roles: Vec<&String> = mutating
        .iter()
        .filter(|m| m.contains("Microsoft.Storage") || m.contains("roleAssignments"))
        .collect();
    assert_eq!(data_and_roles.len(), 5, "{mutating:#?}");
    assert!(
        data_and_roles.iter().all(|m| m.starts_with("DELETE ")),
        "{mutating:#?}"
    );
    // Nothing else changes but the settings that named the resources.
    let others: Vec<&String> = mutating
        .iter()
        .filter(|m| !data_and_roles.contains(m))
        .collect();
    assert_eq!(others.len(), 1, "{mutating:#?}");
    assert!(
        others[0].starts_with("PUT ") && others[0].ends_with("/config/appsettings"),
        "{mutating:#?}"
    );
    {
        let w = server.world.lock().unwrap();
        assert!(w.storage_accounts.contains_key(&account));
        assert!(w
            .tables
            .contains(&(account.clone(), "dropdevledger".into())));
        assert!(
            !w.queues.keys().any(|(a, _)| *a == account),
            "{:?}",
            w.queues
        );
        assert!(!w.containers.iter().any(|(a, _)| *a == account));
        for name in &fnctls {
            assert!(!w.role_assignments.contains_key(name), "{name} left");
        }
        assert_eq!(w.role_assignments.len(), 1);
        assert_eq!(w.role_assignments[by_hand], hand_made);
    }
    // A redeploy changes nothing and still reports the table.
    server.clear_log();
    let (code, doc, stderr) = run(dir.path(), &tables.url, &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(server.mutating_requests(), Vec::<String>::new());
    let (code, doc, stderr) = run(dir.path(), &tables.url, &["plan"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(kept(&doc["plans"][0]["kept"]).len(), 2, "{doc:#}");
    crate::azure_resources::set_endpoint(dir.path(), "table", &tables.url);
    let out = fnctl()
        .current_dir(dir.path())
        .env("FNCTL_AZURE_ACCESS_TOKEN", crate::arm::TOKEN)
        .args(["--provider", "azure", "--no-color", "plan"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("kept data_table {account}/dropdevledger:")),
        "{text}"
    );

    // 6. remove keeps the table and its account; the hand-made assignment
    //    stays.
    let (code, doc, stderr) = run(dir.path(), &tables.url, &["remove"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let kinds: Vec<String> = kept(&doc["removals"][0]["kept"])
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert!(kinds.contains(&"data_table".to_string()), "{doc:#}");
    assert!(kinds.contains(&"data_account".to_string()), "{doc:#}");
    {
        let w = server.world.lock().unwrap();
        assert!(w.sites.is_empty());
        assert!(w.storage_accounts.contains_key(&account));
        assert!(w.role_assignments.contains_key(by_hand));
    }
    // 7. --delete-data deletes the account with the table; the hand-made
    //    assignment is still not fnctl's.
    let (code, doc, stderr) = run(dir.path(), &tables.url, &["remove", "--delete-data"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let w = server.world.lock().unwrap();
    assert!(w.storage_accounts.is_empty(), "{:?}", w.storage_accounts);
    assert!(w.tables.is_empty());
    assert_eq!(w.role_assignments.len(), 1);
    assert!(w.role_assignments.contains_key(by_hand));
}

/// A dropped container with a blob and a dropped queue with messages are
/// kept (the account stays: the manifest still names the table); once
/// emptied, the next deploy deletes them.
#[test]
fn dropped_resources_holding_data_are_kept_until_empty() {
    let server = ArmServer::start();
    let dir = project(&server);
    let no_tables = "http://127.0.0.1:9";
    let (code, doc, stderr) = run(dir.path(), no_tables, &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let account = {
        let mut w = server.world.lock().unwrap();
        let account = w
            .storage_accounts
            .keys()
            .find(|a| a.starts_with("fd"))
            .unwrap()
            .clone();
        w.blobs
            .entry((account.clone(), "drop-dev-uploads".into()))
            .or_default()
            .insert("a.txt".into());
        w.queue_messages
            .insert((account.clone(), "drop-dev-jobs".into()), 2);
        account
    };
    let manifest = dir.path().join("fnctl.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let text = text
        .replace("[resources.uploads]\nkind = \"bucket\"\n\n", "")
        .replace("[resources.jobs]\nkind = \"queue\"\n\n", "")
        .replace(ACCESS, "access = { ledger = \"read-write\" }\n");
    std::fs::write(&manifest, text).unwrap();

    let (code, doc, stderr) = run(dir.path(), no_tables, &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let (code, doc, stderr) = run(dir.path(), no_tables, &["plan"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(
        kept(&doc["plans"][0]["kept"]),
        [
            (
                "data_container".to_string(),
                format!("{account}/drop-dev-uploads")
            ),
            ("data_queue".to_string(), format!("{account}/drop-dev-jobs")),
        ],
        "{doc:#}"
    );
    {
        let w = server.world.lock().unwrap();
        assert!(w
            .queues
            .contains_key(&(account.clone(), "drop-dev-jobs".into())));
        assert!(w
            .containers
            .contains(&(account.clone(), "drop-dev-uploads".into())));
        // Only the table's assignment is left.
        assert_eq!(w.role_assignments.len(), 1, "{:#?}", w.role_assignments);
    }
    // Emptied: the next deploy deletes them, and nothing is kept.
    {
        let mut w = server.world.lock().unwrap();
        w.blobs.clear();
        w.queue_messages.clear();
    }
    let (code, doc, stderr) = run(dir.path(), no_tables, &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let w = server.world.lock().unwrap();
    assert!(!w
        .queues
        .contains_key(&(account.clone(), "drop-dev-jobs".into())));
    assert!(!w
        .containers
        .contains(&(account.clone(), "drop-dev-uploads".into())));
    assert!(w.tables.contains(&(account, "dropdevledger".into())));
}
