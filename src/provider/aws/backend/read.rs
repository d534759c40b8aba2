//! Reading what fnctl owns for one app+stage, in the desired resources' terms.

use std::collections::BTreeMap;

use futures::{stream, StreamExt, TryStreamExt};
use serde_json::{json, Value};

use super::{api_error, arn, has_code, AwsBackend, AwsError, Live, SdkResultExt};
use crate::model::{ProviderId, Trigger};
use crate::plan::{Conflict, Resource, ResourceId};
use crate::provider::aws::kinds::common::{
    attrs, foreign_owner, owned_tags, NOT_FOUND, READ_CONCURRENCY,
};
use crate::provider::aws::kinds::KINDS;
use crate::provider::aws::{names, resources};

/// One bucket as the read found it.
enum BucketRead {
    Missing,
    /// fnctl's bucket (or a bucket the app uses), with what fnctl owns of it.
    Found(Vec<Resource>),
    /// A bucket the app would create that is someone else's.
    Foreign(Conflict),
}

impl AwsBackend {
    /// Reads every resource fnctl manages for this app+stage.
    ///
    /// The identity call goes first so bad credentials give one clear error;
    /// after it the role, functions, API, buckets and rules are read at the
    /// same time, and inside each the per-item calls run `READ_CONCURRENCY`
    /// at a time. A no-op deploy is nothing but this read, so its time is
    /// what users wait for on every unchanged redeploy.
    pub async fn read(&self) -> Result<Live, AwsError> {
        let identity = self
            .clients
            .sts
            .get_caller_identity()
            .send()
            .await
            .or_api_error("GetCallerIdentity", "your AWS credentials")?;
        let (moved, buckets, rules) = tokio::try_join!(
            futures::future::try_join_all(KINDS.iter().map(|k| k.read(self))),
            self.read_buckets(),
            self.read_rules(),
        )?;
        let mut live = Live::default();
        live.ids.account = identity.account().unwrap_or_default().to_string();
        for part in moved.into_iter().chain([buckets, rules]) {
            live.absorb(part);
        }
        Ok(live)
    }

    /// The buckets the manifest names: which exist, fnctl's tags on those it
    /// creates, and only fnctl's entries in their notification configuration.
    /// A bucket the app would create that exists without this app+stage's
    /// tags is a [`Conflict`], never adopted.
    async fn read_buckets(&self) -> Result<Live, AwsError> {
        let mut buckets: BTreeMap<&str, bool> = BTreeMap::new();
        for f in self.app.functions_for(ProviderId::Aws) {
            for t in &f.triggers {
                if let Trigger::Storage(s) = t {
                    *buckets.entry(&s.bucket).or_default() |= s.create;
                }
            }
        }
        let parts: Vec<(&str, BucketRead)> = stream::iter(buckets)
            .map(|(bucket, created)| async move {
                Ok::<_, AwsError>((bucket, self.read_bucket(bucket, created).await?))
            })
            .buffered(READ_CONCURRENCY)
            .try_collect()
            .await?;
        let mut live = Live::default();
        for (bucket, found) in parts {
            match found {
                BucketRead::Missing => {}
                BucketRead::Found(resources) => {
                    live.ids.existing_buckets.push(bucket.to_string());
                    live.resources.extend(resources);
                }
                BucketRead::Foreign(conflict) => {
                    live.ids.existing_buckets.push(bucket.to_string());
                    live.conflicts.push(conflict);
                }
            }
        }
        Ok(live)
    }

