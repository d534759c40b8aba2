//! `fnctl logs FN`: a function's log lines, optionally followed.
//!
//! Lines print as they come (`--output json`: one JSON document per line,
//! JSON Lines, since `--follow` never ends), each with its date and UTC
//! offset. When nothing was written since `--since`, stderr says which log
//! was read, so a wrong function, stage or region is not mistaken for a
//! quiet function.

use std::time::Duration;

use serde_json::{json, Value};

use super::invoke::single_provider;
use super::live;
use super::{CommandError, Context, ExitStatus};
use crate::project;
use crate::provider::cloud::{rfc3339_ms, LogLine};

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

/// Flags of `logs`.
#[derive(Debug, Clone)]
pub struct LogsOptions {
    pub function: String,
    /// How far back to start, in seconds.
    pub since_secs: u64,
    pub follow: bool,
    /// Only lines containing this text (a literal, case-sensitive
    /// substring, filtered by fnctl so it means the same on every cloud).
    pub filter: Option<String>,
}

pub fn run(cx: &Context, opts: &LogsOptions) -> Result<ExitStatus, CommandError> {
    let project = project::load(cx)?;
    let provider = single_provider(cx, &project.providers)?;
    let app = &project.app;
    let function = opts.function.as_str();
    if !app.functions.contains_key(function) {
        let names: Vec<&str> = app.functions.keys().map(String::as_str).collect();
        return Err(CommandError::usage(
            format!("no function named `{function}`"),
            crate::suggest::did_you_mean(function, names.iter().copied())
                .or_else(|| Some(format!("functions: {}", names.join(", ")))),
        ));
    }
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let since = rfc3339_ms(started - (opts.since_secs as i64) * 1000);
    let rt = live::runtime()?;
    rt.block_on(async {
        let cloud = crate::provider::connect(app, provider).await?;
        let mut tail = cloud.tail_logs(function, opts.since_secs).await?;
        let every = tail.poll_every();
        let mut printed = 0usize;
        let mut said_empty = false;
        poll(opts.follow, every, async || {
            for l in tail.next_batch().await? {
                if opts
                    .filter
                    .as_ref()
                    .is_some_and(|f| !l.message.contains(f.as_str()))
                {
                    continue;
                }
                printed += 1;
                if cx.printer.is_json() {
                    let mut doc = json!({"function": function});
                    if let (Value::Object(doc), Value::Object(line)) =
                        (&mut doc, serde_json::to_value(&l).unwrap_or_default())
                    {
                        doc.extend(line);
                    }
                    cx.printer.data(&format!("{doc}\n"));
                } else {
                    cx.printer.data(&format!("{}\n", text(&l)));
                }
            }
            // Nothing at all looks the same as a wrong function, stage or
            // region: say what was read.
            if printed == 0 && !said_empty {
                said_empty = true;
                let matching = match &opts.filter {
                    Some(f) => format!(" containing `{f}`"),
                    None => String::new(),
                };
                cx.printer.status(&format!(
                    "no log lines{matching} since {since} in {}{}",
                    tail.source(),
                    if opts.follow {
                        "; waiting for new ones"
                    } else {
                        ""
                    }
                ));
            }
            Ok(())
        })
        .await
    })?;
    Ok(ExitStatus::Success)
}

/// A line as printed for a person: its time (date and UTC offset), the
/// part of the function that wrote it where the cloud has several, the
/// message.
fn text(l: &LogLine) -> String {
    match &l.part {
        Some(part) => format!("{} [{part}] {}", l.time, l.message),
        None => format!("{} {}", l.time, l.message),
    }
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
    }
}
