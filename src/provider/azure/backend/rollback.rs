//! `fnctl rollback --provider azure`: run the previous package again.
//!
//! Classic Consumption keeps the last [`PACKAGES_KEPT`] packages as blobs
//! (the site's `fnctl-packages` tag lists them, newest first), so going back
//! is pointing WEBSITE_RUN_FROM_PACKAGE at the one before the package the
//! app runs now, and syncing triggers. Only that setting changes: settings
//! the manifest changed since are not applied (that is `deploy`'s job).
//! The digest tag is replaced by a rollback marker, so the next `deploy`
//! sees the difference and moves the app forward again. Flex Consumption's
//! one-deploy replaces the package it runs, so there is nothing to go back to.

use serde_json::Value;

use super::{paths, AzureBackend, AzureError, API_WEB, PACKAGES_KEPT, PACKAGES_TAG};
use crate::model::AzurePlan;
use crate::provider::azure::kinds::function_app::RUN_FROM_PACKAGE;
use crate::provider::azure::names;

/// What a rollback did: the app now runs `to` instead of `from`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AzureRollback {
    pub function_app: String,
    pub from_package: String,
    pub to_package: String,
}

/// The digest tag's value after a rollback: not a digest, so any deploy
/// differs from it.
pub fn rollback_marker(blob: &str) -> String {
    format!("rolled-back-to:{blob}")
}

/// The package blob a run-from-package URL names (its last path segment).
pub fn blob_of(url: &str) -> Option<&str> {
    url.split('?').next()?.rsplit('/').next()
}

/// The package to go back to: the one deployed before `current` (history
/// is newest first).
pub fn previous<'a>(history: &'a [String], current: &str) -> Option<&'a str> {
    let i = history.iter().position(|b| b == current)?;
    history.get(i + 1).map(String::as_str)
}

/// The packages a classic Consumption app can run: kept blobs, newest
/// first, and the one it runs now.
pub struct Packages {
    pub function_app: String,
    pub history: Vec<String>,
    pub current: String,
}

impl AzureBackend {
    /// The packages fnctl keeps for the Function App (classic Consumption).
    pub async fn packages(&self) -> Result<Packages, AzureError> {
        let (app, az) = (&self.app, &self.settings);
        let site_name = names::function_app(app, az);
        if az.plan == AzurePlan::Flex {
            return Err(AzureError::Config {
                reason: format!(
                    "`{site_name}` is on Flex Consumption, whose one-deploy replaces the package it runs, so there is no earlier package to go back to; deploy the previous version of the code instead"
                ),
            });
        }
        let site = self
            .arm
            .get(&paths::site(app, az), API_WEB)
            .await?
            .ok_or_else(|| AzureError::Config {
                reason: format!(
                    "the Function App `{site_name}` does not exist; run `fnctl deploy --provider azure` first"
                ),
            })?;
        let history: Vec<String> = site
            .pointer(&format!("/tags/{PACKAGES_TAG}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .split(',')
            .filter(|b| !b.is_empty())
            .map(str::to_string)
            .collect();
        let settings = self.current_settings().await?;
        let current = settings
            .get(RUN_FROM_PACKAGE)
            .and_then(|u| blob_of(u))
            .unwrap_or_default()
            .to_string();
        Ok(Packages {
            function_app: site_name,
            history,
            current,
        })
    }

    /// Runs package `to`, or the one deployed before the current one.
    pub async fn rollback(&self, to: Option<&str>) -> Result<AzureRollback, AzureError> {
        let Packages {
            function_app: site_name,
            history,
            current,
        } = self.packages().await?;
        let target = match to {
            Some(wanted) => history
                .iter()
                .find(|b| b.as_str() == wanted || b.trim_end_matches(".zip") == wanted)
                .map(String::as_str)
                .ok_or_else(|| AzureError::Config {
                    reason: format!(
                        "`{site_name}` has no kept package `{wanted}`; the packages fnctl keeps: {} (`fnctl rollback --list` shows them)",
                        history.join(", ")
                    ),
                })?,
            None => previous(&history, &current).ok_or_else(|| AzureError::Config {
                reason: format!(
                    "`{site_name}` runs the oldest package fnctl keeps ({current}); fnctl keeps the last {PACKAGES_KEPT} deployed packages, so there is nothing earlier to go back to"
                ),
            })?,
        };
        let url = self.read_url(target).await?;
        let mut settings = self.current_settings().await?;
        settings.insert(RUN_FROM_PACKAGE.into(), url);
        self.replace_settings(&settings).await?;
        self.sync_triggers().await?;
        self.tag_package(&rollback_marker(target), None).await?;
        Ok(AzureRollback {
            function_app: site_name,
            from_package: current,
            to_package: target.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_package_is_the_one_after_the_current_in_the_history() {
        let h: Vec<String> = ["fnctl-c.zip", "fnctl-b.zip", "fnctl-a.zip"]
            .map(String::from)
            .to_vec();
        assert_eq!(previous(&h, "fnctl-c.zip"), Some("fnctl-b.zip"));
        assert_eq!(previous(&h, "fnctl-b.zip"), Some("fnctl-a.zip"));
        assert_eq!(previous(&h, "fnctl-a.zip"), None, "the oldest kept");
        assert_eq!(previous(&h, "other.zip"), None, "not one of ours");
        assert_eq!(
            blob_of("http://127.0.0.1:1/acct/app-package/fnctl-b.zip?sv=1&sig=x"),
            Some("fnctl-b.zip")
        );
    }
}
