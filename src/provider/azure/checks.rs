//! Azure rules the neutral model cannot know, reported against the manifest.

use super::kinds::data;
use super::package::DEFAULT_MAX_DEQUEUE_COUNT;
use super::{resources, schedule};
use crate::manifest::Diagnostic;
use crate::model::resource::{DEFAULT_RETENTION_S, DEFAULT_VISIBILITY_TIMEOUT_S};
use crate::model::route::Segment;
use crate::model::{
    App, AzurePlan, KeyType, Language, ProviderId, ResourceKind, Runtime, StorageEvent, Support,
    Trigger,
};

/// Classic Consumption instances have 1.5 GB and stop functions after 10 minutes.
const CONSUMPTION_MEMORY_MB: u32 = 1536;
const CONSUMPTION_TIMEOUT_S: u32 = 600;
/// Route prefixes the Functions host keeps for itself.
const RESERVED_ROUTES: &[&str] = &["admin", "runtime"];

/// Whether Azure Functions runs a runtime generally available, as of
/// December 2026.
///
/// From <https://learn.microsoft.com/azure/azure-functions/supported-languages>
/// (the Python and Node.js tables: support level and expected end of
/// support) and the retirement rule of
/// <https://learn.microsoft.com/azure/azure-functions/language-support-policy>
/// (support ends with the language community's end of life). Versions the
/// page lists as Preview (Node.js 24, Python 3.14) are not offered: fnctl
/// deploys only what is approved for production.
pub fn functions_support(r: Runtime) -> Support {
    match r {
        Runtime::Python39 => Support::Retired {
            when: "support ended on Oct 31, 2025",
        },
        Runtime::Python310 => Support::Retired {
            when: "support ended on Oct 31, 2026",
        },
        Runtime::Node18 => Support::Retired {
            when: "support ended on Apr 30, 2025",
        },
        Runtime::Node20 => Support::Retired {
            when: "support ended on Apr 30, 2026",
        },
        Runtime::Python311 | Runtime::Python312 | Runtime::Python313 | Runtime::Node22 => {
            Support::Runs
        }
        Runtime::Python314 | Runtime::Node24 | Runtime::Provided => Support::NotOffered,
    }
}

/// How Azure Functions' runtime errors read.
const RUNTIMES: crate::provider::RuntimeRules = crate::provider::RuntimeRules {
    service: "Azure Functions",
    short: "Azure Functions",
    not_offered: "does not run as generally available",
    cloud: "Azure",
    other: ("AWS", "aws"),
    support: functions_support,
};

/// Azure's queue trigger takes at most 32 messages at once (host.json
/// `extensions.queues.batchSize`, 1 to 32, default 16; the same value for
/// every queue trigger of the Function App). Source: `QueuesOptions.BatchSize`
/// of Microsoft.Azure.WebJobs.Extensions.Storage.Queues and
/// <https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue#hostjson-settings>.
const QUEUE_BATCH_MAX: u32 = 32;

/// What the Functions host appends to a queue's name for its poison queue,
/// and the longest queue name Azure Storage takes (3-63 characters). Source:
/// "Poison messages" of
/// <https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#poison-messages>
/// and "Naming queues and metadata"
/// (<https://learn.microsoft.com/rest/api/storageservices/naming-queues-and-metadata>).
pub const POISON_SUFFIX: &str = "-poison";
const QUEUE_NAME_MAX: usize = 63;

/// Azure Tables keys are strings: every entity has a string `PartitionKey`
/// and `RowKey`, whatever the app calls them
/// (<https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model>).
fn table_keys(app: &App, out: &mut Vec<Diagnostic>) {
    for r in app.resources.values() {
        let ResourceKind::Table(t) = &r.kind else {
            continue;
        };
        for key in t.keys().filter(|k| k.kind != KeyType::String) {
            out.push(
                Diagnostic::new(
                    key.span.clone(),
                    format!(
                        "key `{}` of table `{}` is of type {}, but Azure Tables keys (PartitionKey, RowKey) are strings",
                        key.name,
                        r.name,
                        key.kind.as_str()
                    ),
                )
                .with_help("use `type = \"string\"` (write numbers zero-padded so they sort as numbers), or deploy the app to AWS only"),
            );
        }
    }
}

