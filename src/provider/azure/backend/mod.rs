//! The Azure backend: read what is deployed, apply a plan, publish the
//! package, verify, remove.
//!
//! Like the AWS backend, reading yields [`Resource`]s with exactly the
//! attributes [`super::resources::desired`] produces, so the provider-neutral
//! diff decides what to do. Control-plane resources are ARM PUTs (create or
//! replace, so a retried or repeated apply converges); the code goes through
//! one-deploy on the app's scm host. Everything fnctl creates carries the
//! `fnctl-app` / `fnctl-stage` / `managed-by` tags (blob containers the
//! same marks as metadata, `fnctl_app` / `fnctl_stage` / `managed_by`);
//! what has fnctl's names without them is a conflict, never taken over
//! (see [`read`]). Nothing is stored locally.

pub mod apply;
pub mod arm;
pub mod azure_made;
pub mod blob;
pub mod credential;
pub mod lock;
pub mod logs;
pub mod ops;
pub mod paths;
pub mod queue;
pub mod read;
pub mod remove;
pub mod rollback;
pub mod scm;

use std::collections::BTreeMap;
use std::sync::Arc;

use azure_core::auth::TokenCredential;

use crate::model::{App, AzureSettings};
use crate::plan::{Conflict, Kept, Resource};

pub use arm::{Arm, CallLog};

/// API versions, matching the published specs fnctl was written against.
pub const API_RESOURCES: &str = "2021-04-01";
pub const API_STORAGE: &str = "2023-05-01";
pub const API_WEB: &str = "2024-04-01";
/// Microsoft.Insights components (workspace-based Application Insights).
pub const API_INSIGHTS: &str = "2020-02-02";
/// Microsoft.OperationalInsights workspaces (Log Analytics).
pub const API_LOG_WORKSPACES: &str = "2023-09-01";
/// Microsoft.EventGrid: the subscriptions that deliver blob events to Flex
/// Consumption blob triggers.
pub const API_EVENTGRID: &str = "2022-06-15";
/// Microsoft.Authorization role assignments (stable 2022-04-01: the PUT
/// body's `properties.roleDefinitionId`, `principalId` and `principalType`).
pub const API_AUTHORIZATION: &str = "2022-04-01";

/// The tag on the Function App that records the deployed package's digest,
/// so an unchanged package is not uploaded again.
pub const PACKAGE_TAG: &str = "fnctl-package";

/// The tag on the Function App listing the HTTP settings fnctl set in it
/// (`site_cors`, `auth_settings`, comma-separated): CORS or authentication
/// made by hand on an app whose manifest has none is not fnctl's, so it is
/// neither shown as a change nor cleared.
pub const HTTP_TAG: &str = "fnctl-http";

/// Classic Consumption: the package blobs kept in the deployment container,
/// newest first (the one running, then the ones `rollback` can go back to).
pub const PACKAGES_TAG: &str = "fnctl-packages";

/// How many package blobs classic Consumption keeps.
pub const PACKAGES_KEPT: usize = 3;

