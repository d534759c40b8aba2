//! ARM resource paths for an app+stage, from the names in [`super::super::names`].

use crate::model::{App, AzureSettings};
use crate::provider::azure::names;

/// `/subscriptions/{sub}/resourcegroups/{rg}`
pub fn resource_group(az: &AzureSettings) -> String {
    format!(
        "/subscriptions/{}/resourcegroups/{}",
        az.subscription, az.resource_group
    )
}

pub fn storage_account(app: &App, az: &AzureSettings) -> String {
    format!(
        "{}/providers/Microsoft.Storage/storageAccounts/{}",
        resource_group(az),
        names::storage_account(app, az)
    )
}

/// The account's blob containers (list).
pub fn containers(app: &App, az: &AzureSettings) -> String {
    format!(
        "{}/blobServices/default/containers",
        storage_account(app, az)
    )
}

pub fn container(app: &App, az: &AzureSettings, container: &str) -> String {
    format!("{}/{container}", containers(app, az))
}

pub fn plan(app: &App, az: &AzureSettings) -> String {
    format!(
        "{}/providers/Microsoft.Web/serverfarms/{}",
        resource_group(az),
        names::plan(app)
    )
}

pub fn log_workspace(app: &App, az: &AzureSettings) -> String {
    format!(
        "{}/providers/Microsoft.OperationalInsights/workspaces/{}",
        resource_group(az),
        names::log_workspace(app)
    )
}

pub fn app_insights(app: &App, az: &AzureSettings) -> String {
    format!(
        "{}/providers/Microsoft.Insights/components/{}",
        resource_group(az),
        names::app_insights(app)
    )
}

pub fn site(app: &App, az: &AzureSettings) -> String {
    format!(
        "{}/providers/Microsoft.Web/sites/{}",
        resource_group(az),
        names::function_app(app, az)
    )
}

/// The blob container URL Flex Consumption deploys from: the public blob
/// endpoint, or `endpoints.storage` (path-style, as emulators serve it).
pub fn deployment_container_url(app: &App, az: &AzureSettings) -> String {
    let sa = names::storage_account(app, az);
    match &az.endpoints.storage {
        Some(base) => format!(
            "{}/{}",
            base.trim_end_matches('/'),
            names::DEPLOYMENT_CONTAINER
        ),
        None => format!(
            "https://{sa}.blob.core.windows.net/{}",
            names::DEPLOYMENT_CONTAINER
        ),
    }
}

/// The base URL of the scm host (`endpoints.scm` overrides it).
pub fn scm_base(az: &AzureSettings, scm_host: &str) -> String {
    match &az.endpoints.scm {
        Some(base) => base.trim_end_matches('/').to_string(),
        None => format!("https://{scm_host}"),
    }
}

/// The base URL of the app's own host (`endpoints.app` overrides it).
pub fn app_base(az: &AzureSettings, host: &str) -> String {
    match &az.endpoints.app {
        Some(base) => base.trim_end_matches('/').to_string(),
        None => format!("https://{host}"),
    }
}

/// The Event Grid subscriptions on the app's storage account (an extension
/// resource of the account).
pub fn event_subscriptions(app: &App, az: &AzureSettings) -> String {
    format!(
        "{}/providers/Microsoft.EventGrid/eventSubscriptions",
        storage_account(app, az)
    )
}

pub fn event_subscription(app: &App, az: &AzureSettings, name: &str) -> String {
    format!("{}/{name}", event_subscriptions(app, az))
}

/// The Functions host's webhook for Event Grid blob events.
pub fn blob_webhook(az: &AzureSettings, host: &str) -> String {
    format!("{}/runtime/webhooks/blobs", app_base(az, host))
}

/// The app-data storage account (see [`names::data_account`]).
pub fn data_account(app: &App, az: &AzureSettings) -> String {
    format!(
        "{}/providers/Microsoft.Storage/storageAccounts/{}",
        resource_group(az),
        names::data_account(app, az)
    )
}

/// A blob container in the data account (Microsoft.Storage
/// `storageAccounts/{account}/blobServices/default/containers/{name}`).
pub fn data_container(app: &App, az: &AzureSettings, name: &str) -> String {
    format!(
        "{}/blobServices/default/containers/{name}",
        data_account(app, az)
    )
}

/// A queue in the data account (Microsoft.Storage
/// `storageAccounts/{account}/queueServices/default/queues/{name}`,
/// queue.json of the 2023-05-01 spec).
pub fn data_queue(app: &App, az: &AzureSettings, name: &str) -> String {
    format!(
        "{}/queueServices/default/queues/{name}",
        data_account(app, az)
    )
}

/// A table in the data account (Microsoft.Storage
/// `storageAccounts/{account}/tableServices/default/tables/{name}`,
/// table.json of the 2023-05-01 spec).
pub fn data_table(app: &App, az: &AzureSettings, name: &str) -> String {
    format!(
        "{}/tableServices/default/tables/{name}",
        data_account(app, az)
    )
}

/// A role assignment at `scope` (an extension resource: Microsoft.Authorization
/// `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`,
/// authorization-RoleAssignmentsCalls.json of the 2022-04-01 spec).
pub fn role_assignment(scope: &str, name: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}")
}

/// A built-in role definition, as a role assignment names it:
/// `/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}`.
pub fn role_definition(az: &AzureSettings, guid: &str) -> String {
    format!(
        "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
        az.subscription
    )
}

/// A service endpoint of the data account (`blob`, `queue` or `table`):
/// `https://{account}.{service}.core.windows.net`, the public cloud's form.
pub fn data_service_url(app: &App, az: &AzureSettings, service: &str) -> String {
    format!(
        "https://{}.{service}.core.windows.net",
        names::data_account(app, az)
    )
}