/// Queue triggers Azure cannot run as written. host.json's `queues` settings
/// hold for every queue trigger of the Function App, so the triggers must
/// agree on the batch size and the dead-letter count (`maxDequeueCount`).
fn queue_triggers(app: &App, out: &mut Vec<Diagnostic>) {
    let mut batch: Option<(&str, u32)> = None;
    let mut dead_letter: Option<(&str, u32, String)> = None;
    for f in app.functions_for(ProviderId::Azure) {
        for q in &f.queue_triggers {
            if q.max_batching_window_s.is_some_and(|w| w > 0) {
                out.push(
                    Diagnostic::new(
                        q.max_batching_window_span.clone(),
                        format!(
                            "function `{}` sets `max_batching_window`, but Azure has no batching window",
                            f.name
                        ),
                    )
                    .with_help("Azure's queue trigger runs the function on each message as soon as it is fetched, up to `batch_size` at once; remove `max_batching_window`, or deploy this function only to AWS with `providers = [\"aws\"]`"),
                );
            }
            if q.batch_size > QUEUE_BATCH_MAX {
                out.push(
                    Diagnostic::new(
                        q.batch_size_span.clone(),
                        format!(
                            "batch size {} of function `{}` is above the {QUEUE_BATCH_MAX} messages Azure's queue trigger fetches at once",
                            q.batch_size, f.name
                        ),
                    )
                    .with_help(format!("use a batch size of {QUEUE_BATCH_MAX} or less, or deploy this function only to AWS with `providers = [\"aws\"]`")),
                );
            }
            match batch {
                None => batch = Some((&f.name, q.batch_size)),
                Some((other, size)) if size != q.batch_size => out.push(
                    Diagnostic::new(
                        q.batch_size_span.clone(),
                        format!(
                            "function `{}` reads its queue in batches of {}, but `{other}` in batches of {size}; on Azure one batch size (host.json `queues.batchSize`) holds for every queue trigger of the app",
                            f.name, q.batch_size
                        ),
                    )
                    .with_help("use the same `batch_size` in every queue trigger deployed to Azure (10 when absent), or limit some with `providers = [\"aws\"]`"),
                ),
                Some(_) => {}
            }
            let Some(ResourceKind::Queue(queue)) = app.resources.get(&q.queue).map(|r| &r.kind)
            else {
                continue;
            };
            let azure_name = data::cloud_name(app, &q.queue, &ResourceKind::Queue(queue.clone()));
            if azure_name.len() + POISON_SUFFIX.len() > QUEUE_NAME_MAX {
                out.push(
                    Diagnostic::new(
                        q.span.clone(),
                        format!(
                            "queue `{}` is `{azure_name}` on Azure ({} characters), so its poison queue `{azure_name}{POISON_SUFFIX}` would be longer than the {QUEUE_NAME_MAX} characters Azure allows a queue name",
                            q.queue,
                            azure_name.len()
                        ),
                    )
                    .with_help(format!(
                        "shorten the app, stage or resource name so `{{app}}-{{stage}}-{{resource}}` has at most {} characters, or deploy this function only to AWS with `providers = [\"aws\"]`",
                        QUEUE_NAME_MAX - POISON_SUFFIX.len()
                    )),
                );
            }
            // A queue without `dead_letter` still moves failed messages to
            // its poison queue on Azure, after Azure's default count.
            let (after, span, said) = match &queue.dead_letter {
                Some(dl) => (dl.after, dl.span.clone(), format!("after {} receives", dl.after)),
                None => (
                    DEFAULT_MAX_DEQUEUE_COUNT,
                    q.span.clone(),
                    format!("after Azure's default of {DEFAULT_MAX_DEQUEUE_COUNT} receives (it sets no `dead_letter`)"),
                ),
            };
            match &dead_letter {
                None => dead_letter = Some((&q.queue, after, said)),
                Some((other, other_after, other_said)) if *other_after != after && *other != q.queue => out.push(
                    Diagnostic::new(
                        span,
                        format!(
                            "queue `{}` moves a message to its dead-letter queue {said}, but queue `{other}` {other_said}; on Azure one count (host.json `queues.maxDequeueCount`) holds for every queue trigger of the app",
                            q.queue
                        ),
                    )
                    .with_help("use the same `dead_letter.after` on every queue that triggers a function on Azure (a queue without `dead_letter` counts as 5 there)"),
                ),
                Some(_) => {}
            }
        }
    }
}

