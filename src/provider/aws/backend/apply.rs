//! Executing a plan on AWS.
//!
//! Apply does exactly what the plan lists, nothing more: no-ops make no
//! call. Changes run in waves — each wave holds the changes whose
//! dependencies are done — and a wave's changes run concurrently, bounded by
//! a semaphore. Deletes run last, in the plan's (reverse-dependency) order,
//! and skip what a parent's deletion already removes (an API's methods, a
//! function's alias and permissions).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use tokio::sync::{Mutex, Semaphore};

use super::{api_error, arn, gone_ok, has_code, AwsBackend, AwsError, Live, SdkResultExt};
use crate::package::Artifact;
use crate::plan::{Action, Change, Kept, Plan, ResourceId};
use crate::provider::aws::kinds::common::{string_list, string_map};
use crate::provider::aws::kinds::{self, Shared};
use crate::provider::aws::names;
use crate::provider::interrupt::{Interrupt, Interrupted};

/// What happened to one resource.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    pub id: ResourceId,
    pub action: Action,
    /// For updates: the attributes that were changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    pub millis: u128,
}

/// What a remove did: the deletions, and the data it left in place.
pub struct Removal {
    pub removed: Vec<Applied>,
    pub kept: Vec<Kept>,
}

/// The buckets a plan creates: S3 cannot everywhere create and tag a bucket
/// in one call, so the deploy lock records them (see
/// [`crate::provider::lock::LockHolder::creating`]).
pub fn created_without_tags(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .filter(|c| c.id.kind == "s3_bucket" && c.action == Action::Create)
        .map(|c| c.id.name.clone())
        .collect()
}

/// Reports progress of each change (`(resource, step)`), e.g. to a progress bar.
pub type Progress = dyn Fn(&ResourceId, &str) + Send + Sync;

/// The plan's deletions, applied after every create and update.
fn deletes(plan: &Plan) -> impl Iterator<Item = &Change> {
    plan.changes.iter().filter(|c| c.action == Action::Delete)
}

impl AwsBackend {
    /// Applies `plan` (computed against `live`); `artifacts` by manifest function name.
    pub async fn apply(
        &self,
        plan: &Plan,
        live: &Live,
        artifacts: BTreeMap<String, Artifact>,
        concurrency: usize,
        progress: &Progress,
    ) -> Result<Vec<Applied>, AwsError> {
        // Ctrl-C lets the calls in flight finish, then stops before the next
        // wave: the cloud is left consistent and a rerun completes the plan.
        let interrupt = Interrupt::watch();
        self.apply_waves(plan, live, artifacts, concurrency, progress, &interrupt)
            .await
    }

