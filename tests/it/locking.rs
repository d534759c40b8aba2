//! The deploy lock: two commands changing the same app+stage never
//! interleave. A lock held by someone else stops a deploy before any change
//! (exit 5, the holder named); an expired one is taken over; two deploys
//! started together end with one applying and the other stopped (or finding
//! nothing left to do), and the cloud in the manifest's state.

use std::process::Stdio;

use fnctl::provider::lock::{now_unix, LockHolder};

use crate::arm::{ArmServer, TOKEN};
use crate::common::fnctl_process;
use crate::faults::{all_triggers_project, assert_converged, fnctl_at, leftovers};
use crate::moto::Moto;

const LOCK: &str = "/fnctl/shop/dev/lock";

fn someone_else(expires_unix: u64) -> LockHolder {
    LockHolder {
        id: "0123456789abcdef01234567".into(),
        operation: "deploy".into(),
        host: "ci-runner-7".into(),
        pid: 4242,
        acquired_unix: now_unix() - 5,
        expires_unix,
        pidns: None,
        creating: Vec::new(),
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn ssm_parameter(moto: &Moto) -> Option<String> {
    rt().block_on(async {
        let ssm = aws_sdk_ssm::Client::new(&moto.sdk_config().await);
        ssm.get_parameter()
            .name(LOCK)
            .send()
            .await
            .ok()
            .and_then(|o| o.parameter().and_then(|p| p.value()).map(str::to_string))
    })
}

fn plant_ssm_lock(moto: &Moto, holder: &LockHolder) {
    rt().block_on(async {
        let ssm = aws_sdk_ssm::Client::new(&moto.sdk_config().await);
        ssm.put_parameter()
            .name(LOCK)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .value(holder.to_json())
            .overwrite(true)
            .send()
            .await
            .unwrap();
    });
}

/// Exit codes of two copies of a command started at the same moment, and
/// their output for failure messages.
fn together(mut a: std::process::Command, mut b: std::process::Command) -> ((i32, i32), String) {
    let piped = |c: &mut std::process::Command| {
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
    };
    piped(&mut a);
    piped(&mut b);
    let first = a.spawn().unwrap();
    let second = b.spawn().unwrap();
    let x = first.wait_with_output().unwrap();
    let y = second.wait_with_output().unwrap();
    let text = |o: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    (
        (x.status.code().unwrap_or(-1), y.status.code().unwrap_or(-1)),
        format!("first:\n{}\nsecond:\n{}", text(&x), text(&y)),
    )
}

#[test]
fn aws_a_held_lock_stops_a_deploy_before_any_change_and_an_expired_one_is_taken_over() {
    let moto = Moto::start();
    let (_dir, manifest) = all_triggers_project();

    plant_ssm_lock(&moto, &someone_else(now_unix() + 600));
    let (code, doc) = fnctl_at(&moto, &moto.endpoint, &manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 5, "{doc:#}");
    assert_eq!(doc["error"]["kind"], "locked");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`shop` stage `dev` is locked")
            && message.contains("process 4242 on ci-runner-7"),
        "{message}"
    );
    assert!(
        doc["error"]["help"]
            .as_str()
            .unwrap()
            .contains("exit code 5"),
        "{doc:#}"
    );
    assert_eq!(leftovers(&moto), Vec::<String>::new(), "nothing may change");

    // Expired: taken over, deployed, and given back.
    plant_ssm_lock(&moto, &someone_else(now_unix() - 1));
    let (code, doc) = fnctl_at(&moto, &moto.endpoint, &manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(ssm_parameter(&moto), None, "the lock is released");

    // Nothing to change needs no lock: a held lock does not block it.
    plant_ssm_lock(&moto, &someone_else(now_unix() + 600));
    assert_converged(&moto, &manifest);
    // But a remove (which changes things) is stopped.
    let (code, doc) = fnctl_at(&moto, &moto.endpoint, &manifest, &["remove", "-p", "aws"]);
    assert_eq!(code, 5, "{doc:#}");
    assert_converged(&moto, &manifest);
}

#[test]
fn aws_two_deploys_at_once_never_interleave() {
    let moto = Moto::start();
    let (_dir, manifest) = all_triggers_project();
    let deploy = || {
        let mut cmd = fnctl_process();
        for (k, v) in moto.env() {
            cmd.env(k, v);
        }
        cmd.arg("--manifest")
            .arg(&manifest)
            .args(["deploy", "-p", "aws"]);
        cmd
    };
    let mut stopped = 0;
    for round in 0..3 {
        let (outcome, output) = together(deploy(), deploy());
        assert!(
            matches!(outcome, (0, 5) | (5, 0) | (0, 0)),
            "round {round}: exit codes {outcome:?}\n{output}"
        );
        stopped += usize::from(outcome != (0, 0));
        assert_converged(&moto, &manifest);
        assert_eq!(
            ssm_parameter(&moto),
            None,
            "round {round}: lock left behind"
        );
        let (code, doc) = fnctl_at(&moto, &moto.endpoint, &manifest, &["remove", "-p", "aws"]);
        assert_eq!(code, 0, "{doc:#}");
    }
    eprintln!("{stopped} of 3 rounds stopped the second deploy at the lock");
}

fn azure_deploy(dir: &std::path::Path) -> std::process::Command {
    let mut cmd = fnctl_process();
    cmd.current_dir(dir)
        .env("FNCTL_AZURE_ACCESS_TOKEN", TOKEN)
        .args(["--provider", "azure", "--output", "json", "deploy"]);
    cmd
}

#[test]
fn azure_a_leased_lock_stops_a_deploy_and_two_deploys_at_once_never_interleave() {
    let server = ArmServer::start();
    let dir = crate::azure::project_at(&server.url, "tests/fixtures/portable");
    let (code, doc, stderr) = crate::azure::run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");

    // Someone else holds the lease (and named themselves in the metadata).
    let account = {
        let mut w = server.world.lock().unwrap();
        let account = w.storage_accounts.keys().next().unwrap().clone();
        let key = (account.clone(), "fnctl-lock".to_string());
        assert!(w.containers.contains(&key), "the lock container exists");
        w.leases.insert(
            key.clone(),
            (
                "11111111-2222-4333-8444-555555555555".into(),
                60,
                Some(std::time::Instant::now() + std::time::Duration::from_secs(60)),
            ),
        );
        w.container_metadata.insert(
            key,
            serde_json::json!({"fnctlholder": someone_else(now_unix() + 60).to_json()}),
        );
        account
    };
    std::fs::write(
        dir.path().join("src/handlers.py"),
        std::fs::read_to_string(dir.path().join("src/handlers.py")).unwrap() + "\n# changed\n",
    )
    .unwrap();
    server.clear_log();
    let (code, doc, stderr) = crate::azure::run(dir.path(), &["deploy"]);
    assert_eq!(code, 5, "{stderr}\n{doc:#}");
    assert_eq!(doc["error"]["kind"], "locked");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("process 4242 on ci-runner-7"),
        "{doc:#}"
    );
    assert_eq!(
        server.mutating_requests(),
        Vec::<String>::new(),
        "nothing may change"
    );

    // The lease is gone (its holder finished): two deploys at once.
    server
        .world
        .lock()
        .unwrap()
        .leases
        .remove(&(account.clone(), "fnctl-lock".to_string()));
    let (outcome, output) = together(azure_deploy(dir.path()), azure_deploy(dir.path()));
    assert!(
        matches!(outcome, (0, 5) | (5, 0) | (0, 0)),
        "exit codes {outcome:?}\n{output}"
    );
    let (code, doc, stderr) = crate::azure::run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");
    let w = server.world.lock().unwrap();
    assert!(
        !w.leases.contains_key(&(account, "fnctl-lock".to_string())),
        "the lease was released"
    );
}
