//! What a deploy shows while it applies.
//!
//! A deploy of a few hundred resources runs for minutes with up to
//! `--concurrency` changes at once; a line per *started* change said
//! neither how far along it was nor what was still running. So: on a
//! terminal, a bar with done/total and one line per change in flight with
//! its elapsed time; otherwise (CI, logs, pipes) one line per *finished*
//! change, `[12/283] created lambda_function shop-dev-orders (0.4s)`, which
//! stays true once written and reads the same whatever the concurrency.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Printer;
use crate::plan::{Action, Plan, ResourceId};

/// The progress of one apply. The backends report `(resource, step)`:
/// a step other than `"done"` means the change started (or moved on to
/// that step), `"done"` that it finished.
pub struct ApplyProgress {
    printer: Printer,
    /// What the plan does to each resource it changes.
    actions: BTreeMap<ResourceId, Action>,
    total: usize,
    state: Mutex<State>,
    /// On a terminal: the bars, and the overall one.
    bars: Option<(MultiProgress, ProgressBar)>,
}

#[derive(Default)]
struct State {
    done: usize,
    running: BTreeMap<ResourceId, Running>,
}

struct Running {
    started: Instant,
    bar: Option<ProgressBar>,
}

/// `created`, `updated`, `deleted`.
fn past(action: Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Update => "updated",
        Action::Delete => "deleted",
        Action::NoOp => "kept",
    }
}

/// `creating`, `updating`, `deleting`.
fn doing(action: Action) -> &'static str {
    match action {
        Action::Create => "creating",
        Action::Update => "updating",
        Action::Delete => "deleting",
        Action::NoOp => "checking",
    }
}

impl ApplyProgress {
    /// The display for applying `plan`'s changes.
    pub fn new(printer: &Printer, plan: &Plan) -> Self {
        let actions: BTreeMap<ResourceId, Action> = plan
            .changes
            .iter()
            .filter(|c| c.action != Action::NoOp)
            .map(|c| (c.id.clone(), c.action))
            .collect();
        let total = actions.len();
        let bars = (printer.is_interactive() && total > 0).then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let overall = multi.add(ProgressBar::new(total as u64));
            overall.set_style(
                ProgressStyle::with_template("applying [{bar:30}] {pos}/{len} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            overall.enable_steady_tick(Duration::from_millis(200));
            (multi, overall)
        });
        ApplyProgress {
            printer: printer.clone(),
            actions,
            total,
            state: Mutex::new(State::default()),
            bars,
        }
    }

    /// What the backends call, as the [`crate::provider::cloud::Progress`]
    /// callback.
    pub fn report(&self, id: &ResourceId, step: &str) {
        if step == "done" {
            self.finished(id);
        } else {
            self.started(id, step);
        }
    }

    fn action(&self, id: &ResourceId) -> Action {
        self.actions.get(id).copied().unwrap_or(Action::Update)
    }

    fn started(&self, id: &ResourceId, step: &str) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = state.running.get(id) {
            // A later step of a change in flight: show it.
            if let Some(bar) = &r.bar {
                bar.set_message(format!("{step} {} {}", id.kind, id.name));
            }
            return;
        }
        let bar = self.bars.as_ref().map(|(multi, _)| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("  {spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(format!(
                "{} {} {}",
                doing(self.action(id)),
                id.kind,
                self.printer.redactor.redact(&id.name)
            ));
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        state.running.insert(
            id.clone(),
            Running {
                started: Instant::now(),
                bar,
            },
        );
    }

    fn finished(&self, id: &ResourceId) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.done += 1;
        let done = state.done;
        // A change the backend had nothing to do for (a deletion its
        // parent's covered) finishes without having started.
        let took = match state.running.remove(id) {
            Some(r) => {
                if let Some(bar) = r.bar {
                    bar.finish_and_clear();
                    if let Some((multi, _)) = &self.bars {
                        multi.remove(&bar);
                    }
                }
                r.started.elapsed()
            }
            None => Duration::ZERO,
        };
        match &self.bars {
            Some((_, overall)) => overall.set_position(done as u64),
            None => {
                self.printer
                    .status(&finished_line(done, self.total, self.action(id), id, took))
            }
        }
    }

    /// Clears the terminal display (whether the apply finished or not).
    pub fn clear(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for (_, r) in std::mem::take(&mut state.running) {
            if let Some(bar) = r.bar {
                bar.finish_and_clear();
            }
        }
        if let Some((multi, overall)) = &self.bars {
            overall.finish_and_clear();
            let _ = multi.clear();
        }
    }
}

impl Drop for ApplyProgress {
    fn drop(&mut self) {
        self.clear();
    }
}

/// `[12/283] created lambda_function shop-dev-orders (0.4s)`.
pub fn finished_line(
    done: usize,
    total: usize,
    action: Action,
    id: &ResourceId,
    took: Duration,
) -> String {
    format!(
        "[{done}/{total}] {} {} {} ({:.1}s)",
        past(action),
        id.kind,
        id.name,
        took.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_line_counts_and_says_what_was_done() {
        assert_eq!(
            finished_line(
                12,
                283,
                Action::Create,
                &ResourceId::new("lambda_function", "shop-dev-orders"),
                Duration::from_millis(420)
            ),
            "[12/283] created lambda_function shop-dev-orders (0.4s)"
        );
    }
}
