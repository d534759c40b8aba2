//! Plans for people (text) and machines (JSON).
//!
//! Rendering is separate from computing so both forms are snapshot-tested on
//! their own and the JSON shape stays stable for CI scripts. Colour is
//! applied through `console::Style`, which the output layer switches off
//! for `NO_COLOR`, `--no-color` and non-terminals.

use std::fmt::Write;

use console::Style;
use serde::Serialize;
use serde_json::Value;

use super::{Action, Change, Kept, LiveState, Plan, Summary};

/// Renders one plan as human-readable text: the changes with their
/// attributes, then how many resources are unchanged (listed too with
/// `show_unchanged`), then the provider's `notes` on it, then any conflicts
/// that stop it from being applied.
pub fn human(plan: &Plan, notes: &[String], show_unchanged: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} app `{}`, stage `{}` on {} ({})",
        Style::new().bold().apply_to("Plan for"),
        plan.app,
        plan.stage,
        plan.provider,
        plan.target
    );
    if let LiveState::NotRead { reason } = &plan.live {
        let _ = writeln!(
            s,
            "{}",
            Style::new()
                .dim()
                .apply_to(format!("  live state not read: {reason}"))
        );
    }
    let _ = writeln!(s);
    if plan.changes.is_empty() {
        let _ = writeln!(s, "  (no resources)");
    }
    let shown: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| show_unchanged || c.action != Action::NoOp)
        // A conflicting resource is shown once, under the conflicts.
        .filter(|c| !plan.conflicts.iter().any(|k| k.id == c.id))
        .collect();
    let width = shown.iter().map(|c| c.id.kind.len()).max().unwrap_or(0);
    for change in &shown {
        render_change(&mut s, change, width, true);
    }
    let unchanged = plan.summary().unchanged;
    if !show_unchanged && unchanged > 0 {
        let _ = writeln!(
            s,
            "{}",
            Style::new().dim().apply_to(format!(
                "  ({unchanged} unchanged resource{} not shown; --show-unchanged lists them)",
                if unchanged == 1 { "" } else { "s" }
            ))
        );
    }
    if !notes.is_empty() {
        let _ = writeln!(s);
        s.push_str(&notes_lines(notes));
    }
    if !plan.conflicts.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "{}",
            Style::new()
                .red()
                .bold()
                .apply_to("Cannot be applied: fnctl does not own these resources")
        );
        for c in &plan.conflicts {
            let _ = writeln!(
                s,
                "  {} {}  {}: {}",
                Style::new().red().apply_to("!"),
                c.id.kind,
                c.id.name,
                c.owner
            );
            let _ = writeln!(s, "      {}", c.help);
        }
    }
    if !plan.kept.is_empty() {
        let _ = writeln!(s);
        s.push_str(&kept_lines(&plan.kept));
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "{}", summary_line(&plan.summary()));
    s
}

/// What the provider says about a plan beyond its changes (that a switch
/// of API changes every URL, that a read could not see something), one
/// `note:` per entry; `plan` prints it under the changes, `deploy` under
/// its summary.
pub fn notes_lines(notes: &[String]) -> String {
    let mut s = String::new();
    for n in notes {
        let _ = writeln!(s, "  {} {n}", Style::new().yellow().apply_to("note:"));
    }
    s
}

/// The resources a plan leaves in place because they hold data, each with
/// why and how to delete it anyway (`plan` and `deploy` both print this:
/// a deploy that silently skipped a deletion would look like it had lost
/// track of the resource).
pub fn kept_lines(kept: &[Kept]) -> String {
    let mut s = String::new();
    for k in kept {
        let _ = writeln!(
            s,
            "  {} {} {}: {}",
            Style::new().yellow().apply_to("kept"),
            k.id.kind,
            k.id.name,
            k.reason
        );
        let _ = writeln!(s, "      {}", k.command);
    }
    s
}

/// Only the changes (no unchanged resources), for deploy's summary before
/// it applies. A first deploy of a few dozen functions has hundreds of
/// attributes, which buried the one line that matters, so by default a
/// create or a delete is one line and an update lists only the attributes
/// that change; `all_attributes` (`-v`) lists every attribute of a create,
/// as `plan` does.
pub fn human_changes(plan: &Plan, all_attributes: bool) -> String {
    let mut s = String::new();
    let changes: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .collect();
    let width = changes.iter().map(|c| c.id.kind.len()).max().unwrap_or(0);
    for change in changes {
        render_change(&mut s, change, width, all_attributes);
    }
    s.push_str(&summary_line(&plan.summary()));
    s
}

fn style_for(action: Action) -> Style {
    match action {
        Action::Create => Style::new().green(),
        Action::Update => Style::new().yellow(),
        Action::Delete => Style::new().red(),
        Action::NoOp => Style::new().dim(),
    }
}

