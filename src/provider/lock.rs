//! The deploy lock, provider-neutral part: who holds it and until when.
//!
//! Two deploys (or a deploy and a remove) of the same app+stage running at
//! once would each plan against a state the other is changing and leave a
//! mix of both. So before changing anything, a command takes a lock stored
//! in the cloud next to the app (an SSM parameter on AWS, a blob-container
//! lease on Azure); the second command fails fast with [`Locked`], naming
//! the holder. The lock expires unless its holder renews it, so a holder
//! killed mid-deploy blocks others for at most [`LOCK_TTL`] — and not at all
//! on the machine it ran on, where a lock whose process is gone is taken
//! over at once (see [`LockHolder::is_abandoned`]). Commands with
//! nothing to change never take it, which keeps an unchanged redeploy free
//! of mutating calls.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long a lock lasts without renewal. Azure container leases allow at
/// most 60 seconds; the same figure keeps both clouds alike.
pub const LOCK_TTL: Duration = Duration::from_secs(60);

/// How often a holder renews: a third of the TTL, so two missed renewals
/// in a row still leave the lock held.
pub const RENEW_EVERY: Duration = Duration::from_secs(20);

/// Stored with the lock so a blocked user learns who holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    /// Random per acquisition; a holder only renews or releases its own lock.
    pub id: String,
    /// `deploy` or `remove`.
    pub operation: String,
    pub host: String,
    pub pid: u32,
    pub acquired_unix: u64,
    pub expires_unix: u64,
    /// The holder's PID namespace (Linux), so a PID is only judged on the
    /// machine and in the container where it means something.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pidns: Option<String>,
    /// Resources this run may create that a crash could leave without
    /// their ownership tags (S3 buckets: created, then tagged). A run that
    /// takes over an abandoned lock inherits the list, so it can still tell
    /// such a leftover from somebody else's resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub creating: Vec<String>,
}

impl LockHolder {
    pub fn new(operation: &str) -> Self {
        let now = now_unix();
        let host = hostname();
        let pid = std::process::id();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let id = hex::encode(&Sha256::digest(format!("{host}/{pid}/{nanos}"))[..12]);
        LockHolder {
            id,
            operation: operation.to_string(),
            host,
            pid,
            acquired_unix: now,
            expires_unix: now + LOCK_TTL.as_secs(),
            pidns: pid_namespace(),
            creating: Vec::new(),
        }
    }

    /// The same holder with its expiry pushed out by a TTL from now.
    pub fn renewed(&self) -> Self {
        LockHolder {
            expires_unix: now_unix() + LOCK_TTL.as_secs(),
            ..self.clone()
        }
    }

    pub fn is_expired(&self) -> bool {
        now_unix() >= self.expires_unix
    }

    /// Expired, or held by a process that no longer exists on this machine
    /// (same host name and PID namespace): a deploy killed a moment ago
    /// does not block the rerun for the rest of its TTL. A reused PID
    /// looks alive, which errs on the safe side.
    pub fn is_abandoned(&self) -> bool {
        if self.is_expired() {
            return true;
        }
        let here = self.host == hostname() && self.pidns.is_some() && self.pidns == pid_namespace();
        here && !process_alive(self.pid)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let age = now_unix().saturating_sub(self.acquired_unix);
        let left = self.expires_unix.saturating_sub(now_unix());
        write!(
            f,
            "a `{}` by process {} on {} (started {age}s ago; the lock expires in {left}s unless renewed)",
            self.operation, self.pid, self.host
        )
    }
}

/// Another command holds the lock for this app+stage.
#[derive(Debug, Clone, thiserror::Error)]
#[error("`{app}` stage `{stage}` is locked by another fnctl command: {holder}")]
pub struct Locked {
    pub app: String,
    pub stage: String,
    /// Boxed: errors travel in `Result`s and should stay small.
    pub holder: Box<LockDescription>,
}

/// What is known about the holder of a lock fnctl could not take.
#[derive(Debug, Clone)]
pub enum LockDescription {
    Known(LockHolder),
    Unknown(String),
}

impl std::fmt::Display for LockDescription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockDescription::Known(h) => h.fmt(f),
            LockDescription::Unknown(what) => f.write_str(what),
        }
    }
}

impl Locked {
    pub fn hint(&self) -> String {
        format!(
            "wait for it to finish and run this again (exit code 5 means exactly this, so CI can retry); a holder that crashed stops blocking within {}s",
            LOCK_TTL.as_secs()
        )
    }
}

/// `pid:[4026531836]` on Linux; `None` elsewhere.
fn pid_namespace() -> Option<String> {
    std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Whether `pid` is a running (not zombie) process, per `/proc`. Without
/// `/proc` every process counts as alive.
fn process_alive(pid: u32) -> bool {
    if !std::path::Path::new("/proc/self").exists() {
        return true;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name: `123 (fnctl) S ...`.
        Ok(stat) => !matches!(
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next()),
            Some('Z' | 'X')
        ),
        Err(_) => false,
    }
}

pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "an unknown host".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_round_trip_and_expire() {
        let h = LockHolder::new("deploy");
        assert_eq!(h.id.len(), 24);
        assert!(!h.is_expired());
        assert_eq!(LockHolder::from_json(&h.to_json()), Some(h.clone()));
        let old = LockHolder {
            expires_unix: now_unix() - 1,
            ..h.clone()
        };
        assert!(old.is_expired());
        assert!(!old.renewed().is_expired());
        assert_eq!(old.renewed().id, h.id);
        let text = h.to_string();
        assert!(
            text.contains("`deploy`") && text.contains(&h.pid.to_string()),
            "{text}"
        );
        assert_eq!(LockHolder::from_json("not json"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_lock_of_a_dead_process_here_is_abandoned() {
        let mine = LockHolder::new("deploy");
        assert!(!mine.is_abandoned(), "this process is alive");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let dead = LockHolder {
            pid,
            ..mine.clone()
        };
        assert!(dead.is_abandoned(), "pid {pid} has exited");
        let elsewhere = LockHolder {
            host: "another-host".into(),
            ..dead.clone()
        };
        assert!(
            !elsewhere.is_abandoned(),
            "a PID on another host says nothing"
        );
        let other_namespace = LockHolder {
            pidns: Some("pid:[1]".into()),
            ..dead
        };
        assert!(!other_namespace.is_abandoned());
    }
}