    async fn read_bucket(
        &self,
        bucket: &str,
        created_by_fnctl: bool,
    ) -> Result<BucketRead, AwsError> {
        let app = &self.app;
        let s3 = &self.clients.s3;
        let owned_prefix = format!("fnctl-{}-", names::prefix(app));
        match s3.head_bucket().bucket(bucket).send().await {
            Ok(_) => {}
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
                return Ok(BucketRead::Missing)
            }
            // S3 answers 403 for a bucket that exists in another account.
            Err(e)
                if created_by_fnctl
                    && e.raw_response().is_some_and(|r| r.status().as_u16() == 403) =>
            {
                return Ok(BucketRead::Foreign(Conflict {
                    id: ResourceId::new("s3_bucket", bucket),
                    owner: "it exists and this AWS identity may not read it (another account's bucket, or one whose policy shuts fnctl out)".into(),
                    help: "bucket names are global: choose another name, e.g. `bucket = \"${app}-${stage}-uploads\"`".into(),
                }));
            }
            Err(e) => return Err(api_error("HeadBucket", bucket, e)),
        }
        let mut found = Vec::new();
        if created_by_fnctl {
            let tags = match s3.get_bucket_tagging().bucket(bucket).send().await {
                Ok(t) => t
                    .tag_set()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect(),
                Err(e) if has_code(&e, NOT_FOUND) => BTreeMap::new(),
                Err(e) => return Err(api_error("GetBucketTagging", bucket, e)),
            };
            if let Some(owner) = foreign_owner(&tags, app) {
                if !self.created_by_interrupted_run(bucket, &tags).await? {
                    let other_stage = tags.get("fnctl:app") == Some(&app.name);
                    let help = if other_stage {
                        "stages must not share a bucket fnctl creates: put the stage in its name, e.g. `bucket = \"${app}-${stage}-uploads\"`".to_string()
                    } else {
                        "to use this existing bucket, set `create = false` on the triggers that name it (fnctl then only adds its own event notifications to it); or choose another name, e.g. `bucket = \"${app}-${stage}-uploads\"`".to_string()
                    };
                    return Ok(BucketRead::Foreign(Conflict {
                        id: ResourceId::new("s3_bucket", bucket),
                        owner,
                        help,
                    }));
                }
            }
            let mut r = Resource::new("s3_bucket", bucket);
            r.attrs = attrs(vec![(
                "tags",
                owned_tags(&tags, &resources::tags(app, None)),
            )]);
            found.push(r);
        }
        let conf = self.bucket_notifications(bucket).await?;
        let mut owned: Vec<Value> = conf
            .lambda_function_configurations()
            .iter()
            .filter(|c| c.id().is_some_and(|id| id.starts_with(&owned_prefix)))
            .map(|c| {
                let mut events: Vec<String> =
                    c.events().iter().map(|e| e.as_str().to_string()).collect();
                events.sort();
                let mut filter: Vec<Value> = c
                    .filter()
                    .and_then(|f| f.key())
                    .map(|k| {
                        k.filter_rules()
                            .iter()
                            .map(|r| {
                                json!({
                                    "name": r.name().map(|n| n.as_str().to_ascii_lowercase()).unwrap_or_default(),
                                    "value": r.value().unwrap_or_default(),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                filter.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
                json!({
                    "id": c.id().unwrap_or_default(),
                    "function": arn::lambda_target(c.lambda_function_arn()),
                    "events": events,
                    "filter": filter,
                })
            })
            .collect();
        owned.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        if !owned.is_empty() {
            let mut r = Resource::new("s3_notification", bucket);
            r.attrs = attrs(vec![("owned_configurations", json!(owned))]);
            found.push(r);
        }
        Ok(BucketRead::Found(found))
    }

    /// S3 cannot create a bucket and tag it in one call everywhere (servers
    /// that ignore tags in CreateBucket), so a deploy killed between the two
    /// leaves a bucket without tags. It is still recognised as fnctl's when
    /// all of these hold: it carries no tags at all, it holds no object, and
    /// the app+stage's deploy lock — left behind by the interrupted run, or
    /// inherited from it by the run that took it over — names it among the
    /// buckets that run was creating. That run had planned, under the lock,
    /// that the bucket did not exist, so nobody else made it in between.
    async fn created_by_interrupted_run(
        &self,
        bucket: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<bool, AwsError> {
        if !tags.is_empty() {
            return Ok(false);
        }
        let named = match self.read_lock(&self.lock_name()).await? {
            Some(crate::provider::lock::LockDescription::Known(h)) => {
                h.creating.iter().any(|b| b == bucket)
            }
            _ => false,
        };
        if !named {
            return Ok(false);
        }
        let objects = self
            .clients
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .max_keys(1)
            .send()
            .await
            .or_api_error("ListObjectsV2", bucket)?;
        Ok(objects.key_count().unwrap_or(0) == 0)
    }

    /// Schedule rules named `{app}-{stage}-*` and tagged for this app+stage.
    async fn read_rules(&self) -> Result<Live, AwsError> {
        let events = &self.clients.events;
        let prefix = format!("{}-", names::prefix(&self.app));
        let mut rules = Vec::new();
        let mut token = None;
        loop {
            let page = events
                .list_rules()
                .name_prefix(&prefix)
                .set_next_token(token.clone())
                .send()
                .await
                .or_api_error("ListRules", &prefix)?;
            rules.extend(page.rules().iter().cloned());
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let found: Vec<Option<Resource>> = stream::iter(rules)
            .map(|rule| async move { self.read_rule(&rule).await })
            .buffered(READ_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(Live {
            resources: found.into_iter().flatten().collect(),
            ..Live::default()
        })
    }

    /// One rule with its target; `None` when it belongs to someone else.
    async fn read_rule(
        &self,
        rule: &aws_sdk_eventbridge::types::Rule,
    ) -> Result<Option<Resource>, AwsError> {
        let app = &self.app;
        let events = &self.clients.events;
        let (Some(name), Some(rule_arn)) = (rule.name(), rule.arn()) else {
            return Ok(None);
        };
        let tags = events
            .list_tags_for_resource()
            .resource_arn(rule_arn)
            .send()
            .await
            .or_api_error("ListTagsForResource", name)?;
        let tags: BTreeMap<String, String> = tags
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        if tags.get("fnctl:app") != Some(&app.name) || tags.get("fnctl:stage") != Some(&app.stage) {
            return Ok(None);
        }
        let targets = events
            .list_targets_by_rule()
            .rule(name)
            .send()
            .await
            .or_api_error("ListTargetsByRule", name)?;
        let target = targets
            .targets()
            .first()
            .map(|t| arn::lambda_target(t.arn()))
            .unwrap_or_default();
        let fn_key = tags.get("fnctl:function").cloned();
        let mut r = Resource::new("eventbridge_rule", name);
        r.function = fn_key.clone();
        r.attrs = attrs(vec![
            (
                "schedule_expression",
                json!(rule.schedule_expression().unwrap_or_default()),
            ),
            (
                "state",
                json!(rule.state().map(|s| s.as_str()).unwrap_or_default()),
            ),
            ("target", json!(target)),
            (
                "tags",
                owned_tags(&tags, &resources::tags(app, fn_key.as_deref())),
            ),
        ]);
        Ok(Some(r))
    }
}
