//! `remove` finishes what it can and keeps data unless told (issue 13,
//! case 6): a bucket still holding objects stays with its objects while
//! every function, API, rule and the role go; `--delete-data` then deletes
//! it; a bucket the app used but did not own that is already gone, or an
//! app that was never deployed, is no failure; and without a terminal
//! `remove` never waits for an answer.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{block_on, fnctl_process, python_project, run_with, MotoClients};
use crate::faults::fnctl_json_at;
use crate::moto::Moto;

const APP: &str = r#"[app]
name = "keep"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"

[functions.ingest]
handler = "app.handler"

[[functions.ingest.triggers]]
type = "storage"
bucket = "${app}-${stage}-drop"
events = ["created"]
create = true

[functions.tick]
handler = "app.handler"

[[functions.tick.triggers]]
type = "schedule"
schedule = "rate(5 minutes)"

[functions.api]
handler = "app.handler"

[[functions.api.triggers]]
type = "http"
method = "GET"
path = "/items"
"#;

const BUCKET: &str = "keep-dev-drop";

fn fnctl_json(moto: &Moto, manifest: &Path, args: &[&str]) -> (i32, Value, String) {
    fnctl_json_at(moto, &moto.endpoint, manifest, args)
}

fn clients(moto: &Moto) -> MotoClients {
    block_on(MotoClients::new(moto, "us-east-1"))
}

/// What is left of app `keep`, stage `dev`, besides its bucket, read
/// directly: functions, the REST API, schedule rules, the functions' roles.
fn leftovers(c: &MotoClients) -> Vec<String> {
    block_on(async {
        let mut left: Vec<String> = c
            .functions("keep-dev-")
            .await
            .into_iter()
            .map(|f| format!("function {f}"))
            .collect();
        for api in c.apigw.get_rest_apis().send().await.unwrap().items() {
            if api.name() == Some("keep-dev") {
                left.push("rest api keep-dev".into());
            }
        }
        for rule in c
            .events
            .list_rules()
            .name_prefix("keep-dev-")
            .send()
            .await
            .unwrap()
            .rules()
        {
            left.push(format!("rule {}", rule.name().unwrap_or_default()));
        }
        for f in ["api", "ingest", "tick"] {
            let role = format!("keep-dev-{f}-role");
            if c.role_exists(&role).await {
                left.push(format!("role {role}"));
            }
        }
        left
    })
}

