//! Every example validates, plans (human and JSON, snapshotted) and packages
//! deterministically.

use crate::common::{copy_tree, example, run};

const EXAMPLES: &[&str] = &[
    "all-triggers",
    "http-api-cors",
    "node-http",
    "orders-app",
    "python-http-api",
    "scheduled-job",
    "storage-processor",
];

#[test]
fn every_example_validates() {
    for name in EXAMPLES {
        let (code, stdout, stderr) = run(&example(name), &["validate"]);
        assert_eq!(code, 0, "{name}: {stderr}");
        assert!(stdout.contains("is valid"), "{name}: {stdout}");
    }
}

#[test]
fn plans_match_snapshots() {
    for name in EXAMPLES {
        let (code, human, stderr) = run(&example(name), &["plan", "--offline"]);
        assert_eq!(code, 0, "{name}: {stderr}");
        insta::assert_snapshot!(format!("plan_{name}"), human);
        let (code, json, _) = run(&example(name), &["plan", "--offline", "--output", "json"]);
        assert_eq!(code, 0);
        let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
        insta::assert_json_snapshot!(format!("plan_{name}_json"), doc);
    }
}

#[test]
fn stage_overrides_change_the_plan() {
    let (_, dev, _) = run(
        &example("all-triggers"),
        &["plan", "--offline", "-o", "json", "-p", "aws"],
    );
    let (_, prod, _) = run(
        &example("all-triggers"),
        &[
            "plan",
            "--offline",
            "-o",
            "json",
            "-p",
            "aws",
            "--stage",
            "prod",
        ],
    );
    let memory = |doc: &str, function: &str| -> u64 {
        let v: serde_json::Value = serde_json::from_str(doc).unwrap();
        v["plans"][0]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"]["kind"] == "lambda_function" && c["function"] == function)
            .unwrap()["after"]["memory_size"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(memory(&dev, "orders"), 512);
    assert_eq!(
        memory(&prod, "orders"),
        2048,
        "function override in the stage"
    );
    assert_eq!(
        memory(&prod, "digest"),
        1024,
        "app default override in the stage"
    );
    assert!(prod.contains("shop-prod-orders"));
}

#[test]
fn secrets_never_appear_in_plans() {
    let secret = "sk_live_0123456789abcdef";
    for output in ["human", "json"] {
        let out = crate::common::fnctl()
            .env("SHOP_PAYMENT_KEY", secret)
            .args(["--manifest"])
            .arg(example("all-triggers"))
            .args(["plan", "--offline", "-v", "--output", output])
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success());
        assert!(!all.contains(secret), "{output} output leaked the secret");
        assert!(all.contains("(sensitive)"));
    }
}

#[test]
fn packaging_is_deterministic_and_keeps_only_the_selected_files() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(example("all-triggers").parent().unwrap(), dir.path());
    std::fs::write(dir.path().join("api/.env"), "SECRET=1").unwrap();
    let manifest = dir.path().join("fnctl.toml");
    let (code, first, stderr) = run(&manifest, &["package", "-o", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let zip_path = dir.path().join(".fnctl/dist/aws/orders.zip");
    let bytes_first = std::fs::read(&zip_path).unwrap();
    // Touch every file: new mtimes must not change the bytes.
    touch_all(dir.path(), std::time::Duration::from_secs(3 * 3600));
    let (_, second, _) = run(&manifest, &["package", "-o", "json"]);
    assert_eq!(first, second, "same sha256 for every artifact");
    assert_eq!(bytes_first, std::fs::read(&zip_path).unwrap());

    let doc: serde_json::Value = serde_json::from_str(&first).unwrap();
    let artifacts = doc["artifacts"].as_array().unwrap();
    assert_eq!(
        artifacts.len(),
        4,
        "one zip per function for AWS, one per Function App for Azure"
    );
    let azure: Vec<&serde_json::Value> = artifacts
        .iter()
        .filter(|a| a["provider"] == "azure")
        .collect();
    assert_eq!(azure.len(), 1);
    let azure_zip = std::path::PathBuf::from(azure[0]["path"].as_str().unwrap());
    let mut app_zip = zip::ZipArchive::new(std::fs::File::open(&azure_zip).unwrap()).unwrap();
    let app_names: Vec<String> = app_zip
        .file_names()
        .map(|n| n.unwrap().to_string())
        .collect();
    assert!(
        app_names.contains(&"host.json".to_string()),
        "{app_names:?}"
    );
    assert!(
        app_names.contains(&"fnctl_code/orders/orders.py".to_string()),
        "{app_names:?}"
    );
    assert!(
        !app_names.iter().any(|n| n.ends_with(".env")),
        ".env is never packaged: {app_names:?}"
    );
    assert_eq!(
        app_zip.by_name("host.json").unwrap().unix_mode().unwrap() & 0o777,
        0o644
    );
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let names: Vec<String> = zip.file_names().map(|n| n.unwrap().to_string()).collect();
    assert_eq!(names, vec!["orders.py"], ".env is never packaged");
    assert_eq!(zip.by_index(0).unwrap().unix_mode().unwrap() & 0o777, 0o644);
}

#[test]
fn package_human_output_lists_path_size_and_hash() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(example("node-http").parent().unwrap(), dir.path());
    let (code, stdout, stderr) = run(&dir.path().join("fnctl.toml"), &["package"]);
    assert_eq!(code, 0, "{stderr}");
    let line = stdout.lines().next().unwrap();
    assert!(line.starts_with("aws    todos"), "{line}");
    assert!(line.contains(".fnctl/dist/aws/todos.zip"), "{line}");
    assert!(line.contains(" B  sha256:"), "{line}");
}

/// Moves the modification time of every source file under `dir` (not the
/// output under `.fnctl/`) forward by `by`, and checks it moved.
fn touch_all(dir: &std::path::Path, by: std::time::Duration) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n == ".fnctl") {
            continue;
        }
        if path.is_dir() {
            touch_all(&path, by);
            continue;
        }
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        let before = file.metadata().unwrap().modified().unwrap();
        file.set_modified(before + by).unwrap();
        assert_ne!(file.metadata().unwrap().modified().unwrap(), before);
    }
}
