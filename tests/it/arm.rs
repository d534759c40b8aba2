//! A stateful stand-in for Azure Resource Manager and a Function App's scm
//! host, on loopback, for the Azure backend tests.
//!
//! Written from the published REST specs (Microsoft.Resources 2021-04-01,
//! Microsoft.Storage 2023-05-01, Microsoft.Web 2024-04-01,
//! Microsoft.Authorization 2022-04-01) and their
//! examples: the same paths and api-versions, the same long-running
//! operation shapes (storage account create answers 202 with an empty body
//! and `Location`; site create answers 202 with `Azure-AsyncOperation`),
//! ARM's error body `{"error": {"code", "message"}}`, and the checks the real
//! service makes that would catch fnctl's mistakes (wrong api-version,
//! missing required fields, a site on a plan that does not exist, a Flex
//! site without `functionAppConfig`, a missing bearer token). One-deploy on
//! the scm host unpacks the zip and registers the functions its
//! `function.json` files declare, as the Functions host would list them.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

pub const TOKEN: &str = "fnctl-test-token";
/// The host's `blobs_extension` system key (a secret: tests grep for it).
pub const BLOBS_EXTENSION_KEY: &str = "blobs-extension-secret-key";

#[derive(Default)]
pub struct World {
    pub resource_groups: BTreeMap<String, Value>,
    pub storage_accounts: BTreeMap<String, Value>,
    pub containers: BTreeSet<(String, String)>,
    /// Event Grid subscriptions on storage accounts, by (account, name).
    pub event_subscriptions: BTreeMap<(String, String), Value>,
    /// Container metadata, by (account, container).
    pub container_metadata: BTreeMap<(String, String), Value>,
    /// Blobs in containers, by (account, container), for the data plane
    /// this server plays when no blob service is attached (`List Blobs`).
    pub blobs: BTreeMap<(String, String), BTreeSet<String>>,
    /// Container leases: (account, container) -> (lease id, duration in
    /// seconds or -1, expiry; `None` = infinite).
    pub leases: BTreeMap<(String, String), (String, i64, Option<std::time::Instant>)>,
    pub plans: BTreeMap<String, Value>,
    /// Log Analytics workspaces and Application Insights components, by name.
    pub workspaces: BTreeMap<String, Value>,
    pub components: BTreeMap<String, Value>,
    /// What the app's functions wrote (stdout and stderr lines), as the
    /// Functions host sends it to Application Insights: (time, function,
    /// message), time in ISO 8601 UTC.
    pub traces: Vec<(String, String, String)>,
    /// The log queries received, as sent.
    pub log_queries: Vec<String>,
    pub sites: BTreeMap<String, Site>,
    /// Long-running operations: id -> (polls before done, final body).
    operations: BTreeMap<String, (u32, Value)>,
    /// Every request: "METHOD /path".
    pub log: Vec<String>,
    /// Runs started through the admin endpoint: (function, harness outcome).
    pub admin_runs: Vec<(String, Value)>,
    /// Injected faults: the next request whose "METHOD /path" contains the
    /// text is answered with the status (429 and 503 with `Retry-After: 0`),
    /// once per entry.
    pub faults: Vec<(String, u16)>,
    /// Fail the next one-deploy with status 3, once.
    pub fail_next_deployment: bool,
    /// End the next one-deploy with this status instead of 4, once: -1
    /// cancelled, 5 conflict, 6 partial success (the states of one-deploy's
    /// `DeploymentStatus`, dotnet/sdk
    /// src/WebSdk/Publish/Tasks/Tasks/OneDeploy/DeploymentStatus.cs:
    /// Unknown -10, Cancelled -1, Pending 0, Building 1, Deploying 2,
    /// Failed 3, Success 4, Conflict 5, PartialSuccess 6).
    pub next_deployment_ends: Option<i64>,
    /// After a restart of a Function App's host (its app settings written,
    /// or a package deployed), the host answers this many
    /// `host/default/listkeys` and `syncfunctiontriggers` calls with 400
    /// "Encountered an error (ServiceUnavailable) from host runtime."
    /// before it is up again: counted in requests, never in time. 0 (the
    /// default) is a host that is up at once.
    pub host_restart_requests: u32,
    /// How many such 400s were answered.
    pub host_unavailable_answers: u32,
    /// Action groups (`microsoft.insights/actionGroups`), by (resource
    /// group, lower case; name).
    pub action_groups: BTreeMap<(String, String), Value>,
    /// Smart detector alert rules
    /// (`microsoft.alertsManagement/smartDetectorAlertRules`), likewise.
    pub alert_rules: BTreeMap<(String, String), Value>,
    /// Event Grid system topics (`Microsoft.EventGrid/systemTopics`), likewise.
    pub system_topics: BTreeMap<(String, String), Value>,
    /// Application Insights components created and not yet given their
    /// smart detection (resource group, component name): Azure adds the
    /// action group and the Failure Anomalies rule "a few minutes" later;
    /// here they appear on the next read (any GET) after the create.
    pending_smart_detection: Vec<(String, String)>,
    /// Blob contents, by (account, container, blob), for the data plane
    /// this server plays when no blob service is attached.
    pub blob_bodies: BTreeMap<(String, String, String), Vec<u8>>,
    /// A blob service (Azurite, path-style: `{url}/{account}`) playing the
    /// storage accounts' data plane: containers created through ARM are
    /// created there too, as on Azure.
    pub blob_service: Option<String>,
    /// Storage queues (`queueServices/default/queues`), by (account,
    /// queue): their metadata.
    pub queues: BTreeMap<(String, String), Value>,
    /// Messages waiting in a queue, by (account, queue), reported as
    /// `approximateMessageCount` (tests put messages there).
    pub queue_messages: BTreeMap<(String, String), u64>,
    /// Tables (`tableServices/default/tables`), by (account, table).
    pub tables: BTreeSet<(String, String)>,
    /// Role assignments, by name (lower case): the resource as ARM reports
    /// it, `properties.scope` included.
    pub role_assignments: BTreeMap<String, Value>,
    /// The principal ids of the sites' system-assigned identities (what a
    /// role assignment may name).
    pub principals: BTreeSet<String>,
    /// Answer role assignment PUTs with 403 AuthorizationFailed, as ARM does
    /// for an identity with Contributor only.
    pub deny_role_assignments: bool,
    next_id: u64,
}

#[derive(Default, Clone)]
pub struct Site {
    pub body: Value,
    pub settings: BTreeMap<String, String>,
    /// Functions as the host lists them: name -> function.json.
    pub functions: BTreeMap<String, Value>,
    /// The package the host runs (one-deploy, or run-from-package at sync).
    pub package: Option<Vec<u8>>,
    /// Classic apps: the stack, from `siteConfig.linuxFxVersion`.
    pub linux_fx_version: String,
    /// Classic apps: syncs of function triggers.
    pub syncs: u32,
    /// One-deploy deployments: id -> status (1 building until polled, then
    /// the status it ends with).
    pub deployments: BTreeMap<String, i64>,
    /// What the next poll of a building deployment reports: id -> status.
    pub deployment_ends: BTreeMap<String, i64>,
    /// Requests the restarting host still answers with "ServiceUnavailable
    /// from host runtime" (see [`World::host_restart_requests`]).
    pub restarting: u32,
    /// `siteConfig.cors` as last written (site PUT, config/web PUT or
    /// PATCH); `null` when never set.
    pub cors: Value,
    /// `config/authsettingsV2` as last PUT (`properties`); `null` when
    /// never set.
    pub auth: Value,
}

pub struct ArmServer {
    pub url: String,
    pub world: Arc<Mutex<World>>,
    _served: crate::common::Served,
}

impl ArmServer {
    pub fn start() -> ArmServer {
        let world = Arc::new(Mutex::new(World::default()));
        let served = crate::common::serve(Router::new().fallback(handle).with_state(world.clone()));
        ArmServer {
            url: served.url.clone(),
            world,
            _served: served,
        }
    }

    /// Requests that change something (what a no-op redeploy must not send).
    pub fn mutating_requests(&self) -> Vec<String> {
        self.world
            .lock()
            .unwrap()
            .log
            .iter()
            .filter(|l| {
                let (m, p) = l.split_once(' ').unwrap();
                // The deploy lock coordinates fnctl runs; it is not a change
                // to the app (fnctl does not count it either).
                if p.contains("/containers/fnctl-lock") {
                    return false;
                }
                match m {
                    "GET" => false,
                    "POST" => {
                        let last = p.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
                        !last.starts_with("list")
                    }
                    _ => true,
                }
            })
            .cloned()
            .collect()
    }

    pub fn clear_log(&self) {
        self.world.lock().unwrap().log.clear();
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({"error": {"code": code, "message": message}}).to_string(),
    )
        .into_response()
}

fn ok(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// What a request is about, from its path (matched case-insensitively, as
/// ARM does; names keep their case).
enum Target {
    ResourceGroup { rg: String },
    GroupResources { rg: String },
    Storage { rg: String, sa: String },
    StorageKeys { sa: String },
    Container { sa: String, c: String },
    ContainerLease { sa: String, c: String },
    Containers { sa: String },
    EventSubscriptions { sa: String },
    EventSubscription { sa: String, name: String },
    Plan { rg: String, plan: String },
    Workspace { rg: String, name: String },
    Component { rg: String, name: String },
    Site { rg: String, site: String },
    SiteTags { site: String },
    SettingsList { site: String },
    Settings { site: String },
    Functions { site: String },
    HostKeys { site: String },
    WebConfig { site: String },
    AuthSettingsV2 { site: String },
    SyncTriggers { site: String },
    Operation { id: String },
    Location { id: String },
    Publish,
    Deployment { id: String },
    ActionGroup { rg: String, name: String },
    ActionGroups { rg: String },
    AlertRule { rg: String, name: String },
    AlertRules { rg: String },
    SystemTopic { rg: String, name: String },
    SystemTopics { rg: String },
    Queue { sa: String, q: String },
    Table { sa: String, t: String },
    RoleAssignment { scope: String, name: String },
    Queues { sa: String },
    Tables { sa: String },
    RoleAssignments { scope: String },
    Unknown,
}

fn target(path: &str) -> (Target, Option<&'static str>) {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let lower: Vec<String> = parts.iter().map(|p| p.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let s = |i: usize| parts[i].to_string();
    // Names with spaces ("Application Insights Smart Detection") arrive
    // percent-encoded.
    let decoded = |i: usize| {
        percent_encoding::percent_decode_str(parts[i])
            .decode_utf8_lossy()
            .into_owned()
    };
    // Role assignments are extension resources at any scope:
    // `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.
    if let Some(i) = l
        .windows(3)
        .position(|w| w == ["providers", "microsoft.authorization", "roleassignments"])
    {
        if l.len() == i + 4 && i > 0 {
            return (
                Target::RoleAssignment {
                    scope: format!("/{}", parts[..i].join("/")),
                    name: s(i + 3),
                },
                Some("2022-04-01"),
            );
        }
    }
    // RoleAssignments_ListForScope: `{scope}/providers/Microsoft.Authorization/roleAssignments`.
    if let Some(i) = l
        .windows(3)
        .position(|w| w == ["providers", "microsoft.authorization", "roleassignments"])
    {
        if l.len() == i + 3 && i > 0 {
            return (
                Target::RoleAssignments {
                    scope: format!("/{}", parts[..i].join("/")),
                },
                Some("2022-04-01"),
            );
        }
    }
    // Queue_List and Table_List (2023-05-01, queue.json and table.json).
    match l.as_slice() {
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.storage", "storageaccounts", _, "queueservices", "default", "queues"] =>
        {
            return (Target::Queues { sa: s(7) }, Some("2023-05-01"));
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.storage", "storageaccounts", _, "tableservices", "default", "tables"] =>
        {
            return (Target::Tables { sa: s(7) }, Some("2023-05-01"));
        }
        _ => {}
    }
    match l.as_slice() {
        // Microsoft.Storage queues and tables (2023-05-01, queue.json and
        // table.json): Queue_Create / Queue_Get / Queue_Delete,
        // Table_Create / Table_Get / Table_Delete.
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.storage", "storageaccounts", _, "queueservices", "default", "queues", _] => {
            (Target::Queue { sa: s(7), q: s(11) }, Some("2023-05-01"))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.storage", "storageaccounts", _, "tableservices", "default", "tables", _] => {
            (Target::Table { sa: s(7), t: s(11) }, Some("2023-05-01"))
        }
        // Microsoft.Insights actionGroups (stable 2023-01-01,
        // actionGroups_API.json).
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.insights", "actiongroups"] => {
            (Target::ActionGroups { rg: s(3) }, Some("2023-01-01"))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.insights", "actiongroups", _] => {
            (
                Target::ActionGroup {
                    rg: s(3),
                    name: decoded(7),
                },
                Some("2023-01-01"),
            )
        }
        // microsoft.alertsManagement smartDetectorAlertRules (stable
        // 2021-04-01, Legacy/stable/2021-04-01/SmartDetectorAlertRulesApi.json).
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.alertsmanagement", "smartdetectoralertrules"] => {
            (Target::AlertRules { rg: s(3) }, Some("2021-04-01"))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.alertsmanagement", "smartdetectoralertrules", _] => {
            (
                Target::AlertRule {
                    rg: s(3),
                    name: decoded(7),
                },
                Some("2021-04-01"),
            )
        }
        // Microsoft.EventGrid systemTopics (stable 2022-06-15).
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.eventgrid", "systemtopics"] => {
            (Target::SystemTopics { rg: s(3) }, Some("2022-06-15"))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.eventgrid", "systemtopics", _] => {
            (
                Target::SystemTopic {
                    rg: s(3),
                    name: decoded(7),
                },
                Some("2022-06-15"),
            )
        }
        ["api", "publish"] => (Target::Publish, None),
        ["api", "deployments", _] => (Target::Deployment { id: s(2) }, None),
        ["operations", _] => (Target::Operation { id: s(1) }, None),
        ["locations", _] => (Target::Location { id: s(1) }, None),
        ["subscriptions", _, "resourcegroups", _] => {
            (Target::ResourceGroup { rg: s(3) }, Some("2021-04-01"))
        }
        ["subscriptions", _, "resourcegroups", _, "resources"] => {
            (Target::GroupResources { rg: s(3) }, Some("2021-04-01"))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.storage", "storageaccounts", _] => {
            (Target::Storage { rg: s(3), sa: s(7) }, Some("2023-05-01"))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.storage", "storageaccounts", _, "listkeys"] => {
            (Target::StorageKeys { sa: s(7) }, Some("2023-05-01"))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.storage", "storageaccounts", _, "blobservices", "default", "containers"] => {
            (Target::Containers { sa: s(7) }, Some("2023-05-01"))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.storage", "storageaccounts", _, "blobservices", "default", "containers", _] => {
            (Target::Container { sa: s(7), c: s(11) }, Some("2023-05-01"))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.storage", "storageaccounts", _, "providers", "microsoft.eventgrid", "eventsubscriptions"] => {
            (Target::EventSubscriptions { sa: s(7) }, Some("2022-06-15"))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.storage", "storageaccounts", _, "providers", "microsoft.eventgrid", "eventsubscriptions", _] => {
            (
                Target::EventSubscription {
                    sa: s(7),
                    name: s(11),
                },
                Some("2022-06-15"),
            )
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.storage", "storageaccounts", _, "blobservices", "default", "containers", _, "lease"] => {
            (
                Target::ContainerLease { sa: s(7), c: s(11) },
                Some("2023-05-01"),
            )
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.operationalinsights", "workspaces", _] => {
            (
                Target::Workspace {
                    rg: s(3),
                    name: s(7),
                },
                Some("2023-09-01"),
            )
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.insights", "components", _] => {
            (
                Target::Component {
                    rg: s(3),
                    name: s(7),
                },
                Some("2020-02-02"),
            )
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.web", "serverfarms", _] => {
            (
                Target::Plan {
                    rg: s(3),
                    plan: s(7),
                },
                Some("2024-04-01"),
            )
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.web", "sites", _] => (
            Target::Site {
                rg: s(3),
                site: s(7),
            },
            Some("2024-04-01"),
        ),
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.web", "sites", _, "providers", "microsoft.resources", "tags", "default"] => {
            (Target::SiteTags { site: s(7) }, Some("2021-04-01"))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.web", "sites", _, "config", "appsettings", "list"] => {
            (Target::SettingsList { site: s(7) }, Some("2024-04-01"))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.web", "sites", _, "config", "appsettings"] => {
            (Target::Settings { site: s(7) }, Some("2024-04-01"))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.web", "sites", _, "functions"] => {
            (Target::Functions { site: s(7) }, Some("2024-04-01"))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.web", "sites", _, "host", "default", "listkeys"] => {
            (Target::HostKeys { site: s(7) }, Some("2024-04-01"))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.web", "sites", _, "config", "web"] => {
            (Target::WebConfig { site: s(7) }, Some("2024-04-01"))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.web", "sites", _, "config", "authsettingsv2"] => {
            (Target::AuthSettingsV2 { site: s(7) }, Some("2024-04-01"))
        }
        ["subscriptions", _, "resourcegroups", _, "providers", "microsoft.web", "sites", _, "syncfunctiontriggers"] => {
            (Target::SyncTriggers { site: s(7) }, Some("2024-04-01"))
        }
        _ => (Target::Unknown, None),
    }
}

