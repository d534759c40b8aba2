//! The read budget of an unchanged redeploy on AWS (issue 15): how many
//! calls a no-op makes per function, counted on moto, not timed. Every
//! function has an HTTP route and a schedule, the shape the benchmark uses.
//!
//! Per function the read needs its alias (GetFunction on the alias), its
//! alias's policy (GetPolicy) and its schedule rule's target
//! (ListTargetsByRule): none of them has a bulk form. Configurations come
//! from ListFunctions pages and tags from the Resource Groups Tagging API.
//! moto's tagging API lists no EventBridge rules, so here each rule's tags
//! cost one ListTagsForResource more: four per function on moto, three
//! on AWS. Each function's own execution role (least privilege, issue 16)
//! costs three more: GetRole (trust and tags), ListAttachedRolePolicies
//! and GetRolePolicy, which IAM has no bulk form of short of
//! GetAccountAuthorizationDetails (every role and policy of the account).

use std::path::Path;

use serde_json::Value;

use crate::common::python_project;
use crate::faults::fnctl_json_at;
use crate::moto::Moto;

/// Reads per function on moto (see the module documentation).
const PER_FUNCTION: u64 = 7;
/// Reads that do not grow with the app: identity, the API and its stage,
/// key and usage plan, the list calls (functions, roles, event source
/// mappings) and the tagging pages.
const CONSTANT: u64 = 20;

fn manifest(n: usize) -> String {
    let mut m = String::from(
        "[app]\nname = \"budget\"\nruntime = \"python3.12\"\n\n[providers.aws]\nregion = \"us-east-1\"\n",
    );
    for i in 0..n {
        m.push_str(&format!(
            "\n[functions.f{i}]\nhandler = \"app.handler\"\n\
             [[functions.f{i}.triggers]]\ntype = \"http\"\nmethod = \"GET\"\npath = \"/f{i}/{{id}}\"\n\
             [[functions.f{i}.triggers]]\ntype = \"schedule\"\nschedule = \"rate(1 hour)\"\n"
        ));
    }
    m
}

fn deploy(moto: &Moto, manifest: &Path) -> Value {
    let (code, doc, stderr) = fnctl_json_at(moto, &moto.endpoint, manifest, &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    doc
}

/// (reads, mutating calls) of a no-op redeploy of `n` functions.
fn noop_calls(n: usize) -> (u64, u64) {
    let moto = Moto::start();
    let (_dir, path) = python_project(&manifest(n));
    deploy(&moto, &path);
    let doc = deploy(&moto, &path);
    let report = &doc["deployments"][0];
    for action in ["create", "update", "delete"] {
        assert_eq!(report["summary"][action], 0, "a no-op: {doc:#}");
    }
    let total = report["api_calls"].as_u64().unwrap();
    let mutating = report["mutating_calls"].as_u64().unwrap();
    (total - mutating, mutating)
}

#[test]
fn an_unchanged_redeploy_reads_a_few_calls_per_function_and_changes_nothing() {
    let (small_n, large_n) = (2, 8);
    let (small, small_mutating) = noop_calls(small_n);
    let (large, large_mutating) = noop_calls(large_n);
    eprintln!("no-op reads: {small} for {small_n} functions, {large} for {large_n}");
    assert_eq!((small_mutating, large_mutating), (0, 0));
    let per_function = (large - small) as f64 / (large_n - small_n) as f64;
    assert!(
        per_function <= PER_FUNCTION as f64,
        "{per_function} reads per function ({small} reads for {small_n} functions, {large} for {large_n})"
    );
    for (n, reads) in [(small_n, small), (large_n, large)] {
        assert!(
            reads <= PER_FUNCTION * n as u64 + CONSTANT,
            "{reads} reads for {n} functions, budget {PER_FUNCTION} per function + {CONSTANT}"
        );
    }
}
