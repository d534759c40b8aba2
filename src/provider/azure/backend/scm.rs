//! Publishing code to a Flex Consumption app: one-deploy on the scm host.
//!
//! `POST https://{scm}/api/publish?RemoteBuild=false` with the zip and an
//! Entra bearer token (no basic-auth publishing credentials needed), then
//! poll `GET /api/deployments/{id}` until the deployment reaches an end
//! state. The response to the POST alone proves nothing: a deployment that
//! was accepted can still fail, so the status decides.

use std::time::Duration;

use azure_core::{Method, Url};
use serde_json::Value;

use super::{paths, AzureBackend, AzureError};

/// What one-deploy's status number says. The values are those of its
/// `DeploymentStatus` (dotnet/sdk,
/// src/WebSdk/Publish/Tasks/Tasks/OneDeploy/DeploymentStatus.cs, which
/// also counts Success and PartialSuccess as successful and Failed,
/// Conflict, Cancelled and Unknown as failed, all six as terminating);
/// Kudu's `DeployStatus` has the first five.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployState {
    /// Pending (0), Building (1), Deploying (2): poll again.
    Running,
    /// Success (4): the package is live.
    Succeeded,
    /// Any other status: the wait is over and the package is not (fully)
    /// deployed; the words name it.
    Ended(&'static str),
}

/// The state of status number `status`.
pub fn deploy_state(status: i64) -> DeployState {
    match status {
        0..=2 => DeployState::Running,
        4 => DeployState::Succeeded,
        3 => DeployState::Ended("failed"),
        5 => DeployState::Ended("conflict"),
        6 => DeployState::Ended("partial success"),
        -1 => DeployState::Ended("cancelled"),
        -10 => DeployState::Ended("unknown"),
        // A status this version does not know: not one of the running
        // ones, so waiting longer would not change it.
        _ => DeployState::Ended("not one fnctl knows"),
    }
}

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
            let Some(status) = body.get("status").and_then(Value::as_i64) else {
                // Not reporting a status yet.
                tokio::time::sleep(self.arm.poll_interval.min(Duration::from_secs(5))).await;
                continue;
            };
            match deploy_state(status) {
                DeployState::Succeeded => return Ok(()),
                DeployState::Running => {
                    tokio::time::sleep(self.arm.poll_interval.min(Duration::from_secs(5))).await
                }
                DeployState::Ended(words) => {
                    let text = body
                        .get("status_text")
                        .or_else(|| body.get("message"))
                        .and_then(Value::as_str)
                        .map(str::trim)
                        .filter(|s| !s.is_empty());
                    return Err(AzureError::Deploy {
                        site,
                        message: match text {
                            Some(t) => {
                                format!("one-deploy reported {words} (status {status}): {t}")
                            }
                            None => format!("one-deploy reported {words} (status {status})"),
                        },
                    });
                }
            }
        }
        Err(AzureError::Timeout {
            operation: format!("deployment of the package to {site}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_end_state_ends_the_wait() {
        for running in [0, 1, 2] {
            assert_eq!(deploy_state(running), DeployState::Running);
        }
        assert_eq!(deploy_state(4), DeployState::Succeeded);
        for (status, words) in [
            (3, "failed"),
            (5, "conflict"),
            (6, "partial success"),
            (-1, "cancelled"),
            (-10, "unknown"),
            (7, "not one fnctl knows"),
        ] {
            assert_eq!(deploy_state(status), DeployState::Ended(words), "{status}");
        }
    }
}
