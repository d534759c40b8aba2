//! Issue 16, a resource leaves the manifest: the queue, table and bucket of
//! a `[resources.NAME]` the user deletes from `fnctl.toml` are found by
//! fnctl's ownership tags, not by the manifest, so they are not orphaned.
//! `plan` and `deploy` delete the empty ones (a queue with its dead-letter
//! queue) and keep, and report, one that still holds data (a table with an
//! item; a queue whose dead-letter queue holds a message, kept with it);
//! `remove` keeps what holds data too and `remove --delete-data` deletes it. What another app owns
//! under the same resource names, what someone made by hand under a name
//! fnctl would derive, and the bucket a storage trigger created
//! (`create = true`, whose life is its trigger's) are never touched.

use std::path::Path;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use serde_json::Value;

use crate::common::{block_on, python_project, run_with, MotoClients};
use crate::faults::fnctl_json_at;
use crate::moto::Moto;

/// App `NAME` with two queues (each with its dead-letter queue), a table
/// and a bucket, and a function whose storage trigger creates a bucket named
/// like a resource's would be (`drop-dev-inbox`).
fn full(name: &str) -> String {
    format!(
        r#"[app]
name = "{name}"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"

[resources.jobs]
kind = "queue"
dead_letter = {{ after = 3 }}

[resources.mail]
kind = "queue"
dead_letter = {{ after = 2 }}

[resources.orders]
kind = "table"
partition_key = "pk"

[resources.uploads]
kind = "bucket"
{}"#,
        function(true)
    )
}

/// The function of every manifest here, with or without its trigger.
fn function(trigger: bool) -> String {
    let mut f =
        String::from("\n[functions.ingest]\nhandler = \"app.handler\"\ninclude = [\"app.py\"]\n");
    if trigger {
        f.push_str(
            "\n[[functions.ingest.triggers]]\ntype = \"storage\"\nbucket = \"${app}-${stage}-inbox\"\nevents = [\"created\"]\ncreate = true\n",
        );
    }
    f
}

/// App `drop` without its resources.
fn dropped(trigger: bool) -> String {
    format!(
        "[app]\nname = \"drop\"\nruntime = \"python3.12\"\n\n[providers.aws]\nregion = \"us-east-1\"\n{}",
        function(trigger)
    )
}

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

/// `ACTION KIND.NAME` of every change that is not a no-op, sorted.
fn changes(changes: &Value) -> Vec<String> {
    let mut out: Vec<String> = changes
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "noop")
        .map(|c| {
            format!(
                "{} {}.{}",
                c["action"].as_str().unwrap(),
                c["id"]["kind"].as_str().unwrap(),
                c["id"]["name"].as_str().unwrap()
            )
        })
        .collect();
    out.sort();
    out
}

/// `KIND.NAME` of what a document's `kept` lists, sorted.
fn kept(kept: &Value) -> Vec<String> {
    let mut out: Vec<String> = kept
        .as_array()
        .unwrap_or_else(|| panic!("no kept list: {kept:#}"))
        .iter()
        .map(|k| {
            format!(
                "{}.{}",
                k["id"]["kind"].as_str().unwrap(),
                k["id"]["name"].as_str().unwrap()
            )
        })
        .collect();
    out.sort();
    out
}

/// Which of these queues, tables and buckets exist, as `kind name`.
fn existing(c: &Clients, queues: &[&str], tables: &[&str], buckets: &[&str]) -> Vec<String> {
    block_on(async {
        let mut out = Vec::new();
        for q in queues {
            if c.sqs.get_queue_url().queue_name(*q).send().await.is_ok() {
                out.push(format!("queue {q}"));
            }
        }
        for t in tables {
            if c.ddb.describe_table().table_name(*t).send().await.is_ok() {
                out.push(format!("table {t}"));
            }
        }
        for b in buckets {
            if c.other.bucket_exists(b).await {
                out.push(format!("bucket {b}"));
            }
        }
        out
    })
}

/// Everything app `other` deployed and what was made by hand: none of it
/// may ever be touched by app `drop`.
fn bystanders(c: &Clients) -> Vec<String> {
    existing(
        c,
        &[
            "other-dev-jobs",
            "other-dev-jobs-dlq",
            "other-dev-mail",
            "other-dev-mail-dlq",
            "drop-dev-extra",
        ],
        &["other-dev-orders", "drop-dev-ledger"],
        &["other-dev-uploads", "other-dev-inbox", "drop-dev-spare"],
    )
}

fn all_bystanders() -> Vec<String> {
    [
        "queue other-dev-jobs",
        "queue other-dev-jobs-dlq",
        "queue other-dev-mail",
        "queue other-dev-mail-dlq",
        "queue drop-dev-extra",
        "table other-dev-orders",
        "table drop-dev-ledger",
        "bucket other-dev-uploads",
        "bucket other-dev-inbox",
        "bucket drop-dev-spare",
    ]
    .map(String::from)
    .to_vec()
}

/// Resources named as app `drop` would name its own, made by hand without
/// any tag.
fn make_by_hand(c: &Clients) {
    block_on(async {
        c.sqs
            .create_queue()
            .queue_name("drop-dev-extra")
            .send()
            .await
            .unwrap();
        c.ddb
            .create_table()
            .table_name("drop-dev-ledger")
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        c.other
            .s3
            .create_bucket()
            .bucket("drop-dev-spare")
            .send()
            .await
            .unwrap();
    });
}

