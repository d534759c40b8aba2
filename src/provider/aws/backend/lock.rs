//! The deploy lock on AWS: an SSM parameter `/fnctl/{app}/{stage}/lock`
//! whose value names the holder (see [`crate::provider::lock`]).
//!
//! Creating a parameter without `Overwrite` is atomic: of two concurrent
//! creates exactly one succeeds and the other gets `ParameterAlreadyExists`.
//! An expired lock is taken over by deleting it and creating it again, so
//! two takers still race on the create and only one wins. Standard-tier
//! parameters cost nothing.

use aws_sdk_ssm::types::{ParameterType, Tag};
use tokio::task::JoinHandle;

use super::{api_error, has_code, AwsBackend, AwsError, SdkResultExt};
use crate::provider::lock::{LockDescription, LockHolder, Locked, RENEW_EVERY};

/// A held lock; give it back with [`AwsBackend::release_lock`]. Dropping it
/// without releasing (a crash) leaves the lock to expire.
pub struct AwsLock {
    name: String,
    holder: LockHolder,
    renewer: JoinHandle<()>,
}

impl AwsBackend {
    pub fn lock_name(&self) -> String {
        format!("/fnctl/{}/{}/lock", self.app.name, self.app.stage)
    }

    /// Takes the lock for `operation`, or fails fast with [`Locked`].
    pub async fn acquire_lock(&self, operation: &str) -> Result<AwsLock, AwsError> {
        self.acquire_lock_creating(operation, Vec::new()).await
    }

    /// Takes the lock, recording the buckets this run may create (see
    /// [`LockHolder::creating`]).
    pub async fn acquire_lock_creating(
        &self,
        operation: &str,
        creating: Vec<String>,
    ) -> Result<AwsLock, AwsError> {
        let name = self.lock_name();
        let mut holder = LockHolder::new(operation);
        holder.creating = creating;
        if !self.create_lock(&name, &holder).await? {
            let current = self.read_lock(&name).await?;
            match current {
                Some(LockDescription::Known(h)) if h.is_abandoned() => {
                    // A crashed holder's lock: take it over (still a race on
                    // the create, which one taker wins), keeping its list of
                    // buckets in creation.
                    for b in h.creating {
                        if !holder.creating.contains(&b) {
                            holder.creating.push(b);
                        }
                    }
                    let deleted = self.clients.ssm.delete_parameter().name(&name).send().await;
                    if let Err(e) = deleted {
                        if !has_code(&e, &["ParameterNotFound"]) {
                            return Err(api_error("DeleteParameter", &name, e));
                        }
                    }
                    if !self.create_lock(&name, &holder).await? {
                        return Err(self.locked(self.read_lock(&name).await?));
                    }
                }
                // Released between our create and our read: try once more.
                None => {
                    if !self.create_lock(&name, &holder).await? {
                        return Err(self.locked(self.read_lock(&name).await?));
                    }
                }
                Some(other) => return Err(self.locked(Some(other))),
            }
        }
        let renewer = tokio::spawn(renew(
            self.clients.ssm.clone(),
            name.clone(),
            holder.clone(),
        ));
        Ok(AwsLock {
            name,
            holder,
            renewer,
        })
    }

    /// Gives the lock back (only if it is still ours).
    pub async fn release_lock(&self, lock: AwsLock) -> Result<(), AwsError> {
        self.release_lock_after(lock, false).await
    }

    /// Gives the lock back. After a failed run that was creating buckets,
    /// the lock is not deleted but left expired with its list of buckets in
    /// creation: free for the next run at once, which inherits the list and
    /// can still recognise a bucket the failed run created but did not get
    /// to tag (see [`LockHolder::creating`]).
    pub async fn release_lock_after(&self, lock: AwsLock, failed: bool) -> Result<(), AwsError> {
        lock.renewer.abort();
        if let Some(LockDescription::Known(h)) = self.read_lock(&lock.name).await? {
            if h.id == lock.holder.id && failed && !lock.holder.creating.is_empty() {
                let expired = LockHolder {
                    expires_unix: 0,
                    ..lock.holder.clone()
                };
                self.clients
                    .ssm
                    .put_parameter()
                    .name(&lock.name)
                    .r#type(ParameterType::String)
                    .value(expired.to_json())
                    .overwrite(true)
                    .send()
                    .await
                    .or_api_error("PutParameter", &lock.name)?;
            } else if h.id == lock.holder.id {
                let deleted = self
                    .clients
                    .ssm
                    .delete_parameter()
                    .name(&lock.name)
                    .send()
                    .await;
                if let Err(e) = deleted {
                    if !has_code(&e, &["ParameterNotFound"]) {
                        return Err(api_error("DeleteParameter", &lock.name, e));
                    }
                }
            }
        }
        Ok(())
    }

    fn locked(&self, holder: Option<LockDescription>) -> AwsError {
        Locked {
            app: self.app.name.clone(),
            stage: self.app.stage.clone(),
            holder: Box::new(holder.unwrap_or_else(|| {
                LockDescription::Unknown("a holder that released it while fnctl looked".into())
            })),
        }
        .into()
    }

    /// Creates the parameter; false when it already exists.
    async fn create_lock(&self, name: &str, holder: &LockHolder) -> Result<bool, AwsError> {
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
        let put = self
            .clients
            .ssm
            .put_parameter()
            .name(name)
            .r#type(ParameterType::String)
            .value(holder.to_json())
            .description("fnctl deploy lock: removed when the command ends, expires if it crashed")
            .set_tags(
                [
                    ("fnctl:app", &self.app.name),
                    ("fnctl:stage", &self.app.stage),
                ]
                .into_iter()
                .map(|(k, v)| tag(k, v))
                .collect::<Result<Vec<_>, _>>()
                .ok(),
            )
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e) if has_code(&e, &["ParameterAlreadyExists"]) => Ok(false),
            Err(e) => Err(api_error("PutParameter", name, e)),
        }
    }

    pub(crate) async fn read_lock(&self, name: &str) -> Result<Option<LockDescription>, AwsError> {
        match self.clients.ssm.get_parameter().name(name).send().await {
            Ok(out) => {
                let value = out.parameter().and_then(|p| p.value()).unwrap_or_default();
                Ok(Some(match LockHolder::from_json(value) {
                    Some(h) => LockDescription::Known(h),
                    None => LockDescription::Unknown(format!(
                        "a lock parameter `{name}` fnctl cannot read (delete it if no fnctl command is running)"
                    )),
                }))
            }
            Err(e) if has_code(&e, &["ParameterNotFound"]) => Ok(None),
            Err(e) => Err(api_error("GetParameter", name, e)),
        }
    }
}

/// Pushes the expiry out every [`RENEW_EVERY`] while the lock is still
/// ours; stops when aborted (release) or when someone else holds it.
async fn renew(ssm: aws_sdk_ssm::Client, name: String, holder: LockHolder) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let current = ssm.get_parameter().name(&name).send().await;
        let ours = current
            .ok()
            .and_then(|o| {
                o.parameter()
                    .and_then(|p| p.value())
                    .and_then(LockHolder::from_json)
            })
            .is_some_and(|h| h.id == holder.id);
        if !ours {
            return;
        }
        let _ = ssm
            .put_parameter()
            .name(&name)
            .r#type(ParameterType::String)
            .value(holder.renewed().to_json())
            .overwrite(true)
            .send()
            .await;
    }
}
