//! Reliability under faults: fnctl against moto through the fault-injecting
//! proxy (`fault_proxy.rs`). A deploy through random throttles, 5xx, resets
//! and slow answers at a 20% rate must end in exactly the state a fault-free
//! deploy gives; responses lost after the cloud acted must converge when the
//! command is run again; a persistent outage must fail fast and say so.

use std::path::Path;

use serde_json::Value;

use crate::arm::ArmServer;
use crate::common::{copy_tree, example, fnctl};
use crate::fault_proxy::{Fault, FaultProxy, Faults};
use crate::moto::Moto;

/// Runs fnctl with moto's credentials against `endpoint` (moto itself or a
/// proxy in front of it): (exit code, JSON stdout, stderr).
pub fn fnctl_json_at(
    moto: &Moto,
    endpoint: &str,
    manifest: &Path,
    args: &[&str],
) -> (i32, Value, String) {
    let mut cmd = fnctl();
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    let out = cmd
        .env("AWS_ENDPOINT_URL", endpoint)
        .arg("--manifest")
        .arg(manifest)
        .args(args)
        .args(["--output", "json"])
        .output()
        .unwrap();
    crate::common::json_result(out)
}

/// [`fnctl_json_at`] without stderr.
pub fn fnctl_at(moto: &Moto, endpoint: &str, manifest: &Path, args: &[&str]) -> (i32, Value) {
    let (code, doc, _) = fnctl_json_at(moto, endpoint, manifest, args);
    (code, doc)
}

/// A copy of the all-triggers example (every AWS resource kind fnctl makes).
pub fn all_triggers_project() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(example("all-triggers").parent().unwrap(), dir.path());
    let manifest = dir.path().join("fnctl.toml");
    (dir, manifest)
}

/// Asserts that what is deployed matches the manifest exactly: a direct
/// deploy (no proxy) finds nothing to change and makes no mutating call.
pub fn assert_converged(moto: &Moto, manifest: &Path) {
    let (code, doc) = fnctl_at(moto, &moto.endpoint, manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0, "{doc:#}");
    let d = &doc["deployments"][0];
    assert_eq!(d["mutating_calls"], 0, "not converged: {doc:#}");
    assert_eq!(d["summary"]["create"], 0, "{doc:#}");
    assert_eq!(d["summary"]["update"], 0, "{doc:#}");
    assert_eq!(d["summary"]["delete"], 0, "{doc:#}");
    assert_eq!(d["summary"]["unchanged"], 22, "{doc:#}");
}

/// Everything of app `shop`, stage `dev` that is still in moto, read
/// directly (names, not fnctl's own read, so a bug there cannot hide it).
pub fn leftovers(moto: &Moto) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let conf = moto.sdk_config().await;
        let mut left = Vec::new();
        let lambda = aws_sdk_lambda::Client::new(&conf);
        for f in lambda.list_functions().send().await.unwrap().functions() {
            let name = f.function_name().unwrap_or_default();
            if name.starts_with("shop-dev-") {
                left.push(format!("function {name}"));
            }
        }
        let apigw = aws_sdk_apigateway::Client::new(&conf);
        for api in apigw.get_rest_apis().send().await.unwrap().items() {
            if api.name() == Some("shop-dev") {
                left.push("rest api shop-dev".into());
            }
        }
        for key in apigw.get_api_keys().send().await.unwrap().items() {
            left.push(format!("api key {}", key.name().unwrap_or_default()));
        }
        let events = aws_sdk_eventbridge::Client::new(&conf);
        for rule in events
            .list_rules()
            .name_prefix("shop-dev-")
            .send()
            .await
            .unwrap()
            .rules()
        {
            left.push(format!("rule {}", rule.name().unwrap_or_default()));
        }
        let iam = aws_sdk_iam::Client::new(&conf);
        for role in [
            "shop-dev-orders-role",
            "shop-dev-invoices-role",
            "shop-dev-digest-role",
        ] {
            if iam.get_role().role_name(role).send().await.is_ok() {
                left.push(format!("role {role}"));
            }
        }
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .build(),
        );
        if s3
            .head_bucket()
            .bucket("shop-dev-invoices")
            .send()
            .await
            .is_ok()
        {
            left.push("bucket shop-dev-invoices".into());
        }
        left
    })
}

/// Runs a command until it succeeds (at most `tries` times); returns how
/// many runs it took.
pub fn until_success(tries: usize, mut run: impl FnMut() -> (i32, Value)) -> usize {
    let mut last = Value::Null;
    for attempt in 1..=tries {
        let (code, doc) = run();
        if code == 0 {
            return attempt;
        }
        last = doc;
    }
    panic!("still failing after {tries} runs; last: {last:#}");
}

#[test]
fn random_faults_at_20_percent_still_reach_the_fault_free_state() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(
        &moto.endpoint,
        Faults {
            rate: 0.2,
            lose_responses: 0.0,
            only: None,
            seed: 0x5eed_0001,
        },
    );
    let (_dir, manifest) = all_triggers_project();

    let (code, doc) = fnctl_at(&moto, &proxy.endpoint, &manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0, "deploy through faults failed: {doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true);
    assert!(
        proxy.faulted() >= 5,
        "too few faults injected to mean anything: {} of {}",
        proxy.faulted(),
        proxy.requests()
    );
    assert_converged(&moto, &manifest);

    let (code, doc) = fnctl_at(&moto, &proxy.endpoint, &manifest, &["remove", "-p", "aws"]);
    assert_eq!(code, 0, "remove through faults failed: {doc:#}");
    assert_eq!(leftovers(&moto), Vec::<String>::new());
}

