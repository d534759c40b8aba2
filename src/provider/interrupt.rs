//! Ctrl-C while changes are being applied.
//!
//! Killing a deploy between two calls is safe (the cloud is the state and a
//! rerun converges), but stopping between *changes* is kinder: the calls in
//! flight finish, nothing new starts, and the command ends with a message
//! saying how far it got and exit status 130. A second Ctrl-C stops at once.
//! Outside the apply phase, Ctrl-C stops at once too.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The status an interrupted command exits with: the shell's own for
/// SIGINT (128 + 2), so scripts see what happened.
pub const EXIT_STATUS: i32 = 130;

/// Watches for Ctrl-C during one apply; dropped when the apply ends.
pub struct Interrupt {
    requested: Arc<AtomicBool>,
    applying: Arc<AtomicBool>,
}

impl Interrupt {
    /// Starts watching. Needs a Tokio runtime.
    ///
    /// Tokio keeps its SIGINT handler for the rest of the process once
    /// installed, so the watcher outlives the apply: after it, a Ctrl-C
    /// exits at once as it would without fnctl's handler.
    pub fn watch() -> Interrupt {
        let requested = Arc::new(AtomicBool::new(false));
        let applying = Arc::new(AtomicBool::new(true));
        let (flag, active) = (requested.clone(), applying.clone());
        // Registered here, not in the task: a Ctrl-C between this call and
        // the task's first poll must not fall to the default handler.
        let mut signals = CtrlC::register();
        tokio::spawn(async move {
            while signals.next().await {
                if active.load(Ordering::SeqCst) && !flag.swap(true, Ordering::SeqCst) {
                    eprintln!(
                        "interrupted: finishing the changes in flight (Ctrl-C again to stop at once)"
                    );
                } else {
                    std::process::exit(EXIT_STATUS);
                }
            }
        });
        Interrupt {
            requested,
            applying,
        }
    }

    /// Whether Ctrl-C was pressed: start nothing new.
    pub fn requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        self.applying.store(false, Ordering::SeqCst);
    }
}

/// SIGINT as a stream, registered when created.
struct CtrlC {
    #[cfg(unix)]
    stream: Option<tokio::signal::unix::Signal>,
}

impl CtrlC {
    fn register() -> CtrlC {
        CtrlC {
            #[cfg(unix)]
            stream: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok(),
        }
    }

    /// Waits for the next Ctrl-C; false when none can come.
    async fn next(&mut self) -> bool {
        #[cfg(unix)]
        {
            match &mut self.stream {
                Some(s) => s.recv().await.is_some(),
                None => false,
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.is_ok()
        }
    }
}

/// The apply stopped early on Ctrl-C.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("interrupted after {done} change{} ({left} not started)", if *.done == 1 { "" } else { "s" })]
pub struct Interrupted {
    pub done: usize,
    pub left: usize,
}

impl Interrupted {
    pub fn hint(&self) -> String {
        "run the same command again to finish; it picks up from what the cloud reports".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_counts_what_was_done_and_what_was_not_started() {
        let one = Interrupted { done: 1, left: 3 };
        assert_eq!(
            one.to_string(),
            "interrupted after 1 change (3 not started)"
        );
        let none = Interrupted { done: 0, left: 2 };
        assert_eq!(
            none.to_string(),
            "interrupted after 0 changes (2 not started)"
        );
    }
}
