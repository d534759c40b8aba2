//! Property tests (fuzzing) for the code that reads user input: the manifest
//! parser, `${env:...}` interpolation and schedule translation.
//!
//! Each property runs `PROPTEST_CASES` cases (proptest's default, 256, in CI;
//! set it higher for a longer hunt, e.g. `PROPTEST_CASES=20000 cargo test
//! fuzz::`). Failures are shrunk to a minimal input and the seed is saved
//! under `tests/proptest-regressions/` (commit it) so the case is replayed first
//! on every later run.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use fnctl::manifest::interpolate::expand;
use fnctl::manifest::{load_source, LoadOptions, ManifestError, Source};
use fnctl::model::schedule::Schedule;
use fnctl::provider::aws::schedule::to_aws;
use fnctl::provider::azure::schedule::to_ncrontab;
use proptest::prelude::*;

use crate::common;

/// The example manifests: realistic starting points for mutation.
fn seeds() -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(common::repo().join("examples")).unwrap() {
        let path = entry.unwrap().path().join("fnctl.toml");
        if path.exists() {
            out.push(std::fs::read_to_string(path).unwrap());
        }
    }
    assert!(out.len() >= 3, "examples/ should hold several manifests");
    out
}

/// One edit to a manifest's text.
#[derive(Debug, Clone)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    DuplicateLine { line: usize },
    SwapLines { a: usize, b: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    // Fragments that steer mutations towards the parser's interesting paths.
    let fragment = prop_oneof![
        Just("=".to_string()),
        Just("[".to_string()),
        Just("]]".to_string()),
        Just("\"".to_string()),
        Just("${env:".to_string()),
        Just("$${".to_string()),
        Just("}".to_string()),
        Just("\n[functions.x]\n".to_string()),
        Just("\n[[functions.x.triggers]]\ntype = \"http\"\n".to_string()),
        Just("type = \"schedule\"\nschedule = \"".to_string()),
        Just("memory = -1\n".to_string()),
        Just("timeout = 1e309\n".to_string()),
        Just("path = \"/{a}/{a}\"\n".to_string()),
        Just("\u{feff}é🦀\u{0}".to_string()),
        "\\PC{0,12}",
    ];
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), fragment).prop_map(|(at, text)| Edit::Insert { at, text }),
        any::<usize>().prop_map(|line| Edit::DuplicateLine { line }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines { a, b }),
    ]
}

/// Applies an edit at char boundaries (positions wrap around the text).
fn apply(text: &str, e: &Edit) -> String {
    let boundary = |at: usize| {
        let mut at = at % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    match e {
        Edit::Delete { at, len } => {
            let start = boundary(*at);
            let mut end = (start + len).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            format!("{}{}", &text[..start], &text[end..])
        }
        Edit::Insert { at, text: t } => {
            let at = boundary(*at);
            format!("{}{}{}", &text[..at], t, &text[at..])
        }
        Edit::DuplicateLine { line } => {
            let mut lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let i = line % lines.len();
                lines.insert(i, lines[i]);
            }
            lines.join("\n")
        }
        Edit::SwapLines { a, b } => {
            let mut lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let n = lines.len();
                lines.swap(a % n, b % n);
            }
            lines.join("\n")
        }
    }
}

/// Loads manifest text the way `fnctl validate` does (without touching the
/// file system) and renders any diagnostics in both output forms. Checks
/// that every diagnostic points inside the text and has a message.
fn load_and_render(text: &str, env: &BTreeMap<String, String>) -> Result<(), TestCaseError> {
    let source = Source::new(Path::new("fnctl.toml"), text.to_string());
    for stage in ["dev", "prod"] {
        let opts = LoadOptions {
            stage,
            env,
            check_files: false,
        };
        if let Err(diags) = load_source(&source, &opts) {
            prop_assert!(!diags.is_empty(), "an error with no diagnostics");
            for d in &diags {
                prop_assert!(
                    d.span.start <= d.span.end && d.span.end <= text.len(),
                    "span {:?} outside a text of {} bytes: {}",
                    d.span,
                    text.len(),
                    d.message
                );
                prop_assert!(!d.message.trim().is_empty());
            }
            let err = ManifestError::new(source.clone(), diags);
            let json = serde_json::to_string(&err.to_json()).unwrap();
            prop_assert!(json.contains("\"line\""));
            for located in err.located() {
                let mut rendered = String::new();
                miette::GraphicalReportHandler::new_themed(
                    miette::GraphicalTheme::unicode_nocolor(),
                )
                .render_report(&mut rendered, &located)
                .unwrap();
                prop_assert!(rendered.contains("fnctl.toml"), "{}", rendered);
            }
        }
    }
    Ok(())
}

