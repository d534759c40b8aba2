//! Issue 16, part 1: `[resources.NAME]`, per-function `access` and queue
//! triggers are understood, checked and documented in the schema, and both
//! clouds plan them.

use crate::common::{repo, run};

fn resources_app() -> std::path::PathBuf {
    repo().join("tests/fixtures/resources-app/fnctl.toml")
}

/// The same app with `[providers.NAME]` added, in a temporary copy.
fn with_provider(provider: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let from = repo().join("tests/fixtures/resources-app");
    std::fs::copy(from.join("app.py"), dir.path().join("app.py")).unwrap();
    let table = match provider {
        "aws" => "[providers.aws]\nregion = \"us-east-1\"\n",
        _ => "[providers.azure]\nsubscription = \"00000000-0000-0000-0000-000000000000\"\nresource_group = \"rg\"\nlocation = \"westeurope\"\n",
    };
    let text = std::fs::read_to_string(from.join("fnctl.toml"))
        .unwrap()
        .replace(
            "[resources.orders]",
            &format!("{table}\n[resources.orders]"),
        );
    let path = dir.path().join("fnctl.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn the_classic_app_is_valid_without_a_provider() {
    let (code, stdout, stderr) = run(&resources_app(), &["validate"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("3 functions"), "{stdout}");

    let (code, stdout, stderr) = run(&resources_app(), &["validate", "--output", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let functions = doc["functions"].as_array().unwrap();
    let by_name = |n: &str| functions.iter().find(|f| f["name"] == n).unwrap();
    // Effective access: declared, plus what the triggers imply.
    assert_eq!(
        by_name("worker")["access"]["jobs"]["permissions"],
        serde_json::json!(["consume"])
    );
    assert_eq!(
        by_name("thumbs")["access"]["uploads"]["permissions"],
        serde_json::json!(["read", "write"])
    );
    assert_eq!(by_name("api")["access"]["orders"]["declared"], "read-write");
    assert_eq!(by_name("worker")["queue_triggers"][0]["batch_size"], 5);
    assert_eq!(
        by_name("thumbs")["aws"]["statements"][0]["actions"][0],
        "rekognition:DetectLabels"
    );
}

#[test]
fn aws_plans_resources_access_queue_triggers_and_function_statements() {
    let (_dir, manifest) = with_provider("aws");
    for args in [&["validate"][..], &["plan", "--offline"][..]] {
        let (code, stdout, stderr) = run(&manifest, args);
        assert_eq!(code, 0, "{args:?}: {stdout}{stderr}");
        assert!(!stderr.contains("does not deploy"), "{stderr}");
    }
    let (_, stdout, _) = run(&manifest, &["plan", "--offline"]);
    for planned in [
        "iam_role",
        "lambda_event_source",
        "rekognition:DetectLabels",
    ] {
        assert!(stdout.contains(planned), "{planned}: {stdout}");
    }
}

#[test]
fn azure_plans_resources_access_and_queue_triggers() {
    let (_dir, manifest) = with_provider("azure");
    let (code, stdout, stderr) = run(&manifest, &["plan", "--offline"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // The queue, the identity's role on it, and the queue-triggered
    // function bound to it.
    for planned in [
        "data_queue",
        "Storage Queue Data Message Processor",
        "/worker",
        "queueTrigger",
        "shop-dev-jobs",
    ] {
        assert!(stdout.contains(planned), "{planned}: {stdout}");
    }
    assert!(
        !stderr.contains("IAM statements") && !stdout.contains("rekognition"),
        "`[functions.NAME.aws]` is AWS's business: {stdout}{stderr}"
    );
    // The queue's visibility timeout and retention do not reach Azure as
    // queue settings: said, located, without failing.
    assert!(
        stderr.contains("has no visibility timeout of its own"),
        "{stderr}"
    );
    let (code, stdout, stderr) = run(&manifest, &["validate", "--output", "json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let warnings: Vec<String> = doc["warnings"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc:#}"))
        .iter()
        .map(|w| w.to_string())
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    for said in ["`visibility_timeout = 120`", "`retention = 86400`"] {
        assert!(
            warnings.iter().any(|w| w.contains(said)),
            "{said}: {warnings:#?}"
        );
    }
}

#[test]
fn the_schema_describes_the_new_keys() {
    let out = crate::common::fnctl().arg("schema").output().unwrap();
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let defs = &schema["$defs"];
    assert_eq!(
        schema["properties"]["resources"]["additionalProperties"]["$ref"],
        "#/$defs/ResourceSection"
    );
    let kinds: Vec<&str> = defs["ResourceSection"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["properties"]["kind"]["const"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["bucket", "queue", "table"]);
    let function = &defs["FunctionSection"]["properties"];
    assert!(function["access"]["description"].is_string());
    assert_eq!(function["aws"]["$ref"], "#/$defs/FunctionAwsSection");
    let queue_trigger = defs["TriggerSection"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["properties"]["type"]["const"] == "queue")
        .expect("a queue trigger variant");
    assert_eq!(
        queue_trigger["properties"]["max_batching_window"]["maximum"],
        300
    );
    assert_eq!(
        defs["AccessLevelSection"]["enum"],
        serde_json::json!(["read", "write", "read-write", "send", "consume"])
    );
}
