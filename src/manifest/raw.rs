//! The manifest exactly as written: serde types that mirror `fnctl.toml`.
//!
//! These types are the single source of truth for the file's *shape*: the
//! JSON Schema printed by `fnctl schema` is derived from them, and the
//! structural checker in [`super::schema_check`] walks that same schema, so
//! the documentation, the editor completion and the parser cannot drift
//! apart. Meaning (valid runtimes, cron syntax, duplicate routes, files that
//! must exist) is checked later, in [`super::resolve`], which turns these raw
//! values into the provider-neutral [`crate::model`].
//!
//! Every scalar a later check may need to point at is wrapped in [`Sp`], which
//! keeps the byte range of the value in the manifest.
//!
//! Unknown keys are denied in the *schema* (`#[schemars(deny_unknown_fields)]`)
//! but ignored by serde: the structural check has already reported each one
//! with a suggestion, and letting serde skip them means the remaining,
//! semantic problems can be reported in the same run.

use std::collections::BTreeMap;
use std::ops::Range;

use schemars::JsonSchema;
use serde::Deserialize;

/// A value together with where it was written in the manifest.
///
/// A thin wrapper over [`toml::Spanned`] so that the schema of the wrapped
/// type is used unchanged (the span is invisible to users and editors).
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Sp<T>(pub toml::Spanned<T>);

impl<T> Sp<T> {
    pub fn get(&self) -> &T {
        self.0.get_ref()
    }
    pub fn span(&self) -> Range<usize> {
        self.0.span()
    }
}

impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// An `fnctl.toml` project file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(title = "fnctl.toml")]
pub struct Manifest {
    /// The application: its name and the defaults every function inherits.
    pub app: AppSection,
    /// Cloud providers this app can be deployed to, and how to reach them.
    #[serde(default)]
    pub providers: ProvidersSection,
    /// The functions of the app, keyed by name.
    #[serde(default)]
    pub functions: BTreeMap<String, Sp<FunctionSection>>,
    /// Buckets, queues and tables the app owns, keyed by name (lowercase letters, digits and single hyphens, starting with a letter, 3 to 32 characters).
    /// Each cloud derives its own stage-scoped name from it; functions reach them through `access` and the `FNCTL_{NAME}_NAME` / `FNCTL_{NAME}_URL` environment variables.
    #[serde(default)]
    pub resources: BTreeMap<String, Sp<ResourceSection>>,
    /// HTTP settings of every route: `[http.cors]`.
    pub http: Option<HttpSection>,
    /// Per-stage overrides of any of the above (`--stage NAME`; the default stage is `dev`).
    /// A stage table has the same keys as the top level, all optional.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub stages: BTreeMap<String, toml::Table>,
}

/// `[app]`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct AppSection {
    /// The application name: lowercase letters, digits and hyphens, starting with a letter, at most 40 characters.
    /// Cloud resource names are derived from it, so renaming an app creates new resources.
    pub name: Sp<String>,
    /// Default runtime for functions that do not set one (the values `[functions.NAME].runtime` takes).
    pub runtime: Option<Sp<String>>,
    /// Default memory in MB (128 to 10240).
    pub memory: Option<Sp<u32>>,
    /// Default timeout in seconds (1 to 900).
    pub timeout: Option<Sp<u32>>,
    /// Environment variables set on every function.
    #[serde(default)]
    pub env: BTreeMap<String, Sp<EnvEntry>>,
    /// Tags (AWS) / tags (Azure) added to every resource fnctl creates.
    #[serde(default)]
    pub tags: BTreeMap<String, Sp<String>>,
}

/// An environment variable: a plain string, or a table that marks it secret.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EnvEntry {
    /// A plain value, shown in plans and output.
    Plain(String),
    /// `{ value = "...", secret = true }`: redacted in every output fnctl writes.
    Detailed(DetailedEnv),
}

/// `{ value = "...", secret = true }`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct DetailedEnv {
    /// The value; `${env:VAR}`, `${env:VAR:-default}`, `${app}` and `${stage}` are expanded.
    pub value: String,
    /// When true, the value never appears in plans, logs or output.
    #[serde(default)]
    pub secret: bool,
}

/// `[providers]`
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ProvidersSection {
    /// AWS: Lambda, API Gateway, S3 notifications, EventBridge.
    pub aws: Option<Sp<AwsSection>>,
    /// Azure: a Function App on Flex Consumption (default) or classic Consumption.
    pub azure: Option<Sp<AzureSection>>,
}

