//! Crash recovery: fnctl killed with SIGKILL at random points of deploy and
//! remove, 20 rounds per cloud. Each round starts from nothing, kills a
//! deploy, runs it again to the end (it must succeed and verify), kills a
//! remove, and runs that again to the end (it must leave nothing behind).
//!
//! Kill points are events in fnctl's own progress, not moments on a clock:
//! fnctl talks to the emulators through a proxy that counts its requests
//! ([`crate::fault_proxy::Tripwire`]). A warm-up counts the requests of a
//! full deploy and a full remove; each round draws N uniformly in
//! [1, total) and holds the run's Nth request while fnctl is killed, then
//! forwards it (the cloud acted, the answer never arrived) or drops it (it
//! never got there), drawn too. So every run is killed mid-way, in every
//! phase that talks to the cloud (reading, locking, creating, updating,
//! publishing, deleting), however slow the machine; the seed is printed so
//! a failure can be replayed.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use serde_json::Value;

use crate::arm::{ArmServer, TOKEN};
use crate::common::{fnctl_process, XorShift};
use crate::fault_proxy::{aws_operation, service_of, FaultProxy, Faults, Held, Tripwire};
use crate::faults::{all_triggers_project, assert_converged, fnctl_at, leftovers};
use crate::moto::Moto;

const ROUNDS: usize = 20;

const SIGKILL: i32 = 9;

/// How often the test looks at whether fnctl exited while it waits for a
/// request. Only how soon it notices: no outcome depends on it.
const POLL: Duration = Duration::from_millis(10);