/// What Azure does differently with a queue's settings, as warnings: not
/// errors, since the app deploys and runs, but the user must know which
/// settings Azure applies per message and what fnctl does instead.
///
/// - `visibility_timeout`: a Storage queue has no visibility timeout of its
///   own; every receive sets one (Get Messages `visibilitytimeout`). For a
///   queue trigger the Functions host keeps a message hidden while its
///   function runs and makes a failed one visible again after host.json
///   `queues.visibilityTimeout` (Azure's default 0, which fnctl keeps):
///   that setting is a retry delay, not SQS's visibility timeout, so fnctl
///   does not map one onto the other.
/// - `retention`: a Storage queue keeps each message for the time-to-live
///   its sender gives (Put Message `messagettl`, default 7 days); fnctl's
///   own sends (`fnctl invoke`) use `retention`, the app's senders must pass
///   it themselves.
/// - no `dead_letter` on a queue that triggers a function: Azure still
///   moves a message that failed 5 times to `<queue>-poison`, where SQS
///   would retry it until `retention` ends.
///
/// Sources: "Put Message" and "Get Messages" of the Queue service REST API
/// (<https://learn.microsoft.com/rest/api/storageservices/put-message>,
/// <https://learn.microsoft.com/rest/api/storageservices/get-messages>) and
/// the host.json settings and poison messages of
/// <https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue>.
///
/// Shown by `validate`, `plan` and `deploy` (`Provider::warnings`).
pub fn notes(app: &App) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if app.azure.is_none() {
        return out;
    }
    let triggered: std::collections::BTreeSet<&str> = app
        .functions_for(ProviderId::Azure)
        .flat_map(|f| f.queue_triggers.iter().map(|q| q.queue.as_str()))
        .collect();
    for r in app.resources.values() {
        let ResourceKind::Queue(q) = &r.kind else {
            continue;
        };
        if q.visibility_timeout_s != DEFAULT_VISIBILITY_TIMEOUT_S {
            out.push(
                Diagnostic::new(
                    q.visibility_timeout_span.clone(),
                    format!(
                        "queue `{}` sets `visibility_timeout = {}`, but an Azure Storage queue has no visibility timeout of its own: each receive sets it per message",
                        r.name, q.visibility_timeout_s
                    ),
                )
                .with_help("on Azure the Functions host keeps a message hidden while its function runs and retries a failed one at once (host.json `queues.visibilityTimeout` stays 0); code that receives messages itself passes `visibility_timeout` on each receive"),
            );
        }
        if q.retention_s != DEFAULT_RETENTION_S {
            out.push(
                Diagnostic::new(
                    r.span.clone(),
                    format!(
                        "queue `{}` sets `retention = {}`, but an Azure Storage queue keeps each message for the time-to-live its sender gives (7 days when none)",
                        r.name, q.retention_s
                    ),
                )
                .with_help("`fnctl invoke` sends with this time-to-live; code that sends messages passes it itself (azure-storage-queue `time_to_live`, @azure/storage-queue `messageTimeToLive`)"),
            );
        }
        if q.dead_letter.is_none() && triggered.contains(r.name.as_str()) {
            out.push(
                Diagnostic::new(
                    r.span.clone(),
                    format!(
                        "queue `{}` sets no `dead_letter`, but on Azure a message whose function failed {DEFAULT_MAX_DEQUEUE_COUNT} times moves to its poison queue `{}{POISON_SUFFIX}`",
                        r.name,
                        data::cloud_name(app, &r.name, &r.kind)
                    ),
                )
                .with_help("set `dead_letter = { after = N }` to choose the count on both clouds (on AWS a queue without it retries a message until `retention` ends)"),
            );
        }
    }
    out
}