/// `[providers.aws]`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct AwsSection {
    /// Region such as `us-east-1`. When absent, `AWS_REGION` / the profile decides at deploy time.
    pub region: Option<Sp<String>>,
    /// Named profile from `~/.aws/config`.
    pub profile: Option<String>,
    /// Endpoint override for every AWS service (for emulators such as moto); `AWS_ENDPOINT_URL` also works.
    pub endpoint: Option<Sp<String>>,
    /// Extra IAM statements added to the functions' execution role.
    #[serde(default)]
    pub statements: Vec<Sp<IamStatement>>,
    /// The API Gateway flavour serving HTTP triggers: `rest` (REST API, payload format 1.0; default) or `http-api` (HTTP API, payload format 2.0; cheaper, JWT authorizers, no API keys).
    #[schemars(extend("enum" = ["rest", "http-api"]))]
    pub http: Option<Sp<String>>,
}

/// An IAM policy statement for the execution role.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct IamStatement {
    /// `Allow` (default) or `Deny`.
    pub effect: Option<Sp<String>>,
    /// Actions such as `s3:GetObject`.
    pub actions: Vec<Sp<String>>,
    /// Resource ARNs; `*` for all.
    pub resources: Vec<Sp<String>>,
}

/// `[providers.azure]`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct AzureSection {
    /// Subscription id (a GUID).
    pub subscription: Sp<String>,
    /// Resource group to deploy into; created when missing.
    pub resource_group: Sp<String>,
    /// Azure region such as `westeurope`.
    pub location: Sp<String>,
    /// Hosting plan: `flex` (Flex Consumption, default) or `consumption` (classic Linux Consumption).
    pub plan: Option<Sp<String>>,
    /// Upper bound of instances the plan may scale out to (Flex Consumption; 1 to 1000).
    pub maximum_instances: Option<Sp<u32>>,
    /// Send the app's logs and telemetry to Application Insights (created with a Log Analytics workspace); default true.
    pub app_insights: Option<Sp<bool>>,
    /// Endpoint overrides, for test servers on loopback.
    pub endpoints: Option<AzureEndpoints>,
}

/// Endpoint overrides for Azure.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct AzureEndpoints {
    /// Azure Resource Manager, default `https://management.azure.com`.
    pub arm: Option<Sp<String>>,
    /// Blob storage base URL, default `https://{account}.blob.core.windows.net`.
    pub storage: Option<Sp<String>>,
    /// The Function App's scm (Kudu) host, default from the site's host names.
    pub scm: Option<Sp<String>>,
    /// The Function App's own host, default from the site's default host name.
    pub app: Option<Sp<String>>,
    /// The Log Analytics query API, default `https://api.loganalytics.io`.
    pub logs: Option<Sp<String>>,
    /// The queue service of an emulator (Azurite's `azurite-queue`), path-style: fnctl appends `/{account}`. Default `https://{account}.queue.core.windows.net`.
    pub queue: Option<Sp<String>>,
    /// The table service of an emulator (Azurite's `azurite-table`), path-style: fnctl appends `/{account}`. Default `https://{account}.table.core.windows.net`.
    pub table: Option<Sp<String>>,
}

/// `[functions.NAME]`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct FunctionSection {
    /// Runtime: `python3.9` to `python3.14`, `nodejs18` to `nodejs24` (even versions), or `provided` (a compiled `bootstrap` executable); Lambda's spellings (`nodejs22.x`, `provided.al2023`) are accepted too. Each cloud refuses the versions it does not run (see docs/manifest.md, Runtimes).
    pub runtime: Option<Sp<String>>,
    /// Entry point. Python `path/module.function`, Node `path/file.export`; for `provided`, the executable (default `bootstrap`).
    pub handler: Option<Sp<String>>,
    /// Directory holding the function's code, relative to the manifest (default: the manifest's directory).
    pub source: Option<Sp<String>>,
    /// Memory in MB (128 to 10240).
    pub memory: Option<Sp<u32>>,
    /// Timeout in seconds (1 to 900).
    pub timeout: Option<Sp<u32>>,
    /// Environment variables, merged over `[app].env`.
    #[serde(default)]
    pub env: BTreeMap<String, Sp<EnvEntry>>,
    /// Globs (relative to `source`) of the files to package; empty means all files.
    #[serde(default)]
    pub include: Vec<Sp<String>>,
    /// Globs (relative to `source`) of files to leave out, on top of `.gitignore` and the built-in excludes.
    #[serde(default)]
    pub exclude: Vec<Sp<String>>,
    /// Deploy this function only to these providers (default: every configured provider).
    pub providers: Option<Vec<Sp<String>>>,
    /// What invokes the function.
    #[serde(default)]
    pub triggers: Vec<Sp<TriggerSection>>,
    /// What the function may do with the app's resources, by resource name: `read`, `write` or `read-write` for buckets and tables, `send` or `consume` for queues.
    /// A queue trigger adds `consume` on its queue, a storage trigger on a resource bucket adds `read` on it.
    #[serde(default)]
    pub access: BTreeMap<String, Sp<AccessLevelSection>>,
    /// What only AWS does for this function.
    pub aws: Option<Sp<FunctionAwsSection>>,
}