/// Waits for the request `held` announces, or for `child` to exit first
/// (`None`).
fn wait_for_request(held: &mpsc::Receiver<Held>, child: &mut std::process::Child) -> Option<Held> {
    loop {
        match held.recv_timeout(POLL) {
            Ok(request) => return Some(request),
            Err(RecvTimeoutError::Timeout) => {
                if child.try_wait().unwrap().is_some() {
                    return None;
                }
            }
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// Runs `cmd` with its `n`th request through `tripwire` held: when that
/// request arrives, kills fnctl with SIGKILL, then forwards the request to
/// the emulator or drops it, and waits until nothing of the dead run is in
/// flight. Returns what the held request was (e.g. `iam CreateRole`) when
/// fnctl was killed, `None` when it exited before making `n` requests.
fn kill_at_request(mut cmd: Command, tripwire: &Tripwire, n: u64, forward: bool) -> Option<String> {
    let held = tripwire.hold_nth(n);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("fnctl starts");
    let killed = match wait_for_request(&held, &mut child) {
        Some(request) => {
            child.kill().unwrap(); // SIGKILL on Unix
            let status = child.wait().unwrap();
            let line = request.request.clone();
            if forward {
                request.forward();
            } else {
                request.drop_request();
            }
            // Killed by the signal, not exited on its own just before it.
            (status.signal() == Some(SIGKILL)).then_some(line)
        }
        None => {
            child.wait().unwrap();
            None
        }
    };
    drop(held);
    tripwire.wait_idle();
    tripwire.reset();
    killed
}

/// Requests a command that must succeed sends through `tripwire`.
fn requests_of(tripwire: &Tripwire, run: impl FnOnce() -> (i32, Value)) -> u64 {
    tripwire.reset();
    let (code, doc) = run();
    assert_eq!(code, 0, "{doc:#}");
    tripwire.wait_idle();
    tripwire.seen()
}

/// Requests of a full deploy and of a full remove, counted over two
/// deploy+remove cycles (the first also fills caches); the smaller count of
/// each, so that every drawn kill point is a request each run makes.
fn warm_up(
    cloud: &str,
    tripwire: &Tripwire,
    deploy: impl Fn() -> (i32, Value),
    remove: impl Fn() -> (i32, Value),
) -> (u64, u64) {
    let mut counts = Vec::new();
    for _ in 0..2 {
        counts.push((
            requests_of(tripwire, &deploy),
            requests_of(tripwire, &remove),
        ));
    }
    eprintln!("{cloud}: requests of a full (deploy, remove), two cycles: {counts:?}");
    let deploy = counts.iter().map(|c| c.0).min().unwrap();
    let remove = counts.iter().map(|c| c.1).min().unwrap();
    assert!(deploy >= 2 && remove >= 2, "{counts:?}");
    (deploy, remove)
}

fn seed(cloud: &str) -> u64 {
    let seed = std::env::var("FNCTL_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("{cloud}: crash test seed: {seed} (replay with FNCTL_CRASH_SEED={seed})");
    seed
}

/// A kill point: the Nth request of a run that makes `total`, N uniform
/// in [1, total), and whether the held request then reaches the emulator.
struct KillPoint {
    n: u64,
    total: u64,
    forward: bool,
}

impl KillPoint {
    fn draw(rng: &mut XorShift, total: u64) -> KillPoint {
        let n = 1 + ((rng.next_f64() * (total - 1) as f64) as u64).min(total - 2);
        let forward = rng.next_f64() < 0.5;
        KillPoint { n, total, forward }
    }
}

impl std::fmt::Display for KillPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "request {} of {}, held request {}",
            self.n,
            self.total,
            if self.forward { "forwarded" } else { "dropped" }
        )
    }
}

/// Kills per kind of run, and the runs that finished before their kill
/// point (there must be none).
struct Tally {
    cloud: &'static str,
    deploys_killed: usize,
    removes_killed: usize,
    finished: Vec<String>,
}

impl Tally {
    fn new(cloud: &'static str) -> Tally {
        Tally {
            cloud,
            deploys_killed: 0,
            removes_killed: 0,
            finished: Vec::new(),
        }
    }

    fn record(&mut self, round: usize, what: &str, at: &KillPoint, killed: Option<String>) {
        match killed {
            Some(request) => {
                eprintln!(
                    "{}: round {round}: {what} killed at {at}: {request}",
                    self.cloud
                );
                if what == "deploy" {
                    self.deploys_killed += 1;
                } else {
                    self.removes_killed += 1;
                }
            }
            None => self
                .finished
                .push(format!("round {round}: the {what} finished before {at}")),
        }
    }

    /// Every round was killed mid-run: holding the Nth request of a run
    /// that makes at least N keeps it from finishing, whatever the
    /// machine's speed.
    fn assert_all_killed(&self, rounds: usize) {
        eprintln!(
            "{}: killed {} of {rounds} deploys and {} of {rounds} removes mid-run",
            self.cloud, self.deploys_killed, self.removes_killed
        );
        assert!(
            self.finished.is_empty()
                && self.deploys_killed == rounds
                && self.removes_killed == rounds,
            "not every run was killed before finishing: {} deploys, {} removes of {rounds}\n{}",
            self.deploys_killed,
            self.removes_killed,
            self.finished.join("\n")
        );
    }
}

#[test]
fn aws_deploys_killed_at_random_points_converge_and_remove_leaves_nothing() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint, Faults::default());
    let tripwire = &proxy.tripwire;
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
    let (deploy_requests, remove_requests) = warm_up(
        "aws",
        tripwire,
        || fnctl_at(&moto, &proxy.endpoint, &manifest, &["deploy", "-p", "aws"]),
        || fnctl_at(&moto, &proxy.endpoint, &manifest, &["remove", "-p", "aws"]),
    );

    let mut rng = XorShift(seed("aws") | 1);
    let mut tally = Tally::new("aws");
    for round in 0..ROUNDS {
        let at = KillPoint::draw(&mut rng, deploy_requests);
        let killed = kill_at_request(aws(&["deploy", "-p", "aws"]), tripwire, at.n, at.forward);
        tally.record(round, "deploy", &at, killed);
        let (code, doc) = fnctl_at(&moto, &moto.endpoint, &manifest, &["deploy", "-p", "aws"]);
        assert_eq!(
            code, 0,
            "round {round}: deploy after a kill at {at} failed: {doc:#}"
        );
        assert_eq!(doc["deployments"][0]["verified"], true);
        if round % 5 == 4 {
            assert_converged(&moto, &manifest);
        }
        let at = KillPoint::draw(&mut rng, remove_requests);
        let killed = kill_at_request(aws(&["remove", "-p", "aws"]), tripwire, at.n, at.forward);
        tally.record(round, "remove", &at, killed);
        let (code, doc) = fnctl_at(&moto, &moto.endpoint, &manifest, &["remove", "-p", "aws"]);
        assert_eq!(
            code, 0,
            "round {round}: remove after a kill at {at} failed: {doc:#}"
        );
        assert_eq!(leftovers(&moto), Vec::<String>::new(), "round {round}");
    }
    tally.assert_all_killed(ROUNDS);
}