pub fn check(app: &App) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let Some(az) = &app.azure else { return out };
    table_keys(app, &mut out);
    queue_triggers(app, &mut out);
    let mut first: Option<(&str, crate::model::Runtime)> = None;
    // App settings are shared by every function of a Function App.
    let mut env_seen: std::collections::BTreeMap<&str, (&str, &str)> = Default::default();
    for f in app.functions_for(ProviderId::Azure) {
        for (key, value) in &f.env {
            match env_seen.get(key.as_str()) {
                None => {
                    env_seen.insert(key, (&f.name, &value.value));
                }
                Some((other, v)) if *v != value.value => out.push(
                    Diagnostic::new(f.name_span.clone(), format!("function `{}` sets env `{key}` to another value than `{other}` does; on Azure all functions of an app share one set of app settings", f.name))
                        .with_help(format!("use one value for `{key}` in both functions (for example in `[app] env`), or rename one of them")),
                ),
                Some(_) => {}
            }
        }
        if f.runtime.language() == Language::Binary {
            out.push(
                Diagnostic::new(f.name_span.clone(), format!("function `{}` uses runtime `provided`, which Azure Functions cannot run", f.name))
                    .with_help("`provided` binaries speak the Lambda Runtime API; add `providers = [\"aws\"]` to this function"),
            );
            continue;
        }
        if let Some(d) = crate::provider::runtime_diagnostic(f, &RUNTIMES) {
            out.push(d);
            continue;
        }
        match first {
            None => first = Some((&f.name, f.runtime)),
            Some((other, rt)) if rt != f.runtime => out.push(
                Diagnostic::new(f.name_span.clone(), format!("function `{}` uses {}, but `{other}` uses {rt}; one Azure Function App runs one language version", f.name, f.runtime))
                    .with_help("use the same runtime for every function deployed to Azure, or limit some with `providers = [\"aws\"]`"),
            ),
            Some(_) => {}
        }
        match az.plan {
            AzurePlan::Flex if resources::instance_memory(f.memory_mb).is_none() => out.push(
                Diagnostic::new(f.name_span.clone(), format!("function `{}` asks for {} MB; Flex Consumption instances have at most 4096 MB", f.name, f.memory_mb))
                    .with_help("set memory to 4096 or less for Azure"),
            ),
            AzurePlan::Consumption if f.memory_mb > CONSUMPTION_MEMORY_MB => out.push(
                Diagnostic::new(f.name_span.clone(), format!("function `{}` asks for {} MB; classic Consumption instances have 1536 MB", f.name, f.memory_mb))
                    .with_help("lower memory, or use `plan = \"flex\"`"),
            ),
            _ => {}
        }
        if az.plan == AzurePlan::Consumption && f.timeout_s > CONSUMPTION_TIMEOUT_S {
            out.push(
                Diagnostic::new(f.name_span.clone(), format!("function `{}` has a {} s timeout; classic Consumption stops functions after 600 s", f.name, f.timeout_s))
                    .with_help("lower the timeout, or use `plan = \"flex\"`"),
            );
        }
        for t in &f.triggers {
            match t {
                Trigger::Schedule(s) => {
                    if let Err(e) = schedule::to_ncrontab(&s.schedule) {
                        out.push(
                            Diagnostic::new(
                                s.span.clone(),
                                format!("Azure cannot run schedule `{}`: {}", s.schedule, e.reason),
                            )
                            .with_help_opt(e.help),
                        );
                    }
                }
                Trigger::Storage(s) => {
                    if s.events.contains(&StorageEvent::Deleted) {
                        out.push(
                            Diagnostic::new(s.span.clone(), format!("function `{}` listens for deleted blobs, which the Azure blob trigger does not report", f.name))
                                .with_help("keep `events = [\"created\"]` for Azure, or limit this function with `providers = [\"aws\"]`"),
                        );
                    }
                    // The container of a resource is named by the provider.
                    let named_here = app.storage_resource(s).is_none();
                    if let (true, Err(why)) = (named_here, check_container_name(&s.bucket)) {
                        out.push(
                            Diagnostic::new(s.span.clone(), format!("`{}` is not a valid Azure blob container name: {why}", s.bucket))
                                .with_help("containers are 3-63 lowercase letters, digits and single hyphens, starting with a letter or digit"),
                        );
                    }
                }
                Trigger::Http(h) => {
                    if let Some(Segment::Literal(first)) = h.route.segments.first() {
                        if RESERVED_ROUTES.contains(&first.to_ascii_lowercase().as_str()) {
                            out.push(
                                Diagnostic::new(h.span.clone(), format!("route `{}` starts with `/{first}`, which the Azure Functions host reserves", h.route))
                                    .with_help("choose another first path segment"),
                            );
                        }
                    }
                }
            }
        }
    }
    out
}

