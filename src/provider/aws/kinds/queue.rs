//! `sqs_queue`: the queues of `[resources.NAME]` with `kind = "queue"`, and
//! the dead-letter queue of each that sets `dead_letter`.
//!
//! A queue is named `{app}-{stage}-{name}` and its dead-letter queue
//! `{app}-{stage}-{name}-dlq` ([`names::resource`],
//! [`names::dead_letter_queue`]); the dead-letter queue is created first,
//! since the queue's redrive policy names its ARN. Tags go in CreateQueue
//! itself, so a queue is never fnctl's-but-untagged; a queue of that name
//! without this app+stage's tags is a conflict, never adopted. Attributes
//! are compared field by field and updated with SetQueueAttributes (a queue
//! keeps its messages through any change fnctl makes). Besides the queues
//! the manifest names, the read finds this app+stage's queues by their tags
//! (one tagging call): a queue whose resource left the manifest is deleted
//! by the next deploy when it is empty, and kept and reported while it (or
//! its dead-letter queue) holds messages. `remove` deletes every queue and
//! keeps one that still holds messages unless told to delete data.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{json, Value};

use super::common::{
    attrs, foreign_owner, kept_dropped, owned_by_tags, owned_tags, read_each, resource_name_help,
    string_map,
};
use super::{Kind, Step};
use crate::model::resource::{Queue as QueueSettings, ResourceKind, RETENTION_S};
use crate::model::App;
use crate::plan::{Action, Conflict, Kept, Resource, ResourceId};
use crate::provider::aws::backend::apply::Progress;
use crate::provider::aws::backend::{has_code, AwsBackend, AwsError, Live, SdkResultExt};
use crate::provider::aws::names;
use crate::provider::aws::resources::tags;
use crate::provider::CodeDigests;

pub struct Queue;

pub const KIND: &str = "sqs_queue";

/// A dead-letter queue keeps messages for SQS's maximum, 14 days. SQS
/// counts a message's age from when it entered the *original* queue and
/// does not reset it on the move, so a dead-letter queue whose retention
/// were no longer than its source's would drop a failed message at once or
/// soon after it arrives, before anyone could look at it.
pub const DEAD_LETTER_RETENTION_S: u32 = RETENTION_S.1;

/// The error codes with which SQS says a queue does not exist (the JSON
/// protocol's, and the query-compatible one it also reports).
const NO_QUEUE: &[&str] = &[
    "QueueDoesNotExist",
    "AWS.SimpleQueueService.NonExistentQueue",
];

/// `arn:aws:sqs:{region}:{account}:{name}`: what an event source mapping
/// and an IAM policy name a queue by.
pub fn queue_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:sqs:{region}:{account}:{name}")
}

/// A queue's URL, which SQS clients address it by (GetQueueUrl: the URL
/// depends on the endpoint, so it is asked, not built). `None` when the
/// queue does not exist.
pub async fn queue_url(b: &AwsBackend, name: &str) -> Result<Option<String>, AwsError> {
    Ok(b.clients
        .sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .or_missing(NO_QUEUE, "GetQueueUrl", name)?
        .and_then(|o| o.queue_url().map(str::to_string)))
}

/// The queue resources of `app`: manifest name and settings.
fn queues(app: &App) -> impl Iterator<Item = (&str, &QueueSettings)> {
    app.resources.values().filter_map(|r| match &r.kind {
        ResourceKind::Queue(q) => Some((r.name.as_str(), q)),
        _ => None,
    })
}

/// The desired `sqs_queue` resources, dead-letter queue before its queue.
fn desired_queues(app: &App) -> Vec<Resource> {
    let mut out = Vec::new();
    for (name, q) in queues(app) {
        let mut queue = Resource::new(KIND, names::resource(app, name))
            .attr("visibility_timeout", q.visibility_timeout_s)
            .attr("message_retention_period", q.retention_s)
            .attr("redrive_policy", Value::Null)
            .attr("tags", tags(app, None));
        if let Some(d) = &q.dead_letter {
            let dlq_name = names::dead_letter_queue(app, name);
            let dlq = Resource::new(KIND, &dlq_name)
                .attr(
                    "visibility_timeout",
                    crate::model::resource::DEFAULT_VISIBILITY_TIMEOUT_S,
                )
                .attr("message_retention_period", DEAD_LETTER_RETENTION_S)
                .attr("redrive_policy", Value::Null)
                .attr("tags", tags(app, None));
            queue = queue
                .attr(
                    "redrive_policy",
                    json!({"dead_letter_queue": dlq_name, "max_receive_count": d.after}),
                )
                .depends_on(&dlq.id);
            out.push(dlq);
        }
        out.push(queue);
    }
    out
}