/// An access level: `read`, `write`, `read-write` (buckets and tables), `send`, `consume` (queues).
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AccessLevelSection {
    Read,
    Write,
    ReadWrite,
    Send,
    Consume,
}

/// `[functions.NAME.aws]`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct FunctionAwsSection {
    /// Extra IAM statements on this function's execution role (as in `[providers.aws] statements`, which apply to every function).
    #[serde(default)]
    pub statements: Vec<Sp<IamStatement>>,
}

/// One resource, selected by `kind`.
///
/// Deserialised by hand through [`FlatResource`], for the reason given at
/// [`TriggerSection`].
#[derive(Debug, Clone, JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[schemars(deny_unknown_fields)]
pub enum ResourceSection {
    /// An S3 bucket / Azure Blob container owned by the app.
    Bucket(BucketResourceSection),
    /// An SQS queue / Azure Storage queue.
    Queue(QueueResourceSection),
    /// A DynamoDB table (on-demand capacity) / Azure Table.
    Table(TableResourceSection),
}

/// `kind = "bucket"`: nothing to set.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct BucketResourceSection {}

/// `kind = "queue"`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct QueueResourceSection {
    /// Seconds a received message stays hidden from other consumers (0 to 43200, default 30). On AWS it must be at least the timeout of every function the queue triggers.
    #[schemars(range(max = 43200))]
    pub visibility_timeout: Option<Sp<u32>>,
    /// Seconds an unreceived message is kept (60 to 1209600, default 345600 = 4 days).
    #[schemars(range(min = 60, max = 1209600))]
    pub retention: Option<Sp<u32>>,
    /// Move a message to a dead-letter queue after it was received this many times without being deleted.
    pub dead_letter: Option<Sp<DeadLetterSection>>,
}

/// `dead_letter = { after = N }`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct DeadLetterSection {
    /// Receives before the message moves to the dead-letter queue (1 to 1000).
    #[schemars(range(min = 1, max = 1000))]
    pub after: Sp<u32>,
}

/// `kind = "table"`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TableResourceSection {
    /// The partition (hash) key: an attribute name (a string key), or `{ name = "...", type = "string" | "number" | "binary" }`.
    pub partition_key: Sp<TableKeySection>,
    /// The sort (range) key, in the same form; none by default.
    pub sort_key: Option<Sp<TableKeySection>>,
}

/// A table key attribute.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TableKeySection {
    /// The attribute name; its type is string.
    Name(String),
    /// `{ name = "...", type = "..." }`
    Typed(TypedKeySection),
}

/// `{ name = "...", type = "string" | "number" | "binary" }`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TypedKeySection {
    /// The attribute name.
    pub name: String,
    /// `string` (default), `number` or `binary`. Azure Tables keys are strings only.
    #[serde(rename = "type")]
    pub kind: Option<KeyTypeSection>,
}

/// A key attribute type: `string`, `number` or `binary`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyTypeSection {
    String,
    Number,
    Binary,
}

/// Every resource key at once; see [`ResourceSection`].
#[derive(Deserialize)]
struct FlatResource {
    kind: String,
    visibility_timeout: Option<Sp<u32>>,
    retention: Option<Sp<u32>>,
    dead_letter: Option<Sp<DeadLetterSection>>,
    partition_key: Option<Sp<TableKeySection>>,
    sort_key: Option<Sp<TableKeySection>>,
}

impl<'de> Deserialize<'de> for ResourceSection {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let f = FlatResource::deserialize(d)?;
        match f.kind.as_str() {
            "bucket" => Ok(ResourceSection::Bucket(BucketResourceSection {})),
            "queue" => Ok(ResourceSection::Queue(QueueResourceSection {
                visibility_timeout: f.visibility_timeout,
                retention: f.retention,
                dead_letter: f.dead_letter,
            })),
            "table" => Ok(ResourceSection::Table(TableResourceSection {
                partition_key: f
                    .partition_key
                    .ok_or_else(|| D::Error::missing_field("partition_key"))?,
                sort_key: f.sort_key,
            })),
            other => Err(D::Error::unknown_variant(
                other,
                &["bucket", "queue", "table"],
            )),
        }
    }
}

