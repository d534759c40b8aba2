//! AWS rules the neutral model cannot know, reported against the manifest.

use std::collections::BTreeMap;

use super::schedule;
use crate::manifest::Diagnostic;
use crate::model::resource::BATCH_SIZE_WITHOUT_WINDOW;
use crate::model::route::Segment;
use crate::model::{App, ProviderId, ResourceKind, Runtime, StorageTrigger, Support, Trigger};

/// Environment variables Lambda sets itself and refuses to take from a deploy.
const RESERVED_ENV: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];
/// Whether Lambda runs a runtime, as of December 2026.
///
/// From the tables of supported and deprecated runtimes at
/// <https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html>
/// (and the per-language pages `lambda-python.html`, `lambda-nodejs.html`):
/// a runtime counts as retired once Lambda blocks function updates with it,
/// because from then on no deploy can succeed. Dates in messages are the
/// deprecation date and the block-update date. Python 3.10 and 3.11 run on
/// Amazon Linux 2, whose end of support retired them with it.
pub fn lambda_support(r: Runtime) -> Support {
    match r {
        Runtime::Python39 => Support::Retired {
            when: "deprecated on Dec 15, 2025",
        },
        Runtime::Python310 | Runtime::Python311 => Support::Retired {
            when: "deprecated on Jun 30, 2026, updates blocked since Aug 31, 2026",
        },
        Runtime::Node18 => Support::Retired {
            when: "deprecated on Sep 1, 2025",
        },
        Runtime::Node20 => Support::Retired {
            when: "deprecated on Apr 30, 2026, updates blocked since Sep 30, 2026",
        },
        Runtime::Python312
        | Runtime::Python313
        | Runtime::Python314
        | Runtime::Node22
        | Runtime::Node24
        | Runtime::Provided => Support::Runs,
    }
}

/// Lambda caps the total size of all environment variables at 4 KB.
const ENV_TOTAL_MAX: usize = 4 * 1024;

/// How Lambda's runtime errors read.
const RUNTIMES: crate::provider::RuntimeRules = crate::provider::RuntimeRules {
    service: "AWS Lambda",
    short: "Lambda",
    not_offered: "does not run",
    cloud: "AWS",
    other: ("Azure", "azure"),
    support: lambda_support,
};

/// Queue triggers Lambda would refuse: a function that may run longer than
/// its queue hides a message ("your function's timeout must be less than or
/// equal to the queue's visibility timeout. Lambda validates this requirement
/// when you create or update an event source mapping",
/// <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html>),
/// and a batch over 10 messages without a batching window ("when you set
/// BatchSize to a value greater than 10, you must set
/// MaximumBatchingWindowInSeconds to at least 1", CreateEventSourceMapping,
/// <https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html>).
fn queue_triggers(app: &App, out: &mut Vec<Diagnostic>) {
    for f in app.functions_for(ProviderId::Aws) {
        for q in &f.queue_triggers {
            let Some(ResourceKind::Queue(queue)) = app.resources.get(&q.queue).map(|r| &r.kind)
            else {
                continue;
            };
            if f.timeout_s > queue.visibility_timeout_s {
                out.push(
                    Diagnostic::new(
                        q.span.clone(),
                        format!(
                            "function `{}` may run {} s, longer than queue `{}` hides a message ({} s visibility timeout); Lambda refuses to connect them",
                            f.name, f.timeout_s, q.queue, queue.visibility_timeout_s
                        ),
                    )
                    .with_help(format!(
                        "set `visibility_timeout` of `[resources.{}]` to at least {} (AWS recommends six times the function's timeout, {}), or lower the function's timeout",
                        q.queue,
                        f.timeout_s,
                        (f.timeout_s * 6).min(crate::model::resource::VISIBILITY_TIMEOUT_S.1)
                    )),
                );
            }
            let windowed = q.max_batching_window_s.is_some_and(|w| w > 0);
            if q.batch_size > BATCH_SIZE_WITHOUT_WINDOW && !windowed {
                out.push(
                    Diagnostic::new(
                        q.batch_size_span.clone(),
                        format!(
                            "batch size {} of function `{}` needs a batching window on AWS: without one, Lambda takes at most {BATCH_SIZE_WITHOUT_WINDOW} messages per invocation",
                            q.batch_size, f.name
                        ),
                    )
                    .with_help(format!(
                        "add `max_batching_window = 1` (seconds, up to 300) to the trigger, or use a batch size of {BATCH_SIZE_WITHOUT_WINDOW} or less"
                    )),
                );
            }
        }
    }
}