#[test]
fn resources_dropped_from_the_manifest_are_deleted_unless_they_hold_data() {
    let moto = Moto::start();
    let c = clients(&moto);
    let (_other_dir, other) = python_project(&full("other"));
    deploy(&moto, &other);
    make_by_hand(&c);
    let (_dir, manifest) = python_project(&full("drop"));
    deploy(&moto, &manifest);
    let ours = |c: &Clients| {
        existing(
            c,
            &[
                "drop-dev-jobs",
                "drop-dev-jobs-dlq",
                "drop-dev-mail",
                "drop-dev-mail-dlq",
            ],
            &["drop-dev-orders"],
            &["drop-dev-uploads", "drop-dev-inbox"],
        )
    };
    assert_eq!(
        ours(&c),
        [
            "queue drop-dev-jobs",
            "queue drop-dev-jobs-dlq",
            "queue drop-dev-mail",
            "queue drop-dev-mail-dlq",
            "table drop-dev-orders",
            "bucket drop-dev-uploads",
            "bucket drop-dev-inbox",
        ],
        "deployed"
    );
    assert_eq!(bystanders(&c), all_bystanders());
    block_on(async {
        c.ddb
            .put_item()
            .table_name("drop-dev-orders")
            .item("pk", AttributeValue::S("order-1".into()))
            .send()
            .await
            .unwrap();
        // A message that failed its receives, in the dead-letter queue.
        let url = c
            .sqs
            .get_queue_url()
            .queue_name("drop-dev-mail-dlq")
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string();
        c.sqs
            .send_message()
            .queue_url(url)
            .message_body("undeliverable")
            .send()
            .await
            .unwrap();
    });
    let kept_on_deploy = [
        "dynamodb_table.drop-dev-orders",
        "sqs_queue.drop-dev-mail",
        "sqs_queue.drop-dev-mail-dlq",
    ];
    let still_there = [
        "queue drop-dev-mail",
        "queue drop-dev-mail-dlq",
        "table drop-dev-orders",
        "bucket drop-dev-inbox",
    ];

    // All three resources leave the manifest.
    std::fs::write(&manifest, dropped(true)).unwrap();
    let deleted = [
        "delete s3_bucket.drop-dev-uploads",
        "delete sqs_queue.drop-dev-jobs",
        "delete sqs_queue.drop-dev-jobs-dlq",
    ];
    let (code, doc, stderr) = fnctl(&moto, &manifest, &["plan"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let plan = &doc["plans"][0];
    assert_eq!(changes(&plan["changes"]), deleted, "{doc:#}");
    assert_eq!(kept(&plan["kept"]), kept_on_deploy, "{doc:#}");
    let table = plan["kept"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"]["kind"] == "dynamodb_table")
        .unwrap();
    let reason = table["reason"].as_str().unwrap();
    assert!(
        reason.contains("no longer in fnctl.toml") && reason.contains("holds items"),
        "{reason}"
    );
    let command = table["command"].as_str().unwrap();
    assert!(
        command.contains("fnctl remove --delete-data --stage dev")
            && command.contains("delete its items")
            && command.contains("deploy again"),
        "{command}"
    );
    let (code, text, stderr) = run_with(&manifest, &moto.env(), &["plan"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        text.contains("kept dynamodb_table drop-dev-orders: it is no longer in fnctl.toml")
            && text.contains(
                "kept sqs_queue drop-dev-mail: it is no longer in fnctl.toml, but its dead-letter queue `drop-dev-mail-dlq` still holds about 1 message"
            )
            && text.contains("--delete-data"),
        "{text}"
    );

    let doc = deploy(&moto, &manifest);
    let report = &doc["deployments"][0];
    assert_eq!(changes(&report["changes"]), deleted, "{doc:#}");
    assert_eq!(kept(&report["kept"]), kept_on_deploy, "{doc:#}");
    assert_eq!(
        ours(&c),
        still_there,
        "the empty queue, its dead-letter queue and the empty bucket are deleted"
    );
    assert_eq!(bystanders(&c), all_bystanders());

    // Converged: the next deploy changes nothing and says again what it
    // keeps, in words.
    let (code, text, stderr) = run_with(&manifest, &moto.env(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        text.contains("no changes")
            && text.contains("kept dynamodb_table drop-dev-orders: it is no longer in fnctl.toml"),
        "{text}"
    );

    // The bucket a trigger created carries no resource mark: when its
    // trigger goes, the bucket stays (only its notification goes).
    std::fs::write(&manifest, dropped(false)).unwrap();
    let doc = deploy(&moto, &manifest);
    let gone = changes(&doc["deployments"][0]["changes"]);
    assert!(
        !gone.iter().any(|c| c.contains("s3_bucket")),
        "{gone:?}\n{doc:#}"
    );
    assert_eq!(ours(&c), still_there);

    // remove keeps what holds data (by remove's own rule, each queue on its
    // own); --delete-data deletes it.
    let (code, doc, stderr) = fnctl(&moto, &manifest, &["remove"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(
        kept(&doc["removals"][0]["kept"]),
        [
            "dynamodb_table.drop-dev-orders",
            "sqs_queue.drop-dev-mail-dlq"
        ],
        "{doc:#}"
    );
    assert_eq!(
        ours(&c),
        [
            "queue drop-dev-mail-dlq",
            "table drop-dev-orders",
            "bucket drop-dev-inbox"
        ]
    );
    let (code, doc, stderr) = fnctl(&moto, &manifest, &["remove", "--delete-data"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(kept(&doc["removals"][0]["kept"]), Vec::<String>::new());
    assert_eq!(ours(&c), ["bucket drop-dev-inbox"]);
    assert_eq!(bystanders(&c), all_bystanders());
}