#[test]
fn azure_deploys_killed_at_random_points_converge_and_remove_leaves_nothing() {
    let server = ArmServer::start();
    let proxy = FaultProxy::start(&server.url, Faults::default());
    let dir = crate::azure::project_at(&proxy.endpoint, "tests/fixtures/portable");
    azure_crash_rounds("azure", &server, dir.path(), &proxy.tripwire, ROUNDS);
}

#[test]
fn azure_classic_deploys_killed_at_random_points_converge_and_remove_leaves_nothing() {
    let server = ArmServer::start();
    // ARM and the blob service each behind a proxy; one tripwire counts
    // fnctl's requests to both as one sequence.
    let arm = FaultProxy::start(&server.url, Faults::default());
    let (dir, azurite, sa) = crate::azure_classic::classic_project_at(&server, &arm.endpoint);
    let storage = FaultProxy::start_with(&azurite.url, Faults::default(), arm.tripwire.clone());
    crate::azure_classic::point_storage_at(
        dir.path(),
        &format!("{}/{sa}", azurite.url),
        &storage.endpoint,
        &sa,
    );
    azure_crash_rounds(
        "azure classic",
        &server,
        dir.path(),
        &arm.tripwire,
        ROUNDS / 2,
    );
    assert!(
        storage.requests() > 0,
        "the package went through the storage proxy"
    );
}