pub fn check(app: &App) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    queue_triggers(app, &mut out);
    let mut routes_by_level: BTreeMap<String, (String, std::ops::Range<usize>)> = BTreeMap::new();
    let mut bucket_triggers: BTreeMap<&str, Vec<(&str, &StorageTrigger)>> = BTreeMap::new();
    for f in app.functions_for(ProviderId::Aws) {
        if let Some(d) = crate::provider::runtime_diagnostic(f, &RUNTIMES) {
            out.push(d);
        }
        for key in f.env.keys() {
            if RESERVED_ENV.contains(&key.as_str()) {
                out.push(
                    Diagnostic::new(
                        f.name_span.clone(),
                        format!("function `{}` sets `{key}`, which Lambda reserves", f.name),
                    )
                    .with_help("Lambda sets this variable itself; rename yours"),
                );
            }
        }
        let env_size: usize = f.env.iter().map(|(k, v)| k.len() + v.value.len()).sum();
        if env_size > ENV_TOTAL_MAX {
            out.push(
                Diagnostic::new(f.name_span.clone(), format!("function `{}` has {env_size} bytes of environment variables, over Lambda's 4 KB total", f.name))
                    .with_help("move large values to SSM Parameter Store or Secrets Manager and read them at start-up"),
            );
        }
        for t in &f.triggers {
            match t {
                Trigger::Schedule(s) => {
                    if let Err(e) = schedule::to_aws(&s.schedule) {
                        out.push(
                            Diagnostic::new(
                                s.span.clone(),
                                format!("AWS cannot run schedule `{}`: {}", s.schedule, e.reason),
                            )
                            .with_help_opt(e.help),
                        );
                    }
                }
                Trigger::Storage(s) => {
                    // The bucket of a resource is named by the provider.
                    let named_here = app.storage_resource(s).is_none();
                    if let (true, Err(why)) = (named_here, check_bucket_name(&s.bucket)) {
                        out.push(
                            Diagnostic::new(s.span.clone(), format!("`{}` is not a valid S3 bucket name: {why}", s.bucket))
                                .with_help("S3 bucket names are 3-63 lowercase letters, digits, `.` and `-`, starting and ending with a letter or digit"),
                        );
                    }
                    bucket_triggers
                        .entry(&s.bucket)
                        .or_default()
                        .push((&f.name, s));
                }
                Trigger::Http(h) => {
                    // API Gateway allows one variable name per tree position:
                    // `/users/{id}` and `/users/{userId}/x` cannot coexist.
                    let mut level = String::new();
                    for seg in &h.route.segments {
                        match seg {
                            Segment::Literal(l) => level.push_str(&format!("/{l}")),
                            Segment::Param(n) | Segment::Greedy(n) => {
                                let shown = match seg {
                                    Segment::Greedy(_) => format!("{{{n}+}}"),
                                    _ => format!("{{{n}}}"),
                                };
                                match routes_by_level.get(&level) {
                                    Some((other, _)) if *other != shown => out.push(
                                        Diagnostic::new(h.span.clone(), format!("route `{}` uses `{shown}` where another route uses `{other}` at `{level}/`", h.route))
                                            .with_help(format!("API Gateway needs one parameter name per position: rename it to `{other}`")),
                                    ),
                                    Some(_) => {}
                                    None => {
                                        routes_by_level.insert(level.clone(), (shown.clone(), h.span.clone()));
                                    }
                                }
                                level.push_str(&format!("/{shown}"));
                            }
                        }
                    }
                }
            }
        }
    }
    // S3 refuses overlapping notification rules for the same event type on
    // one bucket, and would fail the deploy halfway; catch it here.
    for (bucket, triggers) in bucket_triggers {
        for (i, (fa, a)) in triggers.iter().enumerate() {
            for (fb, b) in &triggers[..i] {
                let same_event = a.events.iter().any(|e| b.events.contains(e));
                let prefix_overlap = overlaps(a.prefix.as_deref(), b.prefix.as_deref(), |x, y| {
                    x.starts_with(y)
                });
                let suffix_overlap = overlaps(a.suffix.as_deref(), b.suffix.as_deref(), |x, y| {
                    x.ends_with(y)
                });
                if same_event && prefix_overlap && suffix_overlap {
                    out.push(
                        Diagnostic::new(a.span.clone(), format!("storage trigger of `{fa}` overlaps the one of `{fb}` on bucket `{bucket}`"))
                            .with_help("S3 rejects two notifications that can match the same object and event; make their prefixes or suffixes disjoint"),
                    );
                }
            }
        }
    }
    out
}

