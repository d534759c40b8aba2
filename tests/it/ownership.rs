//! Ownership is explicit and checked (issue 13, cases 1–3): fnctl never
//! takes over a bucket it did not create, stages never share the buckets
//! fnctl creates, a bucket one trigger creates satisfies another trigger
//! that names it, and a bucket a killed deploy left without its tags is
//! still recognised — through the deploy lock, not by guessing.
//!
//! Everything runs the real binary against moto and checks the cloud with
//! direct SDK calls (or raw S3 reads), never through fnctl's own read.

use std::path::Path;

use fnctl::provider::lock::{now_unix, LockHolder};
use serde_json::Value;

use crate::common::{block_on, copy_tree, example, python_project, run_with, MotoClients};
use crate::faults::fnctl_json_at;
use crate::moto::Moto;

fn fnctl_json(moto: &Moto, manifest: &Path, args: &[&str]) -> (i32, Value, String) {
    fnctl_json_at(moto, &moto.endpoint, manifest, args)
}

fn clients(moto: &Moto) -> MotoClients {
    block_on(MotoClients::new(moto, "us-east-1"))
}

/// An app whose only function is triggered by `bucket`, which it creates.
fn created_bucket_app(app: &str, bucket: &str) -> String {
    format!(
        r#"[app]
name = "{app}"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"

[functions.ingest]
handler = "app.handler"

[[functions.ingest.triggers]]
type = "storage"
bucket = "{bucket}"
events = ["created"]
create = true
"#
    )
}

/// What S3 answers for the bucket's tags, notification configuration and
/// object listing, as raw bytes (unsigned path-style GETs, which moto serves
/// for a bucket's subresources), and one object as the SDK reads it: its
/// bytes, ETag, Last-Modified, content type and metadata.
fn raw_bucket(moto: &Moto, bucket: &str, key: &str) -> Vec<(String, u16, Vec<u8>)> {
    block_on(async {
        let http = reqwest::Client::new();
        let mut out = Vec::new();
        for query in ["?tagging", "?notification", "?list-type=2"] {
            let url = format!("{}/{bucket}{query}", moto.endpoint);
            let r = http.get(&url).send().await.unwrap();
            let status = r.status().as_u16();
            out.push((query.to_string(), status, r.bytes().await.unwrap().to_vec()));
        }
        let c = MotoClients::new(moto, "us-east-1").await;
        let got =
            c.s3.get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .unwrap();
        let head = format!(
            "etag={:?} last_modified={:?} content_type={:?} metadata={:?}",
            got.e_tag(),
            got.last_modified(),
            got.content_type(),
            got.metadata()
        );
        out.push((format!("{key} head"), 200, head.into_bytes()));
        let body = got.body.collect().await.unwrap().into_bytes().to_vec();
        out.push((key.to_string(), 200, body));
        out
    })
}

