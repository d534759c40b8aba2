//! App names up to 40 characters: derived names over a cloud's limit are cut
//! with a stable hash and `plan` shows them; past 40 the error names the limit.

use serde_json::Value;

use crate::common::{fnctl, json_result, python_project, run};

fn manifest(app: &str) -> String {
    format!(
        r#"[app]
name = "{app}"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"

[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "rg"
location = "westeurope"

[functions.a-function-with-a-long-name]
handler = "app.handler"

[[functions.a-function-with-a-long-name.triggers]]
type = "schedule"
schedule = "rate(5 minutes)"
"#
    )
}

fn created(doc: &Value, provider: &str, kind: &str) -> Vec<String> {
    doc["plans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["provider"] == provider)
        .flat_map(|p| p["changes"].as_array().unwrap().iter())
        .filter(|c| c["id"]["kind"] == kind && c["action"] == "create")
        .map(|c| c["id"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_forty_character_app_plans_with_shortened_names() {
    let app = "aws-python-scheduled-cron-with-40-chars1";
    assert_eq!(app.len(), 40);
    let (_dir, path) = python_project(&manifest(app));
    let out = fnctl()
        .arg("--manifest")
        .arg(&path)
        .args([
            "plan",
            "--offline",
            "--output",
            "json",
            "--stage",
            "production12",
        ])
        .output()
        .unwrap();
    let (code, doc, stderr) = json_result(out);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let functions = created(&doc, "aws", "lambda_function");
    assert_eq!(functions.len(), 1, "{doc:#}");
    let name = &functions[0];
    assert!(name.len() <= 64, "{name}");
    assert!(
        name.starts_with("aws-python-scheduled-cron-with-40-chars1-production12-a"),
        "{name}"
    );
    // The same name every time: a hash of the full name, not a random one.
    let again = fnctl()
        .arg("--manifest")
        .arg(&path)
        .args([
            "plan",
            "--offline",
            "--output",
            "json",
            "--stage",
            "production12",
        ])
        .output()
        .unwrap();
    let (_, doc2, _) = json_result(again);
    assert_eq!(created(&doc2, "aws", "lambda_function"), functions);
    for site in created(&doc, "azure", "function_app") {
        assert!(site.len() <= 60, "{site}");
    }
}

#[test]
fn an_app_name_past_forty_states_the_limit() {
    let app = "a".repeat(41);
    let (_dir, path) = python_project(&manifest(&app));
    let (code, _, stderr) = run(&path, &["validate"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("is 41 characters long; the limit is 40"),
        "{stderr}"
    );
}
