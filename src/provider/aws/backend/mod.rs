//! The AWS backend: read what is deployed, apply a plan, verify, remove.
//!
//! Reading produces [`Resource`]s with exactly the attributes that
//! [`super::resources::desired`] produces, so the provider-neutral
//! [`crate::plan::diff`] can compare them; the cloud-side identifiers that
//! apply needs (API ids, ARNs) are kept beside them in [`LiveIds`]. Nothing is
//! stored locally: names and tags find everything again.
//!
//! What is read, created, updated and deleted for each resource kind lives
//! in that kind's module under [`super::kinds`]; this module holds the
//! connection, the errors every kind maps SDK failures to, and the engines
//! that run the kinds (`read`, `apply`, `remove`).

pub mod apply;
pub mod clients;
pub mod lock;
pub mod ops;
pub mod read;

use std::collections::BTreeMap;

use aws_sdk_lambda::error::{DisplayErrorContext, ProvideErrorMetadata};

pub use clients::{CallRecorder, Clients};

use crate::model::App;
use crate::plan::Resource;

/// What was read from AWS.
#[derive(Debug, Default, Clone)]
pub struct Live {
    pub resources: Vec<Resource>,
    pub ids: LiveIds,
    /// Resources the app needs that exist but are not this app+stage's.
    pub conflicts: Vec<crate::plan::Conflict>,
    /// This app+stage's resources that the manifest no longer names and
    /// that still hold data: a deploy leaves them and reports why (they
    /// are not in `resources`, so the plan does not delete them); `remove`
    /// treats them as it treats every other resource it finds.
    pub kept: Vec<(Resource, crate::plan::Kept)>,
    /// Resource types whose tagging read was refused (`tag:GetResources`
    /// denied): what only that read finds — resources dropped from the
    /// manifest — is missing, which the plan says.
    pub tagging_denied: std::collections::BTreeSet<String>,
}

impl Live {
    /// Adds what one part of the read found (parts are read concurrently,
    /// each into its own `Live`).
    pub fn absorb(&mut self, part: Live) {
        self.resources.extend(part.resources);
        self.conflicts.extend(part.conflicts);
        self.kept.extend(part.kept);
        self.tagging_denied.extend(part.tagging_denied);
        let ids = part.ids;
        if self.ids.account.is_empty() {
            self.ids.account = ids.account;
        }
        self.ids.role_arn = self.ids.role_arn.take().or(ids.role_arn);
        self.ids.rest_api_id = self.ids.rest_api_id.take().or(ids.rest_api_id);
        self.ids.resource_ids.extend(ids.resource_ids);
        self.ids.http_api_id = self.ids.http_api_id.take().or(ids.http_api_id);
        self.ids.http_api_parts.extend(ids.http_api_parts);
        self.ids.existing_buckets.extend(ids.existing_buckets);
    }
}

/// Cloud identifiers apply needs and names alone do not give.
#[derive(Debug, Default, Clone)]
pub struct LiveIds {
    pub account: String,
    pub role_arn: Option<String>,
    pub rest_api_id: Option<String>,
    /// API Gateway resource ids by path (`/` included).
    pub resource_ids: BTreeMap<String, String>,
    /// The app's HTTP API (`[providers.aws] http = "http-api"`).
    pub http_api_id: Option<String>,
    /// Ids of the HTTP API's routes, integrations and authorizers, by
    /// their resource's kind and name (`http_api_route:GET shop-dev/orders`).
    pub http_api_parts: BTreeMap<String, String>,
    /// Buckets the manifest names that exist (whether fnctl created them or not).
    pub existing_buckets: Vec<String>,
}

