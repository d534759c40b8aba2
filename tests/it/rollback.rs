//! `fnctl rollback` after ordinary deploys on moto: without a name every
//! function with an earlier version goes back and the others are named with
//! why; a second rollback goes back again; `--to` picks a version; `--list`
//! shows versions with dates and digests.

use std::path::Path;

use serde_json::Value;

use crate::faults::fnctl_json_at;
use crate::moto::Moto;

const MANIFEST: &str = r#"
[app]
name = "rb"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"

[functions.often]
handler = "main.handler"
source = "often"

[functions.once]
handler = "main.handler"
source = "once"
"#;

fn write_code(dir: &Path, function: &str, answer: u32) {
    std::fs::create_dir_all(dir.join(function)).unwrap();
    std::fs::write(
        dir.join(function).join("main.py"),
        format!("def handler(event, context):\n    return {answer}\n"),
    )
    .unwrap();
}

fn run(moto: &Moto, manifest: &Path, args: &[&str]) -> (i32, Value, String) {
    fnctl_json_at(moto, &moto.endpoint, manifest, args)
}

fn deploy(moto: &Moto, manifest: &Path) {
    let (code, doc, stderr) = run(moto, manifest, &["deploy"]);
    assert_eq!(code, 0, "{stderr}{doc:#}");
}

/// Version numbers the stage alias of `function` points at, as `--list` says.
fn current(moto: &Moto, manifest: &Path, function: &str) -> String {
    let (code, doc, stderr) = run(moto, manifest, &["rollback", "--list", function]);
    assert_eq!(code, 0, "{stderr}{doc:#}");
    let now: Vec<&Value> = doc["versions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["current"] == true)
        .collect();
    assert_eq!(now.len(), 1, "{doc:#}");
    now[0]["version"].as_str().unwrap().to_string()
}

#[test]
fn rollback_goes_back_per_function_and_again_and_to_a_version() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("fnctl.toml");
    std::fs::write(&manifest, MANIFEST).unwrap();
    write_code(dir.path(), "often", 1);
    write_code(dir.path(), "once", 1);
    deploy(&moto, &manifest);
    // Two more code changes of `often`: versions 1, 2, 3; `once` has 1.
    for answer in [2, 3] {
        write_code(dir.path(), "often", answer);
        deploy(&moto, &manifest);
    }
    assert_eq!(current(&moto, &manifest, "often"), "3");

    // --list: every version with its date and digest, the current marked.
    let (code, doc, _) = run(&moto, &manifest, &["rollback", "--list", "often"]);
    assert_eq!(code, 0);
    let versions = doc["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 3, "{doc:#}");
    assert!(versions
        .iter()
        .all(|v| v["deployed"].as_str().is_some_and(|d| !d.is_empty())
            && v["digest"].as_str().unwrap().starts_with("sha256:")));
    assert_ne!(versions[0]["digest"], versions[2]["digest"]);

    // No name: `often` goes back, `once` is named with why, exit 0.
    let (code, doc, stderr) = run(&moto, &manifest, &["rollback"]);
    assert_eq!(code, 0, "{stderr}{doc:#}");
    assert_eq!(doc["rollbacks"].as_array().unwrap().len(), 1, "{doc:#}");
    assert_eq!(doc["rollbacks"][0]["function"], "often");
    assert_eq!(doc["rollbacks"][0]["to_version"], "2");
    assert_eq!(doc["skipped"][0]["function"], "once", "{doc:#}");
    assert!(doc["skipped"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("only published version"));

    // Again: back once more, while versions remain.
    let (code, doc, stderr) = run(&moto, &manifest, &["rollback", "often"]);
    assert_eq!(code, 0, "{stderr}{doc:#}");
    assert_eq!(doc["rollbacks"][0]["to_version"], "1");
    assert_eq!(current(&moto, &manifest, "often"), "1");
    let (code, doc, stderr) = run(&moto, &manifest, &["rollback", "often"]);
    assert_eq!(code, 1, "nothing earlier than 1: {stderr}{doc:#}");
    assert!(doc["error"]["message"]
        .as_str()
        .unwrap()
        .contains("nothing to roll back to"));

    // Nothing anywhere to go back to: said, and a failure.
    let (code, doc, _) = run(&moto, &manifest, &["rollback"]);
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["error"]["kind"], "nothing_to_roll_back", "{doc:#}");

    // --to: any version of one function.
    let (code, doc, stderr) = run(&moto, &manifest, &["rollback", "often", "--to", "3"]);
    assert_eq!(code, 0, "{stderr}{doc:#}");
    assert_eq!(current(&moto, &manifest, "often"), "3");
    let (code, doc, _) = run(&moto, &manifest, &["rollback", "often", "--to", "9"]);
    assert_eq!(code, 1, "{doc:#}");
    assert!(doc["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no published version `9`"));
    let (code, _, _) = run(&moto, &manifest, &["rollback", "--to", "2"]);
    assert_eq!(code, 2, "--to without a function on a two-function app");
}