/// One queue as the read found it.
enum QueueRead {
    Missing,
    Found(Resource),
    Foreign(Conflict),
}

#[async_trait::async_trait]
impl Kind for Queue {
    fn kinds(&self) -> &'static [&'static str] {
        &[KIND]
    }

    fn desired(&self, app: &App, _code: &CodeDigests, out: &mut Vec<Resource>) {
        out.extend(desired_queues(app));
    }

    /// The queues the manifest names (and their dead-letter queues):
    /// attributes and fnctl's tags of those this app+stage owns; a queue of
    /// such a name that is not its own is a [`Conflict`]. Then the queues
    /// this app+stage owns that the manifest no longer names (found by
    /// their tags, [`owned_by_tags`]): an empty one is read like the others,
    /// so the plan deletes it; one that holds messages is [`Live::kept`].
    async fn read(&self, b: &AwsBackend) -> Result<Live, AwsError> {
        // (queue name, the manifest's resource name)
        let mut wanted: Vec<(String, String)> = Vec::new();
        for (name, q) in queues(&b.app) {
            if q.dead_letter.is_some() {
                wanted.push((names::dead_letter_queue(&b.app, name), name.to_string()));
            }
            wanted.push((names::resource(&b.app, name), name.to_string()));
        }
        let named: BTreeSet<String> = wanted.iter().map(|(q, _)| q.clone()).collect();
        let (found, owned) = tokio::try_join!(
            read_each(wanted, |(queue, resource)| async move {
                read_queue(b, queue, &resource).await
            }),
            owned_by_tags(b, "sqs"),
        )?;
        let mut live = Live::default();
        for f in found {
            match f {
                QueueRead::Missing => {}
                QueueRead::Found(r) => live.resources.push(r),
                QueueRead::Foreign(c) => live.conflicts.push(c),
            }
        }
        live.tagging_denied.extend(owned.denied);
        let dropped = owned.found.into_keys().filter(|q| !named.contains(q));
        let dropped = read_each(dropped, |queue| async move {
            // Its own tags say again whose it is: a queue that is not this
            // app+stage's after all is left alone, not a conflict (the
            // manifest does not ask for it).
            let QueueRead::Found(r) = read_queue(b, queue.clone(), "").await? else {
                return Ok(None);
            };
            let count = match queue_url(b, &queue).await? {
                Some(url) => messages(b, &queue, &url).await?,
                None => 0,
            };
            Ok(Some((r, count)))
        })
        .await?;
        let dropped: Vec<(Resource, u64)> = dropped.into_iter().flatten().collect();
        for (r, kept) in keep_dropped(&b.app.stage, dropped) {
            match kept {
                None => live.resources.push(r),
                Some(k) => live.kept.push((r, k)),
            }
        }
        Ok(live)
    }

    async fn apply(&self, step: &Step<'_>) -> Result<(), AwsError> {
        let (b, change) = (step.backend, step.change);
        let after = step.after();
        let name = change.id.name.as_str();
        let sqs = &b.clients.sqs;
        let account = step.shared.ids.lock().await.account.clone();
        let region = b.clients.region.as_str();
        let value = |field: &str| -> String {
            match field {
                "redrive_policy" => redrive_policy(region, &account, &after[field]),
                _ => after[field].as_u64().unwrap_or_default().to_string(),
            }
        };
        if change.action == Action::Create {
            let mut req = sqs
                .create_queue()
                .queue_name(name)
                .attributes(
                    QueueAttributeName::VisibilityTimeout,
                    value("visibility_timeout"),
                )
                .attributes(
                    QueueAttributeName::MessageRetentionPeriod,
                    value("message_retention_period"),
                )
                .set_tags(Some(string_map(&after["tags"])));
            if !after["redrive_policy"].is_null() {
                req = req.attributes(QueueAttributeName::RedrivePolicy, value("redrive_policy"));
            }
            let mut result = req.send().await.or_api_error("CreateQueue", name);
            if let Err(AwsError::Api { message, hint, .. }) = &mut result {
                if message.contains("QueueDeletedRecently") || message.contains("60 seconds") {
                    // SQS holds a deleted queue's name for 60 seconds.
                    *hint = Some(format!("a queue named `{name}` was deleted less than a minute ago (a `remove`?), and SQS lets the name be reused only 60 seconds after: wait a minute and deploy again"));
                }
            }
            result?;
            return Ok(());
        }
        let url = queue_url(b, name).await?.ok_or_else(|| AwsError::Api {
            operation: "GetQueueUrl",
            resource: name.to_string(),
            message: "the queue disappeared while fnctl was updating it".into(),
            hint: Some("run the deploy again; it creates the queue anew".into()),
        })?;
        let mut set = sqs.set_queue_attributes().queue_url(&url);
        let mut any = false;
        for (field, attribute) in [
            ("visibility_timeout", QueueAttributeName::VisibilityTimeout),
            (
                "message_retention_period",
                QueueAttributeName::MessageRetentionPeriod,
            ),
            ("redrive_policy", QueueAttributeName::RedrivePolicy),
        ] {
            if change.changed.iter().any(|c| c == field) {
                set = set.attributes(attribute, value(field));
                any = true;
            }
        }
        if any {
            set.send().await.or_api_error("SetQueueAttributes", name)?;
        }
        if change.changed.iter().any(|c| c == "tags") {
            sqs.tag_queue()
                .queue_url(&url)
                .set_tags(Some(string_map(&after["tags"])))
                .send()
                .await
                .or_api_error("TagQueue", name)?;
        }
        Ok(())
    }

    async fn delete(&self, step: &Step<'_>) -> Result<(), AwsError> {
        let b = step.backend;
        let name = step.change.id.name.as_str();
        let Some(url) = queue_url(b, name).await? else {
            return Ok(());
        };
        b.clients
            .sqs
            .delete_queue()
            .queue_url(&url)
            .send()
            .await
            .or_missing(NO_QUEUE, "DeleteQueue", name)?;
        Ok(())
    }

    /// A queue that still holds messages (visible, in flight or delayed)
    /// is kept unless data is to be deleted; deleting the queue then
    /// deletes its messages with it.
    async fn keep_on_remove(
        &self,
        b: &AwsBackend,
        r: &Resource,
        delete_data: bool,
        _progress: &Progress,
    ) -> Result<Option<Kept>, AwsError> {
        let name = r.id.name.as_str();
        if delete_data {
            return Ok(None);
        }
        let Some(url) = queue_url(b, name).await? else {
            return Ok(None);
        };
        let count = messages(b, name, &url).await?;
        if count == 0 {
            return Ok(None);
        }
        Ok(Some(Kept {
            id: r.id.clone(),
            reason: format!(
                "it still holds about {count} message{}",
                if count == 1 { "" } else { "s" }
            ),
            command: format!(
                "fnctl remove --delete-data --stage {} (deletes the queue with its messages), or receive them first and run remove again",
                b.app.stage
            ),
        }))
    }
}

