//! `fnctl logs FN`: a function's log lines, optionally followed.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;

use super::invoke::single_provider;
use super::live;
use super::{CommandError, Context, ExitStatus};
use crate::project;

/// Parses `10m`, `2h`, `30s`, `1d` into seconds.
pub fn parse_since(s: &str) -> Result<u64, String> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as 10m, 2h or 1d"))?;
    let factor = match unit {
        "s" => 1,
        "m" | "" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit in `{s}`: use s, m, h or d")),
    };
    Ok(n * factor)
}

pub fn run(
    cx: &Context,
    function: &str,
    since_secs: u64,
    follow: bool,
) -> Result<ExitStatus, CommandError> {
    let project = project::load(cx)?;
    let provider = single_provider(cx, &project.providers)?;
    let app = &project.app;
    if !app.functions.contains_key(function) {
        return Err(CommandError::usage(
            format!("no function named `{function}`"),
            None,
        ));
    }
    let rt = live::runtime()?;
    if provider == crate::model::ProviderId::Azure {
        return azure_logs(cx, app, &rt, function, since_secs, follow);
    }
    rt.block_on(async {
        let backend = live::connect_aws(app).await?;
        let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        let mut start = now_ms - (since_secs as i64) * 1000;
        let mut seen = BTreeSet::new();
        poll(follow, Duration::from_secs(2), async || {
            for l in backend.logs(function, start, &mut seen).await? {
                start = start.max(l.timestamp_ms);
                if cx.printer.is_json() {
                    cx.printer.data(&format!("{}\n", json!({"timestamp_ms": l.timestamp_ms, "stream": l.stream, "message": l.message})));
                } else {
                    cx.printer.data(&format!("{} {}\n", format_time(l.timestamp_ms), l.message));
                }
            }
            Ok(())
        })
        .await
    })?;
    Ok(ExitStatus::Success)
}

/// `HH:MM:SS` in UTC: enough to read a tail, no date library needed.
fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Azure: the function's traces from the app's Application Insights
/// (through its Log Analytics workspace), polled every 5 s with `--follow`.
fn azure_logs(
    cx: &Context,
    app: &crate::model::App,
    rt: &tokio::runtime::Runtime,
    function: &str,
    since_secs: u64,
    follow: bool,
) -> Result<ExitStatus, CommandError> {
    use crate::provider::azure::backend::logs::Since;
    if app.azure.as_ref().is_some_and(|az| !az.app_insights) {
        return Err(CommandError::usage(
            "`fnctl logs` cannot show Azure logs for this app: `app_insights = false` in [providers.azure], so its logs go nowhere fnctl can read",
            Some("set `app_insights = true` (the default) and deploy again".to_string()),
        ));
    }
    rt.block_on(async {
        let backend = crate::provider::azure::backend::AzureBackend::connect(app)?;
        let mut since = Since::Ago {
            seconds: since_secs,
        };
        let mut seen = BTreeSet::new();
        // Application Insights ingests with a delay: no point asking often.
        poll(follow, Duration::from_secs(5), async || {
            for l in backend.logs(function, &since, &mut seen).await? {
                if cx.printer.is_json() {
                    cx.printer.data(&format!(
                        "{}\n",
                        json!({"time": l.time, "function": l.operation, "message": l.message})
                    ));
                } else {
                    let clock = l.time.get(11..19).unwrap_or(&l.time);
                    cx.printer
                        .data(&format!("{clock} [{}] {}\n", l.operation, l.message));
                }
                since = Since::After { time: l.time };
            }
            Ok(())
        })
        .await
    })?;
    Ok(ExitStatus::Success)
}

/// Runs `fetch` once, or with `--follow` every `every` until Ctrl-C.
async fn poll(
    follow: bool,
    every: Duration,
    mut fetch: impl AsyncFnMut() -> Result<(), CommandError>,
) -> Result<(), CommandError> {
    loop {
        fetch().await?;
        if !follow {
            return Ok(());
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_since("10m"), Ok(600));
        assert_eq!(parse_since("2h"), Ok(7200));
        assert_eq!(parse_since("30s"), Ok(30));
        assert_eq!(parse_since("1d"), Ok(86_400));
        assert!(parse_since("ten").is_err());
        assert!(parse_since("5y").is_err());
        assert_eq!(format_time(3_723_000), "01:02:03");
    }
}
