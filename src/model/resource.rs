//! App resources (`[resources.NAME]`): buckets, queues and tables the app
//! owns, what each function may do with them, and the environment variables
//! that tell a function where they are.
//!
//! Everything here is provider-neutral. The clouds derive their own names for
//! these resources (stage-scoped, within each cloud's limits) and map each
//! [`Permission`] to their own actions or roles; they read the *effective*
//! access computed once at resolve time ([`super::Function::access`]), so
//! both clouds grant exactly the same list.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Range;

use serde::Serialize;

/// An owned resource, with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resource {
    /// The manifest's name (`[resources.NAME]`): portable, not a cloud name.
    pub name: String,
    /// Where the `[resources.NAME]` key is written, for provider checks.
    #[serde(skip)]
    pub span: Range<usize>,
    #[serde(flatten)]
    pub kind: ResourceKind,
}

/// What a resource is, with its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ResourceKind {
    /// An S3 bucket / Azure Blob container.
    Bucket,
    /// An SQS queue / Azure Storage queue.
    Queue(Queue),
    /// A DynamoDB table / Azure Table (on-demand capacity on AWS).
    Table(Table),
}

impl ResourceKind {
    /// The word the manifest uses (`kind = "..."`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ResourceKind::Bucket => "bucket",
            ResourceKind::Queue(_) => "queue",
            ResourceKind::Table(_) => "table",
        }
    }

    /// The access levels `access = { NAME = "..." }` accepts for this kind.
    pub fn levels(&self) -> &'static [AccessLevel] {
        match self {
            ResourceKind::Bucket | ResourceKind::Table(_) => &[
                AccessLevel::Read,
                AccessLevel::Write,
                AccessLevel::ReadWrite,
            ],
            ResourceKind::Queue(_) => &[AccessLevel::Send, AccessLevel::Consume],
        }
    }
}

/// SQS's defaults and limits, which fnctl uses on both clouds so that a
/// queue means the same everywhere. Source: SetQueueAttributes,
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html>
/// (VisibilityTimeout 0 to 43,200 s, default 30; MessageRetentionPeriod 60
/// to 1,209,600 s, default 345,600 = 4 days; RedrivePolicy maxReceiveCount
/// 1 to 1,000).
pub const VISIBILITY_TIMEOUT_S: (u32, u32) = (0, 43_200);
pub const DEFAULT_VISIBILITY_TIMEOUT_S: u32 = 30;
pub const RETENTION_S: (u32, u32) = (60, 1_209_600);
pub const DEFAULT_RETENTION_S: u32 = 345_600;
pub const DEAD_LETTER_AFTER: (u32, u32) = (1, 1_000);

/// A queue's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Queue {
    /// How long a received message stays hidden from other consumers.
    pub visibility_timeout_s: u32,
    /// Where `visibility_timeout` is written (the resource's key when absent).
    #[serde(skip)]
    pub visibility_timeout_span: Range<usize>,
    /// How long an unreceived message is kept.
    pub retention_s: u32,
    pub dead_letter: Option<DeadLetter>,
}

/// Messages received `after` times without being deleted move to a
/// dead-letter queue (SQS redrive policy / Azure's `-poison` queue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    pub after: u32,
    #[serde(skip)]
    pub span: Range<usize>,
}

/// A table's keys; capacity is on demand, so there is nothing else to set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Table {
    pub partition_key: TableKey,
    pub sort_key: Option<TableKey>,
}

impl Table {
    /// The partition key, then the sort key when there is one.
    pub fn keys(&self) -> impl Iterator<Item = &TableKey> {
        std::iter::once(&self.partition_key).chain(self.sort_key.as_ref())
    }
}

/// One key attribute of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableKey {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: KeyType,
    /// Where the key is written.
    #[serde(skip)]
    pub span: Range<usize>,
}

/// The type of a key attribute (DynamoDB's S, N and B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    String,
    Number,
    Binary,
}

impl KeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::String => "string",
            KeyType::Number => "number",
            KeyType::Binary => "binary",
        }
    }
}

/// What `access = { NAME = "..." }` says, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccessLevel {
    Read,
    Write,
    ReadWrite,
    Send,
    Consume,
}

impl AccessLevel {
    pub const ALL: [AccessLevel; 5] = [
        AccessLevel::Read,
        AccessLevel::Write,
        AccessLevel::ReadWrite,
        AccessLevel::Send,
        AccessLevel::Consume,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::Read => "read",
            AccessLevel::Write => "write",
            AccessLevel::ReadWrite => "read-write",
            AccessLevel::Send => "send",
            AccessLevel::Consume => "consume",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// The permissions the level grants; `read-write` is both.
    pub fn permissions(self) -> &'static [Permission] {
        match self {
            AccessLevel::Read => &[Permission::Read],
            AccessLevel::Write => &[Permission::Write],
            AccessLevel::ReadWrite => &[Permission::Read, Permission::Write],
            AccessLevel::Send => &[Permission::Send],
            AccessLevel::Consume => &[Permission::Consume],
        }
    }
}

impl fmt::Display for AccessLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing a function may do with a resource. The providers map each to
/// their own actions (IAM) or roles (Azure RBAC):
/// - `Read`: get and list objects / get, query and scan items;
/// - `Write`: put and delete objects / put, update and delete items;
/// - `Send`: send messages;
/// - `Consume`: receive, delete and change the visibility of messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    Read,
    Write,
    Send,
    Consume,
}