/// The RedrivePolicy attribute for `policy` (`null`: none, written as the
/// empty string that removes one).
fn redrive_policy(region: &str, account: &str, policy: &Value) -> String {
    match policy.get("dead_letter_queue").and_then(Value::as_str) {
        Some(dlq) => json!({
            "deadLetterTargetArn": queue_arn(region, account, dlq),
            "maxReceiveCount": policy["max_receive_count"].as_u64().unwrap_or(1),
        })
        .to_string(),
        None => String::new(),
    }
}

/// The redrive policy as fnctl's attributes say it: the dead-letter
/// queue's name (ARNs carry the account, which desired attributes leave
/// out) and the receive count.
fn parse_redrive_policy(text: Option<&String>) -> Value {
    let Some(policy) = text
        .filter(|t| !t.is_empty())
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
    else {
        return Value::Null;
    };
    let target = policy["deadLetterTargetArn"].as_str().unwrap_or_default();
    let count = match &policy["maxReceiveCount"] {
        Value::Number(n) => n.as_u64().unwrap_or_default(),
        Value::String(s) => s.parse().unwrap_or_default(),
        _ => 0,
    };
    json!({
        "dead_letter_queue": target.rsplit(':').next().unwrap_or(target),
        "max_receive_count": count,
    })
}