/// Case 1: a bucket made by hand and named with `create = true` is refused
/// at plan time, a deploy creates nothing, and the bucket — its tags, its
/// own notification configuration, its objects — is left byte for byte.
#[test]
fn a_hand_made_bucket_named_with_create_true_is_refused_and_left_as_it_was() {
    let moto = Moto::start();
    let c = clients(&moto);
    let bucket = "team-data";
    let key = "reports/2024.csv";
    block_on(async {
        use aws_sdk_s3::types::{
            Event, NotificationConfiguration, QueueConfiguration, Tag, Tagging, TopicConfiguration,
        };
        c.s3.create_bucket().bucket(bucket).send().await.unwrap();
        c.s3.put_bucket_tagging()
            .bucket(bucket)
            .tagging(
                Tagging::builder()
                    .tag_set(Tag::builder().key("team").value("data").build().unwrap())
                    .tag_set(
                        Tag::builder()
                            .key("cost-center")
                            .value("42")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let queue = QueueConfiguration::builder()
            .id("team-queue")
            .queue_arn("arn:aws:sqs:us-east-1:123456789012:team-events")
            .events(Event::S3ObjectCreated)
            .build()
            .unwrap();
        let topic = TopicConfiguration::builder()
            .id("team-topic")
            .topic_arn("arn:aws:sns:us-east-1:123456789012:team-deletions")
            .events(Event::S3ObjectRemoved)
            .build()
            .unwrap();
        c.s3.put_bucket_notification_configuration()
            .bucket(bucket)
            .notification_configuration(
                NotificationConfiguration::builder()
                    .queue_configurations(queue)
                    .topic_configurations(topic)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        c.s3.put_object()
            .bucket(bucket)
            .key(key)
            .content_type("text/csv")
            .body(b"year,total\n2024,17\n".to_vec().into())
            .send()
            .await
            .unwrap();
    });
    let before = raw_bucket(&moto, bucket, key);
    // The snapshot holds what it should (so "unchanged" means something).
    let text = |what: &str| {
        let (_, status, body) = before.iter().find(|(q, _, _)| q == what).unwrap();
        assert_eq!(*status, 200, "{what}");
        String::from_utf8_lossy(body).into_owned()
    };
    assert!(text("?tagging").contains("<Key>team</Key>"));
    assert!(text("?notification").contains("team-queue"));
    assert!(text("?notification").contains("team-topic"));
    assert!(text("?list-type=2").contains(key));
    assert_eq!(text(key), "year,total\n2024,17\n");

    let (_dir, manifest) = python_project(&created_bucket_app("owned", bucket));

    // plan: refused, naming the bucket, its owner (its tags) and the ways out.
    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["plan"]);
    assert_eq!(code, 1, "{stderr}\n{doc:#}");
    assert_eq!(doc["error"]["kind"], "conflict", "{doc:#}");
    let conflict = &doc["plans"][0]["conflicts"][0];
    assert_eq!(conflict["id"]["name"], bucket, "{doc:#}");
    assert_eq!(conflict["id"]["kind"], "s3_bucket", "{doc:#}");
    assert!(
        conflict["owner"].as_str().unwrap().contains("team=data"),
        "the owner is told by its tags: {conflict:#}"
    );
    let help = doc["error"]["help"].as_str().unwrap();
    assert!(
        help.contains("create = false") && help.contains("${stage}"),
        "both ways out: {help}"
    );
    // The human plan says the same.
    let (code, stdout, stderr) = run_with(&manifest, &moto.env(), &["plan"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("Cannot be applied"), "{stdout}");
    assert!(stderr.contains("s3_bucket `team-data`"), "{stderr}");

    // deploy: nothing is created, the bucket is untouched.
    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["deploy"]);
    assert_eq!(code, 1, "{stderr}\n{doc:#}");
    assert_eq!(doc["error"]["kind"], "conflict", "{doc:#}");
    assert_eq!(doc["deployments"][0]["status"], "failed", "{doc:#}");
    block_on(async {
        assert_eq!(c.functions("owned-").await, Vec::<String>::new());
        assert!(
            !c.role_exists("owned-dev-ingest-role").await,
            "no role either"
        );
        assert!(!c.parameter_exists("/fnctl/owned/dev/lock").await);
    });
    assert_eq!(
        raw_bucket(&moto, bucket, key),
        before,
        "not one byte changed"
    );

    // remove: nothing of the app's, and the bucket is never deleted.
    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["remove"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(
        raw_bucket(&moto, bucket, key),
        before,
        "not one byte changed"
    );
}

/// Case 2: with `${stage}` in the bucket name, dev and prod deploy side by
/// side, and removing prod leaves every part of dev in place.
#[test]
fn stages_deploy_side_by_side_and_removing_one_leaves_the_other_intact() {
    let moto = Moto::start();
    let c = clients(&moto);
    let manifest_text = r#"[app]
name = "pics"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"

[functions.resize]
handler = "app.handler"

[[functions.resize.triggers]]
type = "storage"
bucket = "${app}-${stage}-uploads"
events = ["created"]
create = true

[functions.cleanup]
handler = "app.handler"

[[functions.cleanup.triggers]]
type = "storage"
bucket = "${app}-${stage}-uploads"
events = ["deleted"]
"#;
    let (_dir, manifest) = python_project(manifest_text);
    for stage in ["dev", "prod"] {
        let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["deploy", "--stage", stage]);
        assert_eq!(code, 0, "{stage}: {stderr}\n{doc:#}");
        assert_eq!(doc["deployments"][0]["status"], "applied");
    }
    let dev_state = || {
        block_on(async {
            let mut state = vec![format!("functions {:?}", c.functions("pics-dev-").await)];
            for f in ["pics-dev-resize", "pics-dev-cleanup"] {
                let alias = c
                    .lambda
                    .get_alias()
                    .function_name(f)
                    .name("dev")
                    .send()
                    .await
                    .map(|a| a.function_version().unwrap_or_default().to_string())
                    .unwrap_or_else(|_| "missing".into());
                state.push(format!("alias {f}:dev -> {alias}"));
            }
            for role in ["pics-dev-resize-role", "pics-dev-cleanup-role"] {
                state.push(format!("role {}", c.role_exists(role).await));
            }
            state.push(format!(
                "bucket {}",
                c.bucket_exists("pics-dev-uploads").await
            ));
            state.push(format!(
                "tags {:?}",
                c.bucket_tags("pics-dev-uploads").await
            ));
            state.push(format!(
                "notifications {:?}",
                c.notification_ids("pics-dev-uploads").await
            ));
            state
        })
    };
    let dev_before = dev_state();
    assert_eq!(
        dev_before,
        vec![
            r#"functions ["pics-dev-cleanup", "pics-dev-resize"]"#.to_string(),
            "alias pics-dev-resize:dev -> 1".into(),
            "alias pics-dev-cleanup:dev -> 1".into(),
            "role true".into(),
            "role true".into(),
            "bucket true".into(),
            r#"tags ["fnctl:app=pics", "fnctl:stage=dev", "managed-by=fnctl"]"#.into(),
            r#"notifications ["fnctl-pics-dev-cleanup-n0", "fnctl-pics-dev-resize-n0"]"#.into(),
        ]
    );
    block_on(async {
        assert_eq!(
            c.bucket_tags("pics-prod-uploads").await,
            vec!["fnctl:app=pics", "fnctl:stage=prod", "managed-by=fnctl"],
            "prod has a bucket of its own"
        );
        assert_eq!(
            c.functions("pics-prod-").await,
            vec!["pics-prod-cleanup", "pics-prod-resize"]
        );
    });

    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["remove", "--stage", "prod"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    block_on(async {
        assert_eq!(c.functions("pics-prod-").await, Vec::<String>::new());
        assert!(!c.bucket_exists("pics-prod-uploads").await);
        assert!(!c.role_exists("pics-prod-resize-role").await);
        assert!(!c.role_exists("pics-prod-cleanup-role").await);
    });
    assert_eq!(dev_state(), dev_before, "dev is exactly as it was");

    // And fnctl agrees: dev needs nothing.
    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["deploy", "--stage", "dev"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");
    assert_eq!(doc["deployments"][0]["summary"]["create"], 0, "{doc:#}");
}

/// Case 2, the other half: one literal bucket name for both stages. The
/// stage that comes second is refused, told which stage owns the bucket and
/// how to name buckets per stage; dev's bucket is not re-tagged.
#[test]
fn a_bucket_another_stage_created_is_refused_with_the_stage_hint() {
    let moto = Moto::start();
    let c = clients(&moto);
    let (_dir, manifest) = python_project(&created_bucket_app("shots", "shots-uploads"));
    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");

    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["plan", "--stage", "prod"]);
    assert_eq!(code, 1, "{stderr}\n{doc:#}");
    assert_eq!(doc["error"]["kind"], "conflict", "{doc:#}");
    let conflict = &doc["plans"][0]["conflicts"][0];
    assert_eq!(conflict["id"]["name"], "shots-uploads", "{doc:#}");
    let owner = conflict["owner"].as_str().unwrap();
    assert!(owner.contains("stage `dev`"), "{owner}");
    assert!(
        conflict["help"].as_str().unwrap().contains("${stage}"),
        "{conflict:#}"
    );
    assert!(
        doc["error"]["help"].as_str().unwrap().contains("${stage}"),
        "{doc:#}"
    );

    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["deploy", "--stage", "prod"]);
    assert_eq!(code, 1, "{stderr}\n{doc:#}");
    block_on(async {
        assert_eq!(c.functions("shots-prod-").await, Vec::<String>::new());
        assert_eq!(
            c.bucket_tags("shots-uploads").await,
            vec!["fnctl:app=shots", "fnctl:stage=dev", "managed-by=fnctl"],
            "still dev's"
        );
        assert_eq!(
            c.notification_ids("shots-uploads").await,
            vec!["fnctl-shots-dev-ingest-n0"]
        );
    });
}

/// Case 3: the bundled storage-processor example deploys on a fresh
/// account — its `cleanup` trigger names the bucket its `resize` trigger
/// creates — and removes.
#[test]
fn the_storage_processor_example_deploys_on_a_fresh_account_and_removes() {
    let moto = Moto::start();
    let c = clients(&moto);
    let dir = tempfile::tempdir().unwrap();
    copy_tree(example("storage-processor").parent().unwrap(), dir.path());
    let manifest = dir.path().join("fnctl.toml");

    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true, "{doc:#}");
    block_on(async {
        assert_eq!(
            c.functions("thumbs-dev-").await,
            vec!["thumbs-dev-cleanup", "thumbs-dev-resize"]
        );
        assert_eq!(
            c.notification_ids("thumbs-dev-uploads").await,
            vec!["fnctl-thumbs-dev-cleanup-n0", "fnctl-thumbs-dev-resize-n0"]
        );
    });

    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["remove"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    block_on(async {
        assert_eq!(c.functions("thumbs-dev-").await, Vec::<String>::new());
        assert!(!c.bucket_exists("thumbs-dev-uploads").await);
    });
}

/// The lock a deploy killed between CreateBucket and PutBucketTagging
/// leaves behind: expired, naming the buckets it was creating.
fn killed_deploys_lock(creating: &[&str]) -> LockHolder {
    LockHolder {
        id: "0123456789abcdef01234567".into(),
        operation: "deploy".into(),
        host: "ci-runner-7".into(),
        pid: 4242,
        acquired_unix: now_unix() - 600,
        expires_unix: now_unix() - 540,
        pidns: None,
        creating: creating.iter().map(|b| b.to_string()).collect(),
    }
}

/// A crash leftover for app `crash`, stage `stage`: the bucket with no
/// tags (and `object` in it, if given), and the killed run's lock.
fn leave_crash(c: &MotoClients, stage: &str, creating: &[&str], object: Option<&str>) -> String {
    let bucket = format!("crash-{stage}-uploads");
    block_on(async {
        c.s3.create_bucket().bucket(&bucket).send().await.unwrap();
        if let Some(key) = object {
            c.s3.put_object()
                .bucket(&bucket)
                .key(key)
                .body(b"someone's data".to_vec().into())
                .send()
                .await
                .unwrap();
        }
        c.ssm
            .put_parameter()
            .name(format!("/fnctl/crash/{stage}/lock"))
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .value(killed_deploys_lock(creating).to_json())
            .send()
            .await
            .unwrap();
    });
    bucket
}

/// A bucket left without tags by a killed deploy is fnctl's when the lock
/// that run left names it and it holds nothing; without that record, or
/// with an object in it, it is somebody's bucket and a conflict.
#[test]
fn a_bucket_a_killed_deploy_left_untagged_is_recognised_through_the_lock() {
    let moto = Moto::start();
    let c = clients(&moto);
    let (_dir, manifest) = python_project(&created_bucket_app("crash", "${app}-${stage}-uploads"));

    // Named by the killed run's lock, empty: adopted and tagged.
    let bucket = leave_crash(&c, "dev", &["crash-dev-uploads"], None);
    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    block_on(async {
        assert_eq!(
            c.bucket_tags(&bucket).await,
            vec!["fnctl:app=crash", "fnctl:stage=dev", "managed-by=fnctl"]
        );
        assert_eq!(
            c.notification_ids(&bucket).await,
            vec!["fnctl-crash-dev-ingest-n0"]
        );
        assert!(
            !c.parameter_exists("/fnctl/crash/dev/lock").await,
            "the taken-over lock is released"
        );
    });
    let (code, doc, _) = fnctl_json(&moto, &manifest, &["deploy"]);
    assert_eq!(code, 0);
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");

    // The lock does not name it: somebody's bucket.
    let not_named = leave_crash(&c, "second", &[], None);
    // Named, but it holds an object: somebody's bucket (or data) too.
    let with_data = leave_crash(&c, "third", &["crash-third-uploads"], Some("a.txt"));
    for (stage, bucket) in [("second", &not_named), ("third", &with_data)] {
        let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["deploy", "--stage", stage]);
        assert_eq!(code, 1, "{stage}: {stderr}\n{doc:#}");
        assert_eq!(doc["error"]["kind"], "conflict", "{stage}: {doc:#}");
        let message = doc["error"]["message"].as_str().unwrap();
        assert!(message.contains(bucket.as_str()), "{stage}: {message}");
        block_on(async {
            assert_eq!(c.bucket_tags(bucket).await, Vec::<String>::new(), "{stage}");
            assert_eq!(
                c.functions(&format!("crash-{stage}-")).await,
                Vec::<String>::new(),
                "{stage}"
            );
        });
    }
    block_on(async {
        assert_eq!(c.object_keys(&with_data).await, vec!["a.txt"]);
    });
}
