//! Neutral schedules → Azure Functions timer NCRONTAB.
//!
//! NCRONTAB has six fields, seconds first (`{second} {minute} {hour} {day}
//! {month} {day-of-week}`), days of the week 0-6 from Sunday. Two gaps:
//! - it has no "every N" that crosses a field boundary, so a rate must divide
//!   its field evenly (every 7 minutes is not `*/7`, which restarts hourly);
//! - the NCrontab library Azure uses requires day-of-month *and*
//!   day-of-week to match (its maintainers say so in atifaziz/NCrontab issue
//!   #107), while standard cron matches *either*. A schedule restricting
//!   both would silently run on fewer days, so it is refused.

use crate::model::schedule::{compact, Cron, RateUnit, Schedule, Untranslatable};

pub fn to_ncrontab(schedule: &Schedule) -> Result<String, Untranslatable> {
    match schedule {
        Schedule::Rate(r) => rate(r.value, r.unit),
        Schedule::Cron(c) => cron(c),
    }
}

fn rate(n: u32, unit: RateUnit) -> Result<String, Untranslatable> {
    let divisors = |total: u32| (1..=total).filter(|d| total % d == 0).collect::<Vec<_>>();
    let nearest = |total: u32| {
        divisors(total)
            .into_iter()
            .min_by_key(|d| d.abs_diff(n))
            .unwrap_or(1)
    };
    match unit {
        RateUnit::Minute if n == 1 => Ok("0 * * * * *".into()),
        // Below 60 only: `*/60` is no step of the minute field (0-59).
        RateUnit::Minute if n < 60 && 60 % n == 0 => Ok(format!("0 */{n} * * * *")),
        RateUnit::Minute if n % 60 == 0 && 24 % (n / 60) == 0 => rate(n / 60, RateUnit::Hour),
        RateUnit::Minute => Err(Untranslatable {
            reason: format!(
                "NCRONTAB has no exact every-{n}-minutes: `*/{n}` restarts at each hour"
            ),
            help: Some(format!(
                "use a rate that divides 60, such as rate({} minutes)",
                nearest(60)
            )),
        }),
        RateUnit::Hour if n == 1 => Ok("0 0 * * * *".into()),
        RateUnit::Hour if 24 % n == 0 && n < 24 => Ok(format!("0 0 */{n} * * *")),
        RateUnit::Hour if n == 24 => Ok("0 0 0 * * *".into()),
        RateUnit::Hour => Err(Untranslatable {
            reason: format!("NCRONTAB has no exact every-{n}-hours: `*/{n}` restarts at midnight"),
            help: Some(format!(
                "use a rate that divides 24, such as rate({} hours)",
                nearest(24)
            )),
        }),
        RateUnit::Day if n == 1 => Ok("0 0 0 * * *".into()),
        RateUnit::Day => Err(Untranslatable {
            reason: format!("NCRONTAB has no exact every-{n}-days: `*/{n}` restarts each month"),
            help: Some("use rate(1 day), or a cron on fixed days of the month or week".into()),
        }),
    }
}

fn cron(c: &Cron) -> Result<String, Untranslatable> {
    if !c.day_of_month.is_any() && !c.day_of_week.is_any() {
        return Err(Untranslatable {
            reason: "it restricts both day-of-month and day-of-week: cron runs when either matches, Azure's NCRONTAB only when both match".into(),
            help: Some("split it into two schedule triggers, one per day field".into()),
        });
    }
    let dow = if c.day_of_week.is_any() {
        "*".to_string()
    } else {
        compact(&c.day_of_week.values(0, 7))
    };
    Ok(format!(
        "0 {} {} {} {} {dow}",
        c.minute.render(0, 59),
        c.hour.render(0, 23),
        c.day_of_month.render(1, 31),
        c.month.render(1, 12)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn azure(s: &str) -> Result<String, Untranslatable> {
        to_ncrontab(&s.parse().unwrap())
    }

    /// `rate(60 minutes)` is every hour, not the step `*/60` (outside the
    /// minute field's 0-59), which the property test in tests/it/fuzz.rs
    /// found.
    #[test]
    fn sixty_minutes_is_every_hour() {
        assert_eq!(azure("rate(60 minutes)").unwrap(), "0 0 * * * *");
        assert_eq!(azure("rate(120 minutes)").unwrap(), "0 0 */2 * * *");
        assert_eq!(azure("rate(30 minutes)").unwrap(), "0 */30 * * * *");
    }

    #[test]
    fn translations() {
        let table = [
            ("0 12 * * *", "0 0 12 * * *"),
            ("*/15 * * * *", "0 */15 * * * *"),
            ("0 9 * * MON-FRI", "0 0 9 * * 1-5"),
            ("0 0 1 JAN,JUL *", "0 0 0 1 1,7 *"),
            ("30 2 * * 7", "0 30 2 * * 0"),
            ("0 0 * * FRI-SUN", "0 0 0 * * 0,5,6"),
            ("5-10/2 * * * *", "0 5-10/2 * * * *"),
            ("@hourly", "0 0 * * * *"),
            ("rate(1 minute)", "0 * * * * *"),
            ("rate(5 minutes)", "0 */5 * * * *"),
            ("rate(120 minutes)", "0 0 */2 * * *"),
            ("rate(1 hour)", "0 0 * * * *"),
            ("rate(6 hours)", "0 0 */6 * * *"),
            ("rate(24 hours)", "0 0 0 * * *"),
            ("rate(1 day)", "0 0 0 * * *"),
        ];
        for (input, want) in table {
            assert_eq!(
                azure(input).unwrap_or_else(|e| panic!("{input}: {}", e.reason)),
                want,
                "{input}"
            );
        }
    }

    #[test]
    fn refuses_what_ncrontab_cannot_express() {
        let e = azure("rate(7 minutes)").unwrap_err();
        assert!(e.reason.contains("every-7-minutes"));
        assert_eq!(
            e.help.as_deref(),
            Some("use a rate that divides 60, such as rate(6 minutes)")
        );
        assert_eq!(
            azure("rate(5 hours)").unwrap_err().help.as_deref(),
            Some("use a rate that divides 24, such as rate(4 hours)")
        );
        assert!(azure("rate(2 days)").is_err());
        assert!(azure("rate(90 minutes)").is_err());
        assert!(azure("0 0 1 * MON")
            .unwrap_err()
            .reason
            .contains("only when both match"));
    }
}