proptest! {
    /// Random edits of the examples never panic the loader or the renderer,
    /// and every diagnostic points inside the file.
    #[test]
    fn mutated_manifests_never_panic(
        seed in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let seeds = seeds();
        let mut text = seed.get(&seeds).clone();
        for e in &edits {
            text = apply(&text, e);
        }
        let env = BTreeMap::from([("SHOP_PAYMENT_KEY".to_string(), "sk".to_string())]);
        load_and_render(&text, &env)?;
    }

    /// Arbitrary text (not TOML at all, mostly) gets diagnostics, not a panic.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        load_and_render(&text, &BTreeMap::new())?;
    }

    /// Interpolation: never panics; errors point inside the string; text
    /// without `$` is returned unchanged; a defined variable expands to its
    /// value and `$${` stays a literal `${`.
    #[test]
    fn interpolation_is_total_and_exact(
        prefix in "[^$]{0,20}",
        name in "[A-Z_][A-Z0-9_]{0,10}",
        value in "[^$]{0,20}",
        default in "[^${}]{0,20}",
        noise in "[a-z{}:$-]{0,30}",
    ) {
        let env = BTreeMap::from([(name.clone(), value.clone())]);
        prop_assert_eq!(expand(&prefix, &env).unwrap(), prefix.clone());
        let reference = format!("{prefix}${{env:{name}}}!");
        prop_assert_eq!(expand(&reference, &env).unwrap(), format!("{prefix}{value}!"));
        let escaped = format!("$${{env:{name}}}");
        prop_assert_eq!(expand(&escaped, &env).unwrap(), format!("${{env:{name}}}"));
        // A default ends at the first `}`, so it cannot contain one.
        let defaulted = format!("${{env:UNSET_{name}:-{default}}}");
        let fallback: BTreeMap<String, String> = BTreeMap::new();
        prop_assert_eq!(expand(&defaulted, &fallback).unwrap(), default.clone());
        match expand(&noise, &env) {
            Ok(_) => {}
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for e in errors {
                    prop_assert!(e.range.start <= e.range.end && e.range.end <= noise.len());
                }
            }
        }
    }

    /// Schedule parsing never panics on arbitrary text.
    #[test]
    fn schedule_parser_is_total(text in "\\PC{0,40}") {
        let _ = Schedule::from_str(&text);
    }

    /// Every translation of a valid cron expression fires at exactly the
    /// minutes the original does: the Azure NCRONTAB (seconds dropped) and
    /// the EventBridge form (year dropped, `?` read as `*`, days of the week
    /// moved back from 1-7 to 0-6) are parsed again as standard cron and
    /// compared on the next firings from a range of start times.
    #[test]
    fn cron_translations_fire_at_the_same_minutes(expr in cron_expression(), start in 0u64..4_000_000_000) {
        let original: Schedule = match expr.parse() {
            Ok(s) => s,
            Err(e) => return Err(TestCaseError::fail(format!("generated `{expr}` did not parse: {e:?}"))),
        };
        // Display round-trips.
        let shown = original.to_string();
        prop_assert_eq!(Schedule::from_str(&shown).ok(), Some(original.clone()), "display `{}`", shown);
        if let Ok(azure) = to_ncrontab(&original) {
            let fields: Vec<&str> = azure.split(' ').collect();
            prop_assert_eq!(fields.len(), 6, "NCRONTAB `{}`", azure);
            prop_assert_eq!(fields[0], "0");
            let back: Schedule = fields[1..].join(" ").parse().unwrap();
            same_firings(&original, &back, start)?;
        }
        if let Ok(aws) = to_aws(&original) {
            let inner = aws.strip_prefix("cron(").and_then(|s| s.strip_suffix(')')).unwrap();
            let fields: Vec<&str> = inner.split(' ').collect();
            prop_assert_eq!(fields.len(), 6, "EventBridge `{}`", aws);
            prop_assert_eq!(fields[5], "*");
            prop_assert!((fields[2] == "?") != (fields[4] == "?"), "exactly one `?` in `{}`", aws);
            let dow = shift_days_of_week(fields[4]);
            let standard = [fields[0], fields[1], &fields[2].replace('?', "*"), fields[3], &dow].join(" ");
            let back: Schedule = standard.parse().unwrap();
            same_firings(&original, &back, start)?;
        }
    }

    /// Rates translate to a fixed period on both clouds (or are refused).
    #[test]
    fn rates_translate_or_are_refused(value in 1u32..2000, unit in 0usize..3) {
        let word = ["minute", "hour", "day"][unit];
        let expr = if value == 1 { format!("rate(1 {word})") } else { format!("rate({value} {word}s)") };
        let schedule: Schedule = expr.parse().unwrap();
        prop_assert_eq!(to_aws(&schedule).unwrap(), expr.clone());
        if let Ok(azure) = to_ncrontab(&schedule) {
            let back: Schedule = azure.split(' ').skip(1).collect::<Vec<_>>().join(" ").parse().unwrap();
            let period = u64::from(value) * [60, 3600, 86_400][unit];
            let mut t = back.next_after(0, 0).unwrap();
            for _ in 0..5 {
                let next = back.next_after(t, 0).unwrap();
                prop_assert_eq!(next - t, period, "`{}` from `{}`", azure, expr);
                t = next;
            }
        }
    }
}