/// A function's effective access to one resource: what its `access` table
/// grants plus what its triggers imply (a queue trigger consumes its queue;
/// a storage trigger on a resource bucket reads it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Access {
    pub permissions: BTreeSet<Permission>,
    /// The level written in `access`, when the function names the resource there.
    pub declared: Option<AccessLevel>,
    /// Where `access` names the resource, for checks that point at it.
    #[serde(skip)]
    pub span: Option<Range<usize>>,
}

/// What a resource environment variable holds; the providers fill the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceEnvValue {
    /// The resource's name in the cloud (bucket, queue or table name).
    Name,
    /// A queue's URL: the SQS queue URL on AWS, the queue's URL on the
    /// storage account's queue service on Azure.
    Url,
}

/// One environment variable fnctl sets on a function for a resource it can access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceEnv {
    /// `FNCTL_{RESOURCE}_NAME` / `FNCTL_{RESOURCE}_URL`.
    pub var: String,
    pub resource: String,
    pub value: ResourceEnvValue,
}

/// The variable for `resource` and `value`: the resource name upper-cased
/// with `-` as `_` (resource names are lowercase letters, digits and single
/// hyphens, so two resources never share a variable), between `FNCTL_` and
/// the value's suffix. The names are the same on both clouds, so handler code
/// does not change with the cloud.
pub fn env_var(resource: &str, value: ResourceEnvValue) -> String {
    let suffix = match value {
        ResourceEnvValue::Name => "NAME",
        ResourceEnvValue::Url => "URL",
    };
    format!(
        "FNCTL_{}_{suffix}",
        resource.to_ascii_uppercase().replace('-', "_")
    )
}

/// The variables for one resource of `kind`: every resource has its name,
/// a queue also its URL (SQS clients address queues by URL).
pub fn env_for(resource: &str, kind: &ResourceKind) -> Vec<ResourceEnv> {
    let mut values = vec![ResourceEnvValue::Name];
    if matches!(kind, ResourceKind::Queue(_)) {
        values.push(ResourceEnvValue::Url);
    }
    values
        .into_iter()
        .map(|value| ResourceEnv {
            var: env_var(resource, value),
            resource: resource.to_string(),
            value,
        })
        .collect()
}

/// A queue trigger: the function receives the queue's messages in batches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueTrigger {
    /// The `[resources.NAME]` of kind `queue`.
    pub queue: String,
    /// At most this many messages per invocation (AWS) / fetched at once (Azure).
    pub batch_size: u32,
    #[serde(skip)]
    pub batch_size_span: Range<usize>,
    /// AWS only: how long Lambda gathers messages before invoking.
    pub max_batching_window_s: Option<u32>,
    #[serde(skip)]
    pub max_batching_window_span: Range<usize>,
    /// Where `queue = "..."` is written.
    #[serde(skip)]
    pub span: Range<usize>,
}

/// Lambda's SQS default batch size, used on both clouds when none is
/// written (it is within Azure's 1 to 32). Source:
/// <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html>.
pub const DEFAULT_BATCH_SIZE: u32 = 10;
/// Lambda's SQS batch size limit for standard queues (above 10 needs a
/// batching window) and its batching window limit, in seconds. Sources: the
/// page above and `MaximumBatchingWindowInSeconds` of CreateEventSourceMapping
/// (0 to 300 s; "when you set BatchSize to a value greater than 10, you must
/// set MaximumBatchingWindowInSeconds to at least 1").
pub const BATCH_SIZE: (u32, u32) = (1, 10_000);
pub const BATCH_SIZE_WITHOUT_WINDOW: u32 = 10;
pub const BATCHING_WINDOW_S: (u32, u32) = (0, 300);

/// `[functions.NAME.aws]`: what only AWS does for this function.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FunctionAws {
    /// Extra IAM statements on this function's own execution role.
    pub statements: Vec<super::IamStatement>,
    /// Where `[functions.NAME.aws]` is written.
    #[serde(skip)]
    pub span: Option<Range<usize>>,
}

impl FunctionAws {
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_are_upper_case_with_underscores() {
        assert_eq!(
            env_var("orders", ResourceEnvValue::Name),
            "FNCTL_ORDERS_NAME"
        );
        assert_eq!(
            env_var("job-queue2", ResourceEnvValue::Url),
            "FNCTL_JOB_QUEUE2_URL"
        );
        let queue = ResourceKind::Queue(Queue {
            visibility_timeout_s: 30,
            visibility_timeout_span: 0..0,
            retention_s: DEFAULT_RETENTION_S,
            dead_letter: None,
        });
        let vars: Vec<String> = env_for("jobs", &queue).into_iter().map(|e| e.var).collect();
        assert_eq!(vars, ["FNCTL_JOBS_NAME", "FNCTL_JOBS_URL"]);
        assert_eq!(env_for("uploads", &ResourceKind::Bucket).len(), 1);
    }

    #[test]
    fn levels_fit_kinds() {
        assert!(ResourceKind::Bucket
            .levels()
            .contains(&AccessLevel::ReadWrite));
        assert!(!ResourceKind::Bucket.levels().contains(&AccessLevel::Send));
        assert_eq!(
            AccessLevel::ReadWrite.permissions(),
            [Permission::Read, Permission::Write]
        );
        assert_eq!(
            AccessLevel::parse("read-write"),
            Some(AccessLevel::ReadWrite)
        );
        assert_eq!(AccessLevel::parse("rw"), None);
    }
}
