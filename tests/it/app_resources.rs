//! Issue 16 on AWS, the resources themselves: `[resources.NAME]` buckets,
//! queues (with a dead-letter queue) and tables deploy with the attributes
//! and tags the manifest gives, read back by direct SDK calls; an unchanged
//! redeploy makes no mutating call; a changed visibility timeout updates
//! only that; a changed table key is refused before any change; a name held
//! by something that is not fnctl's is a conflict; `remove` keeps a queue
//! with messages and a table with items, and `--delete-data` removes them.

use std::collections::HashMap;
use std::path::Path;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;

use crate::common::{block_on, python_project, MotoClients};
use crate::faults::fnctl_json_at;
use crate::moto::Moto;

const APP: &str = r#"[app]
name = "res"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"

[resources.uploads]
kind = "bucket"

[resources.jobs]
kind = "queue"
visibility_timeout = 120
retention = 86400
dead_letter = { after = 5 }

[resources.orders]
kind = "table"
partition_key = "pk"
sort_key = { name = "created", type = "number" }

[functions.thumbs]
handler = "app.handler"
# The manifest changes between deploys; the code must not.
include = ["app.py"]

[[functions.thumbs.triggers]]
type = "storage"
bucket = "uploads"
prefix = "images/"
"#;

const BUCKET: &str = "res-dev-uploads";
const QUEUE: &str = "res-dev-jobs";
const DLQ: &str = "res-dev-jobs-dlq";
const TABLE: &str = "res-dev-orders";

struct Clients {
    sqs: aws_sdk_sqs::Client,
    ddb: aws_sdk_dynamodb::Client,
    other: MotoClients,
}

fn clients(moto: &Moto) -> Clients {
    block_on(async {
        let conf = moto.sdk_config().await;
        Clients {
            sqs: aws_sdk_sqs::Client::new(&conf),
            ddb: aws_sdk_dynamodb::Client::new(&conf),
            other: MotoClients::new(moto, "us-east-1").await,
        }
    })
}

fn fnctl(moto: &Moto, manifest: &Path, args: &[&str]) -> (i32, Value, String) {
    fnctl_json_at(moto, &moto.endpoint, manifest, args)
}

