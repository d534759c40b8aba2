//! Safe by default on Azure: fnctl changes only what carries its marks for
//! this app and stage. A resource with one of fnctl's names that is not
//! fnctl's is a conflict (read keeps going, apply changes nothing); the
//! containers fnctl creates carry its metadata; a resource group fnctl did
//! not create is never tagged or changed; settings set by hand survive; and
//! `remove` keeps containers that hold blobs unless asked to delete data.
//!
//! ARM is the test server ([`super::arm`]); where blobs matter, the storage
//! account's data plane is Azurite.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use azure_core::auth::{AccessToken, Secret, TokenCredential};
use fnctl::manifest::{LoadOptions, ProcessEnv};
use fnctl::model::App;
use fnctl::provider::azure::backend::AzureBackend;
use serde_json::{json, Value};

use crate::arm::{self, ArmServer, TOKEN};
use crate::azure::{project_at, run};
use crate::azurite::Azurite;

const SUB: &str = "00000000-0000-0000-0000-000000000000";
const RG: &str = "portable-rg";

/// The portable fixture with its blob trigger's container created by fnctl
/// (`create = true`), every endpoint at `server`.
fn project(server: &ArmServer) -> tempfile::TempDir {
    let dir = project_at(&server.url, "tests/fixtures/portable");
    edit(
        dir.path(),
        "prefix = \"in/\"\n",
        "prefix = \"in/\"\ncreate = true\n",
    );
    dir
}