/// Why an AWS operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// Credentials, region or endpoint problems.
    #[error(transparent)]
    Client(#[from] clients::ClientError),
    /// An API call failed.
    #[error("{operation} on `{resource}` failed: {message}")]
    Api {
        operation: &'static str,
        resource: String,
        message: String,
        hint: Option<String>,
    },
    /// A storage trigger names a bucket that does not exist and is not fnctl's to create.
    #[error("bucket `{bucket}` does not exist (it is used by a storage trigger of `{function}`)")]
    BucketMissing { bucket: String, function: String },
    /// After apply, AWS does not report what the plan asked for.
    #[error("deploy finished but AWS does not report the expected state: {}", .drift.join("; "))]
    Verify { drift: Vec<String> },
    /// The request never got an answer: no credentials, no network.
    #[error("{operation}: {reason}")]
    Unreachable {
        operation: &'static str,
        reason: String,
    },
    /// A deployed route could not be called over HTTP.
    #[error("cannot call {url}: {reason}")]
    RouteUnreachable { url: String, reason: String },
    /// Ctrl-C: the changes in flight finished, the rest did not start.
    #[error(transparent)]
    Interrupted(#[from] crate::provider::interrupt::Interrupted),
    /// A function did not become ready in time.
    #[error("function `{function}` did not become ready: {state}")]
    NotReady { function: String, state: String },
    /// Another fnctl command holds this app+stage's lock.
    #[error(transparent)]
    Locked(#[from] crate::provider::lock::Locked),
}

impl AwsError {
    /// No credentials, or AWS cannot be reached at all (as opposed to AWS
    /// answering with an error): `plan` then falls back to offline.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, AwsError::Client(_) | AwsError::Unreachable { .. })
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            AwsError::Api { hint, .. } => hint.clone(),
            AwsError::BucketMissing { bucket, .. } => Some(format!("a trigger with `create = false` uses a bucket that must already exist: create `{bucket}` yourself (or fix the name), or let fnctl create and own it with `create = true` on one of its triggers and a name of its own, e.g. `bucket = \"${{app}}-${{stage}}-uploads\"`")),
            AwsError::Verify { .. } => Some("run the deploy again; if it persists, `fnctl plan` shows what differs".into()),
            AwsError::Interrupted(i) => Some(i.hint()),
            AwsError::Locked(l) => Some(l.hint()),
            AwsError::Unreachable { reason, .. } if reason == NO_CREDENTIALS => Some(
                "sign in with `aws configure` (access keys) or `aws sso login` (SSO), or choose a profile with AWS_PROFILE or `profile` in [providers.aws]".into(),
            ),
            AwsError::Unreachable { .. } => Some(
                "check the network, and `endpoint` in [providers.aws] or AWS_ENDPOINT_URL if one is set".into(),
            ),
            AwsError::RouteUnreachable { .. } => Some("check the network and the URL; to call the API through a custom domain or a proxy, pass --base-url".into()),
            _ => None,
        }
    }
}

/// The reason given when the credential chain found nothing.
const NO_CREDENTIALS: &str = "no AWS credentials found (fnctl looked in the environment, the shared config and credentials files, SSO and the instance role)";

/// The SDK's error text without the `Debug` dump of the error it appends
/// in parentheses (` (DispatchFailure(DispatchFailure { … }))`): people get
/// the words, not Rust structures.
fn without_debug_dump(text: &str) -> String {
    static DUMP: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let dump = DUMP
        .get_or_init(|| regex::Regex::new(r" \([A-Z][A-Za-z]+(\(| \{)").expect("valid pattern"));
    match dump.find(text) {
        Some(m) => text[..m.start()].to_string(),
        None => text.to_string(),
    }
}

/// Turns an SDK error into [`AwsError::Api`] with a hint for common causes.
pub fn api_error<E>(
    operation: &'static str,
    resource: impl Into<String>,
    err: aws_sdk_lambda::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if !matches!(
        err,
        aws_smithy_runtime_api::client::result::SdkError::ServiceError(_)
            | aws_smithy_runtime_api::client::result::SdkError::ResponseError(_)
    ) {
        let full = DisplayErrorContext(&err).to_string();
        let reason = if full.contains("no credentials found") {
            NO_CREDENTIALS.to_string()
        } else {
            without_debug_dump(full.lines().next().unwrap_or_default())
        };
        return AwsError::Unreachable { operation, reason };
    }
    let code = err.code().map(str::to_string);
    let status = err.raw_response().map(|r| r.status().as_u16());
    let message = match (err.code(), err.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        // Drop the debug dump of the raw response the SDK appends.
        _ => {
            let full = DisplayErrorContext(&err).to_string();
            full.split(" (ServiceError(")
                .next()
                .unwrap_or(&full)
                .to_string()
        }
    };
    let hint = match code.as_deref() {
        Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") => {
            Some("the deploying identity lacks a permission; see docs/providers/aws.md for the policy fnctl needs".into())
        }
        Some("ExpiredToken" | "ExpiredTokenException" | "InvalidClientTokenId" | "UnrecognizedClientException") => {
            Some("refresh your AWS credentials (aws sso login, or new keys)".into())
        }
        Some("TooManyRequestsException" | "ThrottlingException" | "Throttling" | "SlowDown") => Some(format!(
            "AWS kept throttling this call through {} attempts; run the same command again later, it picks up from what AWS reports",
            clients::MAX_ATTEMPTS
        )),
        _ if status.is_some_and(|s| s >= 500) => Some(format!(
            "AWS kept answering with a server error through {} attempts (an outage or a network problem on the way); run the same command again later, it picks up from what AWS reports",
            clients::MAX_ATTEMPTS
        )),
        _ => None,
    };
    let message = match status {
        Some(s) => format!("{message} (HTTP {s})"),
        None => message,
    };
    AwsError::Api {
        operation,
        resource: resource.into(),
        message,
        hint,
    }
}

/// True when `err` has one of `codes` (e.g. "not found" answers during reads).
pub fn has_code<E: ProvideErrorMetadata, R>(
    err: &aws_sdk_lambda::error::SdkError<E, R>,
    codes: &[&str],
) -> bool {
    err.code().is_some_and(|c| codes.contains(&c))
}

