//! The resolved, provider-neutral application.
//!
//! This is what every later stage works from: stages are merged, `${env:...}`
//! is expanded, defaults are applied and every value has been checked. No
//! provider code needs to re-validate anything here, and nothing here knows
//! about AWS or Azure SDK types. Spans are kept on the few values a provider
//! check may still need to point at (a name too long for that cloud, a
//! schedule that cloud cannot express).

pub mod http;
pub mod resource;
pub mod route;
pub mod runtime;
pub mod schedule;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use serde::Serialize;

pub use http::{Cors, Gateway, JwtAuth};
pub use resource::{
    Access, AccessLevel, DeadLetter, FunctionAws, KeyType, Permission, Queue, QueueTrigger,
    Resource, ResourceEnv, ResourceEnvValue, ResourceKind, Table, TableKey,
};
pub use route::Route;
pub use runtime::{Language, Runtime, Support};
pub use schedule::Schedule;

/// The stage used when `--stage` is not given.
pub const DEFAULT_STAGE: &str = "dev";

/// A cloud provider fnctl can deploy to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderId {
    Aws,
    Azure,
}

impl ProviderId {
    pub const ALL: [ProviderId; 2] = [ProviderId::Aws, ProviderId::Azure];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderId::Aws => "aws",
            ProviderId::Azure => "azure",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One application at one stage, ready to plan.
#[derive(Debug, Clone, Serialize)]
pub struct App {
    pub name: String,
    pub stage: String,
    /// The directory holding the manifest; relative paths start here.
    pub root: PathBuf,
    pub manifest_path: PathBuf,
    pub tags: BTreeMap<String, String>,
    pub aws: Option<AwsSettings>,
    pub azure: Option<AzureSettings>,
    pub functions: BTreeMap<String, Function>,
    /// `[resources.NAME]`: what the app owns besides its functions. Every
    /// configured provider deploys every resource.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub resources: BTreeMap<String, Resource>,
    /// `[http.cors]`: the CORS settings every route starts from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cors: Option<Cors>,
}

impl App {
    /// Providers configured in the manifest, in a stable order.
    pub fn providers(&self) -> Vec<ProviderId> {
        let mut out = Vec::new();
        if self.aws.is_some() {
            out.push(ProviderId::Aws);
        }
        if self.azure.is_some() {
            out.push(ProviderId::Azure);
        }
        out
    }

    /// The AWS gateway serving the routes, which decides the HTTP event
    /// shape handlers get on every cloud (see [`http`]). An app without
    /// `[providers.aws]` gets the REST API's shape, fnctl's original one.
    pub fn gateway(&self) -> Gateway {
        self.aws.as_ref().map(|a| a.http).unwrap_or_default()
    }

    /// Functions that deploy to `provider`, in name order.
    pub fn functions_for(&self, provider: ProviderId) -> impl Iterator<Item = &Function> {
        self.functions
            .values()
            .filter(move |f| f.providers.contains(&provider))
    }

    /// The resource a storage trigger names, when it names one: a trigger's
    /// `bucket` is a `[resources.NAME]` of kind `bucket` when such a resource
    /// exists (the owned bucket, named by the provider), and otherwise the
    /// bucket's real name (an existing bucket, or one `create = true` makes).
    pub fn storage_resource(&self, trigger: &StorageTrigger) -> Option<&Resource> {
        self.resources
            .get(&trigger.bucket)
            .filter(|r| r.kind == ResourceKind::Bucket)
    }

    /// Every secret value in the app, for redaction of all output.
    pub fn secrets(&self) -> Vec<String> {
        self.functions
            .values()
            .flat_map(|f| f.env.values())
            .filter(|v| v.secret && !v.value.is_empty())
            .map(|v| v.value.clone())
            .collect()
    }
}

/// `[providers.aws]`, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint: Option<String>,
    pub statements: Vec<IamStatement>,
    /// `http`: the API Gateway flavour serving HTTP triggers.
    pub http: Gateway,
}

/// An extra statement for the execution role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IamStatement {
    pub effect: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

/// `[providers.azure]`, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct AzureSettings {
    pub subscription: String,
    pub resource_group: String,
    pub location: String,
    pub plan: AzurePlan,
    pub maximum_instances: u32,
    /// Application Insights (on a Log Analytics workspace) for the app's
    /// logs and telemetry, as `az functionapp create` sets up by default.
    pub app_insights: bool,
    pub endpoints: AzureEndpoints,
}

/// Endpoint overrides; `None` means the public Azure cloud's default.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AzureEndpoints {
    pub arm: Option<String>,
    pub storage: Option<String>,
    pub scm: Option<String>,
    pub app: Option<String>,
    /// The Log Analytics query API (`fnctl logs`).
    pub logs: Option<String>,
    /// The queue service, path-style (`{base}/{account}`): `fnctl invoke`
    /// of a queue-triggered function puts its message there.
    pub queue: Option<String>,
    /// The table service, path-style (`{base}/{account}`): deploy looks
    /// into a dropped table there before deleting it.
    pub table: Option<String>,
}

