//! Crash recovery: fnctl killed with SIGKILL at random points of deploy and
//! remove, 20 rounds per cloud. Each round starts from nothing, kills a
//! deploy, runs it again to the end (it must succeed and verify), kills a
//! remove, and runs that again to the end (it must leave nothing behind).
//!
//! Kill times are drawn uniformly over the measured length of a full run, so
//! they land in every phase (packaging, reading, creating, updating,
//! publishing); the seed is printed so a failure can be replayed.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::arm::{ArmServer, TOKEN};
use crate::common::{fnctl_process, XorShift};
use crate::faults::{all_triggers_project, assert_converged, fnctl_at, leftovers};
use crate::moto::Moto;

const ROUNDS: usize = 20;

/// Starts `cmd`, kills it with SIGKILL after `after` unless it finished
/// first; true when it was killed.
fn kill_after(mut cmd: Command, after: Duration) -> bool {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("fnctl starts");
    let deadline = Instant::now() + after;
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if Instant::now() >= deadline {
            child.kill().unwrap(); // SIGKILL on Unix
            child.wait().unwrap();
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Times a command that must succeed.
fn timed(run: impl FnOnce() -> (i32, serde_json::Value)) -> Duration {
    let started = Instant::now();
    let (code, doc) = run();
    assert_eq!(code, 0, "{doc:#}");
    started.elapsed()
}

fn seed() -> u64 {
    let seed = std::env::var("FNCTL_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("crash test seed: {seed} (replay with FNCTL_CRASH_SEED={seed})");
    seed
}

#[test]
fn aws_deploys_killed_at_random_points_converge_and_remove_leaves_nothing() {
    let moto = Moto::start();
    let (_dir, manifest) = all_triggers_project();
    let aws = |args: &[&str]| {
        let mut cmd = fnctl_process();
        for (k, v) in moto.env() {
            cmd.env(k, v);
        }
        cmd.arg("--manifest").arg(&manifest).args(args);
        cmd
    };
    // The first run is slower (package cache, moto loading IAM's managed
    // policies), so time the second.
    let (mut deploy_time, mut remove_time) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..2 {
        deploy_time =
            timed(|| fnctl_at(&moto, &moto.endpoint, &manifest, &["deploy", "-p", "aws"]));
        remove_time =
            timed(|| fnctl_at(&moto, &moto.endpoint, &manifest, &["remove", "-p", "aws"]));
    }
    eprintln!("full deploy {deploy_time:?}, full remove {remove_time:?}");

    let mut rng = XorShift(seed() | 1);
    let (mut deploys_killed, mut removes_killed) = (0, 0);
    for round in 0..ROUNDS {
        let at = deploy_time.mul_f64(rng.next_f64());
        deploys_killed += usize::from(kill_after(aws(&["deploy", "-p", "aws"]), at));
        let (code, doc) = fnctl_at(&moto, &moto.endpoint, &manifest, &["deploy", "-p", "aws"]);
        assert_eq!(
            code, 0,
            "round {round}: deploy after a kill at {at:?} failed: {doc:#}"
        );
        assert_eq!(doc["deployments"][0]["verified"], true);
        if round % 5 == 4 {
            assert_converged(&moto, &manifest);
        }
        let at = remove_time.mul_f64(rng.next_f64());
        removes_killed += usize::from(kill_after(aws(&["remove", "-p", "aws"]), at));
        let (code, doc) = fnctl_at(&moto, &moto.endpoint, &manifest, &["remove", "-p", "aws"]);
        assert_eq!(
            code, 0,
            "round {round}: remove after a kill at {at:?} failed: {doc:#}"
        );
        assert_eq!(leftovers(&moto), Vec::<String>::new(), "round {round}");
    }
    eprintln!("killed {deploys_killed} deploys and {removes_killed} removes mid-run");
    assert!(
        deploys_killed >= ROUNDS / 2 && removes_killed >= ROUNDS / 2,
        "too few runs were killed before finishing: {deploys_killed} deploys, {removes_killed} removes of {ROUNDS}"
    );
}

#[test]
fn azure_deploys_killed_at_random_points_converge_and_remove_leaves_nothing() {
    let server = ArmServer::start();
    let dir = crate::azure::project_at(&server.url, "tests/fixtures/portable");
    azure_crash_rounds(&server, dir.path(), ROUNDS);
}

#[test]
fn azure_classic_deploys_killed_at_random_points_converge_and_remove_leaves_nothing() {
    let server = ArmServer::start();
    let (dir, _azurite, _) = crate::azure_classic::classic_project_at(&server, &server.url);
    azure_crash_rounds(&server, dir.path(), ROUNDS / 2);
}

/// `rounds` times: a deploy killed at a random point, then one that must
/// converge; a remove killed at a random point, then one that must leave
/// nothing.
fn azure_crash_rounds(server: &ArmServer, dir: &std::path::Path, rounds: usize) {
    let azure = |args: &[&str]| {
        let mut cmd = fnctl_process();
        cmd.current_dir(dir)
            .env("FNCTL_AZURE_ACCESS_TOKEN", TOKEN)
            .args(["--provider", "azure", "--output", "json"])
            .args(args);
        cmd
    };
    let run = |args: &[&str]| {
        let (code, doc, _) = crate::azure::run(dir, args);
        (code, doc)
    };
    // Measured on a second cycle: the first also fills build caches, so
    // it would overstate how long a deploy takes and let kills land after
    // the end.
    run(&["deploy"]);
    run(&["remove"]);
    let deploy_time = timed(|| run(&["deploy"]));
    let remove_time = timed(|| run(&["remove"]));

    let mut rng = XorShift(seed() | 1);
    let (mut deploys_killed, mut removes_killed) = (0, 0);
    for round in 0..rounds {
        let at = deploy_time.mul_f64(rng.next_f64());
        deploys_killed += usize::from(kill_after(azure(&["deploy"]), at));
        let (code, doc) = run(&["deploy"]);
        assert_eq!(
            code, 0,
            "round {round}: deploy after a kill at {at:?} failed: {doc:#}"
        );
        assert_eq!(doc["deployments"][0]["verified"], true);
        if round % 5 == 4 {
            let (code, doc) = run(&["deploy"]);
            assert_eq!(code, 0, "{doc:#}");
            assert_eq!(
                doc["deployments"][0]["mutating_calls"], 0,
                "round {round}: {doc:#}"
            );
        }
        let at = remove_time.mul_f64(rng.next_f64());
        removes_killed += usize::from(kill_after(azure(&["remove"]), at));
        let (code, doc) = run(&["remove"]);
        assert_eq!(
            code, 0,
            "round {round}: remove after a kill at {at:?} failed: {doc:#}"
        );
        let world = server.world.lock().unwrap();
        let left: Vec<&String> = world
            .sites
            .keys()
            .chain(world.plans.keys())
            .chain(world.storage_accounts.keys())
            .chain(world.resource_groups.keys().filter(|k| *k == "portable-rg"))
            .collect();
        assert!(left.is_empty(), "round {round}: left behind: {left:?}");
    }
    eprintln!("killed {deploys_killed} deploys and {removes_killed} removes mid-run");
    assert!(
        deploys_killed >= rounds / 2 && removes_killed >= rounds / 2,
        "too few runs were killed before finishing: {deploys_killed} deploys, {removes_killed} removes of {rounds}"
    );
}