/// Parsed pieces of the ARNs fnctl reads back.
pub mod arn {
    /// `arn:aws:lambda:r:acct:function:NAME[:QUALIFIER]` → `NAME[:QUALIFIER]`.
    pub fn lambda_target(arn: &str) -> String {
        match arn.split_once(":function:") {
            Some((_, rest)) => rest.to_string(),
            None => arn.to_string(),
        }
    }

    /// The Lambda ARN inside an API Gateway integration URI.
    pub fn integration_target(uri: &str) -> String {
        let inner = uri.split("/functions/").nth(1).unwrap_or(uri);
        lambda_target(inner.trim_end_matches("/invocations"))
    }

    /// Role name from its ARN (`arn:aws:iam::acct:role/path/NAME`).
    pub fn role_name(arn: &str) -> String {
        arn.rsplit('/').next().unwrap_or(arn).to_string()
    }

    pub fn lambda_function(region: &str, account: &str, name: &str) -> String {
        format!("arn:aws:lambda:{region}:{account}:function:{name}")
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_sdk_debug_dump_is_cut_off() {
            assert_eq!(
                super::super::without_debug_dump("dispatch failure: io error: client error (Connect): tcp connect error: Connection refused (os error 111) (DispatchFailure(DispatchFailure { source: ConnectorError { kind: Io } }))"),
                "dispatch failure: io error: client error (Connect): tcp connect error: Connection refused (os error 111)"
            );
            assert_eq!(
                super::super::without_debug_dump("plain words"),
                "plain words"
            );
        }

        #[test]
        fn parses_targets() {
            assert_eq!(
                lambda_target("arn:aws:lambda:us-east-1:1:function:shop-dev-a:dev"),
                "shop-dev-a:dev"
            );
            assert_eq!(
                integration_target("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:f:dev/invocations"),
                "f:dev"
            );
            assert_eq!(
                role_name("arn:aws:iam::1:role/x/shop-dev-lambda"),
                "shop-dev-lambda"
            );
        }
    }
}

/// Connected backend for one app+stage.
pub struct AwsBackend {
    pub clients: Clients,
    pub app: App,
    /// `deploy -f`: the manifest functions whose own resources (function,
    /// alias, permissions, rules) a read asks for; `None` reads them all.
    /// A read's cost grows with the functions it reads one by one, and a
    /// one-function deploy should not pay for the whole app.
    pub read_only: Option<std::collections::BTreeSet<String>>,
}

impl AwsBackend {
    /// Whether a read asks about the resource called `name` that is named
    /// after a function (`{app}-{stage}-{function}`, its rules
    /// `…-{function}-s{i}`): always, unless the read is limited to some
    /// functions ([`AwsBackend::read_only`]).
    pub fn reads(&self, name: &str) -> bool {
        let Some(only) = &self.read_only else {
            return true;
        };
        only.iter().any(|f| {
            let function = crate::provider::aws::names::function(&self.app, f);
            let triggers = self.app.functions.get(f).map_or(0, |f| f.triggers.len());
            name == function
                || name.starts_with(&format!("{function}-"))
                || (0..triggers)
                    .any(|i| crate::provider::aws::names::schedule_rule(&self.app, f, i) == name)
        })
    }
}

/// The result of a delete-like call where "already gone" (one of `missing`)
/// counts as success: removing twice, or after an interrupted run, converges.
pub fn gone_ok<T, E>(
    result: Result<T, aws_sdk_lambda::error::SdkError<E, aws_smithy_runtime_api::http::Response>>,
    missing: &[&str],
    operation: &'static str,
    resource: &str,
) -> Result<(), AwsError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    result.or_missing(missing, operation, resource).map(drop)
}

/// An SDK call's answer turned into fnctl's errors, written once: every
/// call site names its operation and resource, [`api_error`] does the rest.
pub trait SdkResultExt<T> {
    /// The answer, or the failure as [`api_error`] of `operation` on `resource`.
    fn or_api_error(
        self,
        operation: &'static str,
        resource: impl Into<String>,
    ) -> Result<T, AwsError>;

    /// `None` when AWS answers with one of `missing` (the thing is not
    /// there, which reads and deletes take as an answer, not a failure);
    /// any other failure as [`api_error`].
    fn or_missing(
        self,
        missing: &[&str],
        operation: &'static str,
        resource: impl Into<String>,
    ) -> Result<Option<T>, AwsError>;
}

impl<T, E> SdkResultExt<T>
    for Result<T, aws_sdk_lambda::error::SdkError<E, aws_smithy_runtime_api::http::Response>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn or_api_error(
        self,
        operation: &'static str,
        resource: impl Into<String>,
    ) -> Result<T, AwsError> {
        self.map_err(|e| api_error(operation, resource, e))
    }

    fn or_missing(
        self,
        missing: &[&str],
        operation: &'static str,
        resource: impl Into<String>,
    ) -> Result<Option<T>, AwsError> {
        match self {
            Ok(out) => Ok(Some(out)),
            Err(e) if has_code(&e, missing) => Ok(None),
            Err(e) => Err(api_error(operation, resource, e)),
        }
    }
}
