//! What the kinds' reads and applies share: ownership judged by tags,
//! attributes turned into the shapes the SDKs take, and CreateBucket (for
//! buckets of an app and for the staging bucket of large packages).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;

use serde_json::{json, Value};

use aws_sdk_s3::operation::create_bucket::builders::CreateBucketFluentBuilder;
use futures::{stream, StreamExt, TryStreamExt};

use crate::model::App;
use crate::plan::{Attrs, Kept, ResourceId};
use crate::provider::aws::backend::{AwsBackend, AwsError, SdkResultExt};

/// How many read calls of one kind run at once. Lambda's documented quotas
/// are 100 GetFunction and 15 GetPolicy (and other control-plane) requests
/// per second per account, and the SDK retries throttles; a small bound
/// keeps reads fast without turning a large app's plan into a throttling
/// storm.
pub const READ_CONCURRENCY: usize = 8;

/// Runs `read` on every item, [`READ_CONCURRENCY`] at a time, and returns
/// the answers in the items' order; the first failure fails the read.
pub async fn read_each<T, R, Fut>(
    items: impl IntoIterator<Item = T>,
    read: impl FnMut(T) -> Fut,
) -> Result<Vec<R>, AwsError>
where
    Fut: Future<Output = Result<R, AwsError>>,
{
    stream::iter(items)
        .map(read)
        .buffered(READ_CONCURRENCY)
        .try_collect()
        .await
}

/// The error codes with which AWS says "not there" to a read.
pub const NOT_FOUND: &[&str] = &[
    "ResourceNotFoundException",
    "NoSuchEntity",
    "NotFoundException",
    "NoSuchBucket",
    "NoSuchTagSet",
    "NoSuchTagSetError",
];

/// Keeps only the tag keys fnctl sets, so tags added by others never show
/// up as a difference (and are never overwritten).
pub fn owned_tags(live: &BTreeMap<String, String>, desired: &Value) -> Value {
    let keys: BTreeSet<&str> = desired
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    json!(live
        .iter()
        .filter(|(k, _)| keys.contains(k.as_str()))
        .collect::<BTreeMap<_, _>>())
}