/// One trigger, selected by `type`.
///
/// Deserialised by hand through [`FlatTrigger`]: serde's internally tagged
/// enums buffer their content, which loses the spans of the fields inside.
/// The schema (derived here) still describes the tagged form, and the
/// structural check has rejected keys of the wrong variant before this runs.
#[derive(Debug, Clone, JsonSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
#[schemars(deny_unknown_fields)]
pub enum TriggerSection {
    /// An HTTP route.
    Http(HttpTriggerSection),
    /// Object uploads or deletions in an S3 bucket / Azure Blob container.
    Storage(StorageTriggerSection),
    /// A timer: `rate(N unit)` or a 5-field cron in UTC.
    Schedule(ScheduleTriggerSection),
    /// Messages in one of the app's queues (`[resources.NAME]` of kind `queue`).
    Queue(QueueTriggerSection),
}

/// Every trigger key at once; see [`TriggerSection`].
#[derive(Deserialize)]
struct FlatTrigger {
    #[serde(rename = "type")]
    kind: String,
    method: Option<Sp<OneOrMany>>,
    path: Option<Sp<String>>,
    auth: Option<Sp<AuthSection>>,
    cors: Option<Sp<CorsValue>>,
    bucket: Option<Sp<String>>,
    events: Option<Vec<Sp<String>>>,
    prefix: Option<Sp<String>>,
    suffix: Option<Sp<String>>,
    #[serde(default)]
    create: bool,
    schedule: Option<Sp<String>>,
    #[serde(default = "yes")]
    enabled: bool,
    queue: Option<Sp<String>>,
    batch_size: Option<Sp<u32>>,
    max_batching_window: Option<Sp<u32>>,
}

impl<'de> Deserialize<'de> for TriggerSection {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let f = FlatTrigger::deserialize(d)?;
        let required = |v: Option<Sp<String>>, name: &'static str| {
            v.ok_or_else(|| D::Error::missing_field(name))
        };
        match f.kind.as_str() {
            "http" => Ok(TriggerSection::Http(HttpTriggerSection {
                method: f.method,
                path: required(f.path, "path")?,
                auth: f.auth,
                cors: f.cors,
            })),
            "storage" => Ok(TriggerSection::Storage(StorageTriggerSection {
                bucket: required(f.bucket, "bucket")?,
                events: f.events,
                prefix: f.prefix,
                suffix: f.suffix,
                create: f.create,
            })),
            "schedule" => Ok(TriggerSection::Schedule(ScheduleTriggerSection {
                schedule: required(f.schedule, "schedule")?,
                enabled: f.enabled,
            })),
            "queue" => Ok(TriggerSection::Queue(QueueTriggerSection {
                queue: required(f.queue, "queue")?,
                batch_size: f.batch_size,
                max_batching_window: f.max_batching_window,
            })),
            other => Err(D::Error::unknown_variant(
                other,
                &["http", "storage", "schedule", "queue"],
            )),
        }
    }
}

/// `type = "http"`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct HttpTriggerSection {
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD`, `OPTIONS` or `ANY` (default `ANY`), or a list of them.
    pub method: Option<Sp<OneOrMany>>,
    /// Route path starting with `/`; `{name}` captures a segment, a final `{name+}` captures the rest.
    pub path: Sp<String>,
    /// `none` (public, default), `key` (an API key / function key is required), or `{ jwt = { issuer, audience, scopes } }` (a bearer JWT, HTTP APIs).
    pub auth: Option<Sp<AuthSection>>,
    /// This route's CORS: `false` for none, `true` for `[http.cors]` (or the defaults), or a table whose keys replace those of `[http.cors]`.
    pub cors: Option<Sp<CorsValue>>,
}

/// `[http]`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct HttpSection {
    /// CORS for every route: `true` for the defaults (any origin), or a table. Routes may override it with their own `cors`.
    pub cors: Option<Sp<CorsValue>>,
}

/// CORS: `true` for the defaults, `false` for none, or a table of settings.
// Deserialised by hand: serde's untagged enums buffer their content, which
// loses the spans of the fields inside (see [`TriggerSection`]).
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum CorsValue {
    /// `true`: CORS with the defaults (or `[http.cors]`); `false`: none.
    Flag(bool),
    /// Settings; a key left out takes `[http.cors]`'s value, else the default.
    Settings(Box<CorsSection>),
}

impl<'de> Deserialize<'de> for CorsValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = CorsValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("true, false or a table of CORS settings")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<CorsValue, E> {
                Ok(CorsValue::Flag(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<CorsValue, A::Error> {
                CorsSection::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|s| CorsValue::Settings(Box::new(s)))
            }
        }
        d.deserialize_any(V)
    }
}

/// CORS settings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CorsSection {
    /// Allowed origins: `"*"` or `scheme://host[:port]` values such as `https://app.example.com` (default `["*"]`).
    pub origins: Option<Vec<Sp<String>>>,
    /// Allowed methods (default: the route's own methods).
    pub methods: Option<Vec<Sp<String>>>,
    /// Allowed request headers (default `Content-Type`, `X-Amz-Date`, `Authorization`, `X-Api-Key`, `X-Amz-Security-Token`).
    pub headers: Option<Vec<Sp<String>>>,
    /// Response headers the browser may read (default none).
    pub expose_headers: Option<Vec<Sp<String>>>,
    /// Seconds a browser may cache a preflight answer (0 to 86400; default: the browser's).
    #[schemars(range(max = 86400))]
    pub max_age: Option<Sp<u32>>,
    /// Allow credentials (cookies, `Authorization`); needs explicit origins (default false).
    pub credentials: Option<Sp<bool>>,
}

