//! `s3_bucket` and `s3_notification`: the buckets of `[resources.NAME]`
//! with `kind = "bucket"` and those storage triggers name, and fnctl's
//! Lambda notifications in their notification configuration.
//!
//! A bucket is fnctl's when it is a resource (named
//! `{app}-{stage}-{name}`, [`names::resource`]; a storage trigger whose
//! `bucket` names the resource fires on it) or when a trigger says
//! `create = true`; it is then
//! created and tagged (two calls: some S3 servers ignore tags in
//! CreateBucket, so a deploy killed between them leaves an untagged bucket
//! that [`created_by_interrupted_run`] still recognises through the deploy
//! lock). A bucket of that name that is someone else's is a conflict, never
//! adopted; one the app uses with `create = false` must exist
//! ([`Kind::preflight`]). Notifications are one resource per bucket holding
//! only fnctl's own configurations (ids with this app+stage's prefix);
//! every other entry on the bucket is written back unchanged, whoever owns
//! the bucket. `remove` keeps a bucket that still holds objects unless told
//! to delete data, and never deletes a non-empty bucket. A resource's
//! bucket also carries [`RESOURCE_TAG`]: once its resource leaves the
//! manifest the read still finds it by its tags, and the next deploy
//! deletes it when it is empty (and keeps and reports it while it holds
//! objects); a trigger's bucket has no such mark and is left alone.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_s3::operation::get_bucket_notification_configuration::GetBucketNotificationConfigurationOutput;
use serde_json::{json, Value};

use super::common::{
    attrs, create_bucket, foreign_owner, kept_dropped, owned_by_tags, owned_tags, read_each,
    string_list, string_map, NOT_FOUND,
};
use super::{function, permission, Kind, Shared, Step};
use crate::model::resource::ResourceKind;
use crate::model::{App, Function, ProviderId, StorageEvent, StorageTrigger, Trigger};
use crate::plan::{Action, Attrs, Change, Conflict, Kept, Plan, Resource, ResourceId};
use crate::provider::aws::backend::apply::Progress;
use crate::provider::aws::backend::{
    api_error, arn, gone_ok, AwsBackend, AwsError, Live, SdkResultExt,
};
use crate::provider::aws::names;
use crate::provider::aws::resources::tags;
use crate::provider::CodeDigests;

pub struct Bucket;

/// S3 event names for neutral storage events.
pub fn s3_events(events: &[StorageEvent]) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| match e {
            StorageEvent::Created => "s3:ObjectCreated:*",
            StorageEvent::Deleted => "s3:ObjectRemoved:*",
        })
        .collect()
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

/// Storage triggers grouped by bucket: whether fnctl creates the bucket, and who listens.
type BucketTriggers<'a> = BTreeMap<String, (bool, Vec<(&'a Function, usize, &'a StorageTrigger)>)>;

/// `arn:aws:s3:::{name}`: what an IAM policy names a bucket by (its
/// objects are `…/*` under it).
pub fn bucket_arn(name: &str) -> String {
    format!("arn:aws:s3:::{name}")
}

/// The tag that marks the bucket of `[resources.NAME]` (its value: NAME).
/// A bucket a storage trigger creates (`create = true`) carries fnctl's
/// ownership tags too but comes and goes with its trigger; only a bucket
/// with this mark is found by its tags once the manifest no longer names
/// it, and then deleted (or kept, when it holds objects) as a resource.
pub const RESOURCE_TAG: &str = "fnctl:resource";

/// The tags fnctl puts on `bucket`: every resource's, plus [`RESOURCE_TAG`]
/// on the bucket of a resource.
fn bucket_tags(app: &App, bucket: &str) -> Value {
    let mut t: BTreeMap<String, Value> = match tags(app, None) {
        Value::Object(m) => m.into_iter().collect(),
        _ => BTreeMap::new(),
    };
    if let Some((name, _)) = resource_buckets(app).find(|(_, b)| b == bucket) {
        t.insert(RESOURCE_TAG.to_string(), json!(name));
    }
    // Sorted like every other resource's tags, so plans list them alike.
    json!(t)
}

/// The buckets of the app's bucket resources: (manifest name, bucket name).
pub fn resource_buckets(app: &App) -> impl Iterator<Item = (&str, String)> {
    app.resources
        .values()
        .filter(|r| r.kind == ResourceKind::Bucket)
        .map(|r| (r.name.as_str(), names::resource(app, &r.name)))
}

