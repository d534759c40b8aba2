//! Publishing code to a Flex Consumption app: one-deploy on the scm host.
//!
//! `POST https://{scm}/api/publish?RemoteBuild=false` with the zip and an
//! Entra bearer token (no basic-auth publishing credentials needed), then
//! poll `GET /api/deployments/{id}` until the status is 4 (success) or 3
//! (failed). The response to the POST alone proves nothing: a deployment
//! that was accepted can still fail, so the status decides.

use std::time::Duration;

use azure_core::{Method, Url};
use serde_json::Value;

use super::{paths, AzureBackend, AzureError};

/// Kudu deployment states.
const STATUS_FAILED: i64 = 3;
const STATUS_SUCCESS: i64 = 4;
/// Polls before giving up (with the interval below, about ten minutes).
const MAX_POLLS: usize = 300;

impl AzureBackend {
    /// Publishes `zip` to the app whose scm host is `scm_host` and waits for
    /// the deployment to finish.
    pub async fn publish(&self, scm_host: &str, zip: Vec<u8>) -> Result<(), AzureError> {
        let site = crate::provider::azure::names::function_app(&self.app, &self.settings);
        let base = paths::scm_base(&self.settings, scm_host);
        let url = Url::parse(&format!(
            "{base}/api/publish?RemoteBuild=false&Deployer=fnctl"
        ))
        .map_err(|e| AzureError::Config {
            reason: format!("scm endpoint `{base}` is not a URL: {e}"),
        })?;
        let reply = self
            .arm
            .send(Method::Post, url, Some(zip), "application/zip")
            .await?;
        if !(200..=299).contains(&reply.status) {
            return Err(super::arm::arm_error("POST /api/publish", &site, &reply));
        }
        // The answer names the deployment (a JSON string, or an object with
        // an id); fall back to the latest one.
        let id = match reply.json() {
            Value::String(s) if !s.is_empty() => s,
            Value::Object(o) => o
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("latest")
                .to_string(),
            _ => "latest".to_string(),
        };
        let status_url = Url::parse(&format!("{base}/api/deployments/{id}")).map_err(|e| {
            AzureError::Config {
                reason: format!("bad deployment status URL: {e}"),
            }
        })?;
        for _ in 0..MAX_POLLS {
            let r = self
                .arm
                .send(Method::Get, status_url.clone(), None, "")
                .await?;
            if r.status == 404 {
                // Not registered yet.
                tokio::time::sleep(self.arm.poll_interval).await;
                continue;
            }
            if !(200..=299).contains(&r.status) {
                return Err(super::arm::arm_error("GET deployment status", &site, &r));
            }
            let body = r.json();
            match body.get("status").and_then(Value::as_i64) {
                Some(STATUS_SUCCESS) => return Ok(()),
                Some(STATUS_FAILED) => {
                    return Err(AzureError::Deploy {
                        site,
                        message: body
                            .get("status_text")
                            .or_else(|| body.get("message"))
                            .and_then(Value::as_str)
                            .filter(|s| !s.is_empty())
                            .unwrap_or("the deployment reported status 3 (failed)")
                            .to_string(),
                    })
                }
                _ => tokio::time::sleep(self.arm.poll_interval.min(Duration::from_secs(5))).await,
            }
        }
        Err(AzureError::Timeout {
            operation: format!("deployment of the package to {site}"),
        })
    }
}
