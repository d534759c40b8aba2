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
use crate::fault_proxy::{Fault, FaultProxy, Faults};
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

/// Starts `cmd` (human output), sends it SIGINT as soon as it reports its
/// first change under way, and returns its exit code and everything it
/// wrote to stderr.
fn interrupt_at_first_change(mut cmd: Command) -> (Option<i32>, String) {
    use std::io::{BufRead, Read};
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fnctl starts");
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        seen.push_str(&line);
        let step = line.trim_start().split(' ').next().unwrap_or("");
        let under_way = line.starts_with("  ")
            && [
                "creating", "updating", "deleting", "create", "update", "delete",
            ]
            .contains(&step);
        line.clear();
        if under_way {
            let sent = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(sent.success());
            break;
        }
    }
    stderr.read_to_string(&mut seen).unwrap();
    (child.wait().unwrap().code(), seen)
}

/// The interruption message: how many changes were done and not started.
fn assert_interrupted(code: Option<i32>, stderr: &str) {
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted: finishing the changes in flight"),
        "{stderr}"
    );
    let left: usize = stderr
        .split("interrupted after ")
        .nth(1)
        .and_then(|rest| rest.split('(').nth(1))
        .and_then(|n| n.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of changes not started: {stderr}"));
    assert!(left > 0, "stopped before the end: {stderr}");
    assert!(stderr.contains("run the same command again"), "{stderr}");
}

/// Every request 400 ms late, so a Ctrl-C sent at the first change lands
/// while that change is still in flight, however fast the machine.
fn slow_proxy(upstream: &str) -> FaultProxy {
    FaultProxy::start(
        upstream,
        Faults {
            rate: 1.0,
            lose_responses: 0.0,
            only: Some(Fault::Slow),
            seed: 7,
        },
    )
}

/// Ctrl-C during deploy and remove: the changes in flight finish, nothing
/// else starts, exit 130 with how far it got; the rerun completes the job.
#[test]
fn aws_ctrl_c_stops_between_changes_and_a_rerun_finishes() {
    let moto = Moto::start();
    let proxy = slow_proxy(&moto.endpoint);
    let (_dir, manifest) = all_triggers_project();
    let aws = |args: &[&str]| {
        let mut cmd = fnctl_process();
        for (k, v) in moto.env() {
            cmd.env(k, v);
        }
        cmd.env("AWS_ENDPOINT_URL", &proxy.endpoint);
        cmd.arg("--manifest").arg(&manifest).args(args);
        cmd
    };
    let (code, stderr) = interrupt_at_first_change(aws(&["deploy", "-p", "aws"]));
    assert_interrupted(code, &stderr);
    let (code, doc) = fnctl_at(&moto, &moto.endpoint, &manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true);
    assert!(
        doc["deployments"][0]["summary"]["create"].as_u64().unwrap() > 0,
        "the rerun made what the interrupted run did not: {doc:#}"
    );
    assert_converged(&moto, &manifest);

    let (code, stderr) = interrupt_at_first_change(aws(&["remove", "-p", "aws"]));
    assert_interrupted(code, &stderr);
    assert!(!leftovers(&moto).is_empty(), "the remove stopped part-way");
    let (code, doc) = fnctl_at(&moto, &moto.endpoint, &manifest, &["remove", "-p", "aws"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(leftovers(&moto), Vec::<String>::new());
}

#[test]
fn azure_ctrl_c_stops_between_changes_and_a_rerun_finishes() {
    let server = ArmServer::start();
    let proxy = slow_proxy(&server.url);
    let dir = crate::azure::project_at(&proxy.endpoint, "tests/fixtures/portable");
    let azure = |args: &[&str]| {
        let mut cmd = fnctl_process();
        cmd.current_dir(dir.path())
            .env("FNCTL_AZURE_ACCESS_TOKEN", TOKEN)
            .args(["--provider", "azure"])
            .args(args);
        cmd
    };
    let (code, stderr) = interrupt_at_first_change(azure(&["deploy"]));
    assert_interrupted(code, &stderr);
    assert!(
        server.world.lock().unwrap().sites.is_empty(),
        "no Function App yet: only the first change ran"
    );
    proxy.set(Faults::default());
    let (code, doc, stderr) = crate::azure::run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(doc["deployments"][0]["verified"], true);
    let (code, doc, _) = crate::azure::run(dir.path(), &["deploy"]);
    assert_eq!(code, 0);
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");

    proxy.set(Faults {
        rate: 1.0,
        only: Some(Fault::Slow),
        ..Faults::default()
    });
    let (code, stderr) = interrupt_at_first_change(azure(&["remove"]));
    assert_interrupted(code, &stderr);
    assert!(
        !server.world.lock().unwrap().storage_accounts.is_empty(),
        "the storage account outlived the interrupted remove"
    );
    proxy.set(Faults::default());
    let (code, _, stderr) = crate::azure::run(dir.path(), &["remove"]);
    assert_eq!(code, 0, "{stderr}");
    let world = server.world.lock().unwrap();
    assert!(world.sites.is_empty() && world.plans.is_empty() && world.storage_accounts.is_empty());
}
