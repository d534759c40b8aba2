//! `fnctl logs FN`: a function's log lines, optionally followed.

use std::time::Duration;

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
    rt.block_on(async {
        let cloud = crate::provider::connect(app, provider).await?;
        let mut tail = cloud.tail_logs(function, since_secs).await?;
        let every = tail.poll_every();
        poll(follow, every, async || {
            for l in tail.next_batch().await? {
                if cx.printer.is_json() {
                    cx.printer.data(&format!("{}\n", l.json));
                } else {
                    cx.printer.data(&format!("{}\n", l.text));
                }
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
    }
}