/// The bucket a storage trigger fires on, and whether fnctl creates it: a
/// resource's bucket (always fnctl's), else the name written, created only
/// with `create = true`.
pub fn trigger_bucket(app: &App, s: &StorageTrigger) -> (String, bool) {
    match app.storage_resource(s) {
        Some(r) => (names::resource(app, &r.name), true),
        None => (s.bucket.clone(), s.create),
    }
}

/// Every bucket the app names, and whether fnctl creates it.
fn named_buckets(app: &App) -> BTreeMap<String, bool> {
    let mut buckets: BTreeMap<String, bool> = resource_buckets(app)
        .map(|(_, bucket)| (bucket, true))
        .collect();
    for (_, s) in storage_triggers(app) {
        let (bucket, created) = trigger_bucket(app, s);
        *buckets.entry(bucket).or_default() |= created;
    }
    buckets
}

/// One bucket as the read found it.
enum BucketRead {
    Missing,
    /// fnctl's bucket (or a bucket the app uses), with what fnctl owns of it.
    Found(Vec<Resource>),
    /// A bucket the app would create that is someone else's.
    Foreign(Conflict),
}

#[async_trait::async_trait]
impl Kind for Bucket {
    fn kinds(&self) -> &'static [&'static str] {
        &["s3_bucket", "s3_notification"]
    }

    fn desired(&self, app: &App, _code: &CodeDigests, out: &mut Vec<Resource>) {
        // bucket -> (create?, [(function, index, trigger)])
        let mut buckets: BucketTriggers = resource_buckets(app)
            .map(|(_, bucket)| (bucket, (true, Vec::new())))
            .collect();
        for f in app.functions_for(ProviderId::Aws) {
            for (i, t) in f.triggers.iter().enumerate() {
                if let Trigger::Storage(s) = t {
                    let (bucket, created) = trigger_bucket(app, s);
                    let entry = buckets.entry(bucket).or_default();
                    entry.0 |= created;
                    entry.1.push((f, i, s));
                }
            }
        }
        for (bucket, (create, triggers)) in buckets {
            let bucket = bucket.as_str();
            let bucket_id = if create {
                let b = Resource::new("s3_bucket", bucket).attr("tags", bucket_tags(app, bucket));
                let id = b.id.clone();
                out.push(b);
                Some(id)
            } else {
                None
            };
            // A resource bucket no trigger fires on has no notifications.
            if triggers.is_empty() {
                continue;
            }
            let mut notification = Resource::new("s3_notification", bucket);
            let mut configs = Vec::new();
            let mut permitted = BTreeSet::new();
            for (f, i, s) in &triggers {
                let mut filter = Vec::new();
                if let Some(p) = &s.prefix {
                    filter.push(json!({"name": "prefix", "value": p}));
                }
                if let Some(x) = &s.suffix {
                    filter.push(json!({"name": "suffix", "value": x}));
                }
                configs.push(json!({
                    "id": names::notification_id(app, &f.name, *i),
                    "function": format!("{}:{}", names::function(app, &f.name), names::alias(app)),
                    "events": s3_events(&s.events),
                    "filter": filter,
                }));
                if permitted.insert(f.name.as_str()) {
                    let mut p = permission::resource(
                        app,
                        &f.name,
                        &format!("s3-{bucket}"),
                        "s3.amazonaws.com",
                        &bucket_arn(bucket),
                    )
                    .depends_on(&function::alias_id(app, &f.name));
                    if let Some(b) = &bucket_id {
                        p = p.depends_on(b);
                    }
                    notification = notification.depends_on(&p.id);
                    out.push(p);
                }
            }
            notification = notification.attr("owned_configurations", json!(configs));
            if let Some(b) = &bucket_id {
                notification = notification.depends_on(b);
            }
            out.push(notification);
        }
    }

    /// The buckets the manifest names: which exist, fnctl's tags on those it
    /// creates, and only fnctl's entries in their notification configuration.
    /// A bucket the app would create that exists without this app+stage's
    /// tags is a [`Conflict`], never adopted. Then the buckets of resources
    /// this app+stage owns that the manifest no longer names (found by
    /// their tags and [`RESOURCE_TAG`], [`owned_by_tags`]): an empty one is
    /// read like the others, so the plan deletes it; one that holds objects
    /// is [`Live::kept`].
    async fn read(&self, b: &AwsBackend) -> Result<Live, AwsError> {
        let buckets = named_buckets(&b.app);
        let named: BTreeSet<String> = buckets.keys().cloned().collect();
        // Owned names: a future that takes borrowed ones by value is not
        // provably `Send` for every lifetime, which `Kind::read` needs.
        let (parts, owned) = tokio::try_join!(
            read_each(buckets, |(bucket, created)| async move {
                let found = read_bucket(b, &bucket, created).await?;
                Ok((bucket, found))
            }),
            owned_by_tags(b, "s3"),
        )?;
        let mut live = Live::default();
        for (bucket, found) in parts {
            match found {
                BucketRead::Missing => {}
                BucketRead::Found(resources) => {
                    live.ids.existing_buckets.push(bucket);
                    live.resources.extend(resources);
                }
                BucketRead::Foreign(conflict) => {
                    live.ids.existing_buckets.push(bucket);
                    live.conflicts.push(conflict);
                }
            }
        }
        live.tagging_denied.extend(owned.denied);
        let dropped = owned
            .found
            .into_iter()
            .filter(|(bucket, tags)| tags.contains_key(RESOURCE_TAG) && !named.contains(bucket))
            .map(|(bucket, _)| bucket);
        let dropped = read_each(dropped, |bucket| async move {
            // Its own tags say again whose it is: a bucket that is not this
            // app+stage's after all is left alone, not a conflict (the
            // manifest does not ask for it).
            let BucketRead::Found(resources) = read_bucket(b, &bucket, true).await? else {
                return Ok(None);
            };
            Ok(Some((resources, has_objects(b, &bucket).await?)))
        })
        .await?;
        for (resources, objects) in dropped.into_iter().flatten() {
            for r in resources {
                if objects && r.id.kind == "s3_bucket" {
                    let kept = kept_dropped(
                        &b.app.stage,
                        r.id.clone(),
                        "it still holds objects",
                        &format!(
                            "empty it (aws s3 rm s3://{} --recursive; every object version too, if it is versioned)",
                            r.id.name
                        ),
                    );
                    live.kept.push((r, kept));
                } else {
                    // fnctl's notifications in it go either way.
                    live.resources.push(r);
                }
            }
        }
        Ok(live)
    }

    /// Fails when a bucket the app uses but does not create is missing. It
    /// is judged against the planned state: a bucket one trigger creates
    /// (`create = true`) exists for every other trigger that names it.
    fn preflight(&self, b: &AwsBackend, live: &Live) -> Result<(), AwsError> {
        let named = named_buckets(&b.app);
        for (function, s) in storage_triggers(&b.app) {
            let (bucket, _) = trigger_bucket(&b.app, s);
            if named.get(&bucket) != Some(&true) && !live.ids.existing_buckets.contains(&bucket) {
                return Err(AwsError::BucketMissing {
                    bucket,
                    function: function.to_string(),
                });
            }
        }
        Ok(())
    }

    async fn apply(&self, step: &Step<'_>) -> Result<(), AwsError> {
        let (b, change, shared) = (step.backend, step.change, step.shared);
        let after = step.after();
        let name = change.id.name.as_str();
        match change.id.kind.as_str() {
            "s3_notification" => put_notifications(b, name, after, shared).await,
            _ => put_bucket(b, change, name, after).await,
        }
    }

    async fn delete(&self, step: &Step<'_>) -> Result<(), AwsError> {
        let (b, change, shared) = (step.backend, step.change, step.shared);
        let name = change.id.name.as_str();
        match change.id.kind.as_str() {
            // Leaves every configuration but fnctl's own.
            "s3_notification" => put_notifications(b, name, &BTreeMap::new(), shared).await,
            _ => delete_bucket_if_empty(b, name).await,
        }
    }

    async fn keep_on_remove(
        &self,
        b: &AwsBackend,
        r: &Resource,
        delete_data: bool,
        progress: &Progress,
    ) -> Result<Option<Kept>, AwsError> {
        let bucket = r.id.name.as_str();
        if r.id.kind != "s3_bucket" || !has_objects(b, bucket).await? {
            return Ok(None);
        }
        if delete_data {
            progress(&r.id, "emptying");
            empty(b, bucket).await?;
            return Ok(None);
        }
        Ok(Some(Kept {
            id: r.id.clone(),
            reason: "it still holds objects".into(),
            command: format!(
                "fnctl remove --delete-data --stage {} (deletes its objects), or empty it yourself (aws s3 rm s3://{bucket} --recursive) and run remove again",
                b.app.stage
            ),
        }))
    }
}