fn edit(dir: &Path, from: &str, to: &str) {
    let manifest = dir.join("fnctl.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains(from), "{text}");
    std::fs::write(&manifest, text.replacen(from, to, 1)).unwrap();
}

/// The name fnctl gives a resource of `kind`, from an offline plan.
fn name_of(dir: &Path, kind: &str) -> String {
    let (code, doc, stderr) = run(dir, &["plan", "--offline"]);
    assert_eq!(code, 0, "{stderr}");
    doc["plans"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"]["kind"] == kind)
        .and_then(|c| c["id"]["name"].as_str())
        .unwrap()
        .to_string()
}

/// Azurite as the storage account's blob service (the account fnctl will
/// create, with the key the test server hands out for it).
fn attach_azurite(server: &ArmServer, dir: &Path, sa: &str) -> Azurite {
    let azurite = Azurite::start(&[(sa, &arm::storage_key(sa, 1))]);
    crate::azure_classic::point_storage_at(
        dir,
        &format!("{}/devstoreaccount1", server.url),
        &azurite.url,
        sa,
    );
    server.world.lock().unwrap().blob_service = Some(azurite.url.clone());
    azurite
}

/// The bearer token the test server accepts.
#[derive(Debug)]
struct TestToken;

#[async_trait::async_trait]
impl TokenCredential for TestToken {
    async fn get_token(&self, _scopes: &[&str]) -> azure_core::Result<AccessToken> {
        Ok(AccessToken::new(
            Secret::new(TOKEN),
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }

    async fn clear_cache(&self) -> azure_core::Result<()> {
        Ok(())
    }
}

fn load(dir: &Path) -> App {
    let opts = LoadOptions {
        stage: "dev",
        env: &ProcessEnv,
        check_files: true,
    };
    fnctl::manifest::load(&dir.join("fnctl.toml"), &opts)
        .unwrap()
        .0
}

fn backend(dir: &Path) -> AzureBackend {
    AzureBackend::connect_with(&load(dir), Arc::new(TestToken)).unwrap()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn quiet(_: &fnctl::plan::ResourceId, _: &str) {}

fn rg_path() -> String {
    format!("/subscriptions/{SUB}/resourcegroups/{RG}")
}

fn storage_path(sa: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Storage/storageAccounts/{sa}"
    )
}

fn container_path(sa: &str, c: &str) -> String {
    format!("{}/blobServices/default/containers/{c}", storage_path(sa))
}

/// An ARM PUT as someone other than fnctl would make it; must succeed.
fn put(server: &ArmServer, path: &str, api: &str, body: Value) {
    let (status, doc) = server.call("PUT", &format!("{path}?api-version={api}"), Some(&body));
    assert!((200..300).contains(&status), "PUT {path}: {status} {doc}");
}

fn fnctl_tags(stage: &str) -> Value {
    json!({"fnctl-app": "portable", "fnctl-stage": stage, "managed-by": "fnctl"})
}

fn marks() -> Value {
    json!({"fnctl_app": "portable", "fnctl_stage": "dev", "managed_by": "fnctl"})
}

fn metadata(server: &ArmServer, sa: &str, c: &str) -> Value {
    let w = server.world.lock().unwrap();
    w.container_metadata
        .get(&(sa.to_string(), c.to_string()))
        .cloned()
        .unwrap_or(Value::Null)
}

/// Writes to the resource group itself (not to what is in it).
fn writes_to_group(server: &ArmServer) -> Vec<String> {
    server
        .mutating_requests()
        .into_iter()
        .filter(|l| {
            l.split_once(' ')
                .is_some_and(|(_, p)| p.eq_ignore_ascii_case(&rg_path()))
        })
        .collect()
}

#[test]
fn a_container_fnctl_did_not_create_is_a_conflict_and_is_left_alone() {
    let server = ArmServer::start();
    let dir = project(&server);
    let sa = name_of(dir.path(), "storage_account");
    // What an interrupted first deploy leaves (fnctl's group and account,
    // as the deploy lock makes them), and a container someone made in the
    // account before fnctl ever created one, with a name the manifest's
    // `create = true` trigger asks fnctl to create.
    put(
        &server,
        &rg_path(),
        "2021-04-01",
        json!({"location": "westeurope", "tags": fnctl_tags("dev")}),
    );
    put(
        &server,
        &storage_path(&sa),
        "2023-05-01",
        json!({"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}, "tags": fnctl_tags("dev")}),
    );
    let theirs = json!({"owner": "data_team"});
    put(
        &server,
        &container_path(&sa, "incoming"),
        "2023-05-01",
        json!({"properties": {"metadata": theirs}}),
    );

    // Read succeeds and reports the container as a conflict, not as fnctl's.
    let live = block_on(backend(dir.path()).read()).unwrap();
    let id = format!("{sa}/incoming");
    let conflict = live
        .conflicts
        .iter()
        .find(|c| c.id.kind == "blob_container" && c.id.name == id)
        .unwrap_or_else(|| panic!("no conflict for {id}: {:?}", live.conflicts));
    assert!(
        conflict.owner.contains("no fnctl metadata") && conflict.owner.contains("owner=data_team"),
        "{conflict:?}"
    );
    assert!(conflict.help.contains("create = false"), "{conflict:?}");
    assert_eq!(live.conflicts.len(), 1, "{:?}", live.conflicts);
    assert!(
        !live.resources.iter().any(|r| r.id.name == id),
        "a conflict is not read as fnctl's"
    );

    // The CLI's plan reads the same (and changes nothing).
    server.clear_log();
    let (code, doc, stderr) = run(dir.path(), &["plan"]);
    assert_eq!(
        code, 1,
        "a plan that would take over a container fails: {stderr}{doc:#}"
    );
    assert_eq!(doc["error"]["kind"], "conflict", "{doc:#}");
    assert_eq!(doc["plans"][0]["live"]["status"], "read", "{stderr}{doc:#}");
    assert_eq!(
        doc["plans"][0]["conflicts"][0]["id"]["name"].as_str(),
        Some(id.as_str()),
        "{doc:#}"
    );
    assert_eq!(server.mutating_requests(), Vec::<String>::new());

    // A deploy refuses before any change: the container keeps its metadata
    // and nothing else is created.
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_ne!(code, 0, "{stderr}{doc:#}");
    assert_eq!(server.mutating_requests(), Vec::<String>::new(), "{stderr}");
    assert_eq!(metadata(&server, &sa, "incoming"), theirs);
    let w = server.world.lock().unwrap();
    assert!(w.sites.is_empty() && w.plans.is_empty());
}

#[test]
fn other_resources_with_fnctls_names_are_conflicts_and_the_read_goes_on() {
    let server = ArmServer::start();
    let dir = project(&server);
    let sa = name_of(dir.path(), "storage_account");
    let site = name_of(dir.path(), "function_app");
    let providers = format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers");
    // The user's group, with resources under fnctl's names that are not
    // this app+stage's.
    put(
        &server,
        &rg_path(),
        "2021-04-01",
        json!({"location": "westeurope", "tags": {"env": "prod"}}),
    );
    put(
        &server,
        &storage_path(&sa),
        "2023-05-01",
        json!({"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}, "tags": {"env": "prod"}}),
    );
    put(
        &server,
        &format!("{providers}/Microsoft.Web/serverfarms/portable-dev-plan"),
        "2024-04-01",
        json!({"location": "westeurope", "sku": {"name": "Y1", "tier": "Dynamic"}, "tags": fnctl_tags("prod")}),
    );
    put(
        &server,
        &format!("{providers}/Microsoft.OperationalInsights/workspaces/portable-dev-logs"),
        "2023-09-01",
        json!({"location": "westeurope", "properties": {"sku": {"name": "PerGB2018"}}}),
    );
    put(
        &server,
        &format!("{providers}/Microsoft.Insights/components/portable-dev-insights"),
        "2020-02-02",
        json!({"location": "westeurope", "kind": "web",
            "tags": {"fnctl-app": "shop", "fnctl-stage": "dev", "managed-by": "fnctl"},
            "properties": {"Application_Type": "web",
                "WorkspaceResourceId": format!("{providers}/Microsoft.OperationalInsights/workspaces/portable-dev-logs")}}),
    );
    put(
        &server,
        &format!("{providers}/Microsoft.Web/sites/{site}"),
        "2024-04-01",
        json!({"location": "westeurope", "kind": "functionapp,linux",
            "properties": {"serverFarmId": format!("{providers}/Microsoft.Web/serverfarms/portable-dev-plan"),
                "siteConfig": {"linuxFxVersion": "Python|3.12"}}}),
    );

    let live = block_on(backend(dir.path()).read()).unwrap();
    let found: BTreeMap<(String, String), String> = live
        .conflicts
        .iter()
        .map(|c| ((c.id.kind.clone(), c.id.name.clone()), c.owner.clone()))
        .collect();
    let owner = |kind: &str, name: &str| {
        found
            .get(&(kind.to_string(), name.to_string()))
            .unwrap_or_else(|| panic!("no conflict for {kind} {name}: {found:?}"))
            .clone()
    };
    assert_eq!(
        owner("storage_account", &sa),
        "it carries no fnctl tags (tags: env=prod)"
    );
    assert_eq!(
        owner("app_service_plan", "portable-dev-plan"),
        "it belongs to stage `prod` of this app"
    );
    assert_eq!(
        owner("log_workspace", "portable-dev-logs"),
        "it carries no fnctl tags (tags: none)"
    );
    assert_eq!(
        owner("app_insights", "portable-dev-insights"),
        "it belongs to app `shop` stage `dev`"
    );
    assert_eq!(
        owner("function_app", &site),
        "it carries no fnctl tags (tags: none)"
    );
    assert_eq!(found.len(), 5, "{found:?}");
    for c in &live.conflicts {
        assert!(
            c.help.contains("delete") && c.help.contains("yourself"),
            "{c:?}"
        );
    }
    // None of them, nor anything under them, is read as fnctl's; the
    // user's group is only the place to deploy into.
    let kinds: Vec<&str> = live.resources.iter().map(|r| r.id.kind.as_str()).collect();
    assert_eq!(kinds, ["resource_group"], "{:?}", live.resources);
    assert!(!live.resource_group_owned);
}

#[test]
fn deploys_mark_the_containers_they_create_and_mark_older_ones_once() {
    let server = ArmServer::start();
    let dir = project(&server);
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let sa = name_of(dir.path(), "storage_account");

    // Both containers fnctl made carry its marks, written in the create.
    assert_eq!(metadata(&server, &sa, "app-package"), marks());
    assert_eq!(metadata(&server, &sa, "incoming"), marks());
    let (status, got) = server.call(
        "GET",
        &format!("{}?api-version=2023-05-01", container_path(&sa, "incoming")),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(got["properties"]["metadata"], marks());
    server.clear_log();
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");

    // Containers an earlier fnctl created carry no marks. Inside fnctl's
    // own account the next deploy recognises them by name and marks them,
    // keeping what else their metadata holds; then it is a no-op again.
    {
        let mut w = server.world.lock().unwrap();
        w.container_metadata
            .insert((sa.clone(), "app-package".into()), json!({}));
        w.container_metadata
            .insert((sa.clone(), "incoming".into()), json!({"team": "data"}));
    }
    let live = block_on(backend(dir.path()).read()).unwrap();
    assert!(live.conflicts.is_empty(), "{:?}", live.conflicts);
    server.clear_log();
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true);
    let mut with_theirs = marks();
    with_theirs["team"] = json!("data");
    assert_eq!(metadata(&server, &sa, "incoming"), with_theirs);
    assert_eq!(metadata(&server, &sa, "app-package"), marks());
    let changed = server.mutating_requests();
    assert_eq!(changed.len(), 2, "{changed:?}");
    assert!(
        changed[0].starts_with("PATCH ") && changed[0].ends_with("/containers/incoming"),
        "the deployment container is marked last: {changed:?}"
    );
    assert!(
        changed[1].starts_with("PATCH ") && changed[1].ends_with("/containers/app-package"),
        "{changed:?}"
    );
    server.clear_log();
    let (code, doc, _) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0);
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");

    // Once fnctl marks its containers, an unmarked one it is asked to
    // create is someone else's: a conflict, left alone.
    put(
        &server,
        &container_path(&sa, "later"),
        "2023-05-01",
        json!({"properties": {}}),
    );
    edit(
        dir.path(),
        "[functions.tick]",
        "[[functions.upload.triggers]]\ntype = \"storage\"\nbucket = \"later\"\nevents = [\"created\"]\ncreate = true\n\n[functions.tick]",
    );
    let live = block_on(backend(dir.path()).read()).unwrap();
    let ids: Vec<String> = live
        .conflicts
        .iter()
        .map(|c| format!("{} {}", c.id.kind, c.id.name))
        .collect();
    assert_eq!(ids, [format!("blob_container {sa}/later")]);
    server.clear_log();
    let (code, _, _) = run(dir.path(), &["deploy"]);
    assert_ne!(code, 0);
    assert_eq!(server.mutating_requests(), Vec::<String>::new());
    assert_eq!(metadata(&server, &sa, "later"), json!({}));
}

#[test]
fn remove_keeps_containers_with_blobs_until_asked_to_delete_data() {
    let server = ArmServer::start();
    let dir = project(&server);
    let sa = name_of(dir.path(), "storage_account");
    let azurite = attach_azurite(&server, dir.path(), &sa);
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    // A user's upload into the trigger's container.
    arm::put_blob(
        &azurite.url,
        &sa,
        "incoming",
        "in/photo.jpg",
        b"not a photo",
    );

    // remove deletes everything else and keeps the data where it is.
    let (code, doc, stderr) = run(dir.path(), &["remove"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let assert_kept = |server: &ArmServer| {
        let w = server.world.lock().unwrap();
        assert!(w.sites.is_empty(), "the Function App is gone");
        assert!(w.plans.is_empty(), "the plan is gone");
        assert!(w.components.is_empty() && w.workspaces.is_empty());
        assert!(
            w.event_subscriptions.is_empty(),
            "nothing delivers events to a deleted app"
        );
        assert!(w.storage_accounts.contains_key(&sa), "the account is kept");
        assert!(w.containers.contains(&(sa.clone(), "incoming".into())));
        assert!(w.resource_groups.contains_key(RG), "the group is kept");
    };
    assert_kept(&server);
    assert_eq!(
        arm::get_blob(&azurite.url, &sa, "incoming", "in/photo.jpg"),
        (200, b"not a photo".to_vec())
    );

    // The backend says what it kept and how to remove it too.
    let b = backend(dir.path());
    let removal = block_on(b.remove_keeping_data(&quiet, false)).unwrap();
    assert!(removal.removed.is_empty(), "{:?}", removal.removed);
    let kept: Vec<(String, String)> = removal
        .kept
        .iter()
        .map(|k| (k.id.kind.clone(), k.id.name.clone()))
        .collect();
    assert_eq!(
        kept,
        [
            ("blob_container".to_string(), format!("{sa}/incoming")),
            ("storage_account".to_string(), sa.clone()),
            ("resource_group".to_string(), RG.to_string()),
        ]
    );
    assert_eq!(removal.kept[0].reason, "holds 1 blob");
    for k in &removal.kept {
        assert_eq!(k.command, "fnctl remove --delete-data --stage dev");
    }
    assert_kept(&server);

    // Asked to delete data: the account goes, with its blobs, then the group.
    let removal = block_on(b.remove_keeping_data(&quiet, true)).unwrap();
    assert!(removal.kept.is_empty(), "{:?}", removal.kept);
    let removed: Vec<&str> = removal.removed.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(removed, ["storage_account", "resource_group"]);
    let w = server.world.lock().unwrap();
    assert!(w.storage_accounts.is_empty() && w.resource_groups.is_empty());
}

#[test]
fn settings_set_by_hand_survive_a_deploy_that_changes_others() {
    let server = ArmServer::start();
    let dir = project(&server);
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    {
        let mut w = server.world.lock().unwrap();
        let site = w.sites.values_mut().next().unwrap();
        site.settings.insert("SET_BY_HAND".into(), "keep me".into());
    }
    // An env change (the settings) and a memory change (the site, whose
    // PUT carries every setting too).
    edit(dir.path(), "GREETING = \"hello\"", "GREETING = \"bonjour\"");
    edit(
        dir.path(),
        "timeout = 10\n",
        "timeout = 10\nmemory = 2048\n",
    );
    server.clear_log();
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let changed = server.mutating_requests();
    assert!(
        changed
            .iter()
            .any(|l| l.starts_with("PUT ") && l.contains("/sites/"))
            && changed.iter().any(|l| l.ends_with("/config/appsettings")),
        "{changed:?}"
    );
    let w = server.world.lock().unwrap();
    let site = w.sites.values().next().unwrap();
    assert_eq!(site.settings["GREETING"], "bonjour");
    assert_eq!(site.settings["SET_BY_HAND"], "keep me");
    assert!(
        !site.settings["FNCTL_OWNED_SETTINGS"].contains("SET_BY_HAND"),
        "fnctl does not claim it"
    );
}

#[test]
fn a_resource_group_fnctl_did_not_create_is_never_tagged_changed_or_deleted() {
    let server = ArmServer::start();
    let dir = project(&server);
    // The user's group, in another region than the app's resources.
    put(
        &server,
        &rg_path(),
        "2021-04-01",
        json!({"location": "northeurope", "tags": {"env": "prod"}}),
    );
    server.clear_log();
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true);
    assert_eq!(writes_to_group(&server), Vec::<String>::new());
    {
        let w = server.world.lock().unwrap();
        let rg = &w.resource_groups[RG];
        assert_eq!(rg["tags"], json!({"env": "prod"}));
        assert_eq!(rg["location"], "northeurope");
        assert_eq!(w.sites.len(), 1, "the app is deployed into it");
    }
    let (code, doc, _) = run(dir.path(), &["plan"]);
    assert_eq!(code, 0);
    assert_eq!(doc["plans"][0]["summary"]["update"], 0, "{doc:#}");
    let (code, _, stderr) = run(dir.path(), &["remove"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(writes_to_group(&server), Vec::<String>::new());
    let w = server.world.lock().unwrap();
    assert!(w.sites.is_empty() && w.storage_accounts.is_empty());
    assert_eq!(w.resource_groups[RG]["tags"], json!({"env": "prod"}));
}
