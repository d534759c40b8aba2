//! The commands never name a cloud: everything cloud-specific is reached
//! through `provider::for_id` / `provider::connect` (the `Provider` and
//! `Cloud` traits). A command that branches on AWS or Azure, or reaches
//! into a backend by name, fails this test.

use std::path::Path;

/// What naming a cloud in code looks like.
const FORBIDDEN: &[&str] = &[
    "ProviderId::Aws",
    "ProviderId::Azure",
    "provider::aws",
    "provider::azure",
    "local::azure",
    "AwsBackend",
    "AzureBackend",
    "AwsError",
    "AzureError",
    "AwsCloud",
    "AzureCloud",
];

fn offences(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(offences(&path));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for word in FORBIDDEN {
                if code.contains(word) {
                    found.push(format!("{}:{}: {word}", path.display(), n + 1));
                }
            }
        }
    }
    found
}

#[test]
fn commands_name_no_cloud() {
    let commands = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands");
    let found = offences(&commands);
    assert!(
        found.is_empty(),
        "commands/ must reach clouds through the Provider and Cloud traits:\n{}",
        found.join("\n")
    );
}

/// The check itself: a file that names a cloud is found.
#[test]
fn the_check_finds_a_cloud_named_in_code_but_not_in_a_comment() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("x.rs"),
        "// ProviderId::Aws in a comment is fine\nfn f() { if p == ProviderId::Azure {} }\n",
    )
    .unwrap();
    let found = offences(dir.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].ends_with("x.rs:2: ProviderId::Azure"), "{found:?}");
}
