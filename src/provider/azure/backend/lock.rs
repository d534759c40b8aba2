//! The deploy lock on Azure: a lease on the blob container `fnctl-lock` in
//! the app's storage account, taken through Azure Resource Manager
//! (`POST .../blobServices/default/containers/{c}/lease`), with the holder
//! written into the container's metadata (see [`crate::provider::lock`]).
//!
//! The Blob service grants one lease at a time and refuses a second
//! Acquire with 409 `LeaseAlreadyPresent`; a 60-second lease that is not
//! renewed ends by itself, which is exactly the expiry a crashed holder
//! needs. A first deploy creates the resource group and storage account
//! before taking the lock (the same create-or-replace PUTs its plan would
//! make, so two first deploys racing there do no harm).

use serde_json::{json, Value};
use tokio::task::JoinHandle;

use super::arm::Arm;
use super::{paths, AzureBackend, AzureError, API_RESOURCES, API_STORAGE};
use crate::provider::lock::{LockDescription, LockHolder, Locked, LOCK_TTL, RENEW_EVERY};

pub const LOCK_CONTAINER: &str = "fnctl-lock";

/// A held lease; give it back with [`AzureBackend::release_lock`].
pub struct AzureLock {
    lease_id: String,
    renewer: JoinHandle<()>,
}

impl AzureBackend {
    fn lock_path(&self) -> String {
        paths::container(&self.app, &self.settings, LOCK_CONTAINER)
    }

    /// Takes the lock for a deploy, creating its home first when needed.
    pub async fn acquire_lock(&self, operation: &str) -> Result<AzureLock, AzureError> {
        let az = &self.settings;
        if self
            .arm
            .get(&paths::resource_group(az), API_RESOURCES)
            .await?
            .is_none()
        {
            self.put_resource_group().await?;
        }
        if self
            .arm
            .get(&paths::storage_account(&self.app, az), API_STORAGE)
            .await?
            .is_none()
        {
            self.put_storage_account().await?;
        }
        self.lease(operation).await
    }

    /// Takes the lock for a remove when the storage account holding it
    /// exists (a remove never creates anything); `None` when it does not.
    pub async fn acquire_lock_if_present(
        &self,
        operation: &str,
    ) -> Result<Option<AzureLock>, AzureError> {
        let account = paths::storage_account(&self.app, &self.settings);
        if self.arm.get(&account, API_STORAGE).await?.is_none() {
            return Ok(None);
        }
        self.lease(operation).await.map(Some)
    }

    async fn lease(&self, operation: &str) -> Result<AzureLock, AzureError> {
        let path = self.lock_path();
        let holder = LockHolder::new(operation);
        // A new container is created with our name in it already, so there
        // is no moment where its lease has no recorded holder.
        let existed = self.arm.get(&path, API_STORAGE).await?.is_some();
        if !existed {
            self.put_lock_container(&holder).await?;
        }
        let lease_id = match self.acquire_lease(&path).await? {
            Some(id) => id,
            None => {
                let current = match self.lock_holder().await {
                    // Two first deploys both created the container; the
                    // winner's name may have been overwritten by ours.
                    LockDescription::Known(h) if h.id == holder.id => LockDescription::Unknown(
                        "another fnctl command that started at the same moment".into(),
                    ),
                    other => other,
                };
                let abandoned = matches!(&current, LockDescription::Known(h) if h.is_abandoned());
                if !abandoned {
                    return Err(self.locked(current));
                }
                // Its holder is gone from this machine: break the lease now
                // instead of waiting out its TTL, then race for it again.
                self.arm
                    .post(
                        &format!("{path}/lease"),
                        API_STORAGE,
                        Some(&json!({"action": "Break", "breakPeriod": 0})),
                    )
                    .await?;
                match self.acquire_lease(&path).await? {
                    Some(id) => id,
                    None => return Err(self.locked(self.lock_holder().await)),
                }
            }
        };
        if existed {
            self.put_lock_container(&holder).await?;
        }
        let renewer = tokio::spawn(renew(self.arm.clone(), path, lease_id.clone()));
        Ok(AzureLock { lease_id, renewer })
    }

    /// `None` when someone else holds the lease.
    async fn acquire_lease(&self, path: &str) -> Result<Option<String>, AzureError> {
        let acquired = self
            .arm
            .post(
                &format!("{path}/lease"),
                API_STORAGE,
                Some(&json!({"action": "Acquire", "leaseDuration": LOCK_TTL.as_secs()})),
            )
            .await;
        match acquired {
            Ok(v) => Ok(Some(v["leaseId"].as_str().unwrap_or_default().to_string())),
            Err(AzureError::Arm { status: 409, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn locked(&self, holder: LockDescription) -> AzureError {
        Locked {
            app: self.app.name.clone(),
            stage: self.app.stage.clone(),
            holder: Box::new(holder),
        }
        .into()
    }

    /// Gives the lease back. A storage account that `remove` deleted took
    /// the lease with it, so "not found" is success.
    pub async fn release_lock(&self, lock: AzureLock) -> Result<(), AzureError> {
        lock.renewer.abort();
        let released = self
            .arm
            .post(
                &format!("{}/lease", self.lock_path()),
                API_STORAGE,
                Some(&json!({"action": "Release", "leaseId": lock.lease_id})),
            )
            .await;
        match released {
            Ok(_) | Err(AzureError::Arm { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The container, with the holder in its metadata.
    async fn put_lock_container(&self, holder: &LockHolder) -> Result<(), AzureError> {
        let properties = json!({
            "publicAccess": "None",
            "metadata": {"fnctlholder": holder.to_json()},
        });
        self.arm
            .put(
                &self.lock_path(),
                API_STORAGE,
                &json!({"properties": properties}),
            )
            .await?;
        Ok(())
    }

    /// Who holds the lease, from the container's metadata.
    async fn lock_holder(&self) -> LockDescription {
        let found: Option<Value> = self
            .arm
            .get(&self.lock_path(), API_STORAGE)
            .await
            .ok()
            .flatten();
        found
            .as_ref()
            .and_then(|c| c.pointer("/properties/metadata/fnctlholder"))
            .and_then(Value::as_str)
            .and_then(LockHolder::from_json)
            .map(LockDescription::Known)
            .unwrap_or_else(|| {
                LockDescription::Unknown(format!(
                    "a lease on container `{LOCK_CONTAINER}` whose holder is not recorded (it ends within {}s unless renewed)",
                    LOCK_TTL.as_secs()
                ))
            })
    }
}

/// Renews the lease every [`RENEW_EVERY`] until aborted or refused.
async fn renew(arm: Arm, path: String, lease_id: String) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let renewed = arm
            .post(
                &format!("{path}/lease"),
                API_STORAGE,
                Some(&json!({"action": "Renew", "leaseId": lease_id})),
            )
            .await;
        if renewed.is_err() {
            return;
        }
    }
}