/// Which queues the manifest no longer names a deploy keeps: those that
/// hold messages (`count`: visible, in flight and delayed), and with each
/// its dead-letter queue or the queue it is the dead-letter queue of, when
/// that one is dropped too. A queue and its dead-letter queue go together
/// or stay together: deleting the dead-letter queue of a queue kept for its
/// messages would leave its redrive policy pointing at nothing.
fn keep_dropped(stage: &str, dropped: Vec<(Resource, u64)>) -> Vec<(Resource, Option<Kept>)> {
    let counts: BTreeMap<String, u64> = dropped
        .iter()
        .map(|(r, n)| (r.id.name.clone(), *n))
        .collect();
    let dead_letter_of = |r: &Resource| -> Option<String> {
        r.attrs
            .get("redrive_policy")
            .and_then(|p| p.get("dead_letter_queue"))
            .and_then(Value::as_str)
            .filter(|d| counts.contains_key(*d))
            .map(str::to_string)
    };
    // dead-letter queue -> the dropped queue that sends to it
    let source_of: BTreeMap<String, String> = dropped
        .iter()
        .filter_map(|(r, _)| Some((dead_letter_of(r)?, r.id.name.clone())))
        .collect();
    let plural = |n: u64| format!("about {n} message{}", if n == 1 { "" } else { "s" });
    dropped
        .iter()
        .map(|(r, count)| {
            let name = &r.id.name;
            let holds = if *count > 0 {
                Some(format!("it still holds {}", plural(*count)))
            } else if let Some(dlq) = dead_letter_of(r).filter(|d| counts[d] > 0) {
                Some(format!(
                    "its dead-letter queue `{dlq}` still holds {} (a queue and its dead-letter queue go together)",
                    plural(counts[&dlq])
                ))
            } else {
                source_of
                    .get(name)
                    .filter(|q| counts[*q] > 0)
                    .map(|q| {
                        format!(
                            "it is the dead-letter queue of `{q}`, which still holds {} (a queue and its dead-letter queue go together)",
                            plural(counts[q])
                        )
                    })
            };
            let kept = holds.map(|why| {
                kept_dropped(
                    stage,
                    r.id.clone(),
                    &why,
                    "receive (or purge) its messages and those of its dead-letter queue",
                )
            });
            (r.clone(), kept)
        })
        .collect()
}

async fn read_queue(b: &AwsBackend, name: String, resource: &str) -> Result<QueueRead, AwsError> {
    let sqs = &b.clients.sqs;
    let Some(url) = queue_url(b, &name).await? else {
        return Ok(QueueRead::Missing);
    };
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::VisibilityTimeout)
        .attribute_names(QueueAttributeName::MessageRetentionPeriod)
        .attribute_names(QueueAttributeName::RedrivePolicy)
        .send();
    let queue_tags = sqs.list_queue_tags().queue_url(&url).send();
    let (attributes, queue_tags) = tokio::join!(attributes, queue_tags);
    // Deleted between the calls: as good as missing.
    let Some(attributes) = attributes.or_missing(NO_QUEUE, "GetQueueAttributes", &name)? else {
        return Ok(QueueRead::Missing);
    };
    let Some(queue_tags) = queue_tags.or_missing(NO_QUEUE, "ListQueueTags", &name)? else {
        return Ok(QueueRead::Missing);
    };
    let queue_tags: BTreeMap<String, String> = queue_tags
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if let Some(owner) = foreign_owner(&queue_tags, &b.app) {
        return Ok(QueueRead::Foreign(Conflict {
            id: ResourceId::new(KIND, &name),
            owner,
            help: resource_name_help("queue", resource),
        }));
    }
    let attributes = attributes.attributes().cloned().unwrap_or_default();
    let number = |a: QueueAttributeName| -> Value {
        attributes
            .get(&a)
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(Value::Null, |n| json!(n))
    };
    let mut r = Resource::new(KIND, &name);
    r.attrs = attrs(vec![
        (
            "visibility_timeout",
            number(QueueAttributeName::VisibilityTimeout),
        ),
        (
            "message_retention_period",
            number(QueueAttributeName::MessageRetentionPeriod),
        ),
        (
            "redrive_policy",
            parse_redrive_policy(attributes.get(&QueueAttributeName::RedrivePolicy)),
        ),
        ("tags", owned_tags(&queue_tags, &tags(&b.app, None))),
    ]);
    Ok(QueueRead::Found(r))
}

