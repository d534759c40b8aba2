//! `${app}` and `${stage}` in manifest strings: a bucket fnctl creates is
//! named per stage, so `--stage prod` and the default `dev` never share one,
//! and the names `plan --offline` shows are the final ones.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{fnctl, json_result, run};

const MANIFEST: &str = r#"[app]
name = "pics"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"

[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "pics-rg"
location = "westeurope"

[functions.resize]
handler = "app.handler"

[[functions.resize.triggers]]
type = "storage"
bucket = "${app}-${stage}-uploads"
create = true

[stages.prod]
app = { memory = 1024 }
"#;

/// A project with `manifest` as its fnctl.toml and the handler it names.
fn project(dir: &Path, manifest: &str) -> PathBuf {
    std::fs::write(
        dir.join("app.py"),
        "def handler(event, context):\n    return None\n",
    )
    .unwrap();
    let path = dir.join("fnctl.toml");
    std::fs::write(&path, manifest).unwrap();
    path
}

/// `plan --offline --output json` (with `args` added) as JSON.
fn offline_plan(manifest: &Path, args: &[&str]) -> Value {
    let out = fnctl()
        .arg("--manifest")
        .arg(manifest)
        .args(["plan", "--offline", "--output", "json"])
        .args(args)
        .output()
        .unwrap();
    let (code, doc, stderr) = json_result(out);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    doc
}

/// Names of the resources of `kind` the plan for `provider` creates.
fn created(doc: &Value, provider: &str, kind: &str) -> Vec<String> {
    let plan = doc["plans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == provider)
        .unwrap_or_else(|| panic!("no {provider} plan: {doc:#}"));
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"]["kind"] == kind && c["action"] == "create")
        .map(|c| c["id"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// The storage containers on Azure, without the storage account prefix and
/// without fnctl's own package container.
fn containers(doc: &Value) -> Vec<String> {
    created(doc, "azure", "blob_container")
        .into_iter()
        .map(|n| n.rsplit('/').next().unwrap().to_string())
        .filter(|n| n != "app-package")
        .collect()
}

#[test]
fn stages_plan_different_bucket_names() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = project(dir.path(), MANIFEST);

    let dev = offline_plan(&manifest, &[]);
    let prod = offline_plan(&manifest, &["--stage", "prod"]);
    assert_eq!(dev["plans"][0]["stage"], "dev");
    assert_eq!(prod["plans"][0]["stage"], "prod");

    assert_eq!(created(&dev, "aws", "s3_bucket"), ["pics-dev-uploads"]);
    assert_eq!(created(&prod, "aws", "s3_bucket"), ["pics-prod-uploads"]);
    assert_eq!(containers(&dev), ["pics-dev-uploads"]);
    assert_eq!(containers(&prod), ["pics-prod-uploads"]);
    // What refers to the bucket uses the expanded name too.
    let text = dev.to_string();
    assert!(text.contains("arn:aws:s3:::pics-dev-uploads"), "{dev:#}");
    assert!(!text.contains("${"), "nothing left unexpanded: {dev:#}");

    // `validate` shows the final names as well.
    let (code, stdout, stderr) = run(&manifest, &["validate", "--stage", "prod", "-o", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        doc["functions"][0]["triggers"][0]["bucket"],
        "pics-prod-uploads"
    );
}

#[test]
fn app_inside_the_app_name_is_reported_at_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = project(
        dir.path(),
        &MANIFEST.replace("name = \"pics\"", "name = \"pics-${app}\""),
    );

    let (code, stdout, stderr) = run(&manifest, &["validate", "--output", "json"]);
    assert_eq!(code, 3, "{stdout}{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    let diags = doc["error"]["diagnostics"].as_array().unwrap();
    assert_eq!(
        diags.len(),
        1,
        "one problem, no echo from the bucket's `${{app}}`: {doc:#}"
    );
    let d = &diags[0];
    assert_eq!((&d["line"], &d["column"]), (&2.into(), &14.into()), "{d}");
    assert_eq!(d["message"], "`${app}` cannot be used in `[app].name`");
    assert!(
        d["help"].as_str().unwrap().contains("already"),
        "the help says why: {d}"
    );

    let (code, _, stderr) = run(&manifest, &["validate"]);
    assert_eq!(code, 3);
    assert!(
        stderr.contains("fnctl.toml:2:14: `${app}` cannot be used in `[app].name`"),
        "{stderr}"
    );
}