#[test]
fn lost_responses_converge_when_the_command_is_run_again() {
    let moto = Moto::start();
    // Every 10th response is dropped after moto acted on the request: a
    // create that succeeded but looked like a network error to fnctl.
    let proxy = FaultProxy::start(
        &moto.endpoint,
        Faults {
            rate: 0.0,
            lose_responses: 0.1,
            only: None,
            seed: 0x5eed_0002,
        },
    );
    let (_dir, manifest) = all_triggers_project();
    let runs = until_success(8, || {
        fnctl_at(&moto, &proxy.endpoint, &manifest, &["deploy", "-p", "aws"])
    });
    assert!(proxy.lost() > 0, "no response was lost");
    eprintln!(
        "deploy converged after {runs} run(s); {} responses lost",
        proxy.lost()
    );
    assert_converged(&moto, &manifest);

    until_success(8, || {
        fnctl_at(&moto, &proxy.endpoint, &manifest, &["remove", "-p", "aws"])
    });
    assert_eq!(leftovers(&moto), Vec::<String>::new());
}

#[test]
fn a_persistent_outage_fails_fast_with_a_clear_error() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(
        &moto.endpoint,
        Faults {
            rate: 1.0,
            lose_responses: 0.0,
            only: Some(Fault::Unavailable),
            seed: 3,
        },
    );
    let (_dir, manifest) = all_triggers_project();
    let (code, doc) = fnctl_at(&moto, &proxy.endpoint, &manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 1, "{doc:#}");
    let message = doc["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("GetCallerIdentity") && message.contains("HTTP 503"),
        "the error should name the call and the status: {doc:#}"
    );
    let help = doc["error"]["help"].as_str().unwrap_or_default();
    assert!(
        help.contains("8 attempts") && help.contains("run the same command again"),
        "the help should say what was tried and what to do: {doc:#}"
    );
    // Bounded: the SDK's 8 attempts for the first call, then a stop. This
    // is what "fails fast" means here; the time the SDK's backoff takes is
    // not asserted, as a loaded machine may stretch it.
    assert!(
        (2..=8).contains(&proxy.requests()),
        "{} requests",
        proxy.requests()
    );
    assert_eq!(leftovers(&moto), Vec::<String>::new());
}

#[test]
fn azure_deploy_through_random_faults_reaches_the_fault_free_state() {
    let server = ArmServer::start();
    let proxy = FaultProxy::start(
        &server.url,
        Faults {
            rate: 0.2,
            lose_responses: 0.0,
            only: None,
            seed: 0x5eed_0004,
        },
    );
    let dir = crate::azure::project_at(&proxy.endpoint, "tests/fixtures/portable");
    let (code, doc, stderr) = crate::azure::run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "deploy through faults failed: {stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true);
    assert!(
        proxy.faulted() >= 3,
        "{} of {}",
        proxy.faulted(),
        proxy.requests()
    );

    // Without faults, through the same endpoint: nothing left to change.
    proxy.set(Faults::default());
    server.clear_log();
    let (code, doc, stderr) = crate::azure::run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");
    assert_eq!(server.mutating_requests(), Vec::<String>::new());

    proxy.set(Faults {
        rate: 0.2,
        ..Faults::default()
    });
    let (code, doc, stderr) = crate::azure::run(dir.path(), &["remove"]);
    assert_eq!(code, 0, "remove through faults failed: {stderr}\n{doc:#}");
    let world = server.world.lock().unwrap();
    assert!(
        world.sites.is_empty(),
        "sites left: {:?}",
        world.sites.keys()
    );
    assert!(
        world.plans.is_empty(),
        "plans left: {:?}",
        world.plans.keys()
    );
}

#[test]
fn azure_classic_deploy_through_faults_on_arm_and_storage_converges() {
    let server = ArmServer::start();
    let faults = |seed| Faults {
        rate: 0.2,
        lose_responses: 0.0,
        only: None,
        seed,
    };
    let arm = FaultProxy::start(&server.url, faults(0x5eed_0005));
    let (dir, azurite, sa) = crate::azure_classic::classic_project_at(&server, &arm.endpoint);
    let storage = FaultProxy::start(&azurite.url, faults(0x5eed_0006));
    crate::azure_classic::point_storage_at(
        dir.path(),
        &format!("{}/{sa}", azurite.url),
        &storage.endpoint,
        &sa,
    );
    let (code, doc, stderr) = crate::azure::run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "deploy through faults failed: {stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true);
    assert!(
        arm.faulted() >= 3,
        "{} of {}",
        arm.faulted(),
        arm.requests()
    );
    // A code change: the upload meets storage failing half the time.
    let handlers = dir.path().join("src/handlers.py");
    let mut text = std::fs::read_to_string(&handlers).unwrap();
    text.push_str("\n# changed\n");
    std::fs::write(&handlers, text).unwrap();
    storage.set(Faults {
        rate: 0.5,
        ..faults(0)
    });
    let (code, doc, stderr) = crate::azure::run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert!(
        storage.faulted() >= 1,
        "{} of {}",
        storage.faulted(),
        storage.requests()
    );

    arm.set(Faults::default());
    storage.set(Faults::default());
    server.clear_log();
    let (code, doc, stderr) = crate::azure::run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");
}
