//! Which identity fnctl uses for Azure.
//!
//! One chain, in this order: a bearer token given outright in
//! `FNCTL_AZURE_ACCESS_TOKEN` (for CI systems that mint one, and for tests),
//! a service principal or workload identity from the environment
//! (`AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_CLIENT_SECRET` / federated
//! token), the Azure CLI login, then managed identity on Azure hosts. The
//! token is never printed.
//!
//! azure_identity's own default chain asks managed identity before the
//! Azure CLI, so on a developer's machine every run first waits up to a
//! second for the VM metadata endpoint to not answer. fnctl is mostly run
//! at a terminal or in CI with a service principal, so the CLI comes first;
//! managed identity (through azure_identity, with its 1 s probe limit) is
//! the last resort. The first source that gives a token is remembered for
//! the rest of the run. `AZURE_CREDENTIAL_KIND` (azure_identity's switch:
//! `environment`, `azurecli`, `virtualmachine`, `appservice`, ...) pins one
//! source instead.

use std::sync::Arc;

use azure_core::auth::{AccessToken, Secret, TokenCredential};

use super::AzureError;

/// The environment variable holding a ready bearer token.
pub const TOKEN_ENV: &str = "FNCTL_AZURE_ACCESS_TOKEN";

/// A token handed to fnctl as is.
#[derive(Debug)]
pub struct StaticToken(Secret);

#[async_trait::async_trait]
impl TokenCredential for StaticToken {
    async fn get_token(&self, _scopes: &[&str]) -> azure_core::Result<AccessToken> {
        Ok(AccessToken::new(
            self.0.clone(),
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }

    async fn clear_cache(&self) -> azure_core::Result<()> {
        Ok(())
    }
}

/// The credential chain described in the module docs.
pub fn default_chain() -> Result<Arc<dyn TokenCredential>, AzureError> {
    if let Ok(token) = std::env::var(TOKEN_ENV) {
        if !token.trim().is_empty() {
            return Ok(Arc::new(StaticToken(Secret::new(token.trim().to_string()))));
        }
    }
    if std::env::var_os(azure_identity::AZURE_CREDENTIAL_KIND).is_some() {
        // azure_identity's documented switch to use exactly one source.
        return azure_identity::create_credential().map_err(|e| AzureError::Credentials {
            reason: e.to_string().lines().next().unwrap_or_default().to_string(),
        });
    }
    let mut sources: Vec<(&'static str, Arc<dyn TokenCredential>)> = Vec::new();
    let options = azure_identity::TokenCredentialOptions::default();
    if let Ok(env) = azure_identity::EnvironmentCredential::create(options.clone()) {
        sources.push(("environment", Arc::new(env)));
    }
    sources.push((
        "Azure CLI",
        Arc::new(azure_identity::AzureCliCredential::new()),
    ));
    let managed = azure_identity::DefaultAzureCredentialBuilder::new()
        .with_options(options)
        .exclude_environment_credential()
        .exclude_azure_cli_credential()
        .build()
        .map_err(|e| AzureError::Credentials {
            reason: e.to_string().lines().next().unwrap_or_default().to_string(),
        })?;
    sources.push(("managed identity", Arc::new(managed)));
    Ok(Arc::new(Chain {
        sources,
        chosen: std::sync::OnceLock::new(),
    }))
}

/// Credential sources tried in order; the first that works is kept.
#[derive(Debug)]
pub struct Chain {
    sources: Vec<(&'static str, Arc<dyn TokenCredential>)>,
    chosen: std::sync::OnceLock<usize>,
}

#[async_trait::async_trait]
impl TokenCredential for Chain {
    async fn get_token(&self, scopes: &[&str]) -> azure_core::Result<AccessToken> {
        if let Some(&i) = self.chosen.get() {
            return self.sources[i].1.get_token(scopes).await;
        }
        let mut failures = Vec::new();
        for (i, (name, source)) in self.sources.iter().enumerate() {
            match source.get_token(scopes).await {
                Ok(token) => {
                    let _ = self.chosen.set(i);
                    return Ok(token);
                }
                Err(e) => {
                    // First line only, and not a dangling "…errors were
                    // encountered:" whose list is on the lines dropped.
                    let text = e.to_string();
                    let first = text.lines().next().unwrap_or_default().trim_end();
                    let reason = match first.strip_suffix(':') {
                        Some(_) if first.contains("Multiple errors") => "not available here",
                        Some(cut) => cut,
                        None => first,
                    };
                    failures.push(format!("{name}: {reason}"))
                }
            }
        }
        Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            || format!("no credential source worked ({})", failures.join("; ")),
        ))
    }

    async fn clear_cache(&self) -> azure_core::Result<()> {
        for (_, source) in &self.sources {
            source.clear_cache().await?;
        }
        Ok(())
    }
}
