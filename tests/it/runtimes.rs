//! Runtime names: Lambda's spellings are fnctl's too, a version one cloud
//! does not run is refused for that cloud only, and an unknown version
//! suggests the newest of its language.

use crate::common::{python_project, run};

const AWS_AND_AZURE: &str = r#"
[providers.aws]
region = "us-east-1"

[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "rg"
location = "westeurope"
"#;

fn validate(manifest: &str) -> (i32, String, String) {
    let (dir, path) = python_project(manifest);
    std::fs::write(
        dir.path().join("index.js"),
        "exports.handler = async () => ({ statusCode: 200 });\n",
    )
    .unwrap();
    run(&path, &["validate"])
}

#[test]
fn lambda_spellings_validate_on_both_clouds() {
    let manifest = format!(
        "[app]\nname = \"aws-nodejs-http-api-with-long-name\"\n{AWS_AND_AZURE}\n\
         [functions.api]\nruntime = \"nodejs22.x\"\nhandler = \"index.handler\"\n\n\
         [functions.py]\nruntime = \"python3.12\"\nhandler = \"app.handler\"\nproviders = [\"aws\"]\n"
    );
    let (code, stdout, stderr) = validate(&manifest);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

#[test]
fn a_version_only_lambda_runs_is_refused_for_azure_with_the_nearest_one() {
    let manifest = format!(
        "[app]\nname = \"x\"\n{AWS_AND_AZURE}\n[functions.api]\nruntime = \"nodejs24.x\"\nhandler = \"index.handler\"\n"
    );
    let (code, _, stderr) = validate(&manifest);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains(
            "function `api` uses runtime `nodejs24`, which Azure Functions does not run as generally available"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("use `nodejs22` for Azure"), "{stderr}");
    assert!(stderr.contains("providers = [\"aws\"]"), "{stderr}");
    assert!(stderr.contains("fnctl.toml:"), "located: {stderr}");
    assert!(!stderr.contains("AWS Lambda"), "Lambda runs it: {stderr}");
}

#[test]
fn a_retired_version_names_its_date_and_the_nearest_supported_one() {
    let manifest = format!(
        "[app]\nname = \"x\"\n{AWS_AND_AZURE}\n[functions.job]\nruntime = \"python3.11\"\nhandler = \"app.handler\"\n"
    );
    let (code, _, stderr) = validate(&manifest);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("which AWS Lambda has retired"), "{stderr}");
    assert!(stderr.contains("Jun 30, 2026"), "{stderr}");
    assert!(
        stderr.contains("use `python3.12`, the nearest version Lambda runs"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Azure Functions"),
        "Azure runs it: {stderr}"
    );
}

#[test]
fn an_unknown_version_suggests_the_newest_of_its_language() {
    let (code, _, stderr) = validate(
        "[app]\nname = \"x\"\n\n[functions.a]\nruntime = \"python3.99\"\nhandler = \"app.handler\"\n",
    );
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("unknown runtime `python3.99`"), "{stderr}");
    assert!(stderr.contains("did you mean `python3.14`?"), "{stderr}");
}
