//! Provider-neutral schedules: `rate(N unit)` or a standard 5-field cron.
//!
//! Users write the cron dialect they already know (POSIX/Vixie: minute,
//! hour, day-of-month, month, day-of-week, in UTC) and fnctl translates it
//! for each cloud (AWS EventBridge's 6-field `cron(...)`, Azure's 6-field
//! NCRONTAB with seconds). Parsing once into this AST means each translator
//! works on normalised numbers, never on text, and can refuse precisely what
//! its target cannot express. Cloud dialects (`?`, `L`, `W`, `#`, a year
//! field) are rejected here with a pointer to the portable form.

use std::fmt;
use std::str::FromStr;

/// A parsed schedule expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    Rate(Rate),
    Cron(Cron),
}

/// `rate(N unit)`: every N minutes, hours or days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub value: u32,
    pub unit: RateUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateUnit {
    Minute,
    Hour,
    Day,
}

impl RateUnit {
    fn word(self, value: u32) -> &'static str {
        match (self, value == 1) {
            (RateUnit::Minute, true) => "minute",
            (RateUnit::Minute, false) => "minutes",
            (RateUnit::Hour, true) => "hour",
            (RateUnit::Hour, false) => "hours",
            (RateUnit::Day, true) => "day",
            (RateUnit::Day, false) => "days",
        }
    }
}

/// The five cron fields, normalised (names resolved to numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    pub minute: Field,
    pub hour: Field,
    pub day_of_month: Field,
    pub month: Field,
    /// 0-7, where both 0 and 7 mean Sunday; [`Field::values`] folds 7 to 0.
    pub day_of_week: Field,
}

/// One cron field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// `*` (or `*/1`): unrestricted. The distinction from an explicit full
    /// list matters: cron ORs day-of-month and day-of-week only when both
    /// are restricted.
    Any,
    Items(Vec<Item>),
}

/// One comma-separated part of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Value(u8),
    Range {
        start: u8,
        end: u8,
    },
    /// `*/n` (start..end is the whole field), `a/n` (a..max) or `a-b/n`.
    Step {
        start: u8,
        end: u8,
        step: u8,
    },
}

impl Field {
    pub fn is_any(&self) -> bool {
        matches!(self, Field::Any)
    }

