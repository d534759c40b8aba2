//! What a deploy prints without a terminal (CI, logs): a one-line-per-
//! change summary before applying, then `[n/total] created KIND NAME (Xs)`
//! per finished change, counted in order; `-v` still lists every
//! attribute. Elapsed times are filtered out of the snapshot.

use std::path::Path;

use crate::common::python_project;
use crate::moto::Moto;

const APP: &str = r#"
[app]
name = "shop"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"

[functions.orders]
handler = "app.handler"
[[functions.orders.triggers]]
type = "http"
method = "GET"
path = "/orders"

[functions.nightly]
handler = "app.handler"
[[functions.nightly.triggers]]
type = "schedule"
schedule = "rate(1 day)"
"#;

/// `fnctl deploy ARGS` under `CI` without a terminal: (exit code, stdout, stderr).
fn deploy(moto: &Moto, manifest: &Path, args: &[&str]) -> (i32, String, String) {
    let mut cmd = crate::common::fnctl();
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    let out = cmd
        .env("CI", "true")
        .arg("--manifest")
        .arg(manifest)
        .arg("deploy")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `[n/total]` lines: (n, total, the rest without the elapsed time).
fn finished(stderr: &str) -> Vec<(usize, usize, String)> {
    let re = regex::Regex::new(r"^\[(\d+)/(\d+)\] (.*) \(\d+\.\ds\)$").unwrap();
    stderr
        .lines()
        .filter_map(|l| re.captures(l))
        .map(|c| {
            (
                c[1].parse().unwrap(),
                c[2].parse().unwrap(),
                c[3].to_string(),
            )
        })
        .collect()
}

#[test]
fn a_first_deploy_prints_short_summary_then_one_counted_line_per_finished_change() {
    let moto = Moto::start();
    let (_dir, manifest) = python_project(APP);
    // One change at a time: the order of the lines is the plan's.
    let (code, _, stderr) = deploy(&moto, &manifest, &["--concurrency", "1"]);
    assert_eq!(code, 0, "{stderr}");
    let lines = finished(&stderr);
    let total = lines.len();
    assert!(total > 5, "{stderr}");
    for (i, (n, t, _)) in lines.iter().enumerate() {
        assert_eq!((*n, *t), (i + 1, total), "{stderr}");
    }
    // The summary names each create on one line: no attributes.
    assert!(!stderr.contains("runtime = "), "{stderr}");
    let filtered = regex::Regex::new(r"\(\d+\.\ds\)")
        .unwrap()
        .replace_all(&stderr, "(Xs)")
        .into_owned();
    // moto's port and the API id change every run.
    let filtered = regex::Regex::new(r"127\.0\.0\.1:\d+")
        .unwrap()
        .replace_all(&filtered, "127.0.0.1:PORT")
        .into_owned();
    let filtered = regex::Regex::new(r"/restapis/[a-z0-9]+/")
        .unwrap()
        .replace_all(&filtered, "/restapis/API/")
        .into_owned();
    insta::assert_snapshot!("first_deploy_ci_stderr", filtered);
}

#[test]
fn lines_are_counted_in_order_at_any_concurrency_and_updates_show_changed_attributes() {
    let moto = Moto::start();
    let (dir, manifest) = python_project(APP);
    let (code, _, stderr) = deploy(&moto, &manifest, &["--concurrency", "8"]);
    assert_eq!(code, 0, "{stderr}");
    let lines = finished(&stderr);
    let total = lines.len();
    let counts: Vec<usize> = lines.iter().map(|l| l.0).collect();
    assert_eq!(counts, (1..=total).collect::<Vec<_>>(), "{stderr}");
    assert!(lines.iter().all(|l| l.1 == total));
    assert!(
        lines
            .iter()
            .any(|l| l.2 == "created lambda_function shop-dev-orders"),
        "{stderr}"
    );

    // A memory change: the update lists that attribute, before → after.
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("[functions.orders]\n", "[functions.orders]\nmemory = 512\n");
    std::fs::write(&manifest, text).unwrap();
    let _ = dir;
    let (code, _, stderr) = deploy(&moto, &manifest, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("  ~ lambda_function  shop-dev-orders\n")
            && stderr.contains("memory_size: 256 → 512"),
        "{stderr}"
    );
    assert!(!stderr.contains("handler: "), "only what changes: {stderr}");
    let lines = finished(&stderr);
    assert!(
        lines
            .iter()
            .any(|l| l.2 == "updated lambda_function shop-dev-orders"),
        "{stderr}"
    );
}

#[test]
fn verbose_lists_every_attribute_of_a_create() {
    let moto = Moto::start();
    let (_dir, manifest) = python_project(APP);
    let (code, _, stderr) = deploy(&moto, &manifest, &["-v"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("runtime = \"python3.12\"") && stderr.contains("handler = \"app.handler\""),
        "{stderr}"
    );
}