    async fn apply_waves(
        &self,
        plan: &Plan,
        live: &Live,
        artifacts: BTreeMap<String, Artifact>,
        concurrency: usize,
        progress: &Progress,
        interrupt: &Interrupt,
    ) -> Result<Vec<Applied>, AwsError> {
        let shared = Arc::new(Shared {
            ids: Mutex::new(live.ids.clone()),
            artifacts,
        });
        let todo: Vec<&Change> = plan
            .changes
            .iter()
            .filter(|c| matches!(c.action, Action::Create | Action::Update))
            .collect();
        let pending_ids: BTreeSet<&ResourceId> = todo.iter().map(|c| &c.id).collect();
        let mut done: BTreeSet<ResourceId> = BTreeSet::new();
        let mut applied = Vec::new();
        let semaphore = Arc::new(Semaphore::new(concurrency.max(1)));
        let mut remaining = todo;
        while !remaining.is_empty() {
            let (ready, blocked): (Vec<&Change>, Vec<&Change>) =
                remaining.into_iter().partition(|c| {
                    c.depends_on
                        .iter()
                        .all(|d| done.contains(d) || !pending_ids.contains(d))
                });
            // A cycle cannot come from the providers; run the rest in order rather than hang.
            let wave = if ready.is_empty() {
                blocked.clone()
            } else {
                ready
            };
            remaining = if wave.len() == blocked.len()
                && wave.iter().zip(&blocked).all(|(a, b)| a.id == b.id)
            {
                Vec::new()
            } else {
                blocked
            };
            let results = futures::future::join_all(wave.iter().map(|change| {
                let semaphore = semaphore.clone();
                let shared = shared.clone();
                async move {
                    let _permit = semaphore.acquire().await.expect("semaphore open");
                    // Changes still waiting for a slot do not start after Ctrl-C.
                    if interrupt.requested() {
                        return Ok(None);
                    }
                    let started = Instant::now();
                    progress(&change.id, action_word(change.action));
                    self.apply_one(change, &shared).await?;
                    progress(&change.id, "done");
                    Ok::<_, AwsError>(Some(Applied {
                        id: change.id.clone(),
                        action: change.action,
                        changed: change.changed.clone(),
                        millis: started.elapsed().as_millis(),
                    }))
                }
            }))
            .await;
            let mut skipped = 0;
            for r in results {
                match r? {
                    Some(a) => {
                        done.insert(a.id.clone());
                        applied.push(a);
                    }
                    None => skipped += 1,
                }
            }
            if interrupt.requested() {
                return Err(Interrupted {
                    done: applied.len(),
                    left: skipped + remaining.len() + deletes(plan).count(),
                }
                .into());
            }
        }

        let to_delete: Vec<&Change> = deletes(plan).collect();
        let deleting: BTreeSet<&ResourceId> = to_delete.iter().map(|c| &c.id).collect();
        let total = applied.len() + to_delete.len();
        for change in to_delete {
            if interrupt.requested() {
                return Err(Interrupted {
                    done: applied.len(),
                    left: total - applied.len(),
                }
                .into());
            }
            // What a parent's deletion already removes is not deleted on its own.
            let covered = kinds::find(&change.id.kind)
                .and_then(|kind| kind.deleted_with(&self.app, &change.id))
                .is_some_and(|parent| deleting.contains(&parent));
            let started = Instant::now();
            if !covered {
                progress(&change.id, "deleting");
                self.delete_one(change, &shared).await?;
            }
            progress(&change.id, "done");
            applied.push(Applied {
                id: change.id.clone(),
                action: Action::Delete,
                changed: Vec::new(),
                millis: started.elapsed().as_millis(),
            });
        }
        Ok(applied)
    }

    /// Fails when a bucket the app uses but does not create is missing. It
    /// is judged against the planned state: a bucket one trigger creates
    /// (`create = true`) exists for every other trigger that names it.
    pub fn preflight(&self, live: &Live) -> Result<(), AwsError> {
        let created: BTreeSet<&str> = self
            .storage_triggers()
            .filter(|(_, s)| s.create)
            .map(|(_, s)| s.bucket.as_str())
            .collect();
        for (function, s) in self.storage_triggers() {
            if !created.contains(s.bucket.as_str())
                && !live.ids.existing_buckets.contains(&s.bucket)
            {
                return Err(AwsError::BucketMissing {
                    bucket: s.bucket.clone(),
                    function: function.to_string(),
                });
            }
        }
        Ok(())
    }

    fn storage_triggers(&self) -> impl Iterator<Item = (&str, &crate::model::StorageTrigger)> {
        self.app
            .functions_for(crate::model::ProviderId::Aws)
            .flat_map(|f| {
                f.triggers.iter().filter_map(move |t| match t {
                    crate::model::Trigger::Storage(s) => Some((f.name.as_str(), s)),
                    _ => None,
                })
            })
    }

    /// Deletes everything `found` lists in dependency order, then checks
    /// that nothing of it is left. A bucket fnctl created that still holds
    /// objects is kept (and reported) unless `delete_data`, in which case it
    /// is emptied first, every object version included.
    pub async fn remove(
        &self,
        found: &Live,
        delete_data: bool,
        progress: &Progress,
    ) -> Result<Removal, AwsError> {
        let mut kept = Vec::new();
        let mut keep: BTreeSet<ResourceId> = BTreeSet::new();
        for r in found.resources.iter().filter(|r| r.id.kind == "s3_bucket") {
            let bucket = r.id.name.as_str();
            if !self.bucket_has_objects(bucket).await? {
                continue;
            }
            if delete_data {
                progress(&r.id, "emptying");
                self.empty_bucket(bucket).await?;
            } else {
                keep.insert(r.id.clone());
                kept.push(Kept {
                    id: r.id.clone(),
                    reason: "it still holds objects".into(),
                    command: format!(
                        "fnctl remove --delete-data --stage {} (deletes its objects), or empty it yourself (aws s3 rm s3://{bucket} --recursive) and run remove again",
                        self.app.stage
                    ),
                });
            }
        }
        let plan = Plan {
            app: self.app.name.clone(),
            stage: self.app.stage.clone(),
            provider: crate::model::ProviderId::Aws,
            target: self.clients.region.clone(),
            live: crate::plan::LiveState::Read,
            changes: crate::plan::diff(&[], Some(&found.resources))
                .into_iter()
                .filter(|c| !keep.contains(&c.id))
                .collect(),
            conflicts: Vec::new(),
        };
        let mut removed = self
            .apply_waves(
                &plan,
                found,
                BTreeMap::new(),
                1,
                progress,
                &Interrupt::watch(),
            )
            .await?;
        for kind in kinds::KINDS {
            removed.extend(kind.remove_leftovers(self, found).await?);
        }
        let left = self.read().await?;
        let drift: Vec<String> = left
            .resources
            .iter()
            .filter(|r| !keep.contains(&r.id))
            .map(|r| r.id.to_string())
            .collect();
        if !drift.is_empty() {
            return Err(AwsError::Verify { drift });
        }
        Ok(Removal { removed, kept })
    }

