//! Every malformed manifest in tests/fixtures/malformed fails with exactly the
//! located diagnostics written at the end of the file, and never panics.

use std::path::PathBuf;

use crate::common::{repo, run};

fn cases() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/fixtures/malformed"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn expected(path: &PathBuf) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(str::to_string)
        .collect()
}

#[test]
fn corpus_is_large_enough() {
    assert!(
        cases().len() >= 30,
        "the issue asks for at least 30 malformed manifests"
    );
}

#[test]
fn each_case_reports_exactly_its_expected_diagnostics() {
    let mut failures = Vec::new();
    for case in cases() {
        let want = expected(&case);
        assert!(
            !want.is_empty(),
            "{} has no `# expect:` lines",
            case.display()
        );
        let (code, stdout, stderr) = run(&case, &["validate", "--output", "json"]);
        if code != 3 {
            failures.push(format!(
                "{}: exit code {code}, stderr: {stderr}",
                case.display()
            ));
            continue;
        }
        let doc: serde_json::Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{}: bad JSON ({e}): {stdout}", case.display()));
        let got: Vec<String> = doc["error"]["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                format!(
                    "{}:{} {}",
                    d["line"],
                    d["column"],
                    d["message"].as_str().unwrap()
                )
            })
            .collect();
        if got != want {
            failures.push(format!(
                "{}:\n  want {want:#?}\n  got  {got:#?}",
                case.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn human_output_names_file_line_and_column_and_underlines() {
    let case = repo().join("tests/fixtures/malformed/05-misspelled-function-key.toml");
    let (code, stdout, stderr) = run(&case, &["validate"]);
    assert_eq!(code, 3);
    assert!(stdout.is_empty(), "errors go to stderr");
    assert!(
        stderr
            .contains("05-misspelled-function-key.toml:7:1: unknown key `memroy` in `functions.a`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("memroy = 512\n"),
        "the source line is shown: {stderr}"
    );
    assert!(stderr.contains("──┬──"), "the key is underlined: {stderr}");
    assert!(stderr.contains("help: did you mean `memory`?"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "NO_COLOR: no escape codes");
}

#[test]
fn several_problems_are_reported_in_one_run() {
    let case = repo().join("tests/fixtures/malformed/36-several-problems.toml");
    let (_, _, stderr) = run(&case, &["validate"]);
    assert!(stderr.contains("has 4 problems"), "{stderr}");
}

#[test]
fn rendered_errors_match_snapshot() {
    let dir = repo().join("tests/fixtures/malformed");
    let out = crate::common::fnctl()
        .current_dir(&dir)
        .args(["--manifest", "36-several-problems.toml", "validate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    insta::assert_snapshot!(
        "several_problems_rendered",
        String::from_utf8_lossy(&out.stderr)
    );
}