/// `rounds` times: a deploy killed at a random request, then one that must
/// converge; a remove killed at a random request, then one that must leave
/// nothing.
fn azure_crash_rounds(
    cloud: &'static str,
    server: &ArmServer,
    dir: &std::path::Path,
    tripwire: &Tripwire,
    rounds: usize,
) {
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
    let (deploy_requests, remove_requests) =
        warm_up(cloud, tripwire, || run(&["deploy"]), || run(&["remove"]));

    let mut rng = XorShift(seed(cloud) | 1);
    let mut tally = Tally::new(cloud);
    for round in 0..rounds {
        let at = KillPoint::draw(&mut rng, deploy_requests);
        let killed = kill_at_request(azure(&["deploy"]), tripwire, at.n, at.forward);
        tally.record(round, "deploy", &at, killed);
        let (code, doc) = run(&["deploy"]);
        assert_eq!(
            code, 0,
            "round {round}: deploy after a kill at {at} failed: {doc:#}"
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
        let at = KillPoint::draw(&mut rng, remove_requests);
        let killed = kill_at_request(azure(&["remove"]), tripwire, at.n, at.forward);
        tally.record(round, "remove", &at, killed);
        let (code, doc) = run(&["remove"]);
        assert_eq!(
            code, 0,
            "round {round}: remove after a kill at {at} failed: {doc:#}"
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
    tally.assert_all_killed(rounds);
}

/// Starts `cmd` (human output) with `tripwire` holding the first request
/// `first_change` picks; when it arrives, sends fnctl SIGINT, waits until
/// fnctl says it is finishing the changes in flight, and only then lets
/// the request go on. So the signal always lands while that change is in
/// flight, however slow the machine. Returns the exit code and everything
/// fnctl wrote to stderr.
fn interrupt_at_first_change(
    mut cmd: Command,
    tripwire: &Tripwire,
    first_change: impl FnMut(&str, &[u8]) -> bool + Send + 'static,
) -> (Option<i32>, String) {
    let held = tripwire.hold_first(first_change);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fnctl starts");
    let stderr = child.stderr.take().unwrap();
    let (line_tx, lines) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    if let Some(request) = wait_for_request(&held, &mut child) {
        let sent = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        // fnctl's SIGINT handler reports the interruption at once; the
        // change it stops after is still waiting for its answer.
        for line in lines.iter() {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("interrupted: finishing the changes in flight") {
                break;
            }
        }
        request.forward();
    }
    for line in lines.iter() {
        seen.push_str(&line);
        seen.push('\n');
    }
    reader.join().unwrap();
    let code = child.wait().unwrap().code();
    tripwire.wait_idle();
    tripwire.reset();
    (code, seen)
}

/// Whether an AWS request changes something.
fn aws_writes(head: &str, body: &[u8]) -> bool {
    match aws_operation(head, body) {
        Some(op) => !["Get", "List", "Describe"]
            .iter()
            .any(|read| op.starts_with(read)),
        None => !matches!(head.split(' ').next(), Some("GET" | "HEAD")),
    }
}

/// Picks the first request of a change to the app on AWS: the first write
/// after the deploy lock (an SSM parameter) was taken, other than the
/// lock's own. Apply is running by then, so Ctrl-C there stops between
/// changes.
fn aws_first_change() -> impl FnMut(&str, &[u8]) -> bool + Send + 'static {
    let mut locked = false;
    move |head, body| {
        if service_of(head) == "ssm" {
            locked |= aws_operation(head, body).as_deref() == Some("PutParameter");
            return false;
        }
        locked && aws_writes(head, body)
    }
}

/// As [`aws_first_change`] for Azure: the first write (PUT, PATCH, DELETE,
/// a POST other than a `list…` read) after the lock's lease was taken,
/// other than the lock's own.
fn azure_first_change() -> impl FnMut(&str, &[u8]) -> bool + Send + 'static {
    let mut locked = false;
    move |head, _| {
        let mut words = head.split(' ');
        let method = words.next().unwrap_or_default();
        let path = words
            .next()
            .unwrap_or_default()
            .split('?')
            .next()
            .unwrap_or_default();
        if path.contains("/containers/fnctl-lock") {
            locked |= method == "POST" && path.ends_with("/lease");
            return false;
        }
        let writes = match method {
            "GET" | "HEAD" => false,
            "POST" => !path
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase()
                .starts_with("list"),
            _ => true,
        };
        locked && writes
    }
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
    if let Some(line) = stderr.lines().find(|l| l.contains("interrupted after ")) {
        eprintln!("{line}");
    }
    assert!(stderr.contains("run the same command again"), "{stderr}");
}

/// Ctrl-C during deploy and remove: the changes in flight finish, nothing
/// else starts, exit 130 with how far it got; the rerun completes the job.
#[test]
fn aws_ctrl_c_stops_between_changes_and_a_rerun_finishes() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint, Faults::default());
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
    let (code, stderr) = interrupt_at_first_change(
        aws(&["deploy", "-p", "aws"]),
        &proxy.tripwire,
        aws_first_change(),
    );
    assert_interrupted(code, &stderr);
    let (code, doc) = fnctl_at(&moto, &moto.endpoint, &manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true);
    assert!(
        doc["deployments"][0]["summary"]["create"].as_u64().unwrap() > 0,
        "the rerun made what the interrupted run did not: {doc:#}"
    );
    assert_converged(&moto, &manifest);

    let (code, stderr) = interrupt_at_first_change(
        aws(&["remove", "-p", "aws"]),
        &proxy.tripwire,
        aws_first_change(),
    );
    assert_interrupted(code, &stderr);
    assert!(!leftovers(&moto).is_empty(), "the remove stopped part-way");
    let (code, doc) = fnctl_at(&moto, &moto.endpoint, &manifest, &["remove", "-p", "aws"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(leftovers(&moto), Vec::<String>::new());
}

#[test]
fn azure_ctrl_c_stops_between_changes_and_a_rerun_finishes() {
    let server = ArmServer::start();
    let proxy = FaultProxy::start(&server.url, Faults::default());
    let dir = crate::azure::project_at(&proxy.endpoint, "tests/fixtures/portable");
    let azure = |args: &[&str]| {
        let mut cmd = fnctl_process();
        cmd.current_dir(dir.path())
            .env("FNCTL_AZURE_ACCESS_TOKEN", TOKEN)
            .args(["--provider", "azure"])
            .args(args);
        cmd
    };
    let (code, stderr) =
        interrupt_at_first_change(azure(&["deploy"]), &proxy.tripwire, azure_first_change());
    assert_interrupted(code, &stderr);
    assert!(
        server.world.lock().unwrap().sites.is_empty(),
        "no Function App yet: only the first change ran"
    );
    let (code, doc, stderr) = crate::azure::run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(doc["deployments"][0]["verified"], true);
    let (code, doc, _) = crate::azure::run(dir.path(), &["deploy"]);
    assert_eq!(code, 0);
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");

    let (code, stderr) =
        interrupt_at_first_change(azure(&["remove"]), &proxy.tripwire, azure_first_change());
    assert_interrupted(code, &stderr);
    assert!(
        !server.world.lock().unwrap().storage_accounts.is_empty(),
        "the storage account outlived the interrupted remove"
    );
    let (code, _, stderr) = crate::azure::run(dir.path(), &["remove"]);
    assert_eq!(code, 0, "{stderr}");
    let world = server.world.lock().unwrap();
    assert!(world.sites.is_empty() && world.plans.is_empty() && world.storage_accounts.is_empty());
}