/// Who may call the route: `none`, `key`, or `{ jwt = { issuer, audience, scopes } }`.
// Deserialised by hand, as [`CorsValue`] is.
#[derive(Debug, Clone, JsonSchema)]
#[serde(untagged)]
pub enum AuthSection {
    /// `none` or `key`.
    Name(String),
    /// A JWT authorizer.
    Jwt(JwtAuthSection),
}

impl<'de> Deserialize<'de> for AuthSection {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = AuthSection;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`none`, `key` or a `{ jwt = { ... } }` table")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<AuthSection, E> {
                Ok(AuthSection::Name(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<AuthSection, A::Error> {
                JwtAuthSection::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(AuthSection::Jwt)
            }
        }
        d.deserialize_any(V)
    }
}

/// `{ jwt = { ... } }`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct JwtAuthSection {
    /// A bearer JWT is required (AWS HTTP API JWT authorizer).
    pub jwt: Sp<JwtSection>,
}

/// A JWT authorizer's settings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct JwtSection {
    /// The token issuer (`iss`), an `https://` URL publishing `/.well-known/openid-configuration`, e.g. `https://cognito-idp.us-east-1.amazonaws.com/us-east-1_ABC123`.
    pub issuer: Sp<String>,
    /// Accepted audiences (`aud`, or `client_id` for Cognito access tokens): one or a list.
    pub audience: Sp<OneOrMany>,
    /// Scopes the token must carry (its `scope`/`scp` claim).
    pub scopes: Option<Vec<Sp<String>>>,
}

/// A single string or a list of strings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// `type = "storage"`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct StorageTriggerSection {
    /// The name of a `[resources.NAME]` of kind `bucket` (the app's own bucket), or the real name of a bucket (AWS) / container (Azure): 3-63 lowercase letters, digits and hyphens.
    pub bucket: Sp<String>,
    /// `created` and/or `deleted` (default `["created"]`).
    pub events: Option<Vec<Sp<String>>>,
    /// Only objects whose key starts with this.
    pub prefix: Option<Sp<String>>,
    /// Only objects whose key ends with this.
    pub suffix: Option<Sp<String>>,
    /// Create the bucket / container when missing (default false: it must exist).
    #[serde(default)]
    pub create: bool,
}

/// `type = "schedule"`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ScheduleTriggerSection {
    /// `rate(N minutes|hours|days)` or a standard 5-field cron (`minute hour day-of-month month day-of-week`), in UTC.
    pub schedule: Sp<String>,
    /// Set to false to deploy the schedule disabled.
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// `type = "queue"`
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct QueueTriggerSection {
    /// The queue: the name of a `[resources.NAME]` of kind `queue`.
    pub queue: Sp<String>,
    /// Most messages per invocation (default 10). AWS: 1 to 10, up to 10000 with `max_batching_window`; Azure: 1 to 32, and one value for every queue trigger of the app.
    #[schemars(range(min = 1, max = 10000))]
    pub batch_size: Option<Sp<u32>>,
    /// AWS only: seconds Lambda gathers messages before invoking (0 to 300).
    #[schemars(range(max = 300))]
    pub max_batching_window: Option<Sp<u32>>,
}

fn yes() -> bool {
    true
}
