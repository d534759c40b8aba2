//! Commands, flags and exit codes.

use crate::common::{example, fnctl, run};

#[test]
fn every_template_initialises_a_valid_project() {
    let out = fnctl()
        .args(["init", "--list", "--output", "json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<String> = doc["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        vec![
            "node-http",
            "python-http",
            "scheduled-job",
            "storage-processor"
        ]
    );
    for name in names {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("My Project");
        let out = fnctl()
            .args(["init", &name, "--dir"])
            .arg(&project)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let manifest = std::fs::read_to_string(project.join("fnctl.toml")).unwrap();
        assert!(
            manifest.contains("name = \"my-project\""),
            "{name}: app name from the directory"
        );
        let ignored = std::fs::read_to_string(project.join(".gitignore")).unwrap();
        assert!(
            ignored.lines().any(|l| l == ".fnctl/"),
            "{name}: fnctl's output stays out of git: {ignored}"
        );
        let next = String::from_utf8_lossy(&out.stderr);
        assert!(
            next.contains("fnctl dev") && next.contains("fnctl deploy"),
            "{name}: next steps name dev and deploy: {next}"
        );
        if name == "node-http" {
            assert!(
                project.join("package.json").is_file(),
                "a Node project has a package.json"
            );
        }
        let (code, _, stderr) = run(&project.join("fnctl.toml"), &["validate"]);
        assert_eq!(code, 0, "{name}: {stderr}");
        let (code, _, stderr) = run(&project.join("fnctl.toml"), &["package"]);
        assert_eq!(code, 0, "{name}: {stderr}");
    }
}

#[test]
fn init_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fnctl.toml"), "keep me").unwrap();
    let out = fnctl()
        .args(["init", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already has fnctl.toml"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("fnctl.toml")).unwrap(),
        "keep me"
    );
    let out = fnctl()
        .args(["init", "pyhton-http", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `python-http`?"));
}

#[test]
fn manifest_is_found_in_a_parent_directory() {
    let project = example("scheduled-job");
    let out = fnctl()
        .current_dir(project.parent().unwrap())
        .arg("validate")
        .output()
        .unwrap();
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let out = fnctl()
        .current_dir(dir.path())
        .arg("validate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "no manifest is a usage error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no fnctl.toml found"));
}

#[test]
fn unconfigured_provider_is_a_usage_error() {
    let (code, _, stderr) = run(&example("node-http"), &["plan", "--provider", "azure"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("provider `azure` is not configured"),
        "{stderr}"
    );
    assert!(
        stderr.contains("add a `[providers.azure]` table"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&example("node-http"), &["plan", "--provider", "gcp"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown provider `gcp`"), "{stderr}");
}

#[test]
fn json_errors_are_machine_readable() {
    let (code, stdout, _) = run(
        &example("node-http"),
        &["plan", "--provider", "azure", "--output", "json"],
    );
    assert_eq!(code, 2);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["error"]["kind"], "usage");
}

#[test]
fn schema_is_a_json_schema_with_every_section() {
    let out = fnctl().arg("schema").output().unwrap();
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    for key in ["app", "providers", "functions", "stages"] {
        assert!(schema["properties"].get(key).is_some(), "{key}");
    }
    for def in [
        "FunctionSection",
        "TriggerSection",
        "AwsSection",
        "AzureSection",
        "Stage",
    ] {
        assert!(schema["$defs"].get(def).is_some(), "{def}");
    }
}

#[test]
fn plan_without_credentials_is_an_error_unless_offline() {
    // A plan that could not read the cloud must not pass a CI gate as an
    // "everything is new" plan: exit 1 with the reason in words.
    let (code, stdout, stderr) = run(&example("node-http"), &["plan", "-o", "json"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["error"]["kind"], "unreadable", "{doc:#}");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("cannot read what is deployed on aws"),
        "{message}"
    );
    assert!(
        !message.contains('{') && !message.contains("Some("),
        "no Debug dump: {message}"
    );
    assert!(
        doc["error"]["help"].as_str().unwrap().contains("--offline"),
        "{doc:#}"
    );
    assert!(
        doc.get("plans").is_none(),
        "no plan is shown for an unread cloud: {doc:#}"
    );
    let (code, stdout, _) = run(&example("node-http"), &["plan", "--offline", "-o", "json"]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["plans"][0]["live"]["status"], "not_read");
    assert_eq!(doc["plans"][0]["live"]["reason"], "--offline was given");
    assert_eq!(doc["plans"][0]["summary"]["delete"], 0);
}

#[test]
fn version_and_help() {
    let out = fnctl().arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("fnctl {}", env!("CARGO_PKG_VERSION"))
    );
    let out = fnctl().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in ["init", "validate", "plan", "package", "schema"] {
        assert!(help.contains(cmd), "{cmd} in help");
    }
}