/// Who owns a resource, judged by fnctl's tags: `None` when it is this
/// app+stage's, else the words a conflict shows.
pub fn foreign_owner(tags: &BTreeMap<String, String>, app: &App) -> Option<String> {
    let tag_app = tags.get("fnctl:app");
    let tag_stage = tags.get("fnctl:stage");
    if tags.get("managed-by").map(String::as_str) == Some("fnctl")
        && tag_app == Some(&app.name)
        && tag_stage == Some(&app.stage)
    {
        return None;
    }
    Some(match (tag_app, tag_stage) {
        (Some(a), Some(s)) if *a == app.name => {
            format!("it belongs to stage `{s}` of this app")
        }
        (Some(a), Some(s)) => format!("it belongs to app `{a}`, stage `{s}`"),
        _ if tags.is_empty() => "it carries no tags, so fnctl did not create it".into(),
        _ => format!(
            "it carries no fnctl tags, so fnctl did not create it (its tags: {})",
            tags.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// The way out of a conflict on a name fnctl derives from app and stage.
pub fn derived_name_help(kind: &str) -> String {
    format!("fnctl names its {kind} after the app and stage: choose another app name or stage, or delete the other {kind} yourself if it is no longer used")
}

/// The way out of a conflict on the name of an app resource
/// (`[resources.NAME]`), which fnctl derives from app, stage and resource.
pub fn resource_name_help(kind: &str, resource: &str) -> String {
    format!("fnctl names the {kind} of [resources.{resource}] after the app, stage and resource: rename the resource (or choose another app name or stage), or delete the other {kind} yourself if it is no longer used")
}

/// Attributes of a read resource.
pub fn attrs(pairs: Vec<(&str, Value)>) -> Attrs {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// A JSON object of strings (tags) as the SDKs' maps.
pub fn string_map(v: &Value) -> HashMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// A JSON array of strings.
pub fn string_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// CreateBucket for `name` in the backend's region (S3 wants the region
/// spelt out everywhere but us-east-1).
pub fn create_bucket(b: &AwsBackend, name: &str) -> CreateBucketFluentBuilder {
    let mut req = b.clients.s3.create_bucket().bucket(name);
    if b.clients.region != "us-east-1" {
        req = req.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                    b.clients.region.as_str(),
                ))
                .build(),
        );
    }
    req
}

/// The error codes with which AWS refuses a call the identity may not make.
const ACCESS_DENIED: &[&str] = &["AccessDenied", "AccessDeniedException"];

/// What the plan says when `tag:GetResources` was refused: resources
/// removed from the manifest cannot be found, so they are neither deleted
/// nor kept and reported; `None` when nothing was refused.
pub fn tagging_denied_note(denied: &BTreeSet<String>) -> Option<String> {
    if denied.is_empty() {
        return None;
    }
    let types = denied
        .iter()
        .map(|t| format!("`{t}`"))
        .collect::<Vec<_>>()
        .join(", ");
    Some(format!(
        "the AWS identity may not call `tag:GetResources` (AccessDenied on the tagging read of {types}), so queues, tables and buckets removed from fnctl.toml cannot be found: this plan neither deletes them nor reports what they hold; grant `tag:GetResources` on `*` (docs/providers/aws.md lists it in the minimal policy) and plan again"
    ))
}

/// The tags of this app+stage's resources of `resource_type` (e.g.
/// `lambda:function`), by ARN, from the Resource Groups Tagging API: one
/// call per page of many resources instead of one per resource.
///
/// The answer narrows work, it never decides ownership alone: the API is
/// eventually consistent and lists only resources that carry (or carried)
/// tags, so a resource missing from it (just created, untagged, or of a
/// type an emulator does not list) is read on its own by the caller, and
/// only tags that say "this app+stage's" are taken from it.
pub async fn tagged(
    b: &AwsBackend,
    resource_type: &str,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, AwsError> {
    Ok(tagged_or_denied(b, resource_type)
        .await?
        .unwrap_or_default())
}

/// [`tagged`], with `None` when the identity may not call
/// `tag:GetResources` (AccessDenied): for the reads whose finds only the
/// tagging API can make (resources dropped from the manifest), which put
/// the refusal in [`Live::tagging_denied`] so the plan can say so.
pub async fn tagged_or_denied(
    b: &AwsBackend,
    resource_type: &str,
) -> Result<Option<BTreeMap<String, BTreeMap<String, String>>>, AwsError> {
    use aws_sdk_resourcegroupstagging::types::TagFilter;
    let app = &b.app;
    let mut out = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let page = b
            .clients
            .tagging
            .get_resources()
            .resource_type_filters(resource_type)
            .tag_filters(
                TagFilter::builder()
                    .key("fnctl:app")
                    .values(&app.name)
                    .build(),
            )
            .tag_filters(
                TagFilter::builder()
                    .key("fnctl:stage")
                    .values(&app.stage)
                    .build(),
            )
            // The largest page AWS allows (counted in tags: fnctl's
            // resources carry four or five each).
            .tags_per_page(500)
            .set_pagination_token(token.clone())
            .send()
            .await;
        let page = match page {
            // An identity whose policy predates fnctl's use of the tagging
            // API (`tag:GetResources`): every candidate is then read on its
            // own, as before, rather than the read failing.
            // The caller says what the read could then not find.
            Err(e) if crate::provider::aws::backend::has_code(&e, ACCESS_DENIED) => {
                return Ok(None);
            }
            page => page.or_api_error("GetResources (tagging)", resource_type)?,
        };
        for m in page.resource_tag_mapping_list() {
            let Some(arn) = m.resource_arn() else {
                continue;
            };
            let tags = m
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            out.insert(arn.to_string(), tags);
        }
        token = page
            .pagination_token()
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(Some(out))
}

/// This app+stage's resources of `resource_type` (`sqs`, `dynamodb:table`,
/// `s3`) by name, with their tags, as the Resource Groups Tagging API lists
/// them: one paginated call per kind, whatever the manifest names. This is
/// how a resource the user deleted from `fnctl.toml` is still found, so
/// that the plan deletes it (or keeps it, when it holds data) and `remove`
/// deletes it too, instead of leaving it orphaned.
///
/// Only what carries all three of fnctl's ownership tags for this
/// app+stage (`managed-by = fnctl`, `fnctl:app`, `fnctl:stage`) is
/// returned; the caller reads each one on its own and checks its tags
/// again before using it (the tagging API is eventually consistent). A
/// resource without these tags (made by hand, or another app's or stage's)
/// is never listed, so never touched. GetResources lists "tagged or
/// previously tagged" resources and may still list one just deleted
/// (<https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html>):
/// the tag filters leave out the former, the callers' own reads the
/// latter. The name is the ARN's last part
/// (`…:queue`, `…:table/name`, `arn:aws:s3:::bucket`): none of these kinds
/// allows `:` or `/` in a name.
pub async fn owned_by_tags(b: &AwsBackend, resource_type: &str) -> Result<OwnedByTags, AwsError> {
    let Some(tagged) = tagged_or_denied(b, resource_type).await? else {
        return Ok(OwnedByTags {
            found: BTreeMap::new(),
            denied: Some(resource_type.to_string()),
        });
    };
    let found = tagged
        .into_iter()
        .filter(|(_, tags)| foreign_owner(tags, &b.app).is_none())
        .filter_map(|(arn, tags)| {
            let name = arn.rsplit([':', '/']).next()?;
            (!name.is_empty()).then(|| (name.to_string(), tags))
        })
        .collect();
    Ok(OwnedByTags {
        found,
        denied: None,
    })
}

/// What [`owned_by_tags`] found: names with their tags, and the resource
/// type when the tagging read was refused (for [`Live::tagging_denied`]).
pub struct OwnedByTags {
    pub found: BTreeMap<String, BTreeMap<String, String>>,
    pub denied: Option<String>,
}

/// Why a deploy leaves `id`, which the manifest no longer names: `why` it
/// counts as holding data ("it still holds about 3 messages"), and how to
/// delete it anyway. `empty_it` says how to empty this one resource
/// ("receive its messages"), after which the next deploy deletes it.
pub fn kept_dropped(stage: &str, id: ResourceId, why: &str, empty_it: &str) -> Kept {
    Kept {
        reason: format!(
            "it is no longer in fnctl.toml, but {why}, and fnctl deletes data only when told to"
        ),
        command: format!(
            "to delete only this one, {empty_it} and deploy again; `fnctl remove --delete-data --stage {stage}` deletes the whole stage with all its data"
        ),
        id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::provider::aws::backend::Live;

    #[test]
    fn denied_tagging_reads_are_gathered_and_said_with_the_permission_to_grant() {
        // Each kind's read says its own refusal; the parts are merged.
        let mut live = Live::default();
        for t in ["sqs", "s3"] {
            let mut part = Live::default();
            part.tagging_denied.insert(t.to_string());
            live.absorb(part);
        }
        let denied = live.tagging_denied;
        assert_eq!(
            denied,
            BTreeSet::from(["s3".to_string(), "sqs".to_string()])
        );
        let note = tagging_denied_note(&denied).expect("a note");
        assert!(note.contains("`tag:GetResources`"), "{note}");
        assert!(note.contains("`s3`, `sqs`"), "{note}");
        assert!(
            note.contains("removed from fnctl.toml cannot be found"),
            "{note}"
        );
        assert!(note.contains("docs/providers/aws.md"), "{note}");
        assert_eq!(tagging_denied_note(&BTreeSet::new()), None);
    }
}
