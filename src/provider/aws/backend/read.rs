//! Reading what fnctl owns for one app+stage, in the desired resources'
//! terms: every kind reads its own resources (`Kind::read`); this is the
//! one entry point that runs them.

use super::{AwsBackend, AwsError, Live, SdkResultExt};
use crate::provider::aws::kinds::KINDS;

impl AwsBackend {
    /// Reads every resource fnctl manages for this app+stage.
    ///
    /// The identity call goes first so bad credentials give one clear error;
    /// after it every kind (role, functions, API, buckets, rules) is read at
    /// the same time, and inside each the per-item calls run
    /// `READ_CONCURRENCY` at a time. A no-op deploy is nothing but this
    /// read, so its time is what users wait for on every unchanged redeploy.
    pub async fn read(&self) -> Result<Live, AwsError> {
        let identity = self
            .clients
            .sts
            .get_caller_identity()
            .send()
            .await
            .or_api_error("GetCallerIdentity", "your AWS credentials")?;
        let parts = futures::future::try_join_all(KINDS.iter().map(|kind| kind.read(self))).await?;
        let mut live = Live::default();
        live.ids.account = identity.account().unwrap_or_default().to_string();
        for part in parts {
            live.absorb(part);
        }
        Ok(live)
    }
}