/// About how many messages a queue holds: visible, in flight and delayed
/// (SQS's counts are approximate, and a cheap read).
async fn messages(b: &AwsBackend, name: &str, url: &str) -> Result<u64, AwsError> {
    let out = b
        .clients
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await;
    if let Err(e) = &out {
        if has_code(e, NO_QUEUE) {
            return Ok(0);
        }
    }
    let out = out.or_api_error("GetQueueAttributes", name)?;
    Ok(out
        .attributes()
        .map(|a| a.values().filter_map(|v| v.parse::<u64>().ok()).sum())
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redrive_policy_round_trips_through_names() {
        let policy = json!({"dead_letter_queue": "shop-dev-jobs-dlq", "max_receive_count": 5});
        let text = redrive_policy("eu-west-1", "123456789012", &policy);
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            parsed["deadLetterTargetArn"],
            "arn:aws:sqs:eu-west-1:123456789012:shop-dev-jobs-dlq"
        );
        assert_eq!(parse_redrive_policy(Some(&text)), policy);
        // SQS has answered with the count as a string.
        let quoted = r#"{"deadLetterTargetArn":"arn:aws:sqs:r:1:q-dlq","maxReceiveCount":"3"}"#;
        assert_eq!(
            parse_redrive_policy(Some(&quoted.to_string())),
            json!({"dead_letter_queue": "q-dlq", "max_receive_count": 3})
        );
        assert_eq!(redrive_policy("r", "1", &Value::Null), "");
        assert_eq!(parse_redrive_policy(None), Value::Null);
        assert_eq!(parse_redrive_policy(Some(&String::new())), Value::Null);
    }

    #[test]
    fn a_dropped_queue_and_its_dead_letter_queue_are_kept_together_while_either_holds_messages() {
        let queue = |name: &str, dlq: Option<&str>| {
            let mut r = Resource::new(KIND, name);
            r.attrs = attrs(vec![(
                "redrive_policy",
                dlq.map_or(
                    Value::Null,
                    |d| json!({"dead_letter_queue": d, "max_receive_count": 3}),
                ),
            )]);
            r
        };
        let dropped = vec![
            // A queue without messages whose dead-letter queue holds two.
            (queue("a-dev-jobs", Some("a-dev-jobs-dlq")), 0),
            (queue("a-dev-jobs-dlq", None), 2),
            // An empty queue with an empty dead-letter queue.
            (queue("a-dev-mail", Some("a-dev-mail-dlq")), 0),
            (queue("a-dev-mail-dlq", None), 0),
            // A queue with a message whose dead-letter queue is empty.
            (queue("a-dev-tasks", Some("a-dev-tasks-dlq")), 1),
            (queue("a-dev-tasks-dlq", None), 0),
        ];
        let kept: Vec<(String, String)> = keep_dropped("dev", dropped)
            .into_iter()
            .filter_map(|(r, k)| Some((r.id.name, k?.reason)))
            .collect();
        let names: Vec<&str> = kept.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "a-dev-jobs",
                "a-dev-jobs-dlq",
                "a-dev-tasks",
                "a-dev-tasks-dlq"
            ]
        );
        assert!(
            kept[0]
                .1
                .contains("dead-letter queue `a-dev-jobs-dlq` still holds about 2 messages"),
            "{}",
            kept[0].1
        );
        assert!(
            kept[1].1.contains("still holds about 2 messages"),
            "{}",
            kept[1].1
        );
        assert!(
            kept[2].1.contains("still holds about 1 message,"),
            "{}",
            kept[2].1
        );
        assert!(
            kept[3].1.contains("the dead-letter queue of `a-dev-tasks`"),
            "{}",
            kept[3].1
        );
    }

    #[test]
    fn arns() {
        assert_eq!(
            queue_arn("us-east-1", "1", "shop-dev-jobs"),
            "arn:aws:sqs:us-east-1:1:shop-dev-jobs"
        );
    }
}