/// The next few firings agree.
fn same_firings(a: &Schedule, b: &Schedule, start: u64) -> Result<(), TestCaseError> {
    let mut t = start;
    for _ in 0..8 {
        let (x, y) = (a.next_after(t, 0), b.next_after(t, 0));
        prop_assert_eq!(x, y, "`{}` and `{}` differ after {}", a, b, t);
        match x {
            Some(next) => t = next,
            None => break,
        }
    }
    Ok(())
}

/// EventBridge numbers days 1-7 from Sunday; standard cron 0-6.
fn shift_days_of_week(field: &str) -> String {
    if field == "?" || field == "*" {
        return "*".into();
    }
    let mut out = String::new();
    let mut number = String::new();
    for ch in field.chars().chain(std::iter::once(',')) {
        if ch.is_ascii_digit() {
            number.push(ch);
            continue;
        }
        if !number.is_empty() {
            let n: u8 = number.parse().unwrap();
            out.push_str(&(n - 1).to_string());
            number.clear();
        }
        out.push(ch);
    }
    out.pop();
    out
}

/// A valid 5-field cron expression built from the forms users write.
fn cron_expression() -> impl Strategy<Value = String> {
    (
        field(0, 59, &[]),
        field(0, 23, &[]),
        field(1, 31, &[]),
        field(
            1,
            12,
            &[
                "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
            ],
        ),
        field(0, 6, &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]),
    )
        .prop_map(|(m, h, dom, mon, dow)| format!("{m} {h} {dom} {mon} {dow}"))
}

fn field(min: u8, max: u8, names: &'static [&'static str]) -> BoxedStrategy<String> {
    let value = move |v: u8| -> String {
        if !names.is_empty() && v % 3 == 0 {
            names[usize::from(v - min)].to_string()
        } else {
            v.to_string()
        }
    };
    let range = (min..=max, min..=max).prop_map(|(a, b)| if a <= b { (a, b) } else { (b, a) });
    prop_oneof![
        3 => Just("*".to_string()),
        3 => (min..=max).prop_map(value),
        2 => range.clone().prop_map(move |(a, b)| format!("{}-{}", value(a), value(b))),
        1 => (1..=max.max(2)).prop_map(|s| format!("*/{s}")),
        1 => (range, 1..=max.max(2)).prop_map(|((a, b), s)| format!("{a}-{b}/{s}")),
        2 => prop::collection::btree_set(min..=max, 1..4)
            .prop_map(move |set| set.into_iter().map(value).collect::<Vec<_>>().join(",")),
    ]
    .boxed()
}