fn query_param(uri: &Uri, key: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| v.to_string())
    })
}

async fn handle(
    State(world): State<Arc<Mutex<World>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    let mut w = world.lock().unwrap();
    w.log.push(format!("{method} {path}"));
    let line = format!("{method} {path}");
    if let Some(i) = w.faults.iter().position(|(m, _)| line.contains(m.as_str())) {
        let (_, status) = w.faults.remove(i);
        return (
            StatusCode::from_u16(status).unwrap(),
            [("retry-after", "0"), ("content-type", "application/json")],
            json!({"error": {"code": "InjectedFault", "message": "injected by the test"}})
                .to_string(),
        )
            .into_response();
    }
    if method == Method::GET {
        w.materialize_smart_detection();
    }
    let app_call = ![
        "/subscriptions/",
        "/api/",
        "/operations/",
        "/locations/",
        "/v1/",
    ]
    .iter()
    .any(|p| path.starts_with(p));
    if app_call && headers.get("authorization").is_some() {
        // fnctl must never hand its ARM token to the app's code.
        return error(
            StatusCode::BAD_REQUEST,
            "TokenLeak",
            "an Authorization header reached the app host",
        );
    }
    if !app_call
        && headers.get("authorization").and_then(|h| h.to_str().ok())
            != Some(&format!("Bearer {TOKEN}"))
    {
        return error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing or invalid.",
        );
    }
    let (t, api) = target(&path);
    if let Some(want) = api {
        match query_param(&uri, "api-version") {
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.",
                )
            }
            Some(v) if v != want => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidApiVersionParameter",
                    &format!(
                        "The api-version '{v}' is invalid. The supported versions are '{want}'."
                    ),
                )
            }
            Some(_) => {}
        }
    }
    let json_body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            // Zips for one-deploy, blobs for the data plane.
            Err(_) if matches!(t, Target::Publish | Target::Unknown) => Value::Null,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestContent",
                    &format!("The request content was invalid and could not be deserialized: {e}"),
                )
            }
        }
    };
    let base = format!("http://{host}");
    let query = uri.query().unwrap_or("").to_string();
    w.dispatch(
        t, &method, &path, &query, &headers, &json_body, &body, &base,
    )
}

fn require_str<'a>(body: &'a Value, pointer: &str) -> Result<&'a str, Box<Response>> {
    body.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Box::new(error(
                StatusCode::BAD_REQUEST,
                "MissingRequiredProperty",
                &format!(
                    "The required property '{}' is missing from the request.",
                    pointer.trim_start_matches('/').replace('/', ".")
                ),
            ))
        })
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return *r,
        }
    };
}