fn deploy(moto: &Moto, manifest: &Path) -> Value {
    let (code, doc, stderr) = fnctl(moto, manifest, &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    doc
}

fn fnctl_tags() -> Vec<String> {
    vec![
        "fnctl:app=res".to_string(),
        "fnctl:stage=dev".to_string(),
        "managed-by=fnctl".to_string(),
    ]
}

fn sorted(map: HashMap<String, String>) -> Vec<String> {
    let mut v: Vec<String> = map.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    v.sort();
    v
}

async fn queue_url(c: &Clients, name: &str) -> Option<String> {
    c.sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .ok()
        .and_then(|o| o.queue_url().map(str::to_string))
}

async fn queue_attributes(c: &Clients, name: &str) -> HashMap<QueueAttributeName, String> {
    let url = queue_url(c, name).await.expect("queue exists");
    c.sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes()
        .cloned()
        .unwrap_or_default()
}

async fn queue_tags(c: &Clients, name: &str) -> Vec<String> {
    let url = queue_url(c, name).await.expect("queue exists");
    let out = c.sqs.list_queue_tags().queue_url(url).send().await.unwrap();
    sorted(out.tags().cloned().unwrap_or_default())
}

async fn table_exists(c: &Clients, name: &str) -> bool {
    c.ddb.describe_table().table_name(name).send().await.is_ok()
}

/// `name TYPE KEYTYPE` of each key attribute, partition key first.
async fn table_key(c: &Clients, name: &str) -> Vec<String> {
    let out = c
        .ddb
        .describe_table()
        .table_name(name)
        .send()
        .await
        .unwrap();
    let t = out.table().unwrap();
    t.key_schema()
        .iter()
        .map(|k| {
            let kind = t
                .attribute_definitions()
                .iter()
                .find(|d| d.attribute_name() == k.attribute_name())
                .map(|d| d.attribute_type().as_str().to_string())
                .unwrap_or_default();
            format!("{} {kind} {}", k.attribute_name(), k.key_type().as_str())
        })
        .collect()
}

fn with_changed(manifest: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(manifest).unwrap();
    assert!(text.contains(from), "{from}");
    std::fs::write(manifest, text.replace(from, to)).unwrap();
}

fn change_list(doc: &Value) -> Vec<String> {
    doc["deployments"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "noop")
        .map(|c| {
            format!(
                "{} {}.{} {}",
                c["action"].as_str().unwrap(),
                c["id"]["kind"].as_str().unwrap(),
                c["id"]["name"].as_str().unwrap(),
                c["changed"]
            )
        })
        .collect()
}

#[test]
fn resources_deploy_with_their_attributes_and_tags_and_only_changes_are_applied() {
    let moto = Moto::start();
    let c = clients(&moto);
    let (_dir, manifest) = python_project(APP);
    deploy(&moto, &manifest);

    block_on(async {
        // The bucket, tagged, with the trigger's notification in it.
        assert!(c.other.bucket_exists(BUCKET).await);
        // The bucket of a resource carries its name too (what `read`
        // finds it by once the manifest no longer names it).
        let mut tags = fnctl_tags();
        tags.insert(1, "fnctl:resource=uploads".to_string());
        assert_eq!(c.other.bucket_tags(BUCKET).await, tags);
        assert_eq!(c.other.notification_ids(BUCKET).await.len(), 1);

        // The queue: its settings and a redrive policy to its dead-letter queue.
        let q = queue_attributes(&c, QUEUE).await;
        assert_eq!(q[&QueueAttributeName::VisibilityTimeout], "120");
        assert_eq!(q[&QueueAttributeName::MessageRetentionPeriod], "86400");
        let redrive: Value = serde_json::from_str(&q[&QueueAttributeName::RedrivePolicy]).unwrap();
        assert_eq!(
            redrive["deadLetterTargetArn"],
            format!("arn:aws:sqs:us-east-1:123456789012:{DLQ}")
        );
        assert_eq!(
            redrive["maxReceiveCount"].to_string().trim_matches('"'),
            "5"
        );
        assert_eq!(queue_tags(&c, QUEUE).await, fnctl_tags());
        // The dead-letter queue keeps failed messages for the longest SQS allows.
        let dlq = queue_attributes(&c, DLQ).await;
        assert_eq!(dlq[&QueueAttributeName::MessageRetentionPeriod], "1209600");
        assert!(!dlq.contains_key(&QueueAttributeName::RedrivePolicy));
        assert_eq!(queue_tags(&c, DLQ).await, fnctl_tags());

        // The table: its key, on-demand billing, tags.
        assert_eq!(
            table_key(&c, TABLE).await,
            vec!["pk S HASH", "created N RANGE"]
        );
        let t = c
            .ddb
            .describe_table()
            .table_name(TABLE)
            .send()
            .await
            .unwrap();
        let t = t.table().unwrap();
        assert_eq!(
            t.billing_mode_summary()
                .and_then(|b| b.billing_mode())
                .map(|m| m.as_str()),
            Some("PAY_PER_REQUEST")
        );
        let tags = c
            .ddb
            .list_tags_of_resource()
            .resource_arn(t.table_arn().unwrap())
            .send()
            .await
            .unwrap();
        let mut tags: Vec<String> = tags
            .tags()
            .iter()
            .map(|t| format!("{}={}", t.key(), t.value()))
            .collect();
        tags.sort();
        assert_eq!(tags, fnctl_tags());
    });

    // Unchanged: nothing to do, no mutating call.
    let doc = deploy(&moto, &manifest);
    assert_eq!(change_list(&doc), Vec::<String>::new(), "{doc:#}");
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");

    // A new visibility timeout: that attribute of that queue, one call.
    with_changed(
        &manifest,
        "visibility_timeout = 120",
        "visibility_timeout = 300",
    );
    let doc = deploy(&moto, &manifest);
    assert_eq!(
        change_list(&doc),
        vec![format!(
            r#"update sqs_queue.{QUEUE} ["visibility_timeout"]"#
        )],
        "{doc:#}"
    );
    assert_eq!(doc["deployments"][0]["mutating_calls"], 1, "{doc:#}");
    block_on(async {
        let q = queue_attributes(&c, QUEUE).await;
        assert_eq!(q[&QueueAttributeName::VisibilityTimeout], "300");
        assert_eq!(q[&QueueAttributeName::MessageRetentionPeriod], "86400");
        assert!(q.contains_key(&QueueAttributeName::RedrivePolicy));
    });
}

#[test]
fn a_changed_table_key_is_refused_before_any_change() {
    let moto = Moto::start();
    let c = clients(&moto);
    let (_dir, manifest) = python_project(APP);
    deploy(&moto, &manifest);

    // The key changes, and so does a queue setting that alone would deploy.
    with_changed(
        &manifest,
        r#"partition_key = "pk""#,
        r#"partition_key = "id""#,
    );
    with_changed(
        &manifest,
        "visibility_timeout = 120",
        "visibility_timeout = 300",
    );
    for args in [&["plan"][..], &["deploy"][..]] {
        let (code, doc, stderr) = fnctl(&moto, &manifest, args);
        assert_eq!(code, 1, "{args:?}: {stderr}\n{doc:#}");
        let text = format!("{stderr}{doc}");
        for words in [
            "[resources.orders]",
            "`pk` (S)",
            "`id` (S)",
            "new resource name",
            "fnctl remove --delete-data --stage dev",
        ] {
            assert!(text.contains(words), "{args:?} lacks {words:?}: {text}");
        }
    }
    block_on(async {
        assert_eq!(
            table_key(&c, TABLE).await,
            vec!["pk S HASH", "created N RANGE"]
        );
        let q = queue_attributes(&c, QUEUE).await;
        assert_eq!(
            q[&QueueAttributeName::VisibilityTimeout],
            "120",
            "nothing was changed"
        );
    });
}

#[test]
fn a_resource_name_held_by_something_not_fnctls_is_a_conflict() {
    let moto = Moto::start();
    let c = clients(&moto);
    block_on(async {
        c.sqs.create_queue().queue_name(QUEUE).send().await.unwrap();
        c.ddb
            .create_table()
            .table_name(TABLE)
            .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
            .attribute_definitions(
                aws_sdk_dynamodb::types::AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                aws_sdk_dynamodb::types::KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .tags(
                aws_sdk_dynamodb::types::Tag::builder()
                    .key("team")
                    .value("billing")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    });
    let (_dir, manifest) = python_project(APP);
    for args in [&["plan"][..], &["deploy"][..]] {
        let (code, doc, stderr) = fnctl(&moto, &manifest, args);
        assert_eq!(code, 1, "{args:?}: {stderr}\n{doc:#}");
        let text = format!("{stderr}{doc}");
        for words in [
            &format!("sqs_queue `{QUEUE}`"),
            "it carries no tags",
            &format!("dynamodb_table `{TABLE}`"),
            "team=billing",
            "fnctl names the queue of [resources.jobs]",
            "fnctl names the table of [resources.orders]",
        ] {
            assert!(text.contains(words), "{args:?} lacks {words:?}: {text}");
        }
    }
    block_on(async {
        // Nothing was created, nothing of theirs was changed.
        assert!(queue_url(&c, DLQ).await.is_none());
        assert!(!c.other.bucket_exists(BUCKET).await);
        assert_eq!(queue_tags(&c, QUEUE).await, Vec::<String>::new());
        assert_eq!(table_key(&c, TABLE).await, vec!["pk S HASH"]);
    });
}

#[test]
fn remove_keeps_a_queue_with_messages_and_a_table_with_items_until_delete_data() {
    let moto = Moto::start();
    let c = clients(&moto);
    let (_dir, manifest) = python_project(APP);
    deploy(&moto, &manifest);
    block_on(async {
        let url = queue_url(&c, QUEUE).await.unwrap();
        c.sqs
            .send_message()
            .queue_url(url)
            .message_body("resize images/cat.png")
            .send()
            .await
            .unwrap();
        c.ddb
            .put_item()
            .table_name(TABLE)
            .item("pk", AttributeValue::S("order-1".into()))
            .item("created", AttributeValue::N("1700000000".into()))
            .send()
            .await
            .unwrap();
    });

    let (code, doc, stderr) = fnctl(&moto, &manifest, &["remove"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let mut kept: Vec<String> = doc["removals"][0]["kept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            assert!(
                k["command"]
                    .as_str()
                    .unwrap()
                    .contains("fnctl remove --delete-data"),
                "{k:#}"
            );
            format!(
                "{}.{}",
                k["id"]["kind"].as_str().unwrap(),
                k["id"]["name"].as_str().unwrap()
            )
        })
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        vec![
            format!("dynamodb_table.{TABLE}"),
            format!("sqs_queue.{QUEUE}")
        ],
        "{doc:#}"
    );
    block_on(async {
        // Kept with their data; the empty ones are gone.
        let q = queue_attributes(&c, QUEUE).await;
        assert_eq!(q[&QueueAttributeName::ApproximateNumberOfMessages], "1");
        let items = c.ddb.scan().table_name(TABLE).send().await.unwrap();
        assert_eq!(items.count(), 1);
        assert!(queue_url(&c, DLQ).await.is_none(), "the empty DLQ is gone");
        assert!(
            !c.other.bucket_exists(BUCKET).await,
            "the empty bucket is gone"
        );
        assert!(c.other.functions("res-dev-").await.is_empty());
    });

    let (code, doc, stderr) = fnctl(&moto, &manifest, &["remove", "--delete-data"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["removals"][0]["kept"], serde_json::json!([]), "{doc:#}");
    block_on(async {
        assert!(queue_url(&c, QUEUE).await.is_none(), "the queue is gone");
        assert!(!table_exists(&c, TABLE).await, "the table is gone");
    });
}