    /// Every value the field matches within `min..=max`, sorted, deduplicated.
    /// Day-of-week callers pass `0..=7` and get 7 folded to 0.
    pub fn values(&self, min: u8, max: u8) -> Vec<u8> {
        let mut out: Vec<u8> = match self {
            Field::Any => (min..=max).collect(),
            Field::Items(items) => items
                .iter()
                .flat_map(|i| match *i {
                    Item::Value(v) => vec![v],
                    Item::Range { start, end } => (start..=end).collect(),
                    Item::Step { start, end, step } => {
                        (start..=end).step_by(step.max(1) as usize).collect()
                    }
                })
                .collect(),
        };
        if min == 0 && max == 7 {
            for v in &mut out {
                if *v == 7 {
                    *v = 0;
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Why an expression is not a valid schedule; `offset`/`len` locate the
/// problem inside the expression (bytes), so the manifest can underline it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError {
    pub message: String,
    pub offset: usize,
    pub len: usize,
    pub help: Option<String>,
}

/// A valid schedule that one cloud's syntax cannot express.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Untranslatable {
    pub reason: String,
    pub help: Option<String>,
}

struct Spec {
    name: &'static str,
    min: u8,
    max: u8,
    names: &'static [&'static str],
}

const MONTHS: &[&str] = &[
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const SPECS: [Spec; 5] = [
    Spec {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    Spec {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    Spec {
        name: "day-of-month",
        min: 1,
        max: 31,
        names: &[],
    },
    Spec {
        name: "month",
        min: 1,
        max: 12,
        names: MONTHS,
    },
    Spec {
        name: "day-of-week",
        min: 0,
        max: 7,
        names: DAYS,
    },
];

fn err(
    message: impl Into<String>,
    offset: usize,
    len: usize,
    help: Option<String>,
) -> ScheduleError {
    ScheduleError {
        message: message.into(),
        offset,
        len: len.max(1),
        help,
    }
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(input: &str) -> Result<Self, ScheduleError> {
        let start = input.len() - input.trim_start().len();
        let text = input.trim();
        if text.is_empty() {
            return Err(err(
                "the schedule is empty",
                0,
                input.len(),
                Some("write `rate(5 minutes)` or a cron such as `0 12 * * *`".into()),
            ));
        }
        if let Some(inner) = text.strip_prefix("rate(") {
            return parse_rate(inner, start + 5, text).map(Schedule::Rate);
        }
        if text.starts_with("cron(") {
            let inner = text.trim_start_matches("cron(").trim_end_matches(')');
            let fields: Vec<&str> = inner.split_whitespace().collect();
            let help = (fields.len() == 6).then(|| {
                let five: Vec<&str> = fields[..5]
                    .iter()
                    .map(|f| if *f == "?" { "*" } else { f })
                    .collect();
                format!("write `{}`", five.join(" "))
            });
            return Err(err(
                "AWS-style `cron(...)` is not accepted here: write the 5 standard cron fields and fnctl translates them for each cloud",
                start,
                text.len(),
                help.or_else(|| Some("the fields are: minute hour day-of-month month day-of-week".into())),
            ));
        }
        if let Some(name) = text.strip_prefix('@') {
            let expanded = match name.to_ascii_lowercase().as_str() {
                "hourly" => "0 * * * *",
                "daily" | "midnight" => "0 0 * * *",
                "weekly" => "0 0 * * 0",
                "monthly" => "0 0 1 * *",
                "yearly" | "annually" => "0 0 1 1 *",
                _ => {
                    return Err(err(
                        format!("unknown schedule macro `{text}`"),
                        start,
                        text.len(),
                        Some("macros are @hourly, @daily, @midnight, @weekly, @monthly, @yearly and @annually".into()),
                    ))
                }
            };
            return parse_cron(expanded, 0).map_err(|mut e| {
                e.offset = start;
                e.len = text.len();
                e
            });
        }
        parse_cron(input, 0)
    }
}

fn parse_rate(inner_with_paren: &str, offset: usize, whole: &str) -> Result<Rate, ScheduleError> {
    let Some(inner) = inner_with_paren.strip_suffix(')') else {
        return Err(err(
            "`rate(` is not closed by `)`",
            offset - 5,
            whole.len(),
            Some("write it as `rate(5 minutes)`".into()),
        ));
    };
    let parts: Vec<&str> = inner.split_whitespace().collect();
    if parts.len() != 2 {
        return Err(err(
            format!("`rate({inner})` needs a number and a unit"),
            offset,
            inner.len(),
            Some("such as `rate(5 minutes)`, `rate(1 hour)` or `rate(2 days)`".into()),
        ));
    }
    let num_offset = offset + inner.find(parts[0]).unwrap_or(0);
    let value = match parts[0].parse::<u32>() {
        Ok(0) => {
            return Err(err(
                "a rate must be at least 1",
                num_offset,
                parts[0].len(),
                None,
            ))
        }
        Ok(v) if parts[0].chars().all(|c| c.is_ascii_digit()) => v,
        _ => {
            return Err(err(
                format!("`{}` is not a whole number of at least 1", parts[0]),
                num_offset,
                parts[0].len(),
                None,
            ))
        }
    };
    let unit_offset = offset + inner.rfind(parts[1]).unwrap_or(0);
    let unit = match parts[1].to_ascii_lowercase().as_str() {
        "minute" | "minutes" => RateUnit::Minute,
        "hour" | "hours" => RateUnit::Hour,
        "day" | "days" => RateUnit::Day,
        other => {
            let help = crate::suggest::did_you_mean(other, ["minutes", "hours", "days"])
                .or(Some("units are minutes, hours or days".into()));
            return Err(err(
                format!("unknown rate unit `{}`", parts[1]),
                unit_offset,
                parts[1].len(),
                help,
            ));
        }
    };
    Ok(Rate { value, unit })
}

/// Splits on whitespace, remembering where each field starts.
fn fields_with_offsets(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(st)) => {
                out.push((st, &s[st..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push((st, &s[st..]));
    }
    out
}

fn parse_cron(s: &str, base: usize) -> Result<Schedule, ScheduleError> {
    let fields = fields_with_offsets(s);
    if fields.len() != 5 {
        let help = if fields.len() == 6 {
            "six fields look like a seconds or year field: fnctl takes minute hour day-of-month month day-of-week".to_string()
        } else {
            "the fields are: minute hour day-of-month month day-of-week, such as `0 12 * * *`"
                .to_string()
        };
        let (offset, len) = match (fields.first(), fields.last()) {
            (Some(f), Some(l)) => (f.0, l.0 + l.1.len() - f.0),
            _ => (0, s.len()),
        };
        return Err(err(
            format!("a cron expression needs 5 fields, found {}", fields.len()),
            base + offset,
            len,
            Some(help),
        ));
    }
    let mut parsed = Vec::with_capacity(5);
    for ((offset, text), spec) in fields.iter().zip(SPECS.iter()) {
        parsed.push(parse_field(text, base + offset, spec)?);
    }
    let mut it = parsed.into_iter();
    let mut next = || it.next().expect("five fields");
    Ok(Schedule::Cron(Cron {
        minute: next(),
        hour: next(),
        day_of_month: next(),
        month: next(),
        day_of_week: next(),
    }))
}

fn parse_field(text: &str, offset: usize, spec: &Spec) -> Result<Field, ScheduleError> {
    if let Some(pos) = text.find(['?', 'L', 'W', '#']) {
        let c = &text[pos..pos + 1];
        // Names contain letters too: only flag `L`/`W` when not part of a name.
        let in_name = text[..pos].ends_with(|ch: char| ch.is_ascii_alphabetic())
            || text[pos + 1..].starts_with(|ch: char| ch.is_ascii_alphabetic());
        if c == "?" || c == "#" || !in_name {
            return Err(err(
                format!(
                    "`{c}` in the {} field is AWS/Quartz syntax, not standard cron",
                    spec.name
                ),
                offset + pos,
                1,
                Some(if c == "?" {
                    "use `*`; fnctl adds `?` where AWS needs it".into()
                } else {
                    "standard cron has no last/nearest/nth-weekday markers; list the days instead"
                        .into()
                }),
            ));
        }
    }
    if text == "*" || text == "*/1" {
        return Ok(Field::Any);
    }
    let mut items = Vec::new();
    let mut item_offset = offset;
    for part in text.split(',') {
        items.push(parse_item(part, item_offset, spec)?);
        item_offset += part.len() + 1;
    }
    Ok(Field::Items(items))
}

fn parse_item(part: &str, offset: usize, spec: &Spec) -> Result<Item, ScheduleError> {
    if part.is_empty() {
        return Err(err(
            format!("empty list item in the {} field", spec.name),
            offset,
            1,
            Some("remove the extra `,`".into()),
        ));
    }
    let (range, step) = match part.split_once('/') {
        Some((r, s)) => (r, Some((s, offset + r.len() + 1))),
        None => (part, None),
    };
    let step = match step {
        None => None,
        Some((s, s_off)) => {
            let v = parse_number(s, s_off, spec, "step")?;
            if v == 0 || v > spec.max {
                return Err(err(
                    format!(
                        "step {v} in the {} field must be 1 to {}",
                        spec.name, spec.max
                    ),
                    s_off,
                    s.len(),
                    None,
                ));
            }
            Some(v)
        }
    };
    let (start, end, bounded) = if range == "*" {
        if step.is_none() {
            return Err(err(
                format!(
                    "`*` cannot be combined with other values in the {} field",
                    spec.name
                ),
                offset,
                1,
                Some("use `*` alone, or list the values".into()),
            ));
        }
        (spec.min, if spec.max == 7 { 6 } else { spec.max }, true)
    } else if let Some((a, b)) = range.split_once('-') {
        let start = parse_value(a, offset, spec, false)?;
        let end = parse_value(b, offset + a.len() + 1, spec, true)?;
        if start > end {
            return Err(err(
                format!("range `{range}` in the {} field runs backwards", spec.name),
                offset,
                range.len(),
                Some("write the smaller value first; a range that wraps around is not portable, so list both parts (`22-23,0-2`)".into()),
            ));
        }
        (start, end, true)
    } else {
        let v = parse_value(range, offset, spec, false)?;
        (v, v, false)
    };
    Ok(match step {
        None if !bounded => Item::Value(start),
        None => Item::Range { start, end },
        Some(step) => {
            // `a/n` means from a to the end of the field.
            let end = if bounded {
                end
            } else if spec.max == 7 {
                6
            } else {
                spec.max
            };
            // A step of one is the range itself (`*/1` is `*`, `0-6/1` is
            // `0-6`): one form for one meaning, so a schedule shown and
            // parsed again is the same schedule.
            if step == 1 {
                return Ok(Item::Range { start, end });
            }
            Item::Step { start, end, step }
        }
    })
}

fn parse_number(s: &str, offset: usize, spec: &Spec, what: &str) -> Result<u8, ScheduleError> {
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit()) {
        return Err(err(
            format!("`{s}` is not a number ({what} in the {} field)", spec.name),
            offset,
            s.len(),
            None,
        ));
    }
    match s.parse::<u32>() {
        Ok(v) if v <= 255 => Ok(v as u8),
        _ => Err(err(
            format!("{what} {s} is out of range in the {} field", spec.name),
            offset,
            s.len(),
            None,
        )),
    }
}

/// A number or a name; `range_end` lets day-of-week ranges end in `SUN` (7).
fn parse_value(s: &str, offset: usize, spec: &Spec, range_end: bool) -> Result<u8, ScheduleError> {
    if s.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
        if spec.names.is_empty() {
            return Err(err(
                format!("the {} field takes numbers, not `{s}`", spec.name),
                offset,
                s.len(),
                None,
            ));
        }
        let upper = s.to_ascii_uppercase();
        return match spec.names.iter().position(|n| *n == upper) {
            Some(i) if spec.names.len() == 12 => Ok(i as u8 + 1),
            Some(0) if range_end => Ok(7),
            Some(i) => Ok(i as u8),
            None => {
                let kind = if spec.names.len() == 12 {
                    "month"
                } else {
                    "day"
                };
                Err(err(
                    format!("unknown {kind} name `{s}`"),
                    offset,
                    s.len(),
                    crate::suggest::did_you_mean(&upper, spec.names.iter().copied())
                        .or_else(|| Some(format!("names are {}", spec.names.join(", ")))),
                ))
            }
        };
    }
    let v = parse_number(s, offset, spec, "value")?;
    if v < spec.min || v > spec.max {
        return Err(err(
            format!(
                "{} {v} is out of range {}-{}",
                spec.name, spec.min, spec.max
            ),
            offset,
            s.len(),
            (spec.max == 7).then(|| "0 and 7 are both Sunday".to_string()),
        ));
    }
    Ok(v)
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Item::Value(v) => write!(f, "{v}"),
            Item::Range { start, end } => write!(f, "{start}-{end}"),
            Item::Step { start, end, step } => write!(f, "{start}-{end}/{step}"),
        }
    }
}

impl Field {
    /// Canonical text: `*`, or the items joined by commas. `*/n` over the
    /// whole field is shown as `*/n` given the field's bounds.
    pub fn render(&self, min: u8, max: u8) -> String {
        match self {
            Field::Any => "*".into(),
            Field::Items(items) => items
                .iter()
                .map(|i| match *i {
                    Item::Step { start, end, step } if start == min && end == max => {
                        format!("*/{step}")
                    }
                    Item::Step { start, end, step } if end == max => format!("{start}/{step}"),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Rate(r) => write!(f, "rate({} {})", r.value, r.unit.word(r.value)),
            Schedule::Cron(c) => write!(
                f,
                "{} {} {} {} {}",
                c.minute.render(0, 59),
                c.hour.render(0, 23),
                c.day_of_month.render(1, 31),
                c.month.render(1, 12),
                c.day_of_week.render(0, 6)
            ),
        }
    }
}

impl Schedule {
    /// The next time the schedule fires strictly after `after` (Unix
    /// seconds, UTC); rates count from `started`. Used by the local host.
    pub fn next_after(&self, after: u64, started: u64) -> Option<u64> {
        match self {
            Schedule::Rate(r) => {
                let period = u64::from(r.value)
                    * match r.unit {
                        RateUnit::Minute => 60,
                        RateUnit::Hour => 3600,
                        RateUnit::Day => 86_400,
                    };
                let elapsed = after.saturating_sub(started);
                Some(started + (elapsed / period + 1) * period)
            }
            Schedule::Cron(c) => c.next_after(after),
        }
    }
}

impl Cron {
    /// The next matching minute strictly after `after`, within a year
    /// (expressions like `0 0 31 2 *` never match: `None`).
    pub fn next_after(&self, after: u64) -> Option<u64> {
        let (minutes, hours) = (self.minute.values(0, 59), self.hour.values(0, 23));
        let (doms, months, dows) = (
            self.day_of_month.values(1, 31),
            self.month.values(1, 12),
            self.day_of_week.values(0, 7),
        );
        let dom_any = self.day_of_month.is_any();
        let dow_any = self.day_of_week.is_any();
        let first_day = after / 86_400;
        for day in first_day..first_day + 366 * 4 {
            let (_, month, dom) = civil_from_days(day as i64);
            let dow = ((day + 4) % 7) as u8;
            if !months.contains(&month) {
                continue;
            }
            // Standard cron: when both day fields are restricted, either may match.
            let day_ok = match (dom_any, dow_any) {
                (true, true) => true,
                (false, true) => doms.contains(&dom),
                (true, false) => dows.contains(&dow),
                (false, false) => doms.contains(&dom) || dows.contains(&dow),
            };
            if !day_ok {
                continue;
            }
            for &h in &hours {
                for &m in &minutes {
                    let t = day * 86_400 + u64::from(h) * 3600 + u64::from(m) * 60;
                    if t > after {
                        return Some(t);
                    }
                }
            }
        }
        None
    }
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01, after
/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Compact text for a sorted set of values: runs of three or more become
/// ranges (`1-5`), the rest a list. Never produces a wrapping range.
pub fn compact(values: &[u8]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let mut j = i;
        while j + 1 < values.len() && values[j + 1] == values[j] + 1 {
            j += 1;
        }
        if j - i >= 2 {
            parts.push(format!("{}-{}", values[i], values[j]));
        } else {
            parts.extend(values[i..=j].iter().map(|v| v.to_string()));
        }
        i = j + 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Schedule {
        s.parse()
            .unwrap_or_else(|e: ScheduleError| panic!("{s}: {}", e.message))
    }

    fn error(s: &str) -> ScheduleError {
        s.parse::<Schedule>().expect_err(s)
    }

    /// Found by `fuzz::cron_translations_fire_at_the_same_minutes`: a step
    /// of one over a range was shown as `*/1`, which parses as `*`.
    #[test]
    fn a_step_of_one_is_its_range_so_display_parses_back_the_same() {
        for (text, shown) in [
            ("* * * * 0-6/1", "* * * * 0-6"),
            ("*/1 * * * *", "* * * * *"),
            ("5-10/1 * * * *", "5-10 * * * *"),
            ("5/1 * * * *", "5-59 * * * *"),
        ] {
            let s = parse(text);
            assert_eq!(s.to_string(), shown, "{text}");
            assert_eq!(parse(&s.to_string()), s, "{text}");
        }
    }

    #[test]
    fn rates_accept_singular_and_plural() {
        assert_eq!(
            parse("rate(5 minutes)"),
            Schedule::Rate(Rate {
                value: 5,
                unit: RateUnit::Minute
            })
        );
        assert_eq!(parse(" rate(1 minutes) ").to_string(), "rate(1 minute)");
        assert_eq!(parse("rate(2 hour)").to_string(), "rate(2 hours)");
        assert_eq!(parse("rate(1 day)").to_string(), "rate(1 day)");
    }

    #[test]
    fn bad_rates_are_located() {
        let e = error("rate(0 minutes)");
        assert_eq!(
            (e.message.as_str(), e.offset, e.len),
            ("a rate must be at least 1", 5, 1)
        );
        let e = error("rate(5 mins)");
        assert_eq!(e.message, "unknown rate unit `mins`");
        assert_eq!((e.offset, e.len), (7, 4));
        assert_eq!(e.help.as_deref(), Some("did you mean `minutes`?"));
        assert!(error("rate(-1 minutes)")
            .message
            .contains("not a whole number"));
        assert!(error("rate(1.5 hours)")
            .message
            .contains("not a whole number"));
        assert!(error("rate(99999999999 minutes)")
            .message
            .contains("not a whole number"));
        assert!(error("rate(5 minutes").message.contains("not closed"));
        assert!(error("rate(minutes)")
            .message
            .contains("needs a number and a unit"));
    }

    #[test]
    fn cron_grammar() {
        let Schedule::Cron(c) = parse("*/15 9-17 1,15 JAN-MAR,jul mon-fri") else {
            panic!()
        };
        assert_eq!(c.minute.values(0, 59), vec![0, 15, 30, 45]);
        assert_eq!(c.hour.values(0, 23), (9..=17).collect::<Vec<_>>());
        assert_eq!(c.day_of_month.values(1, 31), vec![1, 15]);
        assert_eq!(c.month.values(1, 12), vec![1, 2, 3, 7]);
        assert_eq!(c.day_of_week.values(0, 7), vec![1, 2, 3, 4, 5]);
        let Schedule::Cron(c) = parse("5/20 0-12/4 * * FRI-SUN") else {
            panic!()
        };
        assert_eq!(c.minute.values(0, 59), vec![5, 25, 45]);
        assert_eq!(c.hour.values(0, 23), vec![0, 4, 8, 12]);
        assert_eq!(
            c.day_of_week.values(0, 7),
            vec![0, 5, 6],
            "SUN at a range end is 7, folded to 0"
        );
        let Schedule::Cron(c) = parse("0 0 * * 7") else {
            panic!()
        };
        assert_eq!(c.day_of_week.values(0, 7), vec![0]);
        assert!(parse("* * * * *") == parse("*/1 * * * *"));
        assert_eq!(parse("@daily").to_string(), "0 0 * * *");
        assert_eq!(parse("@weekly").to_string(), "0 0 * * 0");
        assert_eq!(parse("0\t12  *   * *").to_string(), "0 12 * * *");
        assert_eq!(parse("*/15 1-5 */2 * *").to_string(), "*/15 1-5 */2 * *");
    }

    #[test]
    fn cron_errors_point_at_the_field() {
        let e = error("0 61 * * *");
        assert_eq!(
            (e.message.as_str(), e.offset, e.len),
            ("hour 61 is out of range 0-23", 2, 2)
        );
        let e = error("0 12 * JNA *");
        assert_eq!(e.message, "unknown month name `JNA`");
        assert_eq!((e.offset, e.len), (7, 3));
        assert_eq!(e.help.as_deref(), Some("did you mean `JAN`?"));
        let e = error("0 12 * * ? *");
        assert!(
            e.message.contains("needs 5 fields, found 6"),
            "{}",
            e.message
        );
        let e = error("0 12 ? * *");
        assert!(e.message.contains("AWS/Quartz syntax"));
        assert_eq!(e.offset, 5);
        let e = error("cron(0 12 * * ? *)");
        assert!(e.message.contains("AWS-style"));
        assert_eq!(e.help.as_deref(), Some("write `0 12 * * *`"));
        assert!(error("0 5-2 * * *").message.contains("runs backwards"));
        assert!(error("*/0 * * * *").message.contains("must be 1 to"));
        assert!(error("0 0 L * *").message.contains("AWS/Quartz"));
        assert!(error("0 0 * * 1#2").message.contains("AWS/Quartz"));
        assert!(error("0 0 * * 8").message.contains("out of range 0-7"));
        assert!(error("0 0 0 * *")
            .message
            .contains("day-of-month 0 is out of range 1-31"));
        assert!(error("0 0 * * MON,").message.contains("empty list item"));
        assert!(error("*,5 * * * *").message.contains("cannot be combined"));
        assert!(error("@reboot").message.contains("unknown schedule macro"));
        assert!(error("").message.contains("empty"));
        assert!(error("0 0 * * 99999999999999")
            .message
            .contains("out of range"));
    }

    #[test]
    fn next_occurrences() {
        // 2026-11-24 (a Tuesday) 12:00:00 UTC.
        let t0: u64 = 1_795_521_600;
        assert_eq!(civil_from_days((t0 / 86_400) as i64), (2026, 11, 24));
        let next = |s: &str| parse(s).next_after(t0, t0).unwrap();
        assert_eq!(next("*/15 * * * *"), t0 + 15 * 60);
        assert_eq!(
            next("30 2 * * *"),
            t0 + 14 * 3600 + 30 * 60,
            "02:30 tomorrow"
        );
        assert_eq!(
            next("0 9 * * MON"),
            t0 + 6 * 86_400 - 3 * 3600,
            "next Monday 09:00"
        );
        assert_eq!(
            next("0 0 1 * *"),
            t0 + 6 * 86_400 + 12 * 3600,
            "December 1st"
        );
        assert_eq!(
            next("0 0 1 * MON"),
            t0 + 6 * 86_400 - 12 * 3600,
            "either day field: Monday the 30th comes first"
        );
        assert_eq!(next("rate(5 minutes)"), t0 + 300);
        assert_eq!(
            parse("rate(1 hour)").next_after(t0 + 10, t0),
            Some(t0 + 3600)
        );
        assert_eq!(
            parse("0 0 31 2 *").next_after(t0, t0),
            None,
            "February 31st never comes"
        );
    }

    #[test]
    fn compact_never_wraps() {
        assert_eq!(compact(&[1, 2, 3, 4, 5]), "1-5");
        assert_eq!(compact(&[1, 6, 7]), "1,6,7");
        assert_eq!(compact(&[0, 1, 2, 5, 6]), "0-2,5,6");
        assert_eq!(compact(&[]), "");
    }

    #[test]
    fn no_panic_on_odd_input() {
        let alphabet: Vec<char> = "0123456789*/,- ?LW#@()ratemnuhdyJANMONSUé\t"
            .chars()
            .collect();
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..5000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 24) as usize;
            let s: String = (0..len)
                .map(|i| alphabet[((seed >> (i % 8 * 8)) as usize + i * 7) % alphabet.len()])
                .collect();
            let _ = s.parse::<Schedule>();
        }
    }
}