/// Why an Azure operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AzureError {
    /// No usable identity.
    #[error("no Azure credentials: {reason}")]
    Credentials { reason: String },
    /// A setting or endpoint cannot be used.
    #[error("{reason}")]
    Config { reason: String },
    /// ARM (or the scm host) answered with an error.
    #[error("{operation} {resource} failed ({status} {code}): {message}")]
    Arm {
        operation: &'static str,
        resource: String,
        status: u16,
        code: String,
        message: String,
    },
    /// The request never got an answer.
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// A long-running operation did not finish in time.
    #[error("{operation} did not finish in time")]
    Timeout { operation: String },
    /// The Function App's host kept answering that it is restarting.
    #[error("the Functions host of `{site}` was still not up after {attempts} attempts over {waited_s} s: {operation} kept answering 400 \"Encountered an error (ServiceUnavailable) from host runtime\"")]
    HostUnavailable {
        site: String,
        operation: String,
        attempts: usize,
        waited_s: u64,
    },
    /// One-deploy reported a failed deployment.
    #[error("deploying the package to `{site}` failed: {message}")]
    Deploy { site: String, message: String },
    /// After apply, Azure does not report what the plan asked for.
    #[error("deploy finished but Azure does not report the expected state: {}", .drift.join("; "))]
    Verify { drift: Vec<String> },
    /// A resource with fnctl's name exists but belongs to something else.
    #[error("{kind} `{name}` exists but was not created by fnctl for this app and stage")]
    NotOwned { kind: &'static str, name: String },
    /// Applying would take over resources that are not fnctl's (the plan
    /// lists them); nothing was changed.
    #[error("{}", conflicts_message(.conflicts))]
    Conflicts { conflicts: Vec<Conflict> },
    /// Another fnctl command holds this app+stage's lock.
    #[error(transparent)]
    Locked(#[from] crate::provider::lock::Locked),
    /// Ctrl-C: the change in flight finished, the rest did not start.
    #[error(transparent)]
    Interrupted(#[from] crate::provider::interrupt::Interrupted),
}

impl AzureError {
    /// No credentials or no network: `plan` then falls back to offline.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            AzureError::Credentials { .. } | AzureError::Unreachable { .. }
        )
    }

    pub fn hint(&self) -> Option<String> {
        match self {
            AzureError::Locked(l) => Some(l.hint()),
            AzureError::Interrupted(i) => Some(i.hint()),
            AzureError::Credentials { .. } => Some(format!(
                "sign in with `az login`, set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET for a service principal, or set {}",
                credential::TOKEN_ENV
            )),
            AzureError::Arm { status: 401 | 403, .. } => Some(
                "the identity needs Contributor on the resource group (and Storage Blob Data Owner for Flex deployment storage); see docs/providers/azure.md".into(),
            ),
            AzureError::Arm { code, .. } if code == "SubscriptionNotFound" => {
                Some("check `subscription` in [providers.azure]".into())
            }
            AzureError::Arm { code, message, .. } if code == "MissingSubscriptionRegistration" => {
                // e.g. Microsoft.EventGrid, needed for blob triggers.
                let namespace = message
                    .split('\'')
                    .find(|p| p.starts_with("Microsoft."))
                    .unwrap_or("the resource provider");
                Some(format!(
                    "register it once per subscription: `az provider register --namespace {namespace}`"
                ))
            }
            AzureError::HostUnavailable { .. } => Some(
                "the host restarts after its app settings or code change and usually answers again within a minute: run the same command again, it continues from what Azure reports; if this keeps happening the host cannot start (look at the app's \"Diagnose and solve problems\" page in the portal)".into(),
            ),
            AzureError::Verify { .. } | AzureError::Timeout { .. } => Some(
                "run the deploy again; it continues from what Azure reports".into(),
            ),
            AzureError::NotOwned { .. } => Some(
                "rename the app or stage, or remove the other resource; fnctl does not take over what it did not create".into(),
            ),
            AzureError::Conflicts { conflicts } => Some(
                conflicts
                    .iter()
                    .map(|c| c.help.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            _ => None,
        }
    }
}

fn conflicts_message(conflicts: &[Conflict]) -> String {
    let list: Vec<String> = conflicts.iter().map(ToString::to_string).collect();
    format!(
        "nothing was changed: {}",
        if list.is_empty() {
            "a resource is not fnctl's".to_string()
        } else {
            list.join("; ")
        }
    )
}

/// What was read from Azure.
#[derive(Debug, Default, Clone)]
pub struct Live {
    pub resources: Vec<Resource>,
    /// The site's default host and scm host, when it exists.
    pub host: Option<String>,
    pub scm_host: Option<String>,
    /// Every app setting as found (values stay in memory, never printed).
    pub app_settings: std::collections::BTreeMap<String, String>,
    /// Whether the resource group existed before (fnctl never deletes one it
    /// did not create).
    pub resource_group_owned: bool,
    /// The digest of the package last deployed (the site's tag).
    pub package_digest: Option<String>,
    /// Classic Consumption: package blobs kept, newest first.
    pub package_history: Vec<String>,
    /// The Function App's [`HTTP_TAG`] as read.
    pub http_tag: Option<String>,
    /// Resources the app needs that exist but are not fnctl's for this app
    /// and stage. They (and what hangs under them) are left out of
    /// `resources`; a plan with conflicts must not be applied.
    pub conflicts: Vec<Conflict>,
    /// Containers fnctl created before it marked containers (no fnctl
    /// metadata, recognised by name inside fnctl's own storage account; see
    /// [`read`]), with the metadata they have now. They are left out of
    /// `resources`, so the plan shows them as created: apply then writes
    /// the marks into them, keeping their blobs and their other metadata.
    pub unmarked_containers: BTreeMap<String, BTreeMap<String, String>>,
    /// What is left in the app-data account of resources the manifest no
    /// longer names and still holds data: left out of `resources`, so the
    /// plan does not delete it, and reported ([`crate::plan::Plan::kept`]).
    pub kept: Vec<crate::plan::Kept>,
}

/// What `remove` did: what it deleted, and what it left in place because it
/// holds data.
#[derive(Debug, Default, Clone)]
pub struct Removal {
    pub removed: Vec<apply::Applied>,
    pub kept: Vec<Kept>,
}

/// How long fnctl waits for a Function App host that is restarting.
///
/// After its app settings or its package change, a Function App's host
/// restarts, and until it is up `host/default/listkeys` and
/// `syncfunctiontriggers` answer 400 "Encountered an error
/// (ServiceUnavailable) from host runtime." (reported with its timing in
/// microsoft/azure-pipelines-tasks#16942, a sync right after
/// `WEBSITE_RUN_FROM_PACKAGE` changed, and Azure/azure-functions-core-tools#3008,
/// where a rerun went through; issue 14 also cites azure-functions-host#5722).
/// Those answers, and only those, are retried after each of `delays` in
/// turn; then the call fails with [`AzureError::HostUnavailable`].
#[derive(Debug, Clone)]
pub struct HostRetry {
    pub delays: Vec<std::time::Duration>,
}

impl Default for HostRetry {
    /// 1, 2, 4, 8, then 15 s four times: nine attempts over 75 s.
    fn default() -> Self {
        HostRetry {
            delays: [1, 2, 4, 8, 15, 15, 15, 15]
                .into_iter()
                .map(std::time::Duration::from_secs)
                .collect(),
        }
    }
}

/// A connected Azure backend for one app+stage.
#[derive(Clone)]
pub struct AzureBackend {
    pub arm: Arm,
    pub web: azure_mgmt_web::package_2024_04::Client,
    pub app: App,
    pub settings: AzureSettings,
    /// How a restarting Functions host is waited for.
    pub host_retry: HostRetry,
    /// The storage account key, fetched once per run (never printed).
    pub(crate) storage_key_cache: Arc<tokio::sync::OnceCell<String>>,
    /// The Application Insights connection string, once known (read or
    /// created this run).
    pub(crate) insights_cache: Arc<tokio::sync::OnceCell<String>>,
}

impl AzureBackend {
    /// Builds clients from the credential chain and the manifest's endpoints.
    pub fn connect(app: &App) -> Result<Self, AzureError> {
        Self::connect_with(app, credential::default_chain()?)
    }

    /// As [`AzureBackend::connect`], with this credential.
    pub fn connect_with(
        app: &App,
        credential: Arc<dyn TokenCredential>,
    ) -> Result<Self, AzureError> {
        let settings = app.azure.clone().ok_or_else(|| AzureError::Config {
            reason: "the manifest has no [providers.azure] section".into(),
        })?;
        let endpoint = settings
            .endpoints
            .arm
            .clone()
            .unwrap_or_else(|| "https://management.azure.com".into());
        let url = azure_core::Url::parse(&endpoint).map_err(|e| AzureError::Config {
            reason: format!("endpoints.arm `{endpoint}` is not a URL: {e}"),
        })?;
        let arm = Arm::new(url.clone(), Arc::clone(&credential));
        let web = azure_mgmt_web::package_2024_04::Client::builder(credential)
            .endpoint(url)
            .build()
            .map_err(|e| AzureError::Config {
                reason: e.to_string(),
            })?;
        Ok(AzureBackend {
            arm,
            web,
            app: app.clone(),
            settings,
            host_retry: HostRetry::default(),
            storage_key_cache: Arc::default(),
            insights_cache: Arc::default(),
        })
    }

    /// Where an operation's log lines come from, for messages.
    pub fn target(&self) -> String {
        format!(
            "{}/{}",
            self.settings.location, self.settings.resource_group
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unregistered_provider_gets_the_command_that_registers_it() {
        let e = AzureError::Arm {
            operation: "PUT",
            resource: "/x".into(),
            status: 409,
            code: "MissingSubscriptionRegistration".into(),
            message: "The subscription is not registered to use namespace 'Microsoft.EventGrid'. See https://aka.ms/rps-not-found for how to register subscriptions.".into(),
        };
        assert_eq!(
            e.hint().unwrap(),
            "register it once per subscription: `az provider register --namespace Microsoft.EventGrid`"
        );
    }
}