    async fn bucket_has_objects(&self, bucket: &str) -> Result<bool, AwsError> {
        // Object versions too: a versioned bucket whose current objects are
        // all deleted still holds data (and cannot be deleted).
        match self
            .clients
            .s3
            .list_object_versions()
            .bucket(bucket)
            .max_keys(1)
            .send()
            .await
        {
            Ok(o) => Ok(!o.versions().is_empty() || !o.delete_markers().is_empty()),
            Err(e) if has_code(&e, &["NoSuchBucket"]) => Ok(false),
            Err(e) => Err(api_error("ListObjectVersions", bucket, e)),
        }
    }

    /// Deletes every object version and delete marker, 1,000 per call.
    async fn empty_bucket(&self, bucket: &str) -> Result<(), AwsError> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};
        let s3 = &self.clients.s3;
        loop {
            let page = s3
                .list_object_versions()
                .bucket(bucket)
                .send()
                .await
                .or_api_error("ListObjectVersions", bucket)?;
            let ids: Vec<ObjectIdentifier> = page
                .versions()
                .iter()
                .map(|v| (v.key(), v.version_id()))
                .chain(
                    page.delete_markers()
                        .iter()
                        .map(|m| (m.key(), m.version_id())),
                )
                .filter_map(|(key, version)| {
                    ObjectIdentifier::builder()
                        .key(key?)
                        .set_version_id(version.map(str::to_string))
                        .build()
                        .ok()
                })
                .collect();
            if ids.is_empty() {
                return Ok(());
            }
            for batch in ids.chunks(1000) {
                let delete = Delete::builder()
                    .set_objects(Some(batch.to_vec()))
                    .quiet(true)
                    .build()
                    .map_err(|e| AwsError::Api {
                        operation: "DeleteObjects",
                        resource: bucket.into(),
                        message: e.to_string(),
                        hint: None,
                    })?;
                let out = s3
                    .delete_objects()
                    .bucket(bucket)
                    .delete(delete)
                    .send()
                    .await
                    .or_api_error("DeleteObjects", bucket)?;
                if let Some(err) = out.errors().first() {
                    return Err(AwsError::Api {
                        operation: "DeleteObjects",
                        resource: format!("s3://{bucket}/{}", err.key().unwrap_or_default()),
                        message: err.message().unwrap_or("refused").to_string(),
                        hint: None,
                    });
                }
            }
        }
    }

    async fn apply_one(&self, change: &Change, shared: &Shared) -> Result<(), AwsError> {
        let after = change
            .after
            .as_ref()
            .expect("creates and updates carry attributes");
        let name = change.id.name.as_str();
        if let Some(kind) = kinds::find(&change.id.kind) {
            return kind.apply(self, change, after, shared).await;
        }
        match change.id.kind.as_str() {
            "s3_bucket" => self.put_bucket(change, name, after).await,
            "s3_notification" => self.put_notifications(name, after, shared).await,
            "eventbridge_rule" => self.put_rule(change, after, shared).await,
            other => unreachable!("the AWS provider never plans a `{other}`"),
        }
    }

    async fn delete_one(&self, change: &Change, shared: &Shared) -> Result<(), AwsError> {
        let name = change.id.name.as_str();
        let c = &self.clients;
        if let Some(kind) = kinds::find(&change.id.kind) {
            return kind.delete(self, change, shared).await;
        }
        match change.id.kind.as_str() {
            "s3_notification" => self.put_notifications(name, &BTreeMap::new(), shared).await,
            "eventbridge_rule" => {
                match c
                    .events
                    .remove_targets()
                    .rule(name)
                    .ids("fnctl")
                    .send()
                    .await
                {
                    Ok(_) => {}
                    Err(e) if has_code(&e, &["ResourceNotFoundException"]) => return Ok(()),
                    Err(e) => return Err(api_error("RemoveTargets", name, e)),
                }
                c.events
                    .delete_rule()
                    .name(name)
                    .send()
                    .await
                    .or_api_error("DeleteRule", name)?;
                Ok(())
            }
            "s3_bucket" => self.delete_bucket_if_empty(name).await,
            other => unreachable!("the AWS provider never plans a `{other}`"),
        }
    }

    // ---- S3 ----------------------------------------------------------------

    async fn put_bucket(
        &self,
        change: &Change,
        name: &str,
        after: &BTreeMap<String, Value>,
    ) -> Result<(), AwsError> {
        let s3 = &self.clients.s3;
        if change.action == Action::Create {
            let mut req = s3.create_bucket().bucket(name);
            if self.clients.region != "us-east-1" {
                req = req.create_bucket_configuration(
                    aws_sdk_s3::types::CreateBucketConfiguration::builder()
                        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                            self.clients.region.as_str(),
                        ))
                        .build(),
                );
            }
            match req.send().await {
                Ok(_) => {}
                Err(e) if has_code(&e, &["BucketAlreadyOwnedByYou"]) => {}
                Err(e) => {
                    let mut err = api_error("CreateBucket", name, e);
                    if let AwsError::Api { hint, message, .. } = &mut err {
                        if message.contains("BucketAlreadyExists") {
                            *hint = Some("bucket names are global and another account owns this one; choose another name".into());
                        }
                    }
                    return Err(err);
                }
            }
        }
        // PutBucketTagging replaces the whole set: keep tags others added.
        let mut tags: BTreeMap<String, String> =
            match s3.get_bucket_tagging().bucket(name).send().await {
                Ok(t) => t
                    .tag_set()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect(),
                Err(_) => BTreeMap::new(),
            };
        tags.extend(string_map(&after["tags"]));
        let set: Vec<aws_sdk_s3::types::Tag> = tags
            .into_iter()
            .map(|(k, v)| {
                aws_sdk_s3::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .expect("key and value set")
            })
            .collect();
        s3.put_bucket_tagging()
            .bucket(name)
            .tagging(
                aws_sdk_s3::types::Tagging::builder()
                    .set_tag_set(Some(set))
                    .build()
                    .expect("tag set given"),
            )
            .send()
            .await
            .or_api_error("PutBucketTagging", name)?;
        Ok(())
    }

    async fn delete_bucket_if_empty(&self, name: &str) -> Result<(), AwsError> {
        let s3 = &self.clients.s3;
        let objects = match s3.list_objects_v2().bucket(name).max_keys(1).send().await {
            Ok(o) => o,
            Err(e) if has_code(&e, &["NoSuchBucket"]) => return Ok(()),
            Err(e) => return Err(api_error("ListObjectsV2", name, e)),
        };
        if objects.key_count().unwrap_or(0) > 0 {
            return Err(AwsError::Api {
                operation: "DeleteBucket",
                resource: name.to_string(),
                message: "the bucket still holds objects, and fnctl never deletes data".into(),
                hint: Some(format!(
                    "empty it (aws s3 rm s3://{name} --recursive) and run remove again"
                )),
            });
        }
        gone_ok(
            s3.delete_bucket().bucket(name).send().await,
            &["NoSuchBucket"],
            "DeleteBucket",
            name,
        )
    }

    /// Replaces only fnctl's own Lambda notifications of this app+stage;
    /// every other configuration on the bucket is written back unchanged.
    async fn put_notifications(
        &self,
        bucket: &str,
        after: &BTreeMap<String, Value>,
        shared: &Shared,
    ) -> Result<(), AwsError> {
        use aws_sdk_s3::types::{
            Event, FilterRule, FilterRuleName, LambdaFunctionConfiguration,
            NotificationConfiguration, NotificationConfigurationFilter, S3KeyFilter,
        };
        let s3 = &self.clients.s3;
        let current = self.bucket_notifications(bucket).await?;
        let owned_prefix = format!("fnctl-{}-", names::prefix(&self.app));
        let mut lambdas: Vec<LambdaFunctionConfiguration> = current
            .lambda_function_configurations()
            .iter()
            .filter(|c| !c.id().is_some_and(|id| id.starts_with(&owned_prefix)))
            .cloned()
            .collect();
        let account = shared.ids.lock().await.account.clone();
        for conf in after
            .get("owned_configurations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let rules: Vec<FilterRule> = conf["filter"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| {
                    FilterRule::builder()
                        .name(FilterRuleName::from(r["name"].as_str().unwrap_or_default()))
                        .value(r["value"].as_str().unwrap_or_default())
                        .build()
                })
                .collect();
            let mut b = LambdaFunctionConfiguration::builder()
                .id(conf["id"].as_str().unwrap_or_default())
                .lambda_function_arn(arn::lambda_function(
                    &self.clients.region,
                    &account,
                    conf["function"].as_str().unwrap_or_default(),
                ))
                .set_events(Some(
                    string_list(&conf["events"])
                        .iter()
                        .map(|e| Event::from(e.as_str()))
                        .collect(),
                ));
            if !rules.is_empty() {
                b = b.filter(
                    NotificationConfigurationFilter::builder()
                        .key(S3KeyFilter::builder().set_filter_rules(Some(rules)).build())
                        .build(),
                );
            }
            lambdas.push(b.build().map_err(|e| AwsError::Api {
                operation: "PutBucketNotificationConfiguration",
                resource: bucket.into(),
                message: e.to_string(),
                hint: None,
            })?);
        }
        let config = NotificationConfiguration::builder()
            .set_topic_configurations(Some(current.topic_configurations().to_vec()))
            .set_queue_configurations(Some(current.queue_configurations().to_vec()))
            .set_lambda_function_configurations(Some(lambdas))
            .set_event_bridge_configuration(current.event_bridge_configuration().cloned())
            .build();
        s3.put_bucket_notification_configuration()
            .bucket(bucket)
            .notification_configuration(config)
            .send()
            .await
            .or_api_error("PutBucketNotificationConfiguration", bucket)?;
        Ok(())
    }

    // ---- EventBridge ---------------------------------------------------------

    async fn put_rule(
        &self,
        change: &Change,
        after: &BTreeMap<String, Value>,
        shared: &Shared,
    ) -> Result<(), AwsError> {
        let events = &self.clients.events;
        let name = change.id.name.as_str();
        let state = if after["state"] == "DISABLED" {
            aws_sdk_eventbridge::types::RuleState::Disabled
        } else {
            aws_sdk_eventbridge::types::RuleState::Enabled
        };
        let mut req = events
            .put_rule()
            .name(name)
            .schedule_expression(after["schedule_expression"].as_str().unwrap_or_default())
            .state(state)
            .description("schedule of an fnctl function");
        let tags: Vec<aws_sdk_eventbridge::types::Tag> = string_map(&after["tags"])
            .into_iter()
            .map(|(k, v)| {
                aws_sdk_eventbridge::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .expect("key and value set")
            })
            .collect();
        if change.action == Action::Create {
            req = req.set_tags(Some(tags.clone()));
        }
        let out = req.send().await.or_api_error("PutRule", name)?;
        if change.action == Action::Update && change.changed.iter().any(|c| c == "tags") {
            events
                .tag_resource()
                .resource_arn(out.rule_arn().unwrap_or_default())
                .set_tags(Some(tags))
                .send()
                .await
                .or_api_error("TagResource", name)?;
        }
        if change.action == Action::Create || change.changed.iter().any(|c| c == "target") {
            let account = shared.ids.lock().await.account.clone();
            let target = aws_sdk_eventbridge::types::Target::builder()
                .id("fnctl")
                .arn(arn::lambda_function(
                    &self.clients.region,
                    &account,
                    after["target"].as_str().unwrap_or_default(),
                ))
                .build()
                .expect("id and arn set");
            events
                .put_targets()
                .rule(name)
                .targets(target)
                .send()
                .await
                .or_api_error("PutTargets", name)?;
        }
        Ok(())
    }
}

fn action_word(a: Action) -> &'static str {
    match a {
        Action::Create => "creating",
        Action::Update => "updating",
        Action::Delete => "deleting",
        Action::NoOp => "unchanged",
    }
}