fn deploy(moto: &Moto, manifest: &Path) {
    let (code, doc, stderr) = fnctl_json(moto, manifest, &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
}

#[test]
fn remove_keeps_a_bucket_holding_objects_and_delete_data_removes_it() {
    let moto = Moto::start();
    let c = clients(&moto);
    let (_dir, manifest) = python_project(APP);
    deploy(&moto, &manifest);
    let mut deployed = leftovers(&c);
    deployed.sort();
    assert_eq!(
        deployed,
        vec![
            "function keep-dev-api",
            "function keep-dev-ingest",
            "function keep-dev-tick",
            "rest api keep-dev",
            "role keep-dev-api-role",
            "role keep-dev-ingest-role",
            "role keep-dev-tick-role",
            "rule keep-dev-tick-s0",
        ],
        "the check below sees what was deployed"
    );
    block_on(async {
        c.s3.put_object()
            .bucket(BUCKET)
            .key("inbox/report.pdf")
            .body(b"%PDF-1.7 someone's report".to_vec().into())
            .send()
            .await
            .unwrap();
    });

    // Everything goes but the bucket and its object, and the run succeeds.
    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["remove"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let r = &doc["removals"][0];
    assert_eq!(r["status"], "removed", "{doc:#}");
    assert_eq!(r["kept"].as_array().unwrap().len(), 1, "{doc:#}");
    assert_eq!(r["kept"][0]["id"]["kind"], "s3_bucket", "{doc:#}");
    assert_eq!(r["kept"][0]["id"]["name"], BUCKET, "{doc:#}");
    assert!(
        r["kept"][0]["command"]
            .as_str()
            .unwrap()
            .contains("--delete-data"),
        "{doc:#}"
    );
    assert_eq!(leftovers(&c), Vec::<String>::new());
    block_on(async {
        assert!(c.bucket_exists(BUCKET).await, "the bucket is kept");
        assert_eq!(c.object_keys(BUCKET).await, vec!["inbox/report.pdf"]);
        let body =
            c.s3.get_object()
                .bucket(BUCKET)
                .key("inbox/report.pdf")
                .send()
                .await
                .unwrap()
                .body
                .collect()
                .await
                .unwrap()
                .into_bytes();
        assert_eq!(&body[..], b"%PDF-1.7 someone's report");
        assert_eq!(
            c.notification_ids(BUCKET).await,
            Vec::<String>::new(),
            "no notification points at the deleted functions"
        );
    });

    // The human summary names what was kept and how to remove it.
    deploy(&moto, &manifest);
    let (code, stdout, stderr) = run_with(&manifest, &moto.env(), &["remove"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!("kept s3_bucket {BUCKET}")) && stdout.contains("--delete-data"),
        "{stdout}"
    );

    // --delete-data: emptied and deleted.
    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["remove", "--delete-data"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["removals"][0]["kept"], serde_json::json!([]), "{doc:#}");
    block_on(async {
        assert!(!c.bucket_exists(BUCKET).await, "the bucket is gone");
    });

    // Nothing left: a line saying so, exit 0.
    let (code, stdout, stderr) = run_with(&manifest, &moto.env(), &["remove"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("nothing to remove"), "{stdout}");
}

#[test]
fn remove_succeeds_when_a_bucket_the_app_used_was_deleted_by_hand() {
    let moto = Moto::start();
    let c = clients(&moto);
    block_on(async {
        c.s3.create_bucket()
            .bucket("team-inbox")
            .send()
            .await
            .unwrap();
    });
    let app = APP
        .replace(
            "bucket = \"${app}-${stage}-drop\"",
            "bucket = \"team-inbox\"",
        )
        .replace("create = true\n", "");
    let (_dir, manifest) = python_project(&app);
    deploy(&moto, &manifest);
    block_on(async {
        assert_eq!(
            c.notification_ids("team-inbox").await,
            vec!["fnctl-keep-dev-ingest-n0"]
        );
        c.s3.delete_bucket()
            .bucket("team-inbox")
            .send()
            .await
            .unwrap();
    });

    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["remove"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["removals"][0]["status"], "removed", "{doc:#}");
    assert_eq!(leftovers(&c), Vec::<String>::new());
}

#[test]
fn remove_with_nothing_deployed_succeeds() {
    let moto = Moto::start();
    let (_dir, manifest) = python_project(APP);
    let (code, stdout, stderr) = run_with(&manifest, &moto.env(), &["remove"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("nothing to remove for `keep` stage `dev`"),
        "{stdout}"
    );
    let (code, doc, stderr) = fnctl_json(&moto, &manifest, &["remove"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["removals"][0]["status"], "nothing_deployed", "{doc:#}");
    assert_eq!(
        doc["removals"][0]["removed"],
        serde_json::json!([]),
        "{doc:#}"
    );
}

/// Without a terminal, `remove` never asks: stdin is a pipe that stays open
/// and silent, so a question would hang the run until the deadline.
#[test]
fn remove_without_a_terminal_never_waits_for_an_answer() {
    let moto = Moto::start();
    let c = clients(&moto);
    let (_dir, manifest) = python_project(APP);
    deploy(&moto, &manifest);

    let mut cmd = fnctl_process();
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    let mut child = cmd
        .arg("--manifest")
        .arg(&manifest)
        .arg("remove")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "remove is still waiting after 180 s:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("[y/N]"), "it asked: {stderr}");
    assert_eq!(leftovers(&c), Vec::<String>::new());
    block_on(async {
        assert!(!c.bucket_exists(BUCKET).await, "the empty bucket went too");
    });
}
