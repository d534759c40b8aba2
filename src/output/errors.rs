//! Rendering errors at the edge: miette diagnostics for people, JSON for machines.

use miette::{GraphicalReportHandler, GraphicalTheme};
use serde_json::json;

use super::Printer;
use crate::commands::{CommandError, ExitStatus};
use crate::manifest::{LoadError, ManifestError};

/// Prints `err` the way the printer's format asks, and picks the exit status.
pub fn report(printer: &Printer, err: &CommandError) -> ExitStatus {
    let status = err.exit_status();
    if printer.is_json() {
        // A command over several providers carries its per-provider report:
        // one document, with the error inside it.
        let (report, err) = match err {
            CommandError::Reported { report, .. } => (Some(report), err.cause()),
            other => (None, other),
        };
        let mut body = match err {
            CommandError::Load(LoadError::Invalid(m)) => json!({
                "error": {"kind": "invalid_manifest", "message": m.to_string(), "diagnostics": m.to_json()}
            }),
            other => {
                json!({"error": {"kind": other.kind(), "message": other.to_string(), "help": other.help()}})
            }
        };
        if let (Some(serde_json::Value::Object(report)), Some(obj)) = (report, body.as_object_mut())
        {
            for (k, v) in report {
                obj.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        printer.json(&body);
        return status;
    }
    match err.cause() {
        CommandError::Load(LoadError::Invalid(m)) => {
            // Wrap to the terminal; in logs, keep each message on one line so
            // `file:line:col: message` stays greppable.
            let term = console::Term::stderr();
            let width = if term.is_term() {
                term.size_checked().map(|(_, w)| w as usize)
            } else {
                None
            };
            let text = render_manifest_error(m, printer.color, width);
            eprint!("{}", printer.redactor.redact(&text));
        }
        other => {
            printer.error(&other.to_string());
            if let Some(help) = other.help() {
                let label = console::style("help:").cyan().for_stderr();
                eprintln!("  {label} {}", printer.redactor.redact(&help));
            }
        }
    }
    status
}

/// Every diagnostic with its source line and underline, then a count.
/// `width`: wrap to this many columns; `None` (not a terminal): do not wrap.
pub fn render_manifest_error(err: &ManifestError, color: bool, width: Option<usize>) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(width.unwrap_or(100))
        .with_wrap_lines(width.is_some())
        .with_links(false);
    let mut out = String::new();
    for located in err.located() {
        let _ = handler.render_report(&mut out, &located);
        out.push('\n');
    }
    out.push_str(&format!("error: {}\n", err));
    out
}