impl World {
    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("op{:04}", self.next_id)
    }

    fn rg_exists(&self, rg: &str) -> bool {
        self.resource_groups.contains_key(&rg.to_ascii_lowercase())
    }

    /// The lease on a container while it holds: `Some(expiry)` (`None`
    /// inside for an infinite lease); `None` when there is none or it expired.
    fn live_lease(&self, key: &(String, String)) -> Option<Option<std::time::Instant>> {
        let (_, _, expiry) = self.leases.get(key)?;
        match expiry {
            Some(t) if *t <= std::time::Instant::now() => None,
            other => Some(*other),
        }
    }

    /// `POST .../containers/{c}/lease`: Acquire, Renew, Release and Break
    /// with the Blob service's rules (15–60 s or -1 for infinite; a live
    /// lease refuses a second Acquire; Renew and Release need its id).
    fn lease(&mut self, sa: String, c: String, body: &Value) -> Response {
        let key = (sa, c);
        if !self.containers.contains(&key) {
            return error(
                StatusCode::NOT_FOUND,
                "ContainerNotFound",
                "The specified container does not exist.",
            );
        }
        let action = body
            .get("action")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let given = body.get("leaseId").and_then(Value::as_str);
        let current = self.leases.get(&key).map(|(id, _, _)| id.clone());
        let live = self.live_lease(&key).is_some();
        match action {
            "Acquire" => {
                let Some(duration) = body.get("leaseDuration").and_then(Value::as_i64) else {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "InvalidRequest",
                        "leaseDuration is required for Acquire.",
                    );
                };
                if duration != -1 && !(15..=60).contains(&duration) {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "InvalidHeaderValue",
                        "The lease duration must be -1 or between 15 and 60 seconds.",
                    );
                }
                if live {
                    return error(
                        StatusCode::CONFLICT,
                        "LeaseAlreadyPresent",
                        "There is already a lease present.",
                    );
                }
                self.next_id += 1;
                let id = body
                    .get("proposedLeaseId")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("00000000-0000-4000-8000-{:012}", self.next_id));
                self.leases
                    .insert(key, (id.clone(), duration, lease_expiry(duration)));
                ok(
                    StatusCode::OK,
                    &json!({"leaseId": id, "leaseTimeSeconds": duration.to_string()}),
                )
            }
            "Renew" | "Release" => {
                let Some(given) = given else {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "InvalidRequest",
                        "leaseId is required.",
                    );
                };
                match current {
                    None => error(
                        StatusCode::CONFLICT,
                        "LeaseNotPresentWithLeaseOperation",
                        "There is currently no lease on the container.",
                    ),
                    Some(id) if id != given => error(
                        StatusCode::CONFLICT,
                        "LeaseIdMismatchWithLeaseOperation",
                        "The lease ID specified did not match the lease ID for the container.",
                    ),
                    Some(id) => {
                        if action == "Release" {
                            self.leases.remove(&key);
                            ok(StatusCode::OK, &json!({}))
                        } else {
                            let duration = self.leases[&key].1;
                            self.leases
                                .insert(key, (id.clone(), duration, lease_expiry(duration)));
                            ok(StatusCode::OK, &json!({"leaseId": id}))
                        }
                    }
                }
            }
            "Break" => {
                self.leases.remove(&key);
                ok(StatusCode::OK, &json!({"leaseTimeSeconds": "0"}))
            }
            _ => error(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "action must be Acquire, Renew, Change, Release or Break.",
            ),
        }
    }

    fn no_rg(rg: &str) -> Response {
        error(
            StatusCode::NOT_FOUND,
            "ResourceGroupNotFound",
            &format!("Resource group '{rg}' could not be found."),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn dispatch(
        &mut self,
        t: Target,
        method: &Method,
        path: &str,
        query: &str,
        headers: &HeaderMap,
        body: &Value,
        raw: &Bytes,
        base: &str,
    ) -> Response {
        match (t, method.as_str()) {
            (Target::ResourceGroup { rg }, "PUT") => {
                let location = tri!(require_str(body, "/location"));
                let existed = self.rg_exists(&rg);
                let doc = json!({
                    "id": path, "name": rg, "type": "Microsoft.Resources/resourceGroups",
                    "location": location.to_ascii_lowercase().replace(' ', ""),
                    "tags": body.get("tags").cloned().unwrap_or(json!({})),
                    "properties": {"provisioningState": "Succeeded"},
                });
                self.resource_groups
                    .insert(rg.to_ascii_lowercase(), doc.clone());
                ok(
                    if existed {
                        StatusCode::OK
                    } else {
                        StatusCode::CREATED
                    },
                    &doc,
                )
            }
            (Target::ResourceGroup { rg }, "GET") => {
                match self.resource_groups.get(&rg.to_ascii_lowercase()) {
                    Some(doc) => ok(StatusCode::OK, doc),
                    None => Self::no_rg(&rg),
                }
            }
            (Target::ResourceGroup { rg }, "DELETE") => {
                if self
                    .resource_groups
                    .remove(&rg.to_ascii_lowercase())
                    .is_none()
                {
                    return Self::no_rg(&rg);
                }
                self.storage_accounts.retain(|_, v| v["rg"] != json!(rg));
                self.plans.retain(|_, v| v["rg"] != json!(rg));
                self.workspaces.retain(|_, v| v["rg"] != json!(rg));
                self.components.retain(|_, v| v["rg"] != json!(rg));
                self.sites.retain(|_, s| s.body["rg"] != json!(rg));
                let lower = rg.to_ascii_lowercase();
                self.action_groups.retain(|(g, _), _| *g != lower);
                self.alert_rules.retain(|(g, _), _| *g != lower);
                self.system_topics.retain(|(g, _), _| *g != lower);
                let id = self.new_id();
                self.operations.insert(id.clone(), (1, Value::Null));
                (
                    StatusCode::ACCEPTED,
                    [
                        ("location", format!("{base}/locations/{id}")),
                        ("retry-after", "0".to_string()),
                    ],
                )
                    .into_response()
            }
            (Target::GroupResources { rg }, "GET") => {
                if !self.rg_exists(&rg) {
                    return Self::no_rg(&rg);
                }
                let mut value = Vec::new();
                for (n, v) in &self.storage_accounts {
                    if v["rg"] == json!(rg) {
                        value.push(json!({"name": n, "type": "Microsoft.Storage/storageAccounts"}));
                    }
                }
                for (n, v) in &self.plans {
                    if v["rg"] == json!(rg) {
                        value.push(json!({"name": n, "type": "Microsoft.Web/serverfarms"}));
                    }
                }
                for (n, v) in &self.workspaces {
                    if v["rg"] == json!(rg) {
                        value.push(
                            json!({"name": n, "type": "Microsoft.OperationalInsights/workspaces"}),
                        );
                    }
                }
                for (n, v) in &self.components {
                    if v["rg"] == json!(rg) {
                        value.push(json!({"name": n, "type": "Microsoft.Insights/components"}));
                    }
                }
                for (n, s) in &self.sites {
                    if s.body["rg"] == json!(rg) {
                        value.push(json!({"name": n, "type": "Microsoft.Web/sites"}));
                    }
                }
                // Resources Azure made on its own, as ARM lists them (the
                // types in the casing ARM reports for them).
                let lower = rg.to_ascii_lowercase();
                for ((g, _), d) in self
                    .action_groups
                    .iter()
                    .chain(&self.alert_rules)
                    .chain(&self.system_topics)
                {
                    if *g == lower {
                        value.push(json!({"id": d["id"], "name": d["name"], "type": d["listedType"], "location": d["location"]}));
                    }
                }
                ok(StatusCode::OK, &json!({"value": value}))
            }
            (Target::Storage { rg, sa }, "PUT") => {
                if !self.rg_exists(&rg) {
                    return Self::no_rg(&rg);
                }
                if !(3..=24).contains(&sa.len())
                    || !sa
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                {
                    return error(StatusCode::BAD_REQUEST, "AccountNameInvalid", &format!("{sa} is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only."));
                }
                let location = tri!(require_str(body, "/location"));
                let kind = tri!(require_str(body, "/kind"));
                let sku = tri!(require_str(body, "/sku/name"));
                let doc = json!({
                    "id": path, "name": sa, "type": "Microsoft.Storage/storageAccounts",
                    "location": location, "kind": kind, "sku": {"name": sku, "tier": "Standard"},
                    "tags": body.get("tags").cloned().unwrap_or(json!({})),
                    "properties": {"provisioningState": "Succeeded",
                        "primaryEndpoints": {"blob": format!("https://{sa}.blob.core.windows.net/")}},
                    "rg": rg,
                });
                let existed = self
                    .storage_accounts
                    .insert(sa.clone(), doc.clone())
                    .is_some();
                if existed {
                    return ok(StatusCode::OK, &strip(&doc));
                }
                // Create: 202, empty body, Location to poll (as the spec's example).
                let id = self.new_id();
                self.operations.insert(id.clone(), (1, strip(&doc)));
                (
                    StatusCode::ACCEPTED,
                    [
                        ("location", format!("{base}/locations/{id}")),
                        ("retry-after", "0".to_string()),
                    ],
                )
                    .into_response()
            }
            (Target::Storage { sa, .. }, "GET") => match self.storage_accounts.get(&sa) {
                Some(d) => ok(StatusCode::OK, &strip(d)),
                None => error(
                    StatusCode::NOT_FOUND,
                    "ResourceNotFound",
                    &format!(
                        "The Resource 'Microsoft.Storage/storageAccounts/{sa}' was not found."
                    ),
                ),
            },
            (Target::Storage { sa, .. }, "DELETE") => {
                let existed = self.storage_accounts.remove(&sa).is_some();
                self.containers.retain(|(a, _)| *a != sa);
                self.leases.retain(|(a, _), _| *a != sa);
                // Extension resources go with their parent.
                self.event_subscriptions.retain(|(a, _), _| *a != sa);
                self.container_metadata.retain(|(a, _), _| *a != sa);
                self.blobs.retain(|(a, _), _| *a != sa);
                self.queues.retain(|(a, _), _| *a != sa);
                self.queue_messages.retain(|(a, _), _| *a != sa);
                self.tables.retain(|(a, _)| *a != sa);
                if existed {
                    StatusCode::OK.into_response()
                } else {
                    StatusCode::NO_CONTENT.into_response()
                }
            }
            (Target::StorageKeys { sa }, "POST") => {
                if !self.storage_accounts.contains_key(&sa) {
                    return error(
                        StatusCode::NOT_FOUND,
                        "ResourceNotFound",
                        "storage account not found",
                    );
                }
                ok(
                    StatusCode::OK,
                    &json!({"keys": [
                    {"keyName": "key1", "value": storage_key(&sa, 1), "permissions": "FULL"},
                    {"keyName": "key2", "value": storage_key(&sa, 2), "permissions": "FULL"}]}),
                )
            }
            (Target::Container { sa, c }, "PUT") => {
                if !self.storage_accounts.contains_key(&sa) {
                    return error(
                        StatusCode::NOT_FOUND,
                        "ResourceNotFound",
                        "storage account not found",
                    );
                }
                if let Some(service) = &self.blob_service {
                    if let Err(e) = create_data_plane_container(service, &sa, &c) {
                        return error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", &e);
                    }
                }
                let created = self.containers.insert((sa.clone(), c.clone()));
                // BlobContainers_Create is a create-or-replace
                // (ArmResourceCreateOrReplaceSync in BlobContainer.tsp,
                // Microsoft.Storage 2023-05-01): the metadata sent is the
                // container's metadata afterwards.
                let meta = body
                    .pointer("/properties/metadata")
                    .cloned()
                    .unwrap_or(json!({}));
                if let Err(r) = check_container_metadata(&meta) {
                    return *r;
                }
                self.container_metadata
                    .insert((sa.clone(), c.clone()), meta);
                ok(
                    if created {
                        StatusCode::CREATED
                    } else {
                        StatusCode::OK
                    },
                    &json!({"id": path, "name": c, "type": "Microsoft.Storage/storageAccounts/blobServices/containers",
                        "properties": {"publicAccess": body.pointer("/properties/publicAccess").cloned().unwrap_or(json!("None"))}}),
                )
            }
            (Target::Container { sa, c }, "GET") => {
                let key = (sa.clone(), c.clone());
                if self.containers.contains(&key) {
                    let (state, status, duration) = match self.live_lease(&key) {
                        Some(None) => ("Leased", "Locked", json!("Infinite")),
                        Some(Some(_)) => ("Leased", "Locked", json!("Fixed")),
                        None if self.leases.contains_key(&key) => {
                            ("Expired", "Unlocked", Value::Null)
                        }
                        None => ("Available", "Unlocked", Value::Null),
                    };
                    let mut props = json!({"leaseState": state, "leaseStatus": status,
                        "metadata": self.container_metadata.get(&key).cloned().unwrap_or(json!({}))});
                    if !duration.is_null() {
                        props["leaseDuration"] = duration;
                    }
                    ok(
                        StatusCode::OK,
                        &json!({"id": path, "name": c, "properties": props}),
                    )
                } else {
                    error(
                        StatusCode::NOT_FOUND,
                        "ContainerNotFound",
                        "The specified container does not exist.",
                    )
                }
            }
            (Target::ContainerLease { sa, c }, "POST") => self.lease(sa, c, body),
            // BlobContainers_Update (ArmCustomPatchSync): "Properties not
            // mentioned in the request will be unchanged. Update fails if
            // the specified container doesn't already exist." Metadata is
            // one property: when sent, it replaces the container's.
            (Target::Container { sa, c }, "PATCH") => {
                let key = (sa.clone(), c.clone());
                if !self.containers.contains(&key) {
                    return error(
                        StatusCode::NOT_FOUND,
                        "ContainerNotFound",
                        "The specified container does not exist.",
                    );
                }
                if let Some(meta) = body.pointer("/properties/metadata") {
                    if let Err(r) = check_container_metadata(meta) {
                        return *r;
                    }
                    self.container_metadata.insert(key.clone(), meta.clone());
                }
                ok(
                    StatusCode::OK,
                    &json!({"id": path, "name": c, "type": "Microsoft.Storage/storageAccounts/blobServices/containers",
                        "properties": {"metadata": self.container_metadata.get(&key).cloned().unwrap_or(json!({}))}}),
                )
            }
            // BlobContainers_List (examples/BlobContainersList.json): the
            // account's containers as ListContainerItems, one page.
            (Target::Containers { sa }, "GET") => {
                if !self.storage_accounts.contains_key(&sa) {
                    return error(
                        StatusCode::NOT_FOUND,
                        "ResourceNotFound",
                        "storage account not found",
                    );
                }
                let value: Vec<Value> = self
                    .containers
                    .iter()
                    .filter(|(a, _)| *a == sa)
                    .map(|(_, c)| {
                        json!({"id": format!("{path}/{c}"), "name": c,
                            "type": "Microsoft.Storage/storageAccounts/blobServices/containers",
                            "properties": {"publicAccess": "None", "leaseState": "Available", "leaseStatus": "Unlocked"}})
                    })
                    .collect();
                ok(StatusCode::OK, &json!({"value": value}))
            }
            (Target::EventSubscription { sa, name }, "PUT") => {
                self.put_event_subscription(sa, name, path, body, base)
            }
            (Target::EventSubscription { sa, name }, "GET") => {
                match self.event_subscriptions.get(&(sa, name.clone())) {
                    Some(doc) => ok(StatusCode::OK, doc),
                    None => error(
                        StatusCode::NOT_FOUND,
                        "ResourceNotFound",
                        &format!("The event subscription '{name}' was not found."),
                    ),
                }
            }
            (Target::EventSubscription { sa, name }, "DELETE") => {
                if self
                    .event_subscriptions
                    .remove(&(sa.clone(), name))
                    .is_some()
                {
                    // "The system topic created in this way is
                    // automatically deleted when the last event
                    // subscription for the topic is deleted" (Event Grid,
                    // "System topics", Lifecycle of system topics).
                    if !self.event_subscriptions.keys().any(|(a, _)| *a == sa) {
                        let source = format!("/storageaccounts/{}", sa.to_ascii_lowercase());
                        self.system_topics.retain(|_, t| {
                            !t["properties"]["source"]
                                .as_str()
                                .unwrap_or_default()
                                .to_ascii_lowercase()
                                .ends_with(&source)
                        });
                    }
                    StatusCode::OK.into_response()
                } else {
                    StatusCode::NO_CONTENT.into_response()
                }
            }
            (Target::EventSubscriptions { sa }, "GET") => {
                if !self.storage_accounts.contains_key(&sa) {
                    return error(
                        StatusCode::NOT_FOUND,
                        "ResourceNotFound",
                        "storage account not found",
                    );
                }
                let value: Vec<Value> = self
                    .event_subscriptions
                    .iter()
                    .filter(|((a, _), _)| *a == sa)
                    .map(|(_, d)| d.clone())
                    .collect();
                ok(StatusCode::OK, &json!({"value": value}))
            }
            (Target::Container { sa, c }, "DELETE") => {
                if self.live_lease(&(sa.clone(), c.clone())).is_some() {
                    return error(
                        StatusCode::PRECONDITION_FAILED,
                        "LeaseIdMissing",
                        "There is currently a lease on the container and no lease ID was specified in the request.",
                    );
                }
                self.containers.remove(&(sa.clone(), c.clone()));
                self.container_metadata.remove(&(sa.clone(), c.clone()));
                self.blobs.remove(&(sa, c));
                StatusCode::OK.into_response()
            }
            // Log Analytics: PUT answers 201 with the workspace still
            // "Creating" and an Azure-AsyncOperation to poll (the spec
            // allows 200/201/202); DELETE is a soft delete, 200 or 204.
            (Target::Workspace { rg, name }, "PUT") => {
                if !self.rg_exists(&rg) {
                    return Self::no_rg(&rg);
                }
                let valid = (4..=63).contains(&name.len())
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !name.starts_with('-')
                    && !name.ends_with('-');
                if !valid {
                    return error(StatusCode::BAD_REQUEST, "InvalidWorkspaceName", &format!("The workspace name '{name}' is invalid: 4 to 63 letters, digits or '-', not starting or ending with '-'."));
                }
                let location = tri!(require_str(body, "/location"));
                let sku = body
                    .pointer("/properties/sku/name")
                    .cloned()
                    .unwrap_or(json!("PerGB2018"));
                let existed = self.workspaces.contains_key(&name);
                let customer_id = self
                    .workspaces
                    .get(&name)
                    .and_then(|w| w.pointer("/properties/customerId").cloned())
                    .unwrap_or_else(|| json!(format!("00000000-0000-4000-8000-{:012}", self.next_id + 1)));
                let doc = json!({
                    "id": path, "name": name, "type": "Microsoft.OperationalInsights/workspaces",
                    "location": location,
                    "tags": body.get("tags").cloned().unwrap_or(json!({})),
                    "properties": {
                        "customerId": customer_id,
                        "provisioningState": "Succeeded",
                        "sku": {"name": sku},
                        "retentionInDays": body.pointer("/properties/retentionInDays").cloned().unwrap_or(json!(30)),
                        "publicNetworkAccessForIngestion": "Enabled",
                        "publicNetworkAccessForQuery": "Enabled",
                    },
                    "rg": rg,
                });
                self.workspaces.insert(name.clone(), doc.clone());
                if existed {
                    return ok(StatusCode::OK, &strip(&doc));
                }
                let mut creating = strip(&doc);
                creating["properties"]["provisioningState"] = json!("Creating");
                let id = self.new_id();
                self.operations.insert(id.clone(), (1, Value::Null));
                (
                    StatusCode::CREATED,
                    [
                        (
                            "azure-asyncoperation",
                            format!("{base}/operations/{id}?api-version=2023-09-01"),
                        ),
                        ("retry-after", "0".to_string()),
                        ("content-type", "application/json".to_string()),
                    ],
                    creating.to_string(),
                )
                    .into_response()
            }
            (Target::Workspace { name, .. }, "GET") => match self.workspaces.get(&name) {
                Some(d) => ok(StatusCode::OK, &strip(d)),
                None => error(
                    StatusCode::NOT_FOUND,
                    "ResourceNotFound",
                    &format!("The Resource 'Microsoft.OperationalInsights/workspaces/{name}' was not found."),
                ),
            },
            (Target::Workspace { name, .. }, "DELETE") => {
                if self.workspaces.remove(&name).is_some() {
                    StatusCode::OK.into_response()
                } else {
                    StatusCode::NO_CONTENT.into_response()
                }
            }
            // Application Insights (2020-02-02): PUT is synchronous (200 with
            // the component); creating one needs a WorkspaceResourceId, since
            // classic components are retired.
            (Target::Component { rg, name }, "PUT") => {
                if !self.rg_exists(&rg) {
                    return Self::no_rg(&rg);
                }
                let location = tri!(require_str(body, "/location"));
                let kind = tri!(require_str(body, "/kind"));
                let app_type = tri!(require_str(body, "/properties/Application_Type"));
                let existing = self.components.get(&name).cloned();
                let workspace = match body
                    .pointer("/properties/WorkspaceResourceId")
                    .and_then(Value::as_str)
                {
                    Some(id) => id.to_string(),
                    None if existing.is_none() => {
                        return error(StatusCode::BAD_REQUEST, "BadRequest", "Region doesn't support Classic resource mode for Application Insights resources. Please use Workspace-based mode (set WorkspaceResourceId).");
                    }
                    None => existing.as_ref().unwrap()["properties"]["WorkspaceResourceId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                };
                let ws_name = workspace.rsplit('/').next().unwrap_or_default();
                let ws_ok = workspace
                    .to_ascii_lowercase()
                    .contains("/providers/microsoft.operationalinsights/workspaces/")
                    && self.workspaces.contains_key(ws_name);
                if !ws_ok {
                    return error(StatusCode::BAD_REQUEST, "BadRequest", &format!("Workspace '{workspace}' does not exist."));
                }
                let key = existing
                    .as_ref()
                    .and_then(|c| c.pointer("/properties/InstrumentationKey").cloned())
                    .unwrap_or_else(|| json!(format!("1c2d3e4f-0000-4000-8000-{:012}", self.next_id + 1)));
                self.next_id += 1;
                let doc = json!({
                    "id": path, "name": name, "type": "Microsoft.Insights/components",
                    "location": location, "kind": kind,
                    "tags": body.get("tags").cloned().unwrap_or(json!({})),
                    "properties": {
                        "ApplicationId": name,
                        "AppId": format!("a0a0a0a0-0000-4000-8000-{:012}", self.next_id),
                        "Application_Type": app_type,
                        "InstrumentationKey": key,
                        "ConnectionString": format!("InstrumentationKey={};IngestionEndpoint=https://{location}.in.applicationinsights.azure.com/", key.as_str().unwrap_or_default()),
                        "WorkspaceResourceId": workspace,
                        "IngestionMode": "LogAnalytics",
                        "provisioningState": "Succeeded",
                    },
                    "rg": rg,
                });
                if existing.is_none() {
                    self.pending_smart_detection.push((rg.clone(), name.clone()));
                }
                self.components.insert(name, doc.clone());
                ok(StatusCode::OK, &strip(&doc))
            }
            (Target::Component { name, .. }, "GET") => match self.components.get(&name) {
                Some(d) => ok(StatusCode::OK, &strip(d)),
                None => error(
                    StatusCode::NOT_FOUND,
                    "ResourceNotFound",
                    &format!("The Resource 'Microsoft.Insights/components/{name}' was not found."),
                ),
            },
            (Target::Component { name, .. }, "DELETE") => {
                if self.components.remove(&name).is_some() {
                    StatusCode::OK.into_response()
                } else {
                    StatusCode::NO_CONTENT.into_response()
                }
            }
            (Target::Plan { rg, plan }, "PUT") => {
                if !self.rg_exists(&rg) {
                    return Self::no_rg(&rg);
                }
                let location = tri!(require_str(body, "/location"));
                let sku = tri!(require_str(body, "/sku/name"));
                let doc = json!({
                    "id": path, "name": plan, "type": "Microsoft.Web/serverfarms", "location": location,
                    "kind": body.get("kind").cloned().unwrap_or(json!("app")),
                    "sku": {"name": sku, "tier": body.pointer("/sku/tier").cloned().unwrap_or(Value::Null)},
                    "tags": body.get("tags").cloned().unwrap_or(json!({})),
                    "properties": {"reserved": body.pointer("/properties/reserved").cloned().unwrap_or(json!(false)), "provisioningState": "Succeeded", "status": "Ready"},
                    "rg": rg,
                });
                self.plans.insert(plan.clone(), doc.clone());
                ok(StatusCode::OK, &strip(&doc))
            }
            (Target::Plan { plan, .. }, "GET") => match self.plans.get(&plan) {
                Some(d) => ok(StatusCode::OK, &strip(d)),
                None => error(
                    StatusCode::NOT_FOUND,
                    "ResourceNotFound",
                    &format!("The Resource 'Microsoft.Web/serverfarms/{plan}' was not found."),
                ),
            },
            (Target::Plan { plan, .. }, "DELETE") => {
                if self.sites.values().any(|s| {
                    s.body["properties"]["serverFarmId"]
                        .as_str()
                        .is_some_and(|id| id.ends_with(&format!("/{plan}")))
                }) {
                    return error(
                        StatusCode::CONFLICT,
                        "ServerFarmInUse",
                        "The plan has apps; delete them first.",
                    );
                }
                self.plans.remove(&plan);
                StatusCode::OK.into_response()
            }
            (Target::Site { rg, site }, "PUT") => self.put_site(&rg, &site, path, body, base),
            (Target::Site { site, .. }, "GET") => match self.sites.get(&site) {
                Some(s) => ok(StatusCode::OK, &strip(&s.body)),
                None => error(
                    StatusCode::NOT_FOUND,
                    "ResourceNotFound",
                    &format!("The Resource 'Microsoft.Web/sites/{site}' was not found."),
                ),
            },
            (Target::Site { site, .. }, "DELETE") => {
                if self.sites.remove(&site).is_some() {
                    StatusCode::OK.into_response()
                } else {
                    StatusCode::NO_CONTENT.into_response()
                }
            }
            (Target::SiteTags { site }, "PATCH") => {
                let Some(s) = self.sites.get_mut(&site) else {
                    return error(StatusCode::NOT_FOUND, "ResourceNotFound", "site not found");
                };
                if body["operation"] != "Merge"
                    && body["operation"] != "Replace"
                    && body["operation"] != "Delete"
                {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "InvalidTagOperation",
                        "operation must be Merge, Replace or Delete",
                    );
                }
                let tags = body
                    .pointer("/properties/tags")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                let current = s.body["tags"].as_object_mut().unwrap();
                if body["operation"] == "Replace" {
                    current.clear();
                }
                for (k, v) in tags {
                    current.insert(k, v);
                }
                let all = s.body["tags"].clone();
                ok(
                    StatusCode::OK,
                    &json!({"id": format!("{path}"), "name": "default", "properties": {"tags": all}}),
                )
            }
            (Target::SettingsList { site }, "POST") => match self.sites.get(&site) {
                Some(s) => ok(StatusCode::OK, &settings_doc(&site, &s.settings)),
                None => error(StatusCode::NOT_FOUND, "ResourceNotFound", "site not found"),
            },
            (Target::Settings { site }, "PUT") => {
                let Some(s) = self.sites.get_mut(&site) else {
                    return error(StatusCode::NOT_FOUND, "ResourceNotFound", "site not found");
                };
                let Some(props) = body.get("properties").and_then(Value::as_object) else {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "MissingRequiredProperty",
                        "The required property 'properties' is missing from the request.",
                    );
                };
                s.settings = props
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect();
                // New settings restart the host.
                s.restarting = self.host_restart_requests;
                ok(StatusCode::OK, &settings_doc(&site, &s.settings))
            }
            (Target::Functions { site }, "GET") => match self.sites.get(&site) {
                Some(s) => {
                    let value: Vec<Value> = s.functions.iter().map(|(name, config)| json!({
                        "id": format!("{path}/{name}"), "name": format!("{site}/{name}"),
                        "type": "Microsoft.Web/sites/functions",
                        "properties": {"name": name, "config": config, "language": "python",
                            "isDisabled": config.get("disabled").and_then(Value::as_bool).unwrap_or(false),
                            "invoke_url_template": format!("https://{site}.azurewebsites.net/{}", config.pointer("/bindings/0/route").and_then(Value::as_str).unwrap_or(""))},
                    })).collect();
                    ok(StatusCode::OK, &json!({"value": value}))
                }
                None => error(StatusCode::NOT_FOUND, "ResourceNotFound", "site not found"),
            },
            (Target::HostKeys { site } | Target::SyncTriggers { site }, "POST")
                if self.host_restarting(&site) =>
            {
                self.host_unavailable_answers += 1;
                host_unavailable()
            }
            (Target::HostKeys { site }, "POST") => match self.sites.get(&site) {
                Some(s) => {
                    // The host makes its blobs_extension key once it loads a
                    // blob trigger with the Event Grid source.
                    let system = if s.functions.values().any(is_event_grid_blob) {
                        json!({"blobs_extension": BLOBS_EXTENSION_KEY})
                    } else {
                        json!({})
                    };
                    ok(
                        StatusCode::OK,
                        &json!({"masterKey": "master-secret-key", "functionKeys": {"default": "function-secret-key"}, "systemKeys": system}),
                    )
                }
                None => error(StatusCode::NOT_FOUND, "ResourceNotFound", "site not found"),
            },
            (Target::WebConfig { site }, "GET") => match self.sites.get(&site) {
                Some(s) => ok(StatusCode::OK, &web_config_doc(path, s)),
                None => error(StatusCode::NOT_FOUND, "ResourceNotFound", "site not found"),
            },
            // SiteConfigResource: PUT replaces the configuration, PATCH
            // changes what it names (WebApps.json, "WebApps_UpdateConfiguration").
            (Target::WebConfig { site }, "PUT" | "PATCH") => {
                tri!(check_model(body, &site_config_resource_model(), ""));
                let Some(s) = self.sites.get_mut(&site) else {
                    return error(StatusCode::NOT_FOUND, "ResourceNotFound", "site not found");
                };
                let props = &body["properties"];
                if let Some(fx) = props["linuxFxVersion"].as_str() {
                    s.linux_fx_version = fx.to_string();
                }
                match props.get("cors") {
                    Some(c) => s.cors = c.clone(),
                    None if method.as_str() == "PUT" => s.cors = Value::Null,
                    None => {}
                }
                ok(StatusCode::OK, &web_config_doc(path, s))
            }
            (Target::AuthSettingsV2 { site }, "GET") => match self.sites.get(&site) {
                Some(s) => ok(StatusCode::OK, &auth_doc(path, &s.auth)),
                None => error(StatusCode::NOT_FOUND, "ResourceNotFound", "site not found"),
            },
            (Target::AuthSettingsV2 { site }, "PUT") => {
                tri!(check_model(body, &auth_settings_v2_model(), ""));
                let Some(s) = self.sites.get_mut(&site) else {
                    return error(StatusCode::NOT_FOUND, "ResourceNotFound", "site not found");
                };
                let props = body.get("properties").cloned().unwrap_or(json!({}));
                let aad = props
                    .pointer("/identityProviders/azureActiveDirectory")
                    .cloned()
                    .unwrap_or(Value::Null);
                if aad["enabled"] != json!(false)
                    && !aad.is_null()
                    && aad.pointer("/registration/clientId").and_then(Value::as_str).is_none()
                {
                    // The Entra provider signs in and validates as an app
                    // registration: without its client id it cannot work.
                    return error(StatusCode::BAD_REQUEST, "BadRequest", "The Azure Active Directory provider requires registration.clientId.");
                }
                s.auth = props;
                ok(StatusCode::OK, &auth_doc(path, &s.auth))
            }
            (Target::SyncTriggers { site }, "POST") => self.sync_triggers(&site),
            (Target::Operation { id }, "GET") => match self.operations.get_mut(&id) {
                Some((left, _)) if *left > 0 => {
                    *left -= 1;
                    (
                        StatusCode::OK,
                        [("retry-after", "0")],
                        json!({"status": "InProgress"}).to_string(),
                    )
                        .into_response()
                }
                Some(_) => ok(StatusCode::OK, &json!({"status": "Succeeded"})),
                None => error(
                    StatusCode::NOT_FOUND,
                    "OperationNotFound",
                    "no such operation",
                ),
            },
            (Target::Location { id }, "GET") => match self.operations.get_mut(&id) {
                Some((left, _)) if *left > 0 => {
                    *left -= 1;
                    (StatusCode::ACCEPTED, [("retry-after", "0")]).into_response()
                }
                Some((_, done)) if done.is_null() => StatusCode::NO_CONTENT.into_response(),
                Some((_, done)) => ok(StatusCode::OK, &done.clone()),
                None => error(
                    StatusCode::NOT_FOUND,
                    "OperationNotFound",
                    "no such operation",
                ),
            },
            (Target::Publish, "POST") => self.publish(raw),
            (Target::Deployment { id }, "GET") => {
                let Some(site) = self.sites.values_mut().find(|s| {
                    s.deployments.contains_key(&id) || (id == "latest" && !s.deployments.is_empty())
                }) else {
                    return error(StatusCode::NOT_FOUND, "NotFound", "no such deployment");
                };
                let key = if id == "latest" {
                    site.deployments
                        .keys()
                        .next_back()
                        .cloned()
                        .unwrap_or_default()
                } else {
                    id.clone()
                };
                let Some(state) = site.deployments.get_mut(&key) else {
                    return error(StatusCode::NOT_FOUND, "NotFound", "no such deployment");
                };
                if *state == 1 {
                    *state = site.deployment_ends.remove(&key).unwrap_or(4);
                    return ok(
                        StatusCode::OK,
                        &json!({"id": id, "status": 1, "complete": false, "status_text": "Building"}),
                    );
                }
                let status = *state;
                let text = match status {
                    3 => "the package has no host.json",
                    -1 => "Deployment was cancelled.",
                    5 => "Another deployment is in progress.",
                    6 => "Deployment partially succeeded: the function triggers were not synced.",
                    _ => "",
                };
                ok(
                    StatusCode::OK,
                    &json!({"id": id, "status": status, "complete": true, "status_text": text}),
                )
            }
            (Target::Queue { sa, q }, method) => self.queue(method, sa, q, path, body),
            (Target::Table { sa, t }, method) => self.table(method, sa, t, path),
            (Target::RoleAssignment { scope, name }, method) => {
                self.role_assignment(method, &scope, &name, path, body)
            }
            (Target::Queues { sa }, "GET") => self.list_children(&sa, path, ChildKind::Queue),
            (Target::Tables { sa }, "GET") => self.list_children(&sa, path, ChildKind::Table),
            (Target::RoleAssignments { scope }, "GET") => {
                self.list_role_assignments(&scope, query)
            }
            (Target::ActionGroups { rg }, "GET") => self.list_in(&rg, Kind::ActionGroup),
            (Target::AlertRules { rg }, "GET") => self.list_in(&rg, Kind::AlertRule),
            (Target::SystemTopics { rg }, "GET") => self.list_in(&rg, Kind::SystemTopic),
            (Target::ActionGroup { rg, name }, "GET") => self.get_in(&rg, &name, Kind::ActionGroup),
            (Target::AlertRule { rg, name }, "GET") => self.get_in(&rg, &name, Kind::AlertRule),
            (Target::SystemTopic { rg, name }, "GET") => self.get_in(&rg, &name, Kind::SystemTopic),
            (Target::ActionGroup { rg, name }, "PUT") => {
                self.put_in(&rg, &name, Kind::ActionGroup, path, body)
            }
            (Target::AlertRule { rg, name }, "PUT") => {
                self.put_in(&rg, &name, Kind::AlertRule, path, body)
            }
            (Target::ActionGroup { rg, name }, "DELETE") => {
                self.delete_in(&rg, &name, Kind::ActionGroup, base)
            }
            (Target::AlertRule { rg, name }, "DELETE") => {
                self.delete_in(&rg, &name, Kind::AlertRule, base)
            }
            (Target::SystemTopic { rg, name }, "DELETE") => {
                self.delete_in(&rg, &name, Kind::SystemTopic, base)
            }
            (Target::Unknown, "PUT" | "GET" | "HEAD" | "DELETE")
                if path.starts_with("/devstoreaccount1/") && query.contains("sig=") && !query.contains("comp=list") =>
            {
                self.blob_data_plane(method, path, query, raw)
            }
            (Target::Unknown, "POST") if path.starts_with("/v1/workspaces/") && path.ends_with("/query") => {
                let customer_id = path.trim_start_matches("/v1/workspaces/").trim_end_matches("/query").to_string();
                let body: Value = serde_json::from_slice(raw).unwrap_or(Value::Null);
                self.query_logs(&customer_id, &body)
            }
            (Target::Unknown, "GET")
                if query.split('&').any(|kv| kv == "comp=list")
                    && query.split('&').any(|kv| kv == "restype=container") =>
            {
                self.list_blobs(path, query)
            }
            (Target::Unknown, _) if !path.starts_with("/subscriptions/") => {
                self.call_app(method, path, query, headers, raw)
            }
            _ => error(
                StatusCode::NOT_FOUND,
                "NotFound",
                &format!("no such API in the test server: {method} {path}"),
            ),
        }
    }

    /// The blob service's List Blobs (`GET /{account}/{container}
    /// ?restype=container&comp=list`, path-style as emulators serve it),
    /// for the storage endpoint the Flex tests point at this server: the
    /// EnumerationResults XML of the REST reference ("List Blobs"),
    /// `maxresults` honoured with a `NextMarker`, 404 `ContainerNotFound`
    /// for a container that is not there, and a SAS that must allow
    /// listing the container (`sr=c`, `sp` with `l`). Signatures are
    /// checked by Azurite in the tests that attach it.
    fn list_blobs(&mut self, path: &str, query: &str) -> Response {
        let param = |k: &str| {
            query.split('&').find_map(|kv| {
                let (a, b) = kv.split_once('=')?;
                (a == k).then(|| b.to_string())
            })
        };
        if param("sr").as_deref() != Some("c")
            || !param("sp").unwrap_or_default().contains('l')
            || param("sig").is_none()
        {
            return (
                StatusCode::FORBIDDEN,
                [("content-type", "application/xml")],
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthorizationPermissionMismatch</Code><Message>This request is not authorized to perform this operation using this permission.</Message></Error>",
            )
                .into_response();
        }
        let container = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        let Some(key) = self
            .containers
            .iter()
            .find(|(_, c)| c == container)
            .cloned()
        else {
            return (
                StatusCode::NOT_FOUND,
                [("content-type", "application/xml")],
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>ContainerNotFound</Code><Message>The specified container does not exist.</Message></Error>",
            )
                .into_response();
        };
        let max: usize = param("maxresults")
            .and_then(|m| m.parse().ok())
            .unwrap_or(5000);
        let names: Vec<&String> = self.blobs.get(&key).into_iter().flatten().collect();
        let page: String = names
            .iter()
            .take(max)
            .map(|n| format!("<Blob><Name>{n}</Name><Properties><BlobType>BlockBlob</BlobType></Properties></Blob>"))
            .collect();
        let next = names.get(max).map(|n| n.as_str()).unwrap_or("");
        (
            StatusCode::OK,
            [("content-type", "application/xml")],
            format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ContainerName=\"{container}\"><MaxResults>{max}</MaxResults><Blobs>{page}</Blobs><NextMarker>{next}</NextMarker></EnumerationResults>"
            ),
        )
            .into_response()
    }

    fn trace(&mut self, function: &str, lines: Vec<String>) {
        for line in lines {
            self.traces.push((iso_now(), function.to_string(), line));
        }
    }

    /// The Log Analytics query API (`POST /v1/workspaces/{customerId}/query`).
    /// It runs no KQL: it understands the shape fnctl sends (the AppTraces
    /// table, a time window, `OperationName in (...)`) and refuses others.
    fn query_logs(&mut self, customer_id: &str, body: &Value) -> Response {
        if !self
            .workspaces
            .values()
            .any(|w| w["properties"]["customerId"] == customer_id)
        {
            return error(
                StatusCode::NOT_FOUND,
                "WorkspaceNotFound",
                &format!("The workspace could not be found: {customer_id}"),
            );
        }
        let Some(query) = body["query"].as_str() else {
            return error(
                StatusCode::BAD_REQUEST,
                "BadArgumentError",
                "The request had some invalid properties: query is required",
            );
        };
        self.log_queries.push(query.to_string());
        let quoted = |s: &str| -> Vec<String> {
            s.split('\'')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect()
        };
        let (Some(window), Some(names)) = (
            query
                .split("TimeGenerated >= ")
                .nth(1)
                .and_then(|r| r.split(" | ").next()),
            query
                .split("OperationName in (")
                .nth(1)
                .and_then(|r| r.split(')').next()),
        ) else {
            return error(
                StatusCode::BAD_REQUEST,
                "SemanticError",
                "the test server understands only fnctl's trace query",
            );
        };
        if !query.starts_with("AppTraces |") {
            return error(StatusCode::BAD_REQUEST, "SemanticError", "unknown table");
        }
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let from = if let Some(secs) = window
            .strip_prefix("ago(")
            .and_then(|r| r.strip_suffix("s)"))
            .and_then(|n| n.parse::<i64>().ok())
        {
            iso_at(now_ms - secs * 1000)
        } else if let Some(t) = quoted(window).into_iter().next() {
            t
        } else {
            return error(
                StatusCode::BAD_REQUEST,
                "SemanticError",
                "unknown time window",
            );
        };
        let names = quoted(names);
        let rows: Vec<Value> = self
            .traces
            .iter()
            .filter(|(t, f, _)| *t >= from && names.contains(f))
            .map(|(t, f, m)| json!([t, f, m]))
            .collect();
        ok(
            StatusCode::OK,
            &json!({"tables": [{"name": "PrimaryResult", "columns": [
                {"name": "TimeGenerated", "type": "datetime"},
                {"name": "OperationName", "type": "string"},
                {"name": "Message", "type": "string"}], "rows": rows}]}),
        )
    }

    /// The app's own host: HTTP functions by route, and the admin endpoint
    /// that starts a non-HTTP function. Functions really run: the deployed
    /// package is unpacked and its generated entry executed by the harness
    /// (Microsoft's azure-functions types), with the app settings as its
    /// environment, as the Functions host would.
    fn call_app(
        &mut self,
        method: &Method,
        path: &str,
        query: &str,
        headers: &HeaderMap,
        raw: &Bytes,
    ) -> Response {
        let Some(site) = self.sites.values().find(|s| s.package.is_some()).cloned() else {
            return error(StatusCode::NOT_FOUND, "NotFound", "no app is deployed");
        };
        // App Service Authentication runs before the host: with
        // `requireAuthentication` and `Return401`, a request without a
        // token to a path not in `excludedPaths` never reaches a function
        // (this server issues no tokens, so every such request is refused).
        let auth = &site.auth;
        if auth.pointer("/platform/enabled") == Some(&json!(true))
            && auth.pointer("/globalValidation/requireAuthentication") == Some(&json!(true))
            && !auth
                .pointer("/globalValidation/excludedPaths")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|p| p.as_str() == Some(path))
        {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        let key = headers
            .get("x-functions-key")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        if let Some(name) = path.strip_prefix("/admin/functions/") {
            if key != "master-secret-key" {
                return StatusCode::UNAUTHORIZED.into_response();
            }
            let input: Value = serde_json::from_slice(raw).unwrap_or(Value::Null);
            let text = input["input"].as_str().unwrap_or_default();
            let blob_trigger = site
                .functions
                .get(name)
                .is_some_and(|c| c["bindings"][0]["type"] == "blobTrigger");
            let (outcome, lines) = if blob_trigger {
                match self.bind_blob_input(text) {
                    Ok(event) => run_function(&site, name, &event),
                    Err(why) => (
                        json!({"error": {"errorType": "FunctionInvocationException", "errorMessage": why}}),
                        vec![why],
                    ),
                }
            } else {
                let event: Value = serde_json::from_str(text).unwrap_or(Value::Null);
                run_function(&site, name, &event)
            };
            self.trace(name, lines);
            self.admin_runs.push((name.to_string(), outcome));
            return StatusCode::ACCEPTED.into_response();
        }
        let parts: Vec<&str> = path
            .trim_matches('/')
            .split('/')
            .filter(|p| !p.is_empty())
            .collect();
        for (name, config) in &site.functions {
            let b = &config["bindings"][0];
            if b["type"] != "httpTrigger" {
                continue;
            }
            let methods: Vec<String> = b["methods"]
                .as_array()
                .map(|m| {
                    m.iter()
                        .filter_map(|x| x.as_str())
                        .map(str::to_ascii_uppercase)
                        .collect()
                })
                .unwrap_or_default();
            if !methods.is_empty() && !methods.contains(&method.as_str().to_string()) {
                continue;
            }
            let Some(params) = match_route(b["route"].as_str().unwrap_or(""), &parts) else {
                continue;
            };
            if b["authLevel"] == "function"
                && key != "function-secret-key"
                && key != "master-secret-key"
            {
                return StatusCode::UNAUTHORIZED.into_response();
            }
            let mut multi: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for kv in query.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                multi
                    .entry(k.to_string())
                    .or_default()
                    .push(v.replace('+', " "));
            }
            let hdrs: BTreeMap<String, String> = headers
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
                .collect();
            let event = json!({
                "resource": format!("/{}", b["route"].as_str().unwrap_or("")),
                "path": path, "httpMethod": method.as_str(), "headers": hdrs,
                "multiValueQueryStringParameters": if multi.is_empty() { Value::Null } else { json!(multi) },
                "pathParameters": if params.is_empty() { Value::Null } else { json!(params) },
                "body": if raw.is_empty() { Value::Null } else { json!(String::from_utf8_lossy(raw)) },
                "isBase64Encoded": false,
            });
            let (outcome, lines) = run_function(&site, name, &event);
            self.trace(name, lines);
            let p = &outcome["payload"];
            if p.is_null() {
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "FunctionFailed",
                    &outcome.to_string(),
                );
            }
            let status =
                StatusCode::from_u16(p["statusCode"].as_u64().unwrap_or(500) as u16).unwrap();
            let ct = p["headers"]["content-type"]
                .as_str()
                .unwrap_or("text/plain")
                .to_string();
            return (
                status,
                [("content-type", ct)],
                p["body"].as_str().unwrap_or("").to_string(),
            )
                .into_response();
        }
        error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "no function has this route",
        )
    }

    /// `POST .../syncfunctiontriggers`: the platform reads the functions of
    /// the package the app runs. On classic Consumption that package is the
    /// one at WEBSITE_RUN_FROM_PACKAGE, fetched here with a plain GET (from
    /// Azurite, which checks the SAS); a URL that does not serve a Functions
    /// package fails the sync, as the host would fail to start.
    fn sync_triggers(&mut self, site: &str) -> Response {
        let Some(s) = self.sites.get_mut(site) else {
            return error(StatusCode::NOT_FOUND, "ResourceNotFound", "site not found");
        };
        let Some(url) = s.settings.get("WEBSITE_RUN_FROM_PACKAGE").cloned() else {
            // Flex (one-deploy) apps: nothing to load.
            return StatusCode::NO_CONTENT.into_response();
        };
        for required in ["AzureWebJobsStorage", "FUNCTIONS_WORKER_RUNTIME"] {
            if !s.settings.contains_key(required) {
                return error(StatusCode::BAD_REQUEST, "BadRequest", &format!("Encountered an error (ServiceUnavailable) from host runtime: the app setting {required} is missing."));
            }
        }
        if s.settings
            .get("FUNCTIONS_EXTENSION_VERSION")
            .map(String::as_str)
            != Some("~4")
        {
            return error(StatusCode::BAD_REQUEST, "BadRequest", "Encountered an error (ServiceUnavailable) from host runtime: FUNCTIONS_EXTENSION_VERSION must be ~4.");
        }
        // The platform reaches storage over its own network, not through
        // whatever the test put in front of fnctl's calls.
        let url = match &self.blob_service {
            Some(service) => {
                let rest = url.splitn(4, '/').nth(3).unwrap_or_default();
                format!("{}/{rest}", service.trim_end_matches('/'))
            }
            None => url,
        };
        let package = match http_get(&url) {
            Ok((200, bytes)) => bytes,
            Ok((status, body)) => {
                return error(StatusCode::BAD_REQUEST, "BadRequest", &format!("Encountered an error (ServiceUnavailable) from host runtime: the package URL answered {status}: {}", String::from_utf8_lossy(&body).chars().take(200).collect::<String>()));
            }
            Err(e) => {
                return error(StatusCode::BAD_REQUEST, "BadRequest", &format!("Encountered an error (ServiceUnavailable) from host runtime: cannot fetch the package: {e}"));
            }
        };
        let Some(functions) = functions_in_package(&package) else {
            return error(StatusCode::BAD_REQUEST, "BadRequest", "Encountered an error (ServiceUnavailable) from host runtime: the package has no host.json.");
        };
        s.functions = functions;
        s.package = Some(package);
        s.syncs += 1;
        StatusCode::NO_CONTENT.into_response()
    }

    fn put_site(&mut self, rg: &str, site: &str, path: &str, body: &Value, base: &str) -> Response {
        if !self.rg_exists(rg) {
            return Self::no_rg(rg);
        }
        let location = tri!(require_str(body, "/location"));
        let farm = tri!(require_str(body, "/properties/serverFarmId"));
        let plan_name = farm.rsplit('/').next().unwrap_or_default();
        let Some(plan) = self.plans.get(plan_name) else {
            return error(
                StatusCode::NOT_FOUND,
                "NotFound",
                &format!("Server farm with name {plan_name} not found."),
            );
        };
        let settings: BTreeMap<String, String> = body
            .pointer("/properties/siteConfig/appSettings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| {
                Some((
                    s["name"].as_str()?.to_string(),
                    s["value"].as_str().unwrap_or_default().to_string(),
                ))
            })
            .collect();
        let config = body
            .pointer("/properties/functionAppConfig")
            .cloned()
            .unwrap_or(Value::Null);
        if let Some(cors) = body.pointer("/properties/siteConfig/cors") {
            tri!(check_model(
                cors,
                &cors_model(),
                "properties.siteConfig.cors"
            ));
        }
        if plan["sku"]["name"] == "FC1" {
            // Flex Consumption: functionAppConfig is required and checked.
            tri!(require_str(
                body,
                "/properties/functionAppConfig/deployment/storage/type"
            ));
            tri!(require_str(
                body,
                "/properties/functionAppConfig/deployment/storage/value"
            ));
            let auth = tri!(require_str(
                body,
                "/properties/functionAppConfig/deployment/storage/authentication/type"
            ));
            tri!(require_str(
                body,
                "/properties/functionAppConfig/runtime/name"
            ));
            tri!(require_str(
                body,
                "/properties/functionAppConfig/runtime/version"
            ));
            if auth == "StorageAccountConnectionString" {
                let name = tri!(require_str(body, "/properties/functionAppConfig/deployment/storage/authentication/storageAccountConnectionStringName"));
                let existing = self
                    .sites
                    .get(site)
                    .map(|s| s.settings.contains_key(name))
                    .unwrap_or(false);
                if !settings.contains_key(name) && !existing {
                    return error(StatusCode::BAD_REQUEST, "BadRequest", &format!("The app setting '{name}' named by functionAppConfig.deployment.storage.authentication does not exist."));
                }
            }
            let memory = config
                .pointer("/scaleAndConcurrency/instanceMemoryMB")
                .and_then(Value::as_u64)
                .unwrap_or(2048);
            if ![512, 2048, 4096].contains(&memory) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!("instanceMemoryMB {memory} is not supported; use 512, 2048 or 4096."),
                );
            }
            let max = config
                .pointer("/scaleAndConcurrency/maximumInstanceCount")
                .and_then(Value::as_u64)
                .unwrap_or(100);
            if !(1..=1000).contains(&max) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "maximumInstanceCount must be between 1 and 1000.",
                );
            }
            if settings.contains_key("FUNCTIONS_WORKER_RUNTIME")
                || settings.contains_key("WEBSITE_RUN_FROM_PACKAGE")
            {
                return error(StatusCode::BAD_REQUEST, "BadRequest", "FUNCTIONS_WORKER_RUNTIME and WEBSITE_RUN_FROM_PACKAGE are not supported on Flex Consumption.");
            }
        } else {
            if !config.is_null() {
                return error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "functionAppConfig is only supported for Flex Consumption (FC1) plans.",
                );
            }
            if plan["sku"]["name"] == "Y1" {
                // Classic Linux Consumption runs the stack linuxFxVersion
                // names; without one the host never starts.
                let fx = tri!(require_str(body, "/properties/siteConfig/linuxFxVersion"));
                let known = [
                    "python|3.9",
                    "python|3.10",
                    "python|3.11",
                    "python|3.12",
                    "node|18",
                    "node|20",
                    "node|22",
                ];
                if !known.contains(&fx.to_ascii_lowercase().as_str()) {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "BadRequest",
                        &format!("linuxFxVersion '{fx}' is not a supported Functions stack."),
                    );
                }
            }
        }
        let doc = json!({
            "id": path, "name": site, "type": "Microsoft.Web/sites", "location": location,
            "kind": body.get("kind").cloned().unwrap_or(json!("app")),
            "tags": body.get("tags").cloned().unwrap_or(json!({})),
            "properties": {
                "state": "Running", "enabled": true, "usageState": "Normal", "availabilityState": "Normal",
                "defaultHostName": format!("{site}.azurewebsites.net"),
                "hostNames": [format!("{site}.azurewebsites.net")],
                "enabledHostNames": [format!("{site}.azurewebsites.net"), format!("{site}.scm.azurewebsites.net")],
                "serverFarmId": farm, "reserved": true, "httpsOnly": true,
                "functionAppConfig": config,
                "siteConfig": {"linuxFxVersion": "", "appSettings": null},
                "provisioningState": "Succeeded",
            },
            "rg": rg,
        });
        let existed = self.sites.contains_key(site);
        // ManagedServiceIdentity: a system-assigned identity keeps its
        // principal while the site has it; ARM reports principalId and
        // tenantId (read-only) in the answer.
        let mut doc = doc;
        let wants_identity = body
            .pointer("/identity/type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.contains("SystemAssigned"));
        if wants_identity {
            let kept = self
                .sites
                .get(site)
                .and_then(|s| s.body.pointer("/identity/principalId").cloned());
            let principal = match kept {
                Some(p) => p,
                None => {
                    self.next_id += 1;
                    json!(format!("5e1f0000-0000-4000-8000-{:012}", self.next_id))
                }
            };
            self.principals
                .insert(principal.as_str().unwrap_or_default().to_string());
            doc["identity"] = json!({"type": "SystemAssigned", "principalId": principal,
                "tenantId": "72f988bf-0000-4000-8000-000000000000"});
        }
        let entry = self.sites.entry(site.to_string()).or_default();
        entry.body = doc.clone();
        // A site PUT replaces its configuration, CORS included.
        entry.cors = body
            .pointer("/properties/siteConfig/cors")
            .cloned()
            .unwrap_or(Value::Null);
        if let Some(fx) = body
            .pointer("/properties/siteConfig/linuxFxVersion")
            .and_then(Value::as_str)
        {
            entry.linux_fx_version = fx.to_string();
        }
        if body.pointer("/properties/siteConfig/appSettings").is_some() {
            entry.settings = settings;
            if existed {
                // A site whose settings are replaced restarts its host.
                entry.restarting = self.host_restart_requests;
            }
        }
        if existed {
            return ok(StatusCode::OK, &strip(&doc));
        }
        let id = self.new_id();
        self.operations.insert(id.clone(), (1, Value::Null));
        (
            StatusCode::ACCEPTED,
            [
                (
                    "azure-asyncoperation",
                    format!("{base}/operations/{id}?api-version=2024-04-01"),
                ),
                ("retry-after", "0".to_string()),
            ],
            strip(&doc).to_string(),
        )
            .into_response()
    }

    /// `PUT .../storageAccounts/{sa}/providers/Microsoft.EventGrid/eventSubscriptions/{name}`
    /// with a WebHook destination. Event Grid validates a webhook when the
    /// subscription is made; the Functions host answers that handshake on
    /// `/runtime/webhooks/blobs` only for an existing Event Grid blob trigger
    /// (`functionName=Host.Functions.{name}`) and the `blobs_extension` key,
    /// so those are checked here. Answers 201 with `Azure-AsyncOperation`.
    fn put_event_subscription(
        &mut self,
        sa: String,
        name: String,
        path: &str,
        body: &Value,
        base: &str,
    ) -> Response {
        if !self.storage_accounts.contains_key(&sa) {
            return error(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                "storage account not found",
            );
        }
        if !(3..=64).contains(&name.len())
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "Event subscription name must be 3-64 characters of letters, digits and '-'.",
            );
        }
        let destination = &body["properties"]["destination"];
        if destination["endpointType"] != "WebHook" {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "this test server supports WebHook destinations only",
            );
        }
        let url = tri!(require_str(
            body,
            "/properties/destination/properties/endpointUrl"
        ));
        let (endpoint, query) = url.split_once('?').unwrap_or((url, ""));
        let param = |key: &str| {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
                .unwrap_or_default()
        };
        let function = param("functionName")
            .strip_prefix("Host.Functions.")
            .unwrap_or_default();
        let handshake_ok = endpoint.ends_with("/runtime/webhooks/blobs")
            && param("code") == BLOBS_EXTENSION_KEY
            && self
                .sites
                .values()
                .any(|s| s.functions.get(function).is_some_and(is_event_grid_blob));
        if !handshake_ok {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                &format!("Webhook validation handshake failed for {endpoint}. Http POST request failed with response code Unauthorized."),
            );
        }
        let filter = body["properties"]["filter"].clone();
        if !filter["includedEventTypes"].is_array() {
            return error(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "filter.includedEventTypes must be a list of event types.",
            );
        }
        let rg_path = path
            .split("/providers/Microsoft.EventGrid")
            .next()
            .unwrap_or_default();
        let doc = json!({
            "id": path, "name": name, "type": "Microsoft.EventGrid/eventSubscriptions",
            "properties": {
                "topic": rg_path,
                "provisioningState": "Succeeded",
                "destination": {"endpointType": "WebHook", "properties": {"endpointBaseUrl": endpoint}},
                "filter": filter,
                "eventDeliverySchema": body["properties"]["eventDeliverySchema"].clone(),
            },
        });
        let existed = self
            .event_subscriptions
            .insert((sa.clone(), name), doc.clone())
            .is_some();
        if existed {
            return ok(StatusCode::OK, &doc);
        }
        self.ensure_system_topic(&sa, path);
        let id = self.new_id();
        self.operations.insert(id.clone(), (1, Value::Null));
        let mut creating = doc;
        creating["properties"]["provisioningState"] = json!("Creating");
        (
            StatusCode::CREATED,
            [
                (
                    "azure-asyncoperation",
                    format!("{base}/operations/{id}?api-version=2022-06-15"),
                ),
                ("retry-after", "0".to_string()),
            ],
            creating.to_string(),
        )
            .into_response()
    }

    /// One-deploy: the only site takes the package; functions are what its
    /// function.json files declare. A package without host.json fails (status 3).
    fn publish(&mut self, raw: &Bytes) -> Response {
        if self.sites.len() != 1 {
            return error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "the test server serves one site's scm host",
            );
        }
        let id = format!("dep{:04}", self.next_id + 1);
        self.next_id += 1;
        let fail = ok_deploy_flag(&mut self.fail_next_deployment);
        let ends = self.next_deployment_ends.take();
        let restart = self.host_restart_requests;
        let site = self.sites.values_mut().next().unwrap();
        let found = functions_in_package(raw);
        let ok_package = found.is_some();
        let functions = found.unwrap_or_default();
        if ok_package && fail {
            site.deployments.insert(id.clone(), 3);
        } else if ok_package {
            // Cancelled (-1) or refused for a deployment in progress (5):
            // the package never reaches the host. Partial success (6):
            // the package is in place, a later step (the trigger sync) failed.
            if !matches!(ends, Some(-1 | 5)) {
                site.functions = functions;
                site.package = Some(raw.to_vec());
                // The host restarts onto the new package.
                site.restarting = restart;
            }
            site.deployments.insert(id.clone(), 1);
            if let Some(status) = ends {
                site.deployment_ends.insert(id.clone(), status);
            }
        } else {
            site.deployments.insert(id.clone(), 3);
        }
        (
            StatusCode::ACCEPTED,
            [("content-type", "application/json")],
            json!(id).to_string(),
        )
            .into_response()
    }
}