/// The Azure hosting plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AzurePlan {
    /// Flex Consumption (FC1): Microsoft's recommended serverless plan.
    Flex,
    /// Classic Linux Consumption (Y1), retiring in 2028.
    Consumption,
}

/// A function, with defaults applied.
#[derive(Debug, Clone, Serialize)]
pub struct Function {
    pub name: String,
    /// Where the function's name key is written, for provider checks.
    #[serde(skip)]
    pub name_span: Range<usize>,
    /// Where the runtime is written (the function's or `[app]`'s), so a
    /// cloud that does not run it can point at the value.
    #[serde(skip)]
    pub runtime_span: Range<usize>,
    pub runtime: Runtime,
    pub handler: String,
    /// Code directory, absolute.
    pub source: PathBuf,
    pub memory_mb: u32,
    pub timeout_s: u32,
    /// Where the timeout is written (the function's or `[app]`'s); `None`
    /// when it is the default, which for an HTTP function on AWS is its
    /// gateway's limit.
    #[serde(skip)]
    pub timeout_span: Option<Range<usize>>,
    pub env: BTreeMap<String, EnvValue>,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub providers: Vec<ProviderId>,
    pub triggers: Vec<Trigger>,
    /// Queue triggers. Kept apart from `triggers` while the code that runs
    /// triggers (packaging, `dev`, sample events) does not handle queues yet;
    /// the providers refuse them until they deploy them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queue_triggers: Vec<QueueTrigger>,
    /// Effective access by resource name: the `access` table plus what the
    /// triggers imply (a queue trigger consumes its queue, a storage trigger
    /// on a resource bucket reads it). Computed once here so both clouds
    /// grant the same list.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub access: BTreeMap<String, Access>,
    /// `[functions.NAME.aws]`.
    #[serde(skip_serializing_if = "FunctionAws::is_empty")]
    pub aws: FunctionAws,
}

impl Function {
    /// The environment variables fnctl sets on this function for the
    /// resources it can access, in resource name order (`FNCTL_ORDERS_NAME`,
    /// `FNCTL_JOBS_NAME`, `FNCTL_JOBS_URL`, ...); the providers fill the values.
    pub fn resource_env(&self, app: &App) -> Vec<ResourceEnv> {
        self.access
            .keys()
            .filter_map(|name| app.resources.get(name))
            .flat_map(|r| resource::env_for(&r.name, &r.kind))
            .collect()
    }
}

/// An environment variable value; secret ones never print.
#[derive(Clone, PartialEq, Eq)]
pub struct EnvValue {
    pub value: String,
    pub secret: bool,
}

/// What is shown instead of a secret.
pub const REDACTED: &str = "(sensitive)";

impl EnvValue {
    /// The value as it may be shown to a person or written to a plan.
    pub fn display(&self) -> &str {
        if self.secret {
            REDACTED
        } else {
            &self.value
        }
    }
}

impl fmt::Debug for EnvValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.display())
    }
}

impl Serialize for EnvValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.display())
    }
}

/// What invokes a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Trigger {
    Http(HttpTrigger),
    Storage(StorageTrigger),
    Schedule(ScheduleTrigger),
}

impl Trigger {
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::Http(_) => "http",
            Trigger::Storage(_) => "storage",
            Trigger::Schedule(_) => "schedule",
        }
    }
}

/// An HTTP route served by the function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpTrigger {
    /// Upper-case methods; `["ANY"]` means every method.
    pub methods: Vec<String>,
    pub route: Route,
    pub auth: HttpAuth,
    /// The route's effective CORS: `[http.cors]` with the route's own
    /// `cors` fields over it; `None` when the route has none (or
    /// `cors = false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cors: Option<Cors>,
    #[serde(skip)]
    pub span: Range<usize>,
}

/// Who may call an HTTP route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HttpAuth {
    /// Public.
    None,
    /// A key is required (API Gateway API key / Azure function key).
    Key,
    /// A bearer JWT from the issuer (HTTP API JWT authorizer).
    Jwt(JwtAuth),
}

/// Object-storage events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorageTrigger {
    pub bucket: String,
    pub events: Vec<StorageEvent>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    /// fnctl creates (and owns) the bucket.
    pub create: bool,
    #[serde(skip)]
    pub span: Range<usize>,
}

/// A kind of object event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageEvent {
    Created,
    Deleted,
}

/// A timer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduleTrigger {
    #[serde(serialize_with = "serialize_display")]
    pub schedule: Schedule,
    pub enabled: bool,
    #[serde(skip)]
    pub span: Range<usize>,
}

fn serialize_display<T: fmt::Display, S: serde::Serializer>(
    v: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}
