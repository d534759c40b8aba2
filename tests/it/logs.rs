//! `fnctl logs`: lines with their date and UTC offset, `--filter`, JSON
//! Lines, and a word on stderr when there is nothing (naming the log that
//! was read), on moto's CloudWatch Logs.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{copy_tree, example, fnctl};
use crate::moto::Moto;

fn project() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(example("scheduled-job").parent().unwrap(), dir.path());
    let manifest = dir.path().join("fnctl.toml");
    (dir, manifest)
}

/// Writes `lines` into the function's log group, a second ago.
fn write_log(moto: &Moto, lines: &[&str]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let logs = aws_sdk_cloudwatchlogs::Client::new(&moto.sdk_config().await);
        let group = "/aws/lambda/reports-dev-heartbeat";
        logs.create_log_group()
            .log_group_name(group)
            .send()
            .await
            .unwrap();
        logs.create_log_stream()
            .log_group_name(group)
            .log_stream_name("s1")
            .send()
            .await
            .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let events = lines
            .iter()
            .enumerate()
            .map(|(i, m)| {
                aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                    .timestamp(now - 1000 + i as i64)
                    .message(*m)
                    .build()
                    .unwrap()
            })
            .collect::<Vec<_>>();
        logs.put_log_events()
            .log_group_name(group)
            .log_stream_name("s1")
            .set_log_events(Some(events))
            .send()
            .await
            .unwrap();
    });
}

fn logs(moto: &Moto, manifest: &Path, args: &[&str]) -> (i32, String, String) {
    let mut cmd = fnctl();
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    let out = cmd
        .arg("--manifest")
        .arg(manifest)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `2026-12-04T13:01:02.123Z`
fn is_rfc3339_ms(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[19] == b'.'
        && b[23] == b'Z'
        && s.chars().filter(|c| c.is_ascii_digit()).count() == 17
}

#[test]
fn lines_carry_their_date_and_offset_and_filter_keeps_matching_ones() {
    let moto = Moto::start();
    let (_dir, manifest) = project();
    write_log(&moto, &["START ok", "the answer is 42", "END ok"]);

    let (code, stdout, stderr) = logs(&moto, &manifest, &["logs", "heartbeat"]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    let (time, message) = lines[1].split_once(' ').unwrap();
    assert!(is_rfc3339_ms(time), "{stdout}");
    assert_eq!(message, "the answer is 42");

    let (code, stdout, stderr) = logs(
        &moto,
        &manifest,
        &["logs", "heartbeat", "--filter", "answer"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.trim_end().ends_with(" the answer is 42"), "{stdout}");

    // Case matters, and nothing matching is said like nothing at all.
    let (_, stdout, stderr) = logs(
        &moto,
        &manifest,
        &["logs", "heartbeat", "--filter", "ANSWER"],
    );
    assert_eq!(stdout, "", "{stdout}");
    assert!(
        stderr.contains("no log lines containing `ANSWER`"),
        "{stderr}"
    );

    // JSON Lines: one document per line, the time in RFC 3339.
    let (code, stdout, stderr) = logs(&moto, &manifest, &["--output", "json", "logs", "heartbeat"]);
    assert_eq!(code, 0, "{stderr}");
    let docs: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 3, "{stdout}");
    assert_eq!(docs[1]["function"], "heartbeat");
    assert_eq!(docs[1]["message"], "the answer is 42");
    assert_eq!(docs[1]["stream"], "s1");
    assert!(is_rfc3339_ms(docs[1]["time"].as_str().unwrap()), "{stdout}");
}

#[test]
fn nothing_to_show_is_said_on_stderr_with_the_log_group_read() {
    let moto = Moto::start();
    let (_dir, manifest) = project();
    let (code, stdout, stderr) = logs(&moto, &manifest, &["logs", "heartbeat", "--since", "5m"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("no log lines since ")
            && stderr.contains("/aws/lambda/reports-dev-heartbeat"),
        "{stderr}"
    );

    // A misspelt function is a usage error with a suggestion, not silence.
    let (code, _, stderr) = logs(&moto, &manifest, &["logs", "hartbeat"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("heartbeat"), "{stderr}");
}