/// Resources Azure creates on its own next to fnctl's.
#[derive(Clone, Copy)]
enum Kind {
    ActionGroup,
    AlertRule,
    SystemTopic,
}

impl Kind {
    fn what(self) -> &'static str {
        match self {
            Kind::ActionGroup => "microsoft.insights/actionGroups",
            Kind::AlertRule => "microsoft.alertsManagement/smartDetectorAlertRules",
            Kind::SystemTopic => "Microsoft.EventGrid/systemTopics",
        }
    }
}

/// The smart detection Azure adds for an Application Insights component:
/// "Whenever a new insights resource is created ... azure automatically
/// creates an alert rule called \"Failure Anomalies\" ... and an action
/// group \"Application Insights Smart Detection\" which is also
/// automatically created. (NB: It takes several minutes for this rule to
/// show up in the portal after insights is created)"
/// (hashicorp/terraform-provider-azurerm#10563; the resource ids as Azure
/// reports them in #18026 and PR #22163:
/// `.../providers/microsoft.insights/actiongroups/Application Insights Smart Detection`,
/// `.../providers/microsoft.alertsmanagement/smartDetectorAlertRules/Failure Anomalies - {component}`).
/// The documents follow what Azure exports for them: the action group
/// `location: Global`, `groupShortName: SmartDetect`, the Monitoring
/// Contributor and Reader roles as receivers; the rule `location: global`,
/// detector `FailureAnomaliesDetector`, severity Sev3, frequency PT1M,
/// `scope: [component id]`, `actionGroups.groupIds: [action group id]`
/// (schema: SmartDetectorAlertRulesApi.json 2021-04-01). An action group
/// of that name already in the group is reused.
const SMART_DETECTION_GROUP: &str = "Application Insights Smart Detection";

