//! Reading what fnctl owns for one app+stage, in the desired resources'
//! terms: every kind reads its own resources (`Kind::read`); this is the
//! one entry point that runs them.

use std::collections::BTreeSet;

use super::{AwsBackend, AwsError, Live, SdkResultExt};
use crate::plan::{Action, Plan, ResourceId};
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

impl AwsBackend {
    /// The read that verifies an apply of `plan` to `before` (the state
    /// read under the lock): everything named after a function the plan
    /// changed is read again, with the role, the API and the buckets
    /// (always read whole); what belongs to a function the plan did not
    /// touch is taken from `before`, read moments ago under the lock. A
    /// one-function change then verifies with a few calls per changed
    /// function instead of a full read; a cold deploy changes every
    /// function and reads everything, as [`AwsBackend::read`] does.
    ///
    /// What this does not see: a resource of an untouched function that
    /// someone changed by hand between the read under the lock and now
    /// (the lock keeps out fnctl runs, not people).
    pub async fn read_changed(&self, plan: &Plan, before: &Live) -> Result<Live, AwsError> {
        let touched: BTreeSet<String> = plan
            .changes
            .iter()
            .filter(|c| c.action != Action::NoOp)
            .filter_map(|c| c.function.clone())
            .filter(|f| self.read_only.as_ref().is_none_or(|only| only.contains(f)))
            .collect();
        let limited = AwsBackend {
            clients: self.clients.clone(),
            app: self.app.clone(),
            read_only: Some(touched.clone()),
        };
        let mut live = limited.read().await?;
        let fresh: BTreeSet<&ResourceId> = live.resources.iter().map(|r| &r.id).collect();
        let kept: Vec<_> = before
            .resources
            .iter()
            .filter(|r| !fresh.contains(&r.id))
            .filter(|r| r.function.as_ref().is_some_and(|f| !touched.contains(f)))
            .filter(|r| function_key(&r.id).is_some_and(|key| !limited.reads(key)))
            .cloned()
            .collect();
        live.resources.extend(kept);
        Ok(live)
    }
}

/// The name a function-scoped read filters a resource by (see
/// [`AwsBackend::reads`]): the function's name for it, its alias and its
/// permissions, the rule's own name for a rule. `None` for the kinds that
/// are read whole whatever the limit: what the fresh read lacks of those
/// is gone, not skipped.
fn function_key(id: &ResourceId) -> Option<&str> {
    match id.kind.as_str() {
        "lambda_function" | "lambda_alias" | "lambda_permission" => id.name.split(':').next(),
        "eventbridge_rule" => Some(&id.name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_scoped_resource_is_filtered_by_its_function_name() {
        let id = |kind: &str, name: &str| ResourceId::new(kind, name);
        assert_eq!(
            function_key(&id("lambda_function", "shop-dev-a")),
            Some("shop-dev-a")
        );
        assert_eq!(
            function_key(&id("lambda_alias", "shop-dev-a:dev")),
            Some("shop-dev-a")
        );
        assert_eq!(
            function_key(&id("lambda_permission", "shop-dev-a:dev/fnctl-apigateway")),
            Some("shop-dev-a")
        );
        assert_eq!(
            function_key(&id("eventbridge_rule", "shop-dev-a-s0")),
            Some("shop-dev-a-s0")
        );
        // Read whole: never taken from the earlier read.
        assert_eq!(function_key(&id("api_method", "GET shop-dev/a")), None);
    }
}
