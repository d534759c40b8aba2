//! The Azure deploy benchmark (bench/deploy-azure.sh runs it): cold, no-op
//! and one-change deploys of an app of N functions (an HTTP route and a
//! timer each) against the ARM + scm test server, which lives in the test
//! support code. Ignored in normal test runs: it measures, it does not check.

use std::path::Path;
use std::time::Instant;

use crate::arm::{ArmServer, TOKEN};
use crate::common::fnctl_process;

fn write_app(dir: &Path, n: usize, url: &str) {
    let mut toml = format!(
        "[app]\nname = \"bench\"\nruntime = \"python3.12\"\n\n[providers.azure]\nsubscription = \"00000000-0000-0000-0000-000000000000\"\nresource_group = \"bench-rg\"\nlocation = \"westeurope\"\nendpoints = {{ arm = \"{url}\", scm = \"{url}\", app = \"{url}\", storage = \"{url}/devstoreaccount1\" }}\n"
    );
    for i in 1..=n {
        toml.push_str(&format!(
            "\n[functions.f{i}]\nsource = \"src/f{i}\"\nhandler = \"handler.handler\"\n\n[[functions.f{i}.triggers]]\ntype = \"http\"\nmethod = \"GET\"\npath = \"/f{i}/{{id}}\"\n\n[[functions.f{i}.triggers]]\ntype = \"schedule\"\nschedule = \"rate(1 hour)\"\n"
        ));
        let src = dir.join(format!("src/f{i}"));
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(
            src.join("handler.py"),
            format!("def handler(event, context):\n    return {{\"statusCode\": 200, \"body\": \"f{i}\"}}\n"),
        )
        .unwrap();
    }
    std::fs::write(dir.join("fnctl.toml"), toml).unwrap();
}

/// fnctl with the tests' clean environment; the release build when the
/// harness passes it in `FNCTL_BENCH_BIN` (bench/deploy-azure.sh does).
fn command() -> std::process::Command {
    let base = fnctl_process();
    let Some(bin) = std::env::var_os("FNCTL_BENCH_BIN") else {
        return base;
    };
    let mut cmd = std::process::Command::new(bin);
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd
}

/// Seconds for one deploy, and its mutating-call count.
fn deploy(dir: &Path) -> (f64, u64) {
    let started = Instant::now();
    let mut cmd = command();
    let out = cmd
        .current_dir(dir)
        .env("FNCTL_AZURE_ACCESS_TOKEN", TOKEN)
        .args(["--provider", "azure", "--output", "json", "deploy"])
        .output()
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert!(
        out.status.success(),
        "{doc:#}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        secs,
        doc["deployments"][0]["mutating_calls"]
            .as_u64()
            .unwrap_or(0),
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[(v.len() - 1) / 2]
}

#[test]
#[ignore = "a benchmark: run bench/deploy-azure.sh"]
fn azure_deploy_scaling() {
    let sizes: Vec<usize> = std::env::var("SIZES")
        .unwrap_or_else(|_| "10 50 200".into())
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect();
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    println!("| functions | cold deploy s | no-op redeploy s | no-op / cold | no-op mutating calls | one-change redeploy s | one-change mutating calls |");
    println!("|---|---|---|---|---|---|---|");
    for n in sizes {
        let (mut cold, mut noop, mut change) = (Vec::new(), Vec::new(), Vec::new());
        let (mut noop_calls, mut change_calls) = (0, 0);
        for run in 0..runs {
            let server = ArmServer::start();
            let dir = tempfile::tempdir().unwrap();
            write_app(dir.path(), n, &server.url);
            cold.push(deploy(dir.path()).0);
            let (secs, calls) = deploy(dir.path());
            noop.push(secs);
            noop_calls = calls;
            let handler = dir.path().join("src/f1/handler.py");
            let text = std::fs::read_to_string(&handler).unwrap();
            std::fs::write(&handler, format!("{text}\n# change {run}\n")).unwrap();
            let (secs, calls) = deploy(dir.path());
            change.push(secs);
            change_calls = calls;
        }
        let (c, o, x) = (median(cold), median(noop), median(change));
        println!(
            "| {n} | {c:.2} | {o:.2} | {:.2} | {noop_calls} | {x:.2} | {change_calls} |",
            o / c
        );
    }
}