/// The 400 a Function App answers on `host/default/listkeys` and
/// `syncfunctiontriggers` while its host restarts, in the shape Azure
/// sends it (the body's shape as quoted in TaoYang-Cloud/azure.policy.monitor#8,
/// the message and its timing — a sync right after the settings changed,
/// through on a rerun — in microsoft/azure-pipelines-tasks#16942 and
/// Azure/azure-functions-core-tools#3008).
fn host_unavailable() -> Response {
    let message = "Encountered an error (ServiceUnavailable) from host runtime.";
    (
        StatusCode::BAD_REQUEST,
        [("content-type", "application/json")],
        json!({"Code": "BadRequest", "Message": message, "Target": null,
            "Details": [{"Message": message}, {"Code": "BadRequest"},
                {"ErrorEntity": {"Code": "BadRequest", "Message": message}}],
            "Innererror": null})
        .to_string(),
    )
        .into_response()
}

impl World {
    /// Whether the site's host is restarting; counts the request.
    fn host_restarting(&mut self, site: &str) -> bool {
        match self.sites.get_mut(site) {
            Some(s) if s.restarting > 0 => {
                s.restarting -= 1;
                true
            }
            _ => false,
        }
    }

    fn store(&mut self, kind: Kind) -> &mut BTreeMap<(String, String), Value> {
        match kind {
            Kind::ActionGroup => &mut self.action_groups,
            Kind::AlertRule => &mut self.alert_rules,
            Kind::SystemTopic => &mut self.system_topics,
        }
    }