/// Azure Blob container naming rules.
pub fn check_container_name(name: &str) -> Result<(), String> {
    if !(3..=63).contains(&name.len()) {
        return Err(format!("it is {} characters long", name.len()));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!("it contains `{c}`"));
    }
    if name.starts_with('-') || name.ends_with('-') || name.contains("--") {
        return Err("hyphens must be single and inside the name".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicting_env_values_are_reported_once_without_values() {
        let text = r#"
[app]
name = "shop"
runtime = "python3.12"
[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "rg"
location = "westeurope"
[functions.a]
handler = "app.handler"
env = { MODE = "fast", SHARED = "x" }
[functions.b]
handler = "app.handler"
env = { MODE = { value = "s3cret-slow", secret = true }, SHARED = "x" }
"#;
        let source = crate::manifest::Source::new(std::path::Path::new("fnctl.toml"), text);
        let env: std::collections::BTreeMap<String, String> = Default::default();
        let app = crate::manifest::load_source(
            &source,
            &crate::manifest::LoadOptions {
                stage: "dev",
                env: &env,
                check_files: false,
            },
        )
        .unwrap();
        let diags = check(&app);
        assert_eq!(
            diags.len(),
            1,
            "{:?}",
            diags.iter().map(|d| &d.message).collect::<Vec<_>>()
        );
        assert!(diags[0].message.contains("`MODE`"));
        assert!(!diags[0].message.contains("s3cret"));
    }

    fn messages(text: &str) -> Vec<String> {
        let source = crate::manifest::Source::new(std::path::Path::new("fnctl.toml"), text);
        let env: std::collections::BTreeMap<String, String> = Default::default();
        let app = crate::manifest::load_source(
            &source,
            &crate::manifest::LoadOptions {
                stage: "dev",
                env: &env,
                check_files: false,
            },
        )
        .unwrap();
        check(&app).into_iter().map(|d| d.message).collect()
    }

    /// host.json's queue settings are per app: triggers of one queue, a
    /// queue without a dead-letter count, a zero window and functions kept
    /// off Azure do not conflict.
    #[test]
    fn per_app_queue_settings_conflict_only_when_they_differ_on_azure() {
        let text = r#"
[app]
name = "shop"
runtime = "python3.12"
[providers.aws]
[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "rg"
location = "westeurope"
[resources.jobs]
kind = "queue"
dead_letter = { after = 5 }
[resources.mails]
kind = "queue"
[resources.aws-only]
kind = "queue"
dead_letter = { after = 2 }
[functions.a]
handler = "app.handler"
[[functions.a.triggers]]
type = "queue"
queue = "jobs"
max_batching_window = 0
[functions.b]
handler = "app.handler"
[[functions.b.triggers]]
type = "queue"
queue = "jobs"
[functions.c]
handler = "app.handler"
[[functions.c.triggers]]
type = "queue"
queue = "mails"
[functions.d]
handler = "app.handler"
providers = ["aws"]
[[functions.d.triggers]]
type = "queue"
queue = "aws-only"
batch_size = 500
max_batching_window = 30
"#;
        assert_eq!(messages(text), Vec::<String>::new());
    }

    /// A queue without `dead_letter` counts as Azure's 5: it conflicts with
    /// another queue's 3, since one host.json count holds for both.
    #[test]
    fn a_queue_without_dead_letter_counts_as_azures_default() {
        let text = r#"
[app]
name = "shop"
runtime = "python3.12"
[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "rg"
location = "westeurope"
[resources.jobs]
kind = "queue"
dead_letter = { after = 3 }
[resources.mails]
kind = "queue"
[functions.a]
handler = "app.handler"
[[functions.a.triggers]]
type = "queue"
queue = "jobs"
[functions.b]
handler = "app.handler"
[[functions.b.triggers]]
type = "queue"
queue = "mails"
"#;
        assert_eq!(
            messages(text),
            ["queue `mails` moves a message to its dead-letter queue after Azure's default of 5 receives (it sets no `dead_letter`), but queue `jobs` after 3 receives; on Azure one count (host.json `queues.maxDequeueCount`) holds for every queue trigger of the app"]
        );
    }

    #[test]
    fn a_queue_whose_poison_queue_name_would_be_too_long_is_refused() {
        let long = "q".repeat(25);
        let text = format!(
            r#"
[app]
name = "shop-with-a-long-app-name-xx"
runtime = "python3.12"
[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "rg"
location = "westeurope"
[resources.{long}]
kind = "queue"
[functions.a]
handler = "app.handler"
[[functions.a.triggers]]
type = "queue"
queue = "{long}"
"#
        );
        let found = messages(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains(&format!("`shop-with-a-long-app-name-xx-dev-{long}-poison`"))
                && found[0].contains("longer than the 63 characters"),
            "{found:?}"
        );
    }

    fn notes_of(text: &str) -> Vec<String> {
        let source = crate::manifest::Source::new(std::path::Path::new("fnctl.toml"), text);
        let env: std::collections::BTreeMap<String, String> = Default::default();
        let app = crate::manifest::load_source(
            &source,
            &crate::manifest::LoadOptions {
                stage: "dev",
                env: &env,
                check_files: false,
            },
        )
        .unwrap();
        assert!(check(&app).is_empty(), "{:?}", check(&app));
        notes(&app).into_iter().map(|d| d.message).collect()
    }

    /// Settings Azure applies per message are said, not mapped silently; a
    /// queue with SQS's defaults and a dead-letter count gets no note.
    #[test]
    fn per_message_settings_and_the_default_poison_queue_are_noted() {
        let base = r#"
[app]
name = "shop"
runtime = "python3.12"
[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "rg"
location = "westeurope"
[functions.a]
handler = "app.handler"
[[functions.a.triggers]]
type = "queue"
queue = "jobs"
"#;
        let quiet =
            format!("{base}[resources.jobs]\nkind = \"queue\"\ndead_letter = {{ after = 4 }}\n");
        assert_eq!(notes_of(&quiet), Vec::<String>::new());
        let noisy = format!(
            "{base}[resources.jobs]\nkind = \"queue\"\nvisibility_timeout = 120\nretention = 86400\n"
        );
        let found = notes_of(&noisy);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found[0].contains("`visibility_timeout = 120`") && found[0].contains("per message")
        );
        assert!(found[1].contains("`retention = 86400`") && found[1].contains("time-to-live"));
        assert!(found[2].contains("`shop-dev-jobs-poison`"), "{found:?}");
    }

    #[test]
    fn container_names() {
        assert!(check_container_name("uploads-2").is_ok());
        assert!(check_container_name("my.bucket")
            .unwrap_err()
            .contains("`.`"));
        assert!(check_container_name("a--b").is_err());
        assert!(check_container_name("ab").is_err());
    }
}
