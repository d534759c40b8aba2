//! Neutral schedules → EventBridge `rate(...)` / `cron(...)`.
//!
//! EventBridge cron has six fields (a year at the end), numbers days of the
//! week 1-7 from Sunday, needs `?` in exactly one of day-of-month and
//! day-of-week, and has no `/` in day-of-week. Standard cron ORs the two day
//! fields when both are restricted; EventBridge cannot, so that is refused.

use crate::model::schedule::{compact, Cron, Schedule, Untranslatable};

pub fn to_aws(schedule: &Schedule) -> Result<String, Untranslatable> {
    match schedule {
        // Schedule's Display already uses the singular exactly for 1, as AWS requires.
        Schedule::Rate(_) => Ok(schedule.to_string()),
        Schedule::Cron(c) => cron(c),
    }
}

fn cron(c: &Cron) -> Result<String, Untranslatable> {
    let (dom, dow) = match (c.day_of_month.is_any(), c.day_of_week.is_any()) {
        (_, true) => (c.day_of_month.render(1, 31), "?".to_string()),
        (true, false) => ("?".to_string(), day_of_week(c)),
        (false, false) => {
            return Err(Untranslatable {
                reason: "it restricts both day-of-month and day-of-week, which cron reads as \"either matches\"; EventBridge needs one of them to be `?`".into(),
                help: Some("split it into two schedule triggers, one per day field".into()),
            })
        }
    };
    Ok(format!(
        "cron({} {} {dom} {} {dow} *)",
        c.minute.render(0, 59),
        c.hour.render(0, 23),
        c.month.render(1, 12)
    ))
}

/// Explicit AWS day numbers (Sunday = 1), compacted without wrap-around.
fn day_of_week(c: &Cron) -> String {
    let aws: Vec<u8> = c
        .day_of_week
        .values(0, 7)
        .into_iter()
        .map(|d| d + 1)
        .collect();
    compact(&aws)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws(s: &str) -> String {
        to_aws(&s.parse().unwrap()).unwrap_or_else(|e| panic!("{s}: {}", e.reason))
    }

    #[test]
    fn translations() {
        let table = [
            ("0 12 * * *", "cron(0 12 * * ? *)"),
            ("*/15 * * * *", "cron(*/15 * * * ? *)"),
            ("0 9 * * MON-FRI", "cron(0 9 ? * 2-6 *)"),
            ("0 0 1 * *", "cron(0 0 1 * ? *)"),
            ("0 0 1 JAN,JUL *", "cron(0 0 1 1,7 ? *)"),
            ("30 2 * * 0", "cron(30 2 ? * 1 *)"),
            ("30 2 * * 7", "cron(30 2 ? * 1 *)"),
            ("0 0 * * */2", "cron(0 0 ? * 1,3,5,7 *)"),
            ("0 0 * * FRI-SUN", "cron(0 0 ? * 1,6,7 *)"),
            ("0 0 * * 5-7", "cron(0 0 ? * 1,6,7 *)"),
            ("5-10/2 * * * *", "cron(5-10/2 * * * ? *)"),
            ("5/20 */6 */2 * *", "cron(5/20 */6 */2 * ? *)"),
            ("@daily", "cron(0 0 * * ? *)"),
            ("@monthly", "cron(0 0 1 * ? *)"),
            ("rate(1 minute)", "rate(1 minute)"),
            ("rate(5 minutes)", "rate(5 minutes)"),
            ("rate(1 hours)", "rate(1 hour)"),
            ("rate(3 day)", "rate(3 days)"),
        ];
        for (input, want) in table {
            assert_eq!(aws(input), want, "{input}");
        }
    }

    #[test]
    fn both_day_fields_cannot_be_expressed() {
        let e = to_aws(&"0 0 1 * 1".parse().unwrap()).unwrap_err();
        assert!(e.reason.contains("both day-of-month and day-of-week"));
        assert_eq!(
            e.help.as_deref(),
            Some("split it into two schedule triggers, one per day field")
        );
    }
}