    /// The smart detection of the components created since the last read.
    fn materialize_smart_detection(&mut self) {
        for (rg, name) in std::mem::take(&mut self.pending_smart_detection) {
            let Some(component) = self.components.get(&name) else {
                continue;
            };
            let sub = component["id"]
                .as_str()
                .unwrap_or_default()
                .split('/')
                .nth(2)
                .unwrap_or_default()
                .to_string();
            let group_base = format!("/subscriptions/{sub}/resourceGroups/{rg}/providers");
            let key = (
                rg.to_ascii_lowercase(),
                SMART_DETECTION_GROUP.to_ascii_lowercase(),
            );
            let group_id = match self.action_groups.get(&key) {
                Some(g) => g["id"].as_str().unwrap_or_default().to_string(),
                None => {
                    let id = format!(
                        "{group_base}/microsoft.insights/actiongroups/{SMART_DETECTION_GROUP}"
                    );
                    let role = |name: &str, id: &str| json!({"name": name, "roleId": id, "useCommonAlertSchema": true});
                    self.action_groups.insert(key, json!({
                        "id": id, "name": SMART_DETECTION_GROUP, "type": "Microsoft.Insights/ActionGroups",
                        "listedType": "microsoft.insights/actiongroups", "location": "Global",
                        "properties": {
                            "groupShortName": "SmartDetect", "enabled": true,
                            "emailReceivers": [], "smsReceivers": [], "webhookReceivers": [],
                            "armRoleReceivers": [
                                role("Monitoring Contributor", "749f88d5-cbae-40b8-bcfc-e573ddc772fa"),
                                role("Monitoring Reader", "43d0d8ad-25c7-4714-9337-8ba259a9fe05"),
                            ],
                        },
                    }));
                    id
                }
            };
            let rule = format!("Failure Anomalies - {name}");
            self.alert_rules.insert(
                (rg.to_ascii_lowercase(), rule.to_ascii_lowercase()),
                json!({
                    "id": format!("{group_base}/microsoft.alertsmanagement/smartDetectorAlertRules/{rule}"),
                    "name": rule, "type": "Microsoft.AlertsManagement/smartDetectorAlertRules",
                    "listedType": "microsoft.alertsmanagement/smartDetectorAlertRules",
                    "location": "global",
                    "properties": {
                        "description": "Failure Anomalies notifies you of an unusual rise in the rate of failed HTTP requests or dependency calls.",
                        "state": "Enabled", "severity": "Sev3", "frequency": "PT1M",
                        "detector": {"id": "FailureAnomaliesDetector"},
                        "scope": [format!("{group_base}/microsoft.insights/components/{name}")],
                        "actionGroups": {"groupIds": [group_id]},
                    },
                }),
            );
        }
    }

    /// The system topic Event Grid makes for a storage account when its
    /// first event subscription is created as an extension resource of the
    /// account: named `<Azure resource name>-<GUID>`, in the account's
    /// group and location, `source` the account ("System topics in Azure
    /// Event Grid", Lifecycle of system topics; the document as in
    /// SystemTopics_Get.json, 2022-06-15). It goes when the last event
    /// subscription is deleted; deleting the storage account (and its
    /// subscriptions with it) leaves it behind, as issue 14 reports.
    fn ensure_system_topic(&mut self, sa: &str, subscription_path: &str) {
        let source_end = format!("/storageaccounts/{}", sa.to_ascii_lowercase());
        if self.system_topics.values().any(|t| {
            t["properties"]["source"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase()
                .ends_with(&source_end)
        }) {
            return;
        }
        let Some(account) = self.storage_accounts.get(sa) else {
            return;
        };
        let rg = account["rg"].as_str().unwrap_or_default().to_string();
        let location = account["location"].clone();
        let sub = subscription_path
            .split('/')
            .nth(2)
            .unwrap_or_default()
            .to_string();
        self.next_id += 1;
        let name = format!("{sa}-5e1c0a2b-0000-4000-8000-{:012}", self.next_id);
        self.system_topics.insert(
            (rg.to_ascii_lowercase(), name.to_ascii_lowercase()),
            json!({
                "id": format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.EventGrid/systemTopics/{name}"),
                "name": name, "type": "Microsoft.EventGrid/systemTopics",
                "listedType": "Microsoft.EventGrid/systemTopics",
                "location": location, "tags": null,
                "properties": {
                    "provisioningState": "Succeeded",
                    "source": format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/microsoft.storage/storageaccounts/{sa}"),
                    "topicType": "microsoft.storage.storageaccounts",
                    "metricResourceId": format!("3f0b7f5e-0000-4000-8000-{:012}", self.next_id),
                },
            }),
        );
    }

    fn list_in(&mut self, rg: &str, kind: Kind) -> Response {
        if !self.rg_exists(rg) {
            return Self::no_rg(rg);
        }
        let lower = rg.to_ascii_lowercase();
        let value: Vec<Value> = self
            .store(kind)
            .iter()
            .filter(|((g, _), _)| *g == lower)
            .map(|(_, d)| public(d))
            .collect();
        ok(StatusCode::OK, &json!({"value": value}))
    }

    fn get_in(&mut self, rg: &str, name: &str, kind: Kind) -> Response {
        if !self.rg_exists(rg) {
            return Self::no_rg(rg);
        }
        let key = (rg.to_ascii_lowercase(), name.to_ascii_lowercase());
        match self.store(kind).get(&key) {
            Some(d) => ok(StatusCode::OK, &public(d)),
            None => error(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                &format!(
                    "The Resource '{}/{name}' under resource group '{rg}' was not found.",
                    kind.what()
                ),
            ),
        }
    }

    /// Create or replace (what a user, or a test, adds to a group).
    fn put_in(&mut self, rg: &str, name: &str, kind: Kind, path: &str, body: &Value) -> Response {
        if !self.rg_exists(rg) {
            return Self::no_rg(rg);
        }
        let mut doc = body.clone();
        doc["id"] = json!(path);
        doc["name"] = json!(name);
        doc["type"] = json!(kind.what());
        doc["listedType"] = json!(kind.what());
        if doc.get("location").is_none() {
            doc["location"] = json!("global");
        }
        let key = (rg.to_ascii_lowercase(), name.to_ascii_lowercase());
        let existed = self.store(kind).insert(key, doc.clone()).is_some();
        ok(
            if existed {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            },
            &public(&doc),
        )
    }

    /// Action groups and rules: 200, or 204 when not there; system topics
    /// are long-running (202 with a Location to poll).
    fn delete_in(&mut self, rg: &str, name: &str, kind: Kind, base: &str) -> Response {
        let key = (rg.to_ascii_lowercase(), name.to_ascii_lowercase());
        let existed = self.store(kind).remove(&key).is_some();
        match kind {
            Kind::SystemTopic if existed => {
                let id = self.new_id();
                self.operations.insert(id.clone(), (1, Value::Null));
                (
                    StatusCode::ACCEPTED,
                    [
                        ("location", format!("{base}/locations/{id}")),
                        ("retry-after", "0".to_string()),
                    ],
                )
                    .into_response()
            }
            _ if existed => StatusCode::OK.into_response(),
            _ => StatusCode::NO_CONTENT.into_response(),
        }
    }

    /// The blob service's Put Blob, Get Blob, Get Blob Properties (HEAD)
    /// and Delete Blob, path-style (`/{account}/{container}/{blob}`), for
    /// the storage endpoint the Flex tests point at this server. The SAS
    /// must be a blob SAS (`sr=b`) with the permission the operation needs;
    /// signatures are checked by Azurite in the tests that attach it.
    fn blob_data_plane(
        &mut self,
        method: &Method,
        path: &str,
        query: &str,
        raw: &Bytes,
    ) -> Response {
        let param = |k: &str| {
            query.split('&').find_map(|kv| {
                let (a, b) = kv.split_once('=')?;
                (a == k).then(|| b.to_string())
            })
        };
        let needed = match method.as_str() {
            "PUT" => 'w',
            "DELETE" => 'd',
            _ => 'r',
        };
        let xml = |status: StatusCode, code: &str, message: &str| {
            (
                status,
                [("content-type", "application/xml")],
                format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"),
            )
                .into_response()
        };
        if param("sr").as_deref() != Some("b") || !param("sp").unwrap_or_default().contains(needed)
        {
            return xml(
                StatusCode::FORBIDDEN,
                "AuthorizationPermissionMismatch",
                "This request is not authorized to perform this operation using this permission.",
            );
        }
        let rest = path
            .trim_start_matches('/')
            .splitn(3, '/')
            .collect::<Vec<_>>();
        let (Some(container), Some(blob)) = (rest.get(1), rest.get(2)) else {
            return xml(
                StatusCode::BAD_REQUEST,
                "InvalidUri",
                "The requested URI does not represent any resource on the server.",
            );
        };
        let blob = percent_encoding::percent_decode_str(blob)
            .decode_utf8_lossy()
            .into_owned();
        let Some((sa, c)) = self
            .containers
            .iter()
            .find(|(_, c)| c == container)
            .cloned()
        else {
            return xml(
                StatusCode::NOT_FOUND,
                "ContainerNotFound",
                "The specified container does not exist.",
            );
        };
        let key = (sa.clone(), c.clone(), blob.clone());
        match method.as_str() {
            "PUT" => {
                self.blobs.entry((sa, c)).or_default().insert(blob);
                self.blob_bodies.insert(key, raw.to_vec());
                StatusCode::CREATED.into_response()
            }
            "DELETE" => {
                if let Some(names) = self.blobs.get_mut(&(sa, c)) {
                    names.remove(&blob);
                }
                match self.blob_bodies.remove(&key) {
                    Some(_) => StatusCode::ACCEPTED.into_response(),
                    None => xml(
                        StatusCode::NOT_FOUND,
                        "BlobNotFound",
                        "The specified blob does not exist.",
                    ),
                }
            }
            _ => match self.blob_bodies.get(&key) {
                Some(data) if method == Method::HEAD => (
                    StatusCode::OK,
                    [
                        ("content-length", data.len().to_string()),
                        ("x-ms-blob-type", "BlockBlob".to_string()),
                    ],
                )
                    .into_response(),
                Some(data) => (StatusCode::OK, data.clone()).into_response(),
                None if method == Method::HEAD => StatusCode::NOT_FOUND.into_response(),
                None => xml(
                    StatusCode::NOT_FOUND,
                    "BlobNotFound",
                    "The specified blob does not exist.",
                ),
            },
        }
    }

    /// What the Functions host does with a blob trigger's manual input
    /// (`POST /admin/functions/{name}` with `{"input": ...}`): it parses
    /// the input as a blob path `container/blob` (`BlobPath.ParseAndValidate`
    /// in StringToCloudBlobConverter, Microsoft.Azure.WebJobs.Extensions.Storage.Blobs)
    /// and reads that blob from the storage account
    /// (`GetBlobReferenceFromServerAsync`): anything else fails the run
    /// (the admin endpoint has already answered 202). The blob's name and
    /// size are what the binding hands the function. Returns the S3-shaped
    /// event the harness turns into that binding, or why the run failed.
    fn bind_blob_input(&self, input: &str) -> Result<Value, String> {
        let invalid = || {
            format!("Exception binding parameter 'blob': Invalid blob path specified : '{input}'. Blob identifiers must be in the format 'container/blob'.")
        };
        let (container, blob) = input.split_once('/').ok_or_else(invalid)?;
        let valid_container = (3..=63).contains(&container.len())
            && container
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid_container || blob.is_empty() {
            return Err(invalid());
        }
        let not_found = || {
            format!("Exception binding parameter 'blob': The specified blob does not exist. (BlobNotFound: {input})")
        };
        let Some((sa, _)) = self.containers.iter().find(|(_, c)| c == container) else {
            return Err(not_found());
        };
        let size = match &self.blob_service {
            Some(service) => {
                let url = format!(
                    "{}/{sa}/{container}/{}?{}",
                    service.trim_end_matches('/'),
                    percent_encoding::utf8_percent_encode(blob, BLOB_NAME),
                    object_sas(sa, "r")
                );
                match http_request("GET", &url, &[("x-ms-version", "2022-11-02")], &[]) {
                    Ok((200, body)) => body.len(),
                    _ => return Err(not_found()),
                }
            }
            None => {
                match self
                    .blob_bodies
                    .get(&(sa.clone(), container.to_string(), blob.to_string()))
                {
                    Some(data) => data.len(),
                    None => return Err(not_found()),
                }
            }
        };
        // S3 keys are URL-encoded with a space as `+` (the harness decodes).
        let key = percent_encoding::utf8_percent_encode(blob, S3_KEY)
            .to_string()
            .replace("%20", "+");
        Ok(
            json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": container}, "object": {"key": key, "size": size}}}]}),
        )
    }
}

/// What a child list of a storage account lists.
enum ChildKind {
    Queue,
    Table,
}

/// What a blob name keeps unescaped in a URL path.
const BLOB_NAME: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// What an S3 notification keeps unescaped in a key.
const S3_KEY: &percent_encoding::AsciiSet = BLOB_NAME;

/// A stored document without the server's bookkeeping.
impl World {
    fn no_account(sa: &str) -> Response {
        error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!("The Resource 'Microsoft.Storage/storageAccounts/{sa}' was not found."),
        )
    }