fn storage_triggers(app: &App) -> impl Iterator<Item = (&str, &StorageTrigger)> {
    app.functions_for(ProviderId::Aws).flat_map(|f| {
        f.triggers.iter().filter_map(move |t| match t {
            Trigger::Storage(s) => Some((f.name.as_str(), s)),
            _ => None,
        })
    })
}

async fn read_bucket(
    b: &AwsBackend,
    bucket: &str,
    created_by_fnctl: bool,
) -> Result<BucketRead, AwsError> {
    let app = &b.app;
    let s3 = &b.clients.s3;
    let owned_prefix = format!("fnctl-{}-", names::prefix(app));
    // The bucket of `[resources.NAME]`: its name is derived, so the ways
    // out of a conflict are about the resource's name.
    let resource = resource_buckets(app).find(|(_, name)| name == bucket);
    let resource_help = resource.map(|(name, _)| {
        format!("bucket names are global and fnctl names the bucket of [resources.{name}] `{bucket}` after app, stage and resource: rename the resource (or choose another app name or stage), or delete the other bucket yourself if it is no longer used")
    });
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => {}
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
            return Ok(BucketRead::Missing)
        }
        // S3 answers 403 for a bucket that exists in another account.
        Err(e)
            if created_by_fnctl && e.raw_response().is_some_and(|r| r.status().as_u16() == 403) =>
        {
            return Ok(BucketRead::Foreign(Conflict {
                id: ResourceId::new("s3_bucket", bucket),
                owner: "it exists and this AWS identity may not read it (another account's bucket, or one whose policy shuts fnctl out)".into(),
                help: resource_help.unwrap_or_else(|| "bucket names are global: choose another name, e.g. `bucket = \"${app}-${stage}-uploads\"`".into()),
            }));
        }
        Err(e) => return Err(api_error("HeadBucket", bucket, e)),
    }
    let mut found = Vec::new();
    if created_by_fnctl {
        let bucket_tags = s3
            .get_bucket_tagging()
            .bucket(bucket)
            .send()
            .await
            .or_missing(NOT_FOUND, "GetBucketTagging", bucket)?
            .map(|t| {
                t.tag_set()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(owner) = foreign_owner(&bucket_tags, app) {
            if !created_by_interrupted_run(b, bucket, &bucket_tags).await? {
                let other_stage = bucket_tags.get("fnctl:app") == Some(&app.name);
                let help = if let Some(help) = resource_help {
                    help
                } else if other_stage {
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
            owned_tags(&bucket_tags, &self::bucket_tags(app, bucket)),
        )]);
        found.push(r);
    }
    let conf = b.bucket_notifications(bucket).await?;
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
pub async fn created_by_interrupted_run(
    b: &AwsBackend,
    bucket: &str,
    bucket_tags: &BTreeMap<String, String>,
) -> Result<bool, AwsError> {
    if !bucket_tags.is_empty() {
        return Ok(false);
    }
    let named = match b.read_lock(&b.lock_name()).await? {
        Some(crate::provider::lock::LockDescription::Known(h)) => {
            h.creating.iter().any(|c| c == bucket)
        }
        _ => false,
    };
    if !named {
        return Ok(false);
    }
    let objects = b
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

async fn put_bucket(
    b: &AwsBackend,
    change: &Change,
    name: &str,
    after: &Attrs,
) -> Result<(), AwsError> {
    let s3 = &b.clients.s3;
    if change.action == Action::Create {
        // Already ours (an interrupted earlier run created it): converge.
        if let Err(mut err) = create_bucket(b, name).send().await.or_missing(
            &["BucketAlreadyOwnedByYou"],
            "CreateBucket",
            name,
        ) {
            if let AwsError::Api { hint, message, .. } = &mut err {
                if message.contains("BucketAlreadyExists") {
                    *hint = Some("bucket names are global and another account owns this one; choose another name".into());
                }
            }
            return Err(err);
        }
    }
    // PutBucketTagging replaces the whole set: keep tags others added.
    let mut set: BTreeMap<String, String> = match s3.get_bucket_tagging().bucket(name).send().await
    {
        Ok(t) => t
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
        Err(_) => BTreeMap::new(),
    };
    set.extend(string_map(&after["tags"]));
    let set: Vec<aws_sdk_s3::types::Tag> = set
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

async fn delete_bucket_if_empty(b: &AwsBackend, name: &str) -> Result<(), AwsError> {
    let s3 = &b.clients.s3;
    let Some(objects) = s3
        .list_objects_v2()
        .bucket(name)
        .max_keys(1)
        .send()
        .await
        .or_missing(&["NoSuchBucket"], "ListObjectsV2", name)?
    else {
        return Ok(());
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
    b: &AwsBackend,
    bucket: &str,
    after: &Attrs,
    shared: &Shared,
) -> Result<(), AwsError> {
    use aws_sdk_s3::types::{
        Event, FilterRule, FilterRuleName, LambdaFunctionConfiguration, NotificationConfiguration,
        NotificationConfigurationFilter, S3KeyFilter,
    };
    let current = b.bucket_notifications(bucket).await?;
    let owned_prefix = format!("fnctl-{}-", names::prefix(&b.app));
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
        let mut lambda = LambdaFunctionConfiguration::builder()
            .id(conf["id"].as_str().unwrap_or_default())
            .lambda_function_arn(arn::lambda_function(
                &b.clients.region,
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
            lambda = lambda.filter(
                NotificationConfigurationFilter::builder()
                    .key(S3KeyFilter::builder().set_filter_rules(Some(rules)).build())
                    .build(),
            );
        }
        lambdas.push(lambda.build().map_err(|e| AwsError::Api {
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
    b.clients
        .s3
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(config)
        .send()
        .await
        .or_api_error("PutBucketNotificationConfiguration", bucket)?;
    Ok(())
}

async fn has_objects(b: &AwsBackend, bucket: &str) -> Result<bool, AwsError> {
    // Object versions too: a versioned bucket whose current objects are
    // all deleted still holds data (and cannot be deleted).
    Ok(b.clients
        .s3
        .list_object_versions()
        .bucket(bucket)
        .max_keys(1)
        .send()
        .await
        .or_missing(&["NoSuchBucket"], "ListObjectVersions", bucket)?
        .is_some_and(|o| !o.versions().is_empty() || !o.delete_markers().is_empty()))
}

/// Deletes every object version and delete marker, 1,000 per call.
async fn empty(b: &AwsBackend, bucket: &str) -> Result<(), AwsError> {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    let s3 = &b.clients.s3;
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

impl AwsBackend {
    /// A bucket's notification configuration. An empty configuration comes
    /// back from some S3-compatible servers (moto among them) as an empty
    /// `<GetBucketNotificationResponse/>` element that the SDK cannot parse;
    /// that answer means "no notifications" and is treated as such.
    pub async fn bucket_notifications(
        &self,
        bucket: &str,
    ) -> Result<GetBucketNotificationConfigurationOutput, AwsError> {
        match self
            .clients
            .s3
            .get_bucket_notification_configuration()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(out) => Ok(out),
            Err(e) => {
                let empty = e.raw_response().is_some_and(|r| {
                    r.status().is_success()
                        && r.body().bytes().is_some_and(|b| {
                            String::from_utf8_lossy(b).contains("<GetBucketNotificationResponse")
                                && String::from_utf8_lossy(b).trim_end().ends_with("/>")
                        })
                });
                if empty {
                    Ok(GetBucketNotificationConfigurationOutput::builder().build())
                } else {
                    Err(api_error("GetBucketNotificationConfiguration", bucket, e))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(text: &str) -> App {
        crate::manifest::test_app(text)
    }

    #[test]
    fn a_trigger_on_a_resource_fires_on_its_derived_bucket_and_others_are_unchanged() {
        let app = app(r#"
[app]
name = "shop"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"

[resources.uploads]
kind = "bucket"

[resources.archive]
kind = "bucket"

[functions.thumbs]
handler = "app.handler"
[[functions.thumbs.triggers]]
type = "storage"
bucket = "uploads"

[functions.audit]
handler = "app.handler"
[[functions.audit.triggers]]
type = "storage"
bucket = "team-inbox"
"#);
        let mut out = Vec::new();
        Bucket.desired(&app, &CodeDigests(BTreeMap::new()), &mut out);
        let ids: Vec<String> = out
            .iter()
            .filter(|r| r.id.kind.starts_with("s3_"))
            .map(|r| r.id.to_string())
            .collect();
        // Both resource buckets are fnctl's; only the one a trigger names
        // gets notifications, under its derived name. An external bucket
        // gets notifications only, under the name written.
        assert_eq!(
            ids,
            [
                "s3_bucket.shop-dev-archive",
                "s3_bucket.shop-dev-uploads",
                "s3_notification.shop-dev-uploads",
                "s3_notification.team-inbox",
            ]
        );
        let permission = out
            .iter()
            .find(|r| r.id.kind == "lambda_permission" && r.id.name.contains("uploads"))
            .unwrap();
        assert_eq!(permission.attrs["source"], "arn:aws:s3:::shop-dev-uploads");
    }

    #[test]
    fn s3_event_names() {
        assert_eq!(
            s3_events(&[StorageEvent::Created, StorageEvent::Deleted]),
            vec!["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
        );
    }
}
