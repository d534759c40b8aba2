//! The one place that writes to the terminal.
//!
//! Data goes to stdout (so it can be piped), everything else — status,
//! warnings, progress, errors — to stderr. Progress bars appear only on an
//! interactive terminal and never under `CI` or `--output json`. Colour
//! follows `--no-color`, `NO_COLOR` and whether the stream is a terminal.
//! Every string passes through the [`Redactor`], so a secret that reached a
//! message by any path is still not printed.

pub mod errors;
pub mod progress;

use std::io::{IsTerminal, Write};
use std::sync::{Arc, RwLock};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::model::REDACTED;

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Text for people.
    Human,
    /// One JSON document on stdout, for scripts and CI.
    Json,
}

/// How loud to be: `-q` / default / `-v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// Replaces known secret values wherever they appear.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Arc<RwLock<Vec<String>>>,
}

impl Redactor {
    /// Registers values that must never be printed (short values are
    /// ignored: redacting "1" would mangle every number).
    pub fn add(&self, values: impl IntoIterator<Item = String>) {
        let mut s = self.secrets.write().unwrap_or_else(|e| e.into_inner());
        s.extend(values.into_iter().filter(|v| v.len() >= 4));
        // Longest first, so a secret containing another is replaced whole.
        s.sort_by_key(|v| std::cmp::Reverse(v.len()));
        s.dedup();
    }

    pub fn redact(&self, text: &str) -> String {
        let secrets = self.secrets.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        for s in secrets.iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        out
    }
}

/// Owns stdout, stderr and progress for one command run.
#[derive(Debug, Clone)]
pub struct Printer {
    pub format: Format,
    pub verbosity: Verbosity,
    pub color: bool,
    interactive: bool,
    pub redactor: Redactor,
}

impl Printer {
    /// Decides colour and interactivity from flags and the environment.
    pub fn new(format: Format, verbosity: Verbosity, no_color_flag: bool) -> Self {
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let stderr_tty = std::io::stderr().is_terminal();
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
        let color = !no_color_flag && !no_color_env && stderr_tty;
        console::set_colors_enabled(color && std::io::stdout().is_terminal());
        console::set_colors_enabled_stderr(color);
        Self {
            format,
            verbosity,
            color,
            interactive: stderr_tty && !ci && format == Format::Human,
            redactor: Redactor::default(),
        }
    }

    /// A printer for tests: no colour, not interactive.
    pub fn plain(format: Format) -> Self {
        Self {
            format,
            verbosity: Verbosity::Normal,
            color: false,
            interactive: false,
            redactor: Redactor::default(),
        }
    }

    pub fn is_json(&self) -> bool {
        self.format == Format::Json
    }

    /// Whether progress is drawn live (a terminal, not under `CI`, text
    /// output); otherwise progress is plain lines.
    pub fn is_interactive(&self) -> bool {
        self.interactive
    }

    /// Data for stdout (the command's result in human form).
    pub fn data(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(self.redactor.redact(text).as_bytes());
        let _ = out.flush();
    }

    /// The command's result as one JSON document on stdout.
    pub fn json<T: Serialize>(&self, value: &T) {
        let text = serde_json::to_string_pretty(value)
            .unwrap_or_else(|e| format!("{{\"error\":\"serialising output: {e}\"}}"));
        self.data(&format!("{text}\n"));
    }

    /// A status line on stderr (hidden by `-q` and in JSON mode).
    pub fn status(&self, text: &str) {
        if self.verbosity >= Verbosity::Normal && self.format == Format::Human {
            eprintln!("{}", self.redactor.redact(text));
        }
    }

    /// Detail shown with `-v` only.
    pub fn detail(&self, text: &str) {
        if self.verbosity >= Verbosity::Verbose {
            eprintln!("{}", self.redactor.redact(text));
        }
    }

    /// A warning on stderr (shown even in JSON mode, since stdout stays clean).
    pub fn warn(&self, text: &str) {
        if self.verbosity >= Verbosity::Normal {
            let label = console::style("warning:").yellow().bold().for_stderr();
            eprintln!("{label} {}", self.redactor.redact(text));
        }
    }

    /// An error message on stderr.
    pub fn error(&self, text: &str) {
        let label = console::style("error:").red().bold().for_stderr();
        eprintln!("{label} {}", self.redactor.redact(text));
    }

    /// A progress bar for `len` steps; hidden unless interactive.
    /// Asks a yes/no question on the terminal; `None` when nobody can answer
    /// (under CI, without a terminal, with JSON output), so callers go on
    /// without asking.
    pub fn confirm(&self, question: &str) -> Option<bool> {
        if !self.interactive || !std::io::stdin().is_terminal() {
            return None;
        }
        eprint!("{question} [y/N] ");
        let mut answer = String::new();
        if std::io::stdin().read_line(&mut answer).is_err() {
            return Some(false);
        }
        Some(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
    }

    pub fn progress(&self, len: u64, what: &str) -> ProgressBar {
        if !self.interactive {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        let style =
            ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(what.to_string());
        bar
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redactor_replaces_longest_secret_first() {
        let r = Redactor::default();
        r.add([
            "hunter2".to_string(),
            "hunter2-extended".to_string(),
            "ab".to_string(),
        ]);
        assert_eq!(
            r.redact("x hunter2-extended y hunter2 ab"),
            "x (sensitive) y (sensitive) ab"
        );
    }
}