    /// Queue_Create / Queue_Get / Queue_Delete. Names: 3-63 lowercase
    /// letters, digits and single hyphens, starting and ending with a letter
    /// or digit ("Naming Queues and Metadata"); metadata names follow the C#
    /// identifier rule, as on containers.
    fn queue(&mut self, method: &str, sa: String, q: String, path: &str, body: &Value) -> Response {
        let key = (sa.clone(), q.clone());
        match method {
            "PUT" => {
                if !self.storage_accounts.contains_key(&sa) {
                    return Self::no_account(&sa);
                }
                let valid = (3..=63).contains(&q.len())
                    && q.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !q.starts_with('-')
                    && !q.ends_with('-')
                    && !q.contains("--");
                if !valid {
                    return error(StatusCode::BAD_REQUEST, "OutOfRangeInput", &format!("The queue name '{q}' is invalid: 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit."));
                }
                let meta = body
                    .pointer("/properties/metadata")
                    .cloned()
                    .unwrap_or(json!({}));
                if let Err(r) = check_container_metadata(&meta) {
                    return *r;
                }
                self.queues.insert(key, meta.clone());
                ok(
                    StatusCode::OK,
                    &json!({"id": path, "name": q, "type": "Microsoft.Storage/storageAccounts/queueServices/queues",
                        "properties": {"metadata": meta}}),
                )
            }
            "GET" => match self.queues.get(&key) {
                Some(meta) => ok(
                    StatusCode::OK,
                    &json!({"id": path, "name": q, "type": "Microsoft.Storage/storageAccounts/queueServices/queues",
                        "properties": {"metadata": meta,
                            "approximateMessageCount": self.queue_messages.get(&key).copied().unwrap_or(0)}}),
                ),
                None => error(
                    StatusCode::NOT_FOUND,
                    "QueueNotFound",
                    "The specified queue does not exist.",
                ),
            },
            "DELETE" => {
                self.queues.remove(&key);
                self.queue_messages.remove(&key);
                StatusCode::NO_CONTENT.into_response()
            }
            _ => error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", method),
        }
    }

    /// Table_Create / Table_Get / Table_Delete. Names: `^[A-Za-z][A-Za-z0-9]{2,62}$`
    /// (the spec's pattern for tableName).
    fn table(&mut self, method: &str, sa: String, t: String, path: &str) -> Response {
        let key = (sa.clone(), t.clone());
        let doc = json!({"id": path, "name": t, "type": "Microsoft.Storage/storageAccounts/tableServices/tables",
            "properties": {"tableName": t}});
        match method {
            "PUT" => {
                if !self.storage_accounts.contains_key(&sa) {
                    return Self::no_account(&sa);
                }
                let valid = (3..=63).contains(&t.len())
                    && t.starts_with(|c: char| c.is_ascii_alphabetic())
                    && t.chars().all(|c| c.is_ascii_alphanumeric());
                if !valid {
                    return error(StatusCode::BAD_REQUEST, "OutOfRangeInput", &format!("The table name '{t}' is invalid: 3-63 letters and digits, starting with a letter."));
                }
                self.tables.insert(key);
                ok(StatusCode::OK, &doc)
            }
            "GET" if self.tables.contains(&key) => ok(StatusCode::OK, &doc),
            "GET" => error(
                StatusCode::NOT_FOUND,
                "TableNotFound",
                "The table specified does not exist.",
            ),
            "DELETE" => {
                self.tables.remove(&key);
                StatusCode::NO_CONTENT.into_response()
            }
            _ => error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", method),
        }
    }

    /// Queue_List (`ListQueueResource`: name and metadata, no message
    /// count) and Table_List (`ListTableResource`), one page each; 404 for
    /// an account that is not there.
    fn list_children(&self, sa: &str, path: &str, kind: ChildKind) -> Response {
        if !self.storage_accounts.contains_key(sa) {
            return Self::no_account(sa);
        }
        let value: Vec<Value> = match kind {
            ChildKind::Queue => self
                .queues
                .iter()
                .filter(|((a, _), _)| a == sa)
                .map(|((_, q), meta)| {
                    json!({"id": format!("{path}/{q}"), "name": q,
                        "type": "Microsoft.Storage/storageAccounts/queueServices/queues",
                        "properties": {"metadata": meta}})
                })
                .collect(),
            ChildKind::Table => self
                .tables
                .iter()
                .filter(|(a, _)| a == sa)
                .map(|(_, t)| {
                    json!({"id": format!("{path}/{t}"), "name": t,
                        "type": "Microsoft.Storage/storageAccounts/tableServices/tables",
                        "properties": {"tableName": t}})
                })
                .collect(),
        };
        ok(StatusCode::OK, &json!({"value": value}))
    }

    /// RoleAssignments_ListForScope (authorization-RoleAssignmentsCalls.json,
    /// 2022-04-01): `$filter=atScope()` answers the assignments at or above
    /// the scope; `$filter=principalId eq '{id}'` the principal's at, above
    /// or below it; no filter, all at, above or below it. Any other filter
    /// is refused, as ARM refuses one it does not support.
    fn list_role_assignments(&self, scope: &str, query: &str) -> Response {
        let filter = query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            let k = percent_encoding::percent_decode_str(k).decode_utf8_lossy();
            (k == "$filter").then(|| {
                percent_encoding::percent_decode_str(&v.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            })
        });
        let scope = scope.to_ascii_lowercase();
        let at_or_above = |s: &str| scope == s || scope.starts_with(&format!("{s}/"));
        let below = |s: &str| s.starts_with(&format!("{scope}/"));
        let keep: Box<dyn Fn(&Value) -> bool> = match filter.as_deref().map(str::trim) {
            None => Box::new(|a: &Value| {
                let s = a["properties"]["scope"]
                    .as_str()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                at_or_above(&s) || below(&s)
            }),
            Some("atScope()") => Box::new(|a: &Value| {
                let s = a["properties"]["scope"]
                    .as_str()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                at_or_above(&s)
            }),
            Some(f) => {
                let Some(id) = f
                    .strip_prefix("principalId eq '")
                    .and_then(|r| r.strip_suffix('\''))
                    .map(str::to_string)
                else {
                    return error(StatusCode::BAD_REQUEST, "UnsupportedQuery", &format!("The filter '{f}' is not supported. Supported filters are either 'atScope()' or 'principalId eq '{{value}}' or assignedTo('{{value}}')'."));
                };
                Box::new(move |a: &Value| {
                    let s = a["properties"]["scope"]
                        .as_str()
                        .unwrap_or("")
                        .to_ascii_lowercase();
                    a["properties"]["principalId"] == json!(id) && (at_or_above(&s) || below(&s))
                })
            }
        };
        let value: Vec<Value> = self
            .role_assignments
            .values()
            .filter(|a| keep(a))
            .cloned()
            .collect();
        ok(StatusCode::OK, &json!({"value": value}))
    }

    /// RoleAssignments_Create / _Get / _Delete at a scope. The name must be
    /// a GUID; `roleDefinitionId` a role definition's id; `principalId` a
    /// known principal. A role assignment is never changed: a PUT with other
    /// properties under an existing name is refused, and so is a second
    /// assignment of the same role to the same principal at the same scope.
    fn role_assignment(
        &mut self,
        method: &str,
        scope: &str,
        name: &str,
        path: &str,
        body: &Value,
    ) -> Response {
        let key = name.to_ascii_lowercase();
        match method {
            "PUT" => {
                if self.deny_role_assignments {
                    return error(StatusCode::FORBIDDEN, "AuthorizationFailed", &format!("The client 'deployer' with object id '00000000-0000-0000-0000-0000000000d0' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/write' over scope '{scope}/providers/Microsoft.Authorization/roleAssignments/{name}' or the scope is invalid. If access was recently granted, please refresh your credentials."));
                }
                if !is_guid(name) {
                    return error(StatusCode::BAD_REQUEST, "InvalidRoleAssignmentId", &format!("The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."));
                }
                let definition = tri!(require_str(body, "/properties/roleDefinitionId"));
                let principal = tri!(require_str(body, "/properties/principalId"));
                let parts: Vec<&str> = definition.trim_start_matches('/').split('/').collect();
                let definition_ok = matches!(parts.as_slice(),
                    ["subscriptions", _, p, a, r, g] if p.eq_ignore_ascii_case("providers")
                        && a.eq_ignore_ascii_case("Microsoft.Authorization")
                        && r.eq_ignore_ascii_case("roleDefinitions") && is_guid(g));
                if !definition_ok {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "InvalidRoleDefinitionId",
                        &format!("The role definition ID '{definition}' is not valid."),
                    );
                }
                if !self.principals.contains(principal) {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "PrincipalNotFound",
                        &format!("Principal {principal} does not exist in the directory."),
                    );
                }
                if let Some(t) = body
                    .pointer("/properties/principalType")
                    .and_then(Value::as_str)
                {
                    if ![
                        "User",
                        "Group",
                        "ServicePrincipal",
                        "ForeignGroup",
                        "Device",
                    ]
                    .contains(&t)
                    {
                        return error(StatusCode::BAD_REQUEST, "InvalidPrincipalType", t);
                    }
                }
                let doc = json!({"id": path, "name": name, "type": "Microsoft.Authorization/roleAssignments",
                    "properties": {"roleDefinitionId": definition, "principalId": principal,
                        "principalType": body.pointer("/properties/principalType").cloned().unwrap_or(json!("ServicePrincipal")),
                        "scope": scope}});
                if let Some(found) = self.role_assignments.get(&key) {
                    let same = found["properties"]["principalId"] == json!(principal)
                        && found["properties"]["roleDefinitionId"] == json!(definition)
                        && found["properties"]["scope"]
                            .as_str()
                            .is_some_and(|s| s.eq_ignore_ascii_case(scope));
                    if !same {
                        return error(StatusCode::BAD_REQUEST, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.");
                    }
                    return ok(StatusCode::OK, found);
                }
                let duplicate = self.role_assignments.values().any(|a| {
                    a["properties"]["principalId"] == json!(principal)
                        && a["properties"]["roleDefinitionId"] == json!(definition)
                        && a["properties"]["scope"]
                            .as_str()
                            .is_some_and(|s| s.eq_ignore_ascii_case(scope))
                });
                if duplicate {
                    return error(
                        StatusCode::CONFLICT,
                        "RoleAssignmentExists",
                        "The role assignment already exists.",
                    );
                }
                self.role_assignments.insert(key, doc.clone());
                ok(StatusCode::CREATED, &doc)
            }
            "GET" => match self.role_assignments.get(&key) {
                Some(doc)
                    if doc["properties"]["scope"]
                        .as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case(scope)) =>
                {
                    ok(StatusCode::OK, doc)
                }
                _ => error(
                    StatusCode::NOT_FOUND,
                    "RoleAssignmentNotFound",
                    "The role assignment does not exist.",
                ),
            },
            "DELETE" => match self.role_assignments.remove(&key) {
                Some(doc) => ok(StatusCode::OK, &doc),
                None => StatusCode::NO_CONTENT.into_response(),
            },
            _ => error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", method),
        }
    }
}

fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn public(doc: &Value) -> Value {
    let mut d = strip(doc);
    if let Some(o) = d.as_object_mut() {
        o.remove("listedType");
    }
    d
}

/// The functions a package declares, as the host would list them; `None`
/// when it is not a Functions app (no host.json) or not a zip.
fn functions_in_package(raw: &[u8]) -> Option<BTreeMap<String, Value>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(raw.to_vec())).ok()?;
    let mut functions = BTreeMap::new();
    let mut has_host = false;
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let name = f.name().map(|n| n.to_string()).unwrap_or_default();
        if name == "host.json" {
            has_host = true;
        }
        if name == "fnctl_azure_app.js" {
            let mut text = String::new();
            f.read_to_string(&mut text).unwrap();
            functions.extend(node_registrations(&text));
        }
        if let Some(func) = name.strip_suffix("/function.json") {
            if !func.contains('/') {
                let mut text = String::new();
                f.read_to_string(&mut text).unwrap();
                functions.insert(
                    func.to_string(),
                    serde_json::from_str(&text).unwrap_or(Value::Null),
                );
            }
        }
    }
    has_host.then_some(functions)
}

/// Container metadata names must be C# identifiers (Blob service, "Naming
/// and referencing containers, blobs, and metadata"): no `-`, `:` or `.`.
fn check_container_metadata(meta: &Value) -> Result<(), Box<Response>> {
    for key in meta.as_object().into_iter().flatten().map(|(k, _)| k) {
        let mut chars = key.chars();
        let valid = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                "InvalidMetadata",
                &format!("The metadata specified is invalid. It has characters that are not permitted: `{key}`."),
            )));
        }
    }
    Ok(())
}