/// One change: its marker, kind and name, then its attributes (every one
/// of a create only with `created_attributes`; the changed ones of an
/// update).
fn render_change(s: &mut String, change: &Change, width: usize, created_attributes: bool) {
    let style = style_for(change.action);
    let _ = writeln!(
        s,
        "  {} {:width$}  {}",
        style.apply_to(change.action.symbol()),
        change.id.kind,
        change.id.name,
        width = width
    );
    let indent = " ".repeat(width + 6);
    match change.action {
        Action::Create if created_attributes => {
            for (k, v) in change.after.iter().flatten() {
                let _ = writeln!(s, "{indent}{k} = {}", value_text(v));
            }
        }
        Action::Update => {
            for k in &change.changed {
                let before = change.before.as_ref().and_then(|b| b.get(k));
                let after = change.after.as_ref().and_then(|a| a.get(k));
                let _ = writeln!(
                    s,
                    "{indent}{k}: {} {} {}",
                    before.map(value_text).unwrap_or_else(|| "(none)".into()),
                    style.apply_to("→"),
                    after.map(value_text).unwrap_or_else(|| "(none)".into())
                );
            }
        }
        Action::Create | Action::Delete | Action::NoOp => {}
    }
}

/// Scalars print bare-ish (strings quoted), compound values as compact JSON.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// `Plan: 3 to create, 1 to update, 0 to delete, 2 unchanged.`
pub fn summary_line(s: &Summary) -> String {
    if s.create + s.update + s.delete == 0 {
        return format!(
            "No changes: {} resource{} up to date.",
            s.unchanged,
            if s.unchanged == 1 { "" } else { "s" }
        );
    }
    format!(
        "Plan: {} to create, {} to update, {} to delete, {} unchanged.",
        s.create, s.update, s.delete, s.unchanged
    )
}

/// The stable JSON document printed by `fnctl plan --output json`.
#[derive(Debug, Serialize)]
pub struct PlanDocument<'a> {
    /// Bumped on any incompatible change of this shape.
    pub format_version: u32,
    pub plans: Vec<PlanJson<'a>>,
}

/// One provider's plan in the JSON document.
#[derive(Debug, Serialize)]
pub struct PlanJson<'a> {
    #[serde(flatten)]
    pub plan: &'a Plan,
    /// The provider's notes on the plan, in words; left out when there are
    /// none.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub notes: &'a [String],
    pub summary: Summary,
}

/// The document for `plans`, each with the notes at the same index in
/// `notes` (none where `notes` is shorter).
pub fn json<'a>(plans: &'a [Plan], notes: &'a [Vec<String>]) -> PlanDocument<'a> {
    PlanDocument {
        format_version: 1,
        plans: plans
            .iter()
            .enumerate()
            .map(|(i, plan)| PlanJson {
                plan,
                notes: notes.get(i).map_or(&[], Vec::as_slice),
                summary: plan.summary(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ProviderId;
    use crate::plan::{diff, Resource};

    fn plan() -> Plan {
        let live = vec![
            Resource::new("fn", "b")
                .attr("memory", 128)
                .attr("code", "x"),
            Resource::new("fn", "c"),
        ];
        let want = vec![
            Resource::new("fn", "a")
                .attr("memory", 128)
                .attr("runtime", "python3.12"),
            Resource::new("fn", "b")
                .attr("memory", 256)
                .attr("code", "x"),
        ];
        Plan {
            app: "shop".into(),
            stage: "dev".into(),
            provider: ProviderId::Aws,
            target: "us-east-1".into(),
            live: LiveState::Read,
            changes: diff(&want, Some(&live)),
            conflicts: Vec::new(),
            kept: Vec::new(),
        }
    }

    #[test]
    fn deploy_summary_is_one_line_per_create_and_delete_and_changed_attributes_only() {
        console::set_colors_enabled(false);
        assert_eq!(
            human_changes(&plan(), false),
            "  + fn  a\n  ~ fn  b\n        memory: 128 → 256\n  - fn  c\n\
             Plan: 1 to create, 1 to update, 1 to delete, 0 unchanged."
        );
    }

    #[test]
    fn notes_are_said_under_the_changes_and_in_json_only_when_there_are_some() {
        console::set_colors_enabled(false);
        let notes = vec!["every URL changes".to_string()];
        let text = human(&plan(), &notes, false);
        assert!(
            text.contains("  - fn  c\n\n  note: every URL changes\n\nPlan: "),
            "{text}"
        );
        assert!(!human(&plan(), &[], false).contains("note:"));

        let plans = [plan(), plan()];
        let doc = serde_json::to_value(json(&plans, std::slice::from_ref(&notes))).unwrap();
        assert_eq!(doc["plans"][0]["notes"], serde_json::json!(notes));
        assert!(
            doc["plans"][1].get("notes").is_none(),
            "no notes, no key: {doc:#}"
        );
    }

    #[test]
    fn verbose_deploy_summary_lists_every_created_attribute() {
        console::set_colors_enabled(false);
        let text = human_changes(&plan(), true);
        assert!(
            text.starts_with("  + fn  a\n        memory = 128\n        runtime = \"python3.12\"\n"),
            "{text}"
        );
    }
}
