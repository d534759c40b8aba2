//! An honest plan (issue 13, cases 5 and 7): a cloud that cannot be read is
//! an error in a few words, never an "everything is new" plan a CI gate
//! waves through; `--detailed-exitcode` tells CI whether there are changes;
//! the human plan shows the changes and only counts the rest.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::common::{closed_port, fnctl, python_project, run_with};
use crate::faults::fnctl_json_at;
use crate::moto::Moto;

const APP: &str = r#"[app]
name = "honest"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"

[functions.a]
handler = "app.handler"
include = ["app.py"]

[functions.b]
handler = "app.handler"
include = ["app.py"]

[[functions.b.triggers]]
type = "schedule"
schedule = "rate(5 minutes)"
"#;

/// fnctl with nothing of this machine's environment: no credentials, no
/// profile, no metadata service, an empty HOME and PATH, plus `env`.
fn bare(manifest: &Path, env: &[(&str, String)], args: &[&str]) -> Output {
    let empty = tempfile::tempdir().unwrap();
    let mut cmd = fnctl();
    cmd.env_clear()
        .env("PATH", empty.path())
        .env("HOME", empty.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.arg("--manifest")
        .arg(manifest)
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// No Rust `Debug` output of an SDK error anywhere in `s`.
fn assert_no_debug_dump(s: &str) {
    for dump in ["{", "DispatchFailure", "Some(", "ConnectorError", "source:"] {
        assert!(!s.contains(dump), "a Debug dump ({dump}) in:\n{s}");
    }
}

#[test]
fn plan_without_credentials_fails_in_a_few_words() {
    let (_dir, manifest) = python_project(APP);

    let (code, stdout, stderr) = text(&bare(&manifest, &[], &["plan"]));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert_eq!(stdout, "", "no plan is shown for a cloud that was not read");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        (1..=3).contains(&lines.len()),
        "{} lines:\n{stderr}",
        lines.len()
    );
    for says in ["credentials", "aws configure", "aws sso login", "--offline"] {
        assert!(stderr.contains(says), "`{says}` missing from:\n{stderr}");
    }
    assert_no_debug_dump(&stderr);

    // The same as JSON, for CI.
    let out = bare(&manifest, &[], &["plan", "--output", "json"]);
    let (code, doc, stderr) = crate::common::json_result(out);
    assert_eq!(code, 1, "{stderr}\n{doc:#}");
    assert_eq!(doc["error"]["kind"], "unreadable", "{doc:#}");
    assert!(doc.get("plans").is_none(), "no plan: {doc:#}");

    // --offline is the explicit way to plan without the cloud.
    let (code, stdout, stderr) = text(&bare(&manifest, &[], &["plan", "--offline"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("live state not read"), "{stdout}");
    assert!(stdout.contains("+ lambda_function"), "{stdout}");
}

#[test]
fn plan_against_an_unreachable_endpoint_fails_in_a_few_words() {
    let (_dir, manifest) = python_project(APP);
    let env = [
        (
            "AWS_ENDPOINT_URL",
            format!("http://127.0.0.1:{}", closed_port()),
        ),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "not-a-real-secret".to_string()),
    ];
    let (code, stdout, stderr) = text(&bare(&manifest, &env, &["plan"]));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert_eq!(stdout, "", "no plan is shown for a cloud that was not read");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        (1..=3).contains(&lines.len()),
        "{} lines:\n{stderr}",
        lines.len()
    );
    assert!(stderr.contains("--offline"), "{stderr}");
    assert!(stderr.contains("AWS_ENDPOINT_URL"), "{stderr}");
    assert_no_debug_dump(&stderr);

    let (code, _, stderr) = text(&bare(&manifest, &env, &["plan", "--offline"]));
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn detailed_exitcode_says_whether_there_are_changes_and_errors_keep_their_codes() {
    let moto = Moto::start();
    let (dir, manifest) = python_project(APP);
    let plan = |args: &[&str]| {
        let mut full = vec!["plan", "--detailed-exitcode"];
        full.extend_from_slice(args);
        run_with(&manifest, &moto.env(), &full)
    };

    let (code, stdout, stderr) = plan(&[]);
    assert_eq!(code, 6, "changes before the first deploy\n{stdout}{stderr}");
    assert!(stdout.contains("to create"), "{stdout}");

    let (code, doc, stderr) = fnctl_json_at(&moto, &moto.endpoint, &manifest, &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let (code, stdout, stderr) = plan(&[]);
    assert_eq!(code, 0, "nothing to change\n{stdout}{stderr}");
    assert!(stdout.contains("No changes"), "{stdout}");
    let (code, _, stderr) = plan(&["--output", "json"]);
    assert_eq!(code, 0, "{stderr}");

    // Without the flag, changes still exit 0.
    std::fs::write(
        &manifest,
        APP.replace(
            "[functions.a]\nhandler = \"app.handler\"\n",
            "[functions.a]\nmemory = 512\nhandler = \"app.handler\"\n",
        ),
    )
    .unwrap();
    let (code, _, stderr) = run_with(&manifest, &moto.env(), &["plan"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = plan(&[]);
    assert_eq!(code, 6, "{stderr}");

    // Errors keep their codes: no credentials is 1, a bad manifest is 3.
    let (code, _, stderr) = text(&bare(&manifest, &[], &["plan", "--detailed-exitcode"]));
    assert_eq!(code, 1, "{stderr}");
    std::fs::write(dir.path().join("fnctl.toml"), "[app]\nnme = \"x\"\n").unwrap();
    let (code, _, stderr) = plan(&[]);
    assert_eq!(code, 3, "{stderr}");
}

#[test]
fn plan_shows_the_changes_and_counts_the_unchanged() {
    let moto = Moto::start();
    let (_dir, manifest) = python_project(APP);
    let (code, doc, stderr) = fnctl_json_at(&moto, &moto.endpoint, &manifest, &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    std::fs::write(
        &manifest,
        APP.replace(
            "[functions.a]\nhandler = \"app.handler\"\n",
            "[functions.a]\nmemory = 512\nhandler = \"app.handler\"\n",
        ),
    )
    .unwrap();
    let (code, doc, stderr) = fnctl_json_at(&moto, &moto.endpoint, &manifest, &["plan"]);
    assert_eq!(code, 0, "{stderr}");
    let summary: &Value = &doc["plans"][0]["summary"];
    let unchanged = summary["unchanged"].as_u64().unwrap();
    assert!(unchanged >= 5, "{summary}\n{doc:#}");
    let changed: Vec<String> = doc["plans"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "noop")
        .map(|c| c["id"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(changed, vec!["honest-dev-a", "honest-dev-a:dev"], "{doc:#}");

    // Human: the change with its field, a count for the rest, nothing of `b`.
    let (code, stdout, stderr) = run_with(&manifest, &moto.env(), &["plan"]);
    assert_eq!(code, 0, "{stderr}");
    let function_line = stdout
        .lines()
        .find(|l| l.contains("lambda_function") && l.contains("honest-dev-a"))
        .unwrap_or_else(|| panic!("the changed function is listed:\n{stdout}"));
    assert!(function_line.trim_start().starts_with('~'), "{stdout}");
    assert!(stdout.contains("memory_size: 256 → 512"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "({unchanged} unchanged resources not shown; --show-unchanged lists them)"
        )),
        "{stdout}"
    );
    for hidden in ["honest-dev-b", "iam_role", "eventbridge_rule"] {
        assert!(
            !stdout.contains(hidden),
            "unchanged `{hidden}` is listed:\n{stdout}"
        );
    }
    assert!(
        stdout.contains(&format!(
            "Plan: 0 to create, 2 to update, 0 to delete, {unchanged} unchanged."
        )),
        "{stdout}"
    );

    // --show-unchanged lists every resource.
    let (code, all, stderr) = run_with(&manifest, &moto.env(), &["plan", "--show-unchanged"]);
    assert_eq!(code, 0, "{stderr}");
    for shown in [
        "honest-dev-b",
        "iam_role",
        "eventbridge_rule",
        "honest-dev-a",
    ] {
        assert!(all.contains(shown), "`{shown}` missing:\n{all}");
    }
    assert!(!all.contains("not shown"), "{all}");
    let listed = all
        .lines()
        .filter(|l| l.trim_start().starts_with("= "))
        .count();
    assert_eq!(
        listed as u64, unchanged,
        "one line per unchanged resource:\n{all}"
    );

    // -q: the summary line only.
    let (code, quiet, stderr) = run_with(&manifest, &moto.env(), &["-q", "plan"]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = quiet.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines,
        vec![format!(
            "aws: Plan: 0 to create, 2 to update, 0 to delete, {unchanged} unchanged."
        )],
        "{quiet}"
    );
}