fn overlaps(a: Option<&str>, b: Option<&str>, contains: impl Fn(&str, &str) -> bool) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => contains(x, y) || contains(y, x),
        _ => true,
    }
}

/// S3's bucket naming rules (general purpose buckets).
pub fn check_bucket_name(name: &str) -> Result<(), String> {
    if !(3..=63).contains(&name.len()) {
        return Err(format!("it is {} characters long", name.len()));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-'))
    {
        return Err(format!("it contains `{c}`"));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err("it must start and end with a letter or digit".into());
    }
    if name.contains("..") {
        return Err("it contains `..`".into());
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return Err("it looks like an IP address".into());
    }
    if name.starts_with("xn--") || name.ends_with("-s3alias") || name.ends_with("--ol-s3") {
        return Err("it uses a prefix or suffix S3 reserves".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        assert!(check_bucket_name("my-uploads.v2").is_ok());
        assert!(check_bucket_name("ab")
            .unwrap_err()
            .contains("2 characters"));
        assert!(check_bucket_name("My_Bucket").unwrap_err().contains("`M`"));
        assert!(check_bucket_name("-abc").is_err());
        assert!(check_bucket_name("a..b").is_err());
        assert!(check_bucket_name("192.168.1.1")
            .unwrap_err()
            .contains("IP address"));
        assert!(check_bucket_name("xn--abc").is_err());
    }

    fn messages(text: &str) -> Vec<String> {
        let app = crate::manifest::test_app(text);
        check(&app).into_iter().map(|d| d.message).collect()
    }

    fn queue_app(timeout: u32, trigger: &str) -> String {
        format!(
            "[app]\nname = \"shop\"\nruntime = \"python3.12\"\n[providers.aws]\nregion = \"us-east-1\"\n\
             [resources.jobs]\nkind = \"queue\"\nvisibility_timeout = 60\n\
             [functions.w]\nhandler = \"app.handler\"\ntimeout = {timeout}\n\
             [[functions.w.triggers]]\ntype = \"queue\"\nqueue = \"jobs\"\n{trigger}\n"
        )
    }

    /// Lambda's rules for SQS event sources, beside the refusal of the
    /// resource itself (which every case here also gets).
    #[test]
    fn queue_trigger_rules() {
        let rules = |timeout, trigger| -> Vec<String> {
            messages(&queue_app(timeout, trigger))
                .into_iter()
                .filter(|m| !m.contains("does not deploy resources"))
                .collect()
        };
        assert!(
            rules(60, "batch_size = 10").is_empty(),
            "equal timeouts are fine"
        );
        assert!(rules(60, "batch_size = 500\nmax_batching_window = 1").is_empty());
        let m = rules(61, "batch_size = 20\nmax_batching_window = 0");
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(m[0].contains("may run 61 s, longer than queue `jobs`"));
        assert!(m[1].starts_with("batch size 20 of function `w` needs a batching window"));
    }

    #[test]
    fn overlap_rule() {
        let sw = |x: &str, y: &str| x.starts_with(y);
        assert!(overlaps(None, Some("a/"), sw));
        assert!(overlaps(Some("a/b"), Some("a/"), sw));
        assert!(!overlaps(Some("a/"), Some("b/"), sw));
    }
}
