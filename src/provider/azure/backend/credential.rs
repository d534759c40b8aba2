//! Which identity fnctl uses for Azure.
//!
//! One chain, in this order: a bearer token given outright in
//! `FNCTL_AZURE_ACCESS_TOKEN` (for CI systems that mint one, and for tests),
//! then azure_identity's default chain — a service principal or workload
//! identity from the environment (`AZURE_CLIENT_ID`, `AZURE_TENANT_ID`,
//! `AZURE_CLIENT_SECRET` / federated token), the Azure CLI login, and managed
//! identity on Azure hosts. The token is never printed.

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
    azure_identity::create_default_credential().map_err(|e| AzureError::Credentials {
        reason: e.to_string().lines().next().unwrap_or_default().to_string(),
    })
}