impl ArmServer {
    /// One ARM call as a user with the test token would make it (`path`
    /// with its query): (status, JSON body).
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.url);
        let text = body.map(Value::to_string).unwrap_or_default();
        let auth = format!("Bearer {TOKEN}");
        let (status, raw) = http_request(
            method,
            &url,
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            text.as_bytes(),
        )
        .unwrap();
        (status, serde_json::from_slice(&raw).unwrap_or(Value::Null))
    }
}

/// An account SAS of storage account `sa` for blob objects (`srt=o`) with
/// these permissions, as the query string.
fn object_sas(sa: &str, permissions: &str) -> String {
    let version = "2022-11-02";
    let expiry = "2099-01-01T00:00:00Z";
    let to_sign = format!("{sa}\n{permissions}\nb\no\n\n{expiry}\n\n\n{version}\n\n");
    let key = azure_core::auth::Secret::new(storage_key(sa, 1));
    let sig = azure_core::hmac::hmac_sha256(&to_sign, &key).unwrap();
    let sig: String =
        percent_encoding::utf8_percent_encode(&sig, percent_encoding::NON_ALPHANUMERIC).to_string();
    format!(
        "sv={version}&ss=b&srt=o&sp={permissions}&se={}&sig={sig}",
        expiry.replace(':', "%3A")
    )
}

/// Puts blob `blob` into container `c` of account `sa` in the blob service
/// (Azurite), as a user uploading a file would.
pub fn put_blob(service: &str, sa: &str, c: &str, blob: &str, data: &[u8]) {
    let url = format!(
        "{}/{sa}/{c}/{blob}?{}",
        service.trim_end_matches('/'),
        object_sas(sa, "cw")
    );
    let (status, body) = http_request(
        "PUT",
        &url,
        &[
            ("x-ms-version", "2022-11-02"),
            ("x-ms-blob-type", "BlockBlob"),
        ],
        data,
    )
    .unwrap();
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
}

/// Reads blob `blob` of container `c` from the blob service: (status, body).
pub fn get_blob(service: &str, sa: &str, c: &str, blob: &str) -> (u16, Vec<u8>) {
    let url = format!(
        "{}/{sa}/{c}/{blob}?{}",
        service.trim_end_matches('/'),
        object_sas(sa, "r")
    );
    http_request("GET", &url, &[("x-ms-version", "2022-11-02")], &[]).unwrap()
}

/// The key the test server gives storage account `sa` (base64, as Azure's
/// keys are; Azurite is started with it for that account).
pub fn storage_key(sa: &str, n: u8) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{sa}-key{n}-secret-storage-key"))
}

/// A plain HTTP/1.0 GET (the app host fetching its run-from-package URL).
pub fn http_get(url: &str) -> Result<(u16, Vec<u8>), String> {
    http_request("GET", url, &[], &[])
}

/// Creates container `c` of account `sa` in the blob service, with an
/// account SAS signed from the account's key (string-to-sign of "Create an
/// account SAS", signed version 2020-12-06 and later). Already there is fine.
fn create_data_plane_container(service: &str, sa: &str, c: &str) -> Result<(), String> {
    let version = "2022-11-02";
    let expiry = "2099-01-01T00:00:00Z";
    let to_sign = format!("{sa}\nc\nb\nc\n\n{expiry}\n\n\n{version}\n\n");
    let key = azure_core::auth::Secret::new(storage_key(sa, 1));
    let sig = azure_core::hmac::hmac_sha256(&to_sign, &key).map_err(|e| e.to_string())?;
    let sig: String =
        percent_encoding::utf8_percent_encode(&sig, percent_encoding::NON_ALPHANUMERIC).to_string();
    let url = format!(
        "{}/{sa}/{c}?restype=container&sv={version}&ss=b&srt=c&sp=c&se={}&sig={sig}",
        service.trim_end_matches('/'),
        expiry.replace(':', "%3A")
    );
    match http_request("PUT", &url, &[("x-ms-version", version)], &[])? {
        (201 | 409, _) => Ok(()),
        (status, body) => Err(format!(
            "creating container {c} in the blob service answered {status}: {}",
            String::from_utf8_lossy(&body)
        )),
    }
}

/// One HTTP/1.0 request (a body for methods other than GET).
fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, Vec<u8>), String> {
    use std::io::Write;
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http URL: {url}"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = std::net::TcpStream::connect(authority).map_err(|e| e.to_string())?;
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let length = if method == "GET" {
        String::new()
    } else {
        format!("Content-Length: {}\r\n", body.len())
    };
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {authority}\r\n{extra}{length}\r\n"
    )
    .map_err(|e| e.to_string())?;
    stream.write_all(body).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP header end")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no HTTP status")?;
    Ok((status, raw[split + 4..].to_vec()))
}

fn settings_doc(site: &str, settings: &BTreeMap<String, String>) -> Value {
    json!({"id": format!("/sites/{site}/config/appsettings"), "name": "appsettings",
        "type": "Microsoft.Web/sites/config", "properties": settings})
}

/// The stored document without the server's bookkeeping.
fn strip(doc: &Value) -> Value {
    let mut d = doc.clone();
    if let Some(o) = d.as_object_mut() {
        o.remove("rg");
    }
    d
}

/// Matches a Functions route template (`items/{id}`, `files/{*path}`).
fn match_route(template: &str, parts: &[&str]) -> Option<BTreeMap<String, String>> {
    let tpl: Vec<&str> = template.split('/').filter(|p| !p.is_empty()).collect();
    let mut params = BTreeMap::new();
    for (i, seg) in tpl.iter().enumerate() {
        if let Some(name) = seg.strip_prefix("{*").and_then(|s| s.strip_suffix('}')) {
            if i >= parts.len() {
                return None;
            }
            params.insert(name.to_string(), parts[i..].join("/"));
            return Some(params);
        }
        let part = parts.get(i)?;
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            params.insert(name.to_string(), part.to_string());
        } else if !seg.eq_ignore_ascii_case(part) {
            return None;
        }
    }
    (tpl.len() == parts.len()).then_some(params)
}

/// Runs one function of the deployed package through the harness; gives
/// back its result and the lines it printed.
fn run_function(site: &Site, name: &str, event: &Value) -> (Value, Vec<String>) {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(site.package.clone().unwrap())).unwrap();
    zip.extract(dir.path()).unwrap();
    let result = dir.path().join("result.json");
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let node = dir.path().join("fnctl_azure_app.js").is_file();
    let (program, harness) = if node {
        ("node".into(), repo.join("src/local/azure_harness.js"))
    } else {
        (
            repo.join(".venv-test/bin/python"),
            repo.join("src/local/azure_harness.py"),
        )
    };
    let mut child = std::process::Command::new::<std::path::PathBuf>(program)
        .arg(harness)
        .arg(dir.path())
        .arg(name)
        .arg(&result)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(site.settings.iter())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(event.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&out.stderr).lines())
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let outcome = std::fs::read(&result)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    (outcome, lines)
}

/// Now as ISO 8601 UTC with milliseconds (`2026-12-03T08:00:00.123Z`), the
/// form Log Analytics answers with; sorts as text.
pub fn iso_now() -> String {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    iso_at(since.as_millis() as i64)
}

pub fn iso_at(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        ms.rem_euclid(1000)
    )
}

fn ok_deploy_flag(flag: &mut bool) -> bool {
    std::mem::take(flag)
}

/// Functions a Node (v4 model) app registers, as the host lists them: read
/// from the generated registration module (`app.http("name", {...}, ...)`).
fn node_registrations(text: &str) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some((kind, rest)) = line.strip_prefix("app.").and_then(|l| l.split_once('(')) else {
            continue;
        };
        let Some((name, options)) = rest.split_once(", ") else {
            continue;
        };
        let Some(options) = options.split(", \"handler\"").next() else {
            continue;
        };
        let name: String = serde_json::from_str(name).unwrap();
        let mut binding: Value = serde_json::from_str(&format!("{options}}}")).unwrap();
        let trigger = match kind {
            "http" => "httpTrigger",
            "storageBlob" => "blobTrigger",
            "timer" => "timerTrigger",
            _ => continue,
        };
        binding["type"] = json!(trigger);
        binding["direction"] = json!("in");
        if let Some(m) = binding.get("methods").and_then(Value::as_array).cloned() {
            binding["methods"] = json!(m
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_lowercase)
                .collect::<Vec<_>>());
        }
        out.insert(name, json!({"bindings": [binding]}));
    }
    out
}

/// When a lease of `seconds` taken now ends (`None` for -1, infinite).
fn lease_expiry(seconds: i64) -> Option<std::time::Instant> {
    (seconds > 0)
        .then(|| std::time::Instant::now() + std::time::Duration::from_secs(seconds as u64))
}

/// A function.json whose trigger is a blob trigger with the Event Grid source.
fn is_event_grid_blob(config: &Value) -> bool {
    config["bindings"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|b| {
            b["type"] == "blobTrigger"
                && b["source"]
                    .as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case("EventGrid"))
        })
}

/// The bearer token this server accepts, as a credential for tests that
/// drive the backend as a library.
#[derive(Debug)]
pub struct TestToken;

#[async_trait::async_trait]
impl azure_core::auth::TokenCredential for TestToken {
    async fn get_token(
        &self,
        _scopes: &[&str],
    ) -> azure_core::Result<azure_core::auth::AccessToken> {
        Ok(azure_core::auth::AccessToken::new(
            azure_core::auth::Secret::new(TOKEN),
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }

    async fn clear_cache(&self) -> azure_core::Result<()> {
        Ok(())
    }
}

/// `GET .../config/web`: the configuration as the site has it.
fn web_config_doc(path: &str, s: &Site) -> Value {
    let mut props = json!({"linuxFxVersion": s.linux_fx_version, "ftpsState": "Disabled", "minTlsVersion": "1.2"});
    if !s.cors.is_null() {
        props["cors"] = s.cors.clone();
    }
    json!({"id": path, "name": "web", "type": "Microsoft.Web/sites/config", "properties": props})
}

/// `GET .../config/authsettingsV2`: a site never configured reports the
/// platform disabled.
fn auth_doc(path: &str, props: &Value) -> Value {
    let props = if props.is_null() {
        json!({"platform": {"enabled": false}})
    } else {
        props.clone()
    };
    json!({"id": path, "name": "authsettingsV2", "type": "Microsoft.Web/sites/config", "properties": props})
}

/// A model of the REST spec's definitions, for [`check_model`]: `"string"`,
/// `"boolean"`, `"integer"`, `"any"`, `["enum", values...]`,
/// `{"array": item}`, `{"map": value}`, or an object of properties.
type Model = Value;

/// `CorsSettings` (Microsoft.Web CommonDefinitions.json; the azure-mgmt-web
/// SDK's `CorsSettings`).
fn cors_model() -> Model {
    json!({"allowedOrigins": {"array": "string"}, "supportCredentials": "boolean"})
}

/// `SiteConfigResource` with the `SiteConfig` properties fnctl and these
/// tests use (the full definition has many more; any other is refused here
/// so a typo in fnctl cannot pass).
fn site_config_resource_model() -> Model {
    json!({
        "id": "string", "name": "string", "type": "string", "kind": "string",
        "properties": {
            "linuxFxVersion": "string", "ftpsState": ["enum", "AllAllowed", "FtpsOnly", "Disabled"],
            "minTlsVersion": ["enum", "1.0", "1.1", "1.2", "1.3"],
            "appSettings": {"array": {"name": "string", "value": "string"}},
            "cors": cors_model(),
        },
    })
}

/// `SiteAuthSettingsV2` (WebApps.json 2024-04-01; the azure-mgmt-web SDK's
/// `SiteAuthSettingsV2Properties`, `AuthPlatform`, `GlobalValidation`,
/// `IdentityProviders`, `AzureActiveDirectory*`).
fn auth_settings_v2_model() -> Model {
    let strings = json!({"array": "string"});
    json!({
        "id": "string", "name": "string", "type": "string", "kind": "string",
        "properties": {
            "platform": {"enabled": "boolean", "runtimeVersion": "string", "configFilePath": "string"},
            "globalValidation": {
                "requireAuthentication": "boolean",
                "unauthenticatedClientAction": ["enum", "RedirectToLoginPage", "AllowAnonymous", "Return401", "Return403"],
                "redirectToProvider": "string",
                "excludedPaths": strings,
            },
            "identityProviders": {
                "azureActiveDirectory": {
                    "enabled": "boolean",
                    "registration": {
                        "openIdIssuer": "string", "clientId": "string", "clientSecretSettingName": "string",
                        "clientSecretCertificateThumbprint": "string",
                        "clientSecretCertificateSubjectAlternativeName": "string",
                        "clientSecretCertificateIssuer": "string",
                    },
                    "login": {"loginParameters": strings, "disableWWWAuthenticate": "boolean"},
                    "validation": {
                        "jwtClaimChecks": {"allowedGroups": strings, "allowedClientApplications": strings},
                        "allowedAudiences": strings,
                        "defaultAuthorizationPolicy": {
                            "allowedPrincipals": {"groups": strings, "identities": strings},
                            "allowedApplications": strings,
                        },
                    },
                    "isAutoProvisioned": "boolean",
                },
                "facebook": "any", "gitHub": "any", "google": "any", "legacyMicrosoftAccount": "any",
                "twitter": "any", "apple": "any", "azureStaticWebApps": "any",
                "customOpenIdConnectProviders": {"map": "any"},
            },
            "login": "any",
            "httpSettings": "any",
        },
    })
}

/// Checks `v` against `model` as ARM deserialises a request: a property
/// the definition does not have, or a value of the wrong type, is a 400
/// `InvalidRequestContent` naming the path (null is allowed anywhere).
fn check_model(v: &Value, model: &Model, at: &str) -> Result<(), Box<Response>> {
    let fail = |why: String| {
        Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            &format!("The request content was invalid and could not be deserialized: {why}"),
        )))
    };
    let path = |k: &str| {
        if at.is_empty() {
            k.to_string()
        } else {
            format!("{at}.{k}")
        }
    };
    if v.is_null() {
        return Ok(());
    }
    match model {
        Value::String(t) => {
            let fits = match t.as_str() {
                "string" => v.is_string(),
                "boolean" => v.is_boolean(),
                "integer" => v.is_i64() || v.is_u64(),
                _ => true,
            };
            if !fits {
                return fail(format!(
                    "Error converting value {v} to type '{t}'. Path '{at}'."
                ));
            }
        }
        Value::Array(e) => {
            let allowed: Vec<&str> = e.iter().skip(1).filter_map(Value::as_str).collect();
            match v.as_str() {
                Some(s) if allowed.contains(&s) => {}
                _ => {
                    return fail(format!(
                        "Error converting value {v} to an allowed value ({}). Path '{at}'.",
                        allowed.join(", ")
                    ))
                }
            }
        }
        Value::Object(m) if m.contains_key("array") => {
            let Some(items) = v.as_array() else {
                return fail(format!(
                    "Cannot deserialize {v} into an array. Path '{at}'."
                ));
            };
            for (i, item) in items.iter().enumerate() {
                check_model(item, &m["array"], &format!("{at}[{i}]"))?;
            }
        }
        Value::Object(m) if m.contains_key("map") => {
            let Some(o) = v.as_object() else {
                return fail(format!(
                    "Cannot deserialize {v} into an object. Path '{at}'."
                ));
            };
            for (k, item) in o {
                check_model(item, &m["map"], &path(k))?;
            }
        }
        Value::Object(m) => {
            let Some(o) = v.as_object() else {
                return fail(format!(
                    "Cannot deserialize {v} into an object. Path '{at}'."
                ));
            };
            for (k, item) in o {
                let Some(sub) = m.get(k) else {
                    return fail(format!("Could not find member '{k}'. Path '{}'.", path(k)));
                };
                check_model(item, sub, &path(k))?;
            }
        }
        _ => {}
    }
    Ok(())
}
