//! Located manifest problems and how they are rendered.
//!
//! Every check in the manifest pipeline reports a [`Diagnostic`] (a byte
//! range, a message, an optional hint) into a list instead of returning at the
//! first problem, so one run shows the user everything that is wrong. The list
//! becomes a [`ManifestError`], which miette renders with the source line and
//! the span underlined, and which the JSON output renders with line/column.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, SourceCode};
use serde::Serialize;

/// One problem in the manifest, located by byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Byte range in the manifest source that the message is about.
    pub span: Range<usize>,
    /// What is wrong, in a sentence that names the thing.
    pub message: String,
    /// Short text printed under the underline.
    pub label: Option<String>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(span: Range<usize>, message: impl Into<String>) -> Self {
        Self {
            span,
            message: message.into(),
            label: None,
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Adds a help line only when there is one.
    pub fn with_help_opt(mut self, help: Option<String>) -> Self {
        if help.is_some() {
            self.help = help;
        }
        self
    }
}

/// The manifest source, shared between all diagnostics of one load.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub text: Arc<str>,
}

impl Source {
    pub fn new(path: &Path, text: impl Into<Arc<str>>) -> Self {
        Self {
            path: path.to_path_buf(),
            text: text.into(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    /// The display name used in messages: the path as given by the user.
    pub fn name(&self) -> String {
        self.path.display().to_string()
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Everything wrong with a manifest, in source order.
#[derive(Debug, Clone)]
pub struct ManifestError {
    pub source: Source,
    pub diagnostics: Vec<Diagnostic>,
}

impl ManifestError {
    pub fn new(source: Source, mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics.sort_by(|a, b| {
            (a.span.start, a.span.end, &a.message).cmp(&(b.span.start, b.span.end, &b.message))
        });
        diagnostics.dedup();
        Self {
            source,
            diagnostics,
        }
    }

    /// A machine-readable form for `--output json`.
    pub fn to_json(&self) -> Vec<JsonDiagnostic> {
        self.diagnostics
            .iter()
            .map(|d| {
                let (line, column) = self.source.line_col(d.span.start);
                JsonDiagnostic {
                    file: self.source.name(),
                    line,
                    column,
                    message: d.message.clone(),
                    help: d.help.clone(),
                }
            })
            .collect()
    }
}

/// `{"file","line","column","message","help"}` as printed by `--output json`.
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl std::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.diagnostics.len();
        write!(
            f,
            "{} has {} problem{}",
            self.source.name(),
            n,
            if n == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for ManifestError {}

impl ManifestError {
    /// Each diagnostic as a self-contained miette report, with the manifest
    /// attached so the renderer can underline the span.
    pub fn located(&self) -> Vec<LocatedDiagnostic> {
        self.diagnostics
            .iter()
            .map(|d| {
                let (line, col) = self.source.line_col(d.span.start);
                LocatedDiagnostic {
                    diag: d.clone(),
                    source: NamedSource::new(self.source.name(), self.source.text.to_string()),
                    location: format!("{}:{}:{}", self.source.name(), line, col),
                }
            })
            .collect()
    }
}

/// One diagnostic bound to its source: what miette renders.
pub struct LocatedDiagnostic {
    diag: Diagnostic,
    source: NamedSource<String>,
    /// `file:line:col`, part of the message so it survives plain-text output.
    location: String,
}

impl std::fmt::Debug for LocatedDiagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocatedDiagnostic")
            .field("location", &self.location)
            .field("diag", &self.diag)
            .finish()
    }
}

impl std::fmt::Display for LocatedDiagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.diag.message)
    }
}

impl std::error::Error for LocatedDiagnostic {}

impl miette::Diagnostic for LocatedDiagnostic {
    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.diag
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.diag.span.clone();
        let len = span.end.saturating_sub(span.start).max(1);
        Some(Box::new(std::iter::once(LabeledSpan::new(
            self.diag.label.clone(),
            span.start,
            len,
        ))))
    }
}
