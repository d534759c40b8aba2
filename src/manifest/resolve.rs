//! Raw manifest → resolved [`App`]: defaults, meaning, cross-references.
//!
//! The structural checker has already guaranteed the shape, so this module
//! is about meaning: known runtimes, handler files that exist, valid routes and
//! schedules, no two functions serving the same route. Every problem is
//! collected; a partially resolved app is never returned.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::diagnostic::Diagnostic;
use super::raw::{self, EnvEntry, OneOrMany, Sp, TriggerSection};
use crate::model::resource::{
    self, DEFAULT_BATCH_SIZE, DEFAULT_RETENTION_S, DEFAULT_VISIBILITY_TIMEOUT_S,
};
use crate::model::{
    Access, AccessLevel, App, AwsSettings, AzureEndpoints, AzurePlan, AzureSettings, Cors,
    DeadLetter, EnvValue, Function, FunctionAws, HttpTrigger, IamStatement, KeyType, Permission,
    ProviderId, Queue, QueueTrigger, Resource, ResourceKind, Route, Runtime, Schedule,
    ScheduleTrigger, StorageEvent, StorageTrigger, Table, TableKey, Trigger,
};
use crate::suggest::did_you_mean;

/// Limits every provider agrees on; provider-specific ones live with the provider.
pub const MEMORY_MB: (u32, u32) = (128, 10_240);
pub const TIMEOUT_S: (u32, u32) = (1, 900);
pub const DEFAULT_MEMORY_MB: u32 = 256;
pub const DEFAULT_TIMEOUT_S: u32 = 30;
pub const HTTP_METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY",
];
/// Long enough for descriptive names (`aws-python-scheduled-cron`); derived
/// names that would pass a cloud's limit are cut with a hash
/// (`provider/*/names.rs`), so the cap is about readability, not clouds.
const APP_NAME_MAX: usize = 40;
const FUNCTION_NAME_MAX: usize = 32;
/// Resource names are portable: each cloud derives its own stage-scoped name
/// (S3 and Azure containers and queues: 3-63 lowercase letters, digits and
/// hyphens; SQS: up to 80 letters, digits, `-`, `_`; DynamoDB: 3-255
/// letters, digits, `_`, `-`, `.`; Azure Tables: 3-63 letters and digits
/// only, so the provider drops the hyphens there). Lowercase letters, digits
/// and single hyphens from 3 to 32 characters survive all of them, and 3 is
/// the shortest name Azure Storage accepts should a provider use the name
/// as it is. Sources: Azure's "Naming queues and metadata", "Naming and
/// referencing containers" and "Understanding the Table service data model"
/// (<https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model>),
/// SQS's CreateQueue `QueueName`, DynamoDB's CreateTable `TableName`.
const RESOURCE_NAME_MIN: usize = 3;
const RESOURCE_NAME_MAX: usize = 32;

/// Everything `resolve` needs besides the raw manifest.
pub struct Context<'a> {
    pub stage: &'a str,
    pub manifest_path: &'a Path,
    pub root: &'a Path,
    pub source: &'a str,
    /// Spans of the `[functions.NAME]` keys, by name.
    pub function_spans: &'a BTreeMap<String, Range<usize>>,
    /// Spans of the `[resources.NAME]` keys, by name.
    pub resource_spans: &'a BTreeMap<String, Range<usize>>,
    /// Spans of the resource names in `access` tables, by (function, resource).
    pub access_spans: &'a BTreeMap<(String, String), Range<usize>>,
    /// Whether handler files must exist (off for `schema`-only checks).
    pub check_files: bool,
}

pub fn resolve(m: raw::Manifest, cx: &Context<'_>) -> Result<App, Vec<Diagnostic>> {
    let mut out = Vec::new();
    check_app_name(&m.app.name, &mut out);
    let aws = m
        .providers
        .aws
        .as_ref()
        .map(|a| resolve_aws(a.get(), &mut out));
    let azure = m
        .providers
        .azure
        .as_ref()
        .map(|a| resolve_azure(a.get(), &mut out));
    let configured: Vec<ProviderId> = [
        aws.is_some().then_some(ProviderId::Aws),
        azure.is_some().then_some(ProviderId::Azure),
    ]
    .into_iter()
    .flatten()
    .collect();

    let resources = resolve_resources(&m.resources, cx, &mut out);
    let app_cors = super::http::app_cors(m.http.as_ref(), &mut out);
    let app_env = resolve_env(&m.app.env, &mut out);
    let mut functions = BTreeMap::new();
    for (name, section) in &m.functions {
        let name_span = cx
            .function_spans
            .get(name)
            .cloned()
            .unwrap_or_else(|| section.span());
        if let Some(f) = resolve_function(
            name,
            name_span,
            section.get(),
            &m.app,
            &app_env,
            &configured,
            &resources,
            app_cors.as_ref(),
            cx,
            &mut out,
        ) {
            functions.insert(name.clone(), f);
        }
    }
    check_duplicate_routes(&functions, cx.source, &mut out);
    super::http::check(aws.as_ref().map(|a| a.http), &mut functions, &mut out);
    check_resource_env(&m, &resources, &mut out);

    let tags = m
        .app
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), v.get().clone()))
        .collect();
    if !out.is_empty() {
        return Err(out);
    }
    Ok(App {
        cors: app_cors,
        name: m.app.name.get().clone(),
        stage: cx.stage.to_string(),
        root: cx.root.to_path_buf(),
        manifest_path: cx.manifest_path.to_path_buf(),
        tags,
        aws,
        azure,
        functions,
        resources,
    })
}

fn check_app_name(name: &Sp<String>, out: &mut Vec<Diagnostic>) {
    if let Err(why) = check_name(name.get(), APP_NAME_MAX, false) {
        out.push(
            Diagnostic::new(name.span(), format!("app name `{}` {why}", name.get()))
                .with_help("use lowercase letters, digits and single hyphens, starting with a letter, such as `shop-api`"),
        );
    }
}

/// Shared rule for app and function names: they become parts of cloud
/// resource names, so they must survive every provider's naming rules.
fn check_name(name: &str, max: usize, allow_underscore: bool) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".into());
    }
    if name.len() > max {
        return Err(format!(
            "is {} characters long; the limit is {max}",
            name.len()
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("must start with a lowercase letter".into());
    }
    if let Some(c) = name.chars().find(|c| {
        !(c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || *c == '-'
            || (allow_underscore && *c == '_'))
    }) {
        return Err(format!("contains `{c}`"));
    }
    if name.ends_with(['-', '_']) || name.contains("--") {
        return Err("must not end with `-` or contain `--`".into());
    }
    Ok(())
}

fn resolve_aws(a: &raw::AwsSection, out: &mut Vec<Diagnostic>) -> AwsSettings {
    if let Some(region) = &a.region {
        let r = region.get();
        let looks_right = r.split('-').count() >= 3
            && r.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !looks_right {
            out.push(
                Diagnostic::new(region.span(), format!("`{r}` is not an AWS region name"))
                    .with_help("regions look like `us-east-1` or `eu-central-1`"),
            );
        }
    }
    if let Some(endpoint) = &a.endpoint {
        check_url(endpoint, out);
    }
    AwsSettings {
        region: a.region.as_ref().map(|r| r.get().clone()),
        profile: a.profile.clone(),
        endpoint: a.endpoint.as_ref().map(|e| e.get().clone()),
        statements: resolve_statements(&a.statements, out),
        http: super::http::gateway(a.http.as_ref(), out),
    }
}

/// IAM statements, of `[providers.aws]` or of `[functions.NAME.aws]`.
fn resolve_statements(
    list: &[Sp<raw::IamStatement>],
    out: &mut Vec<Diagnostic>,
) -> Vec<IamStatement> {
    list.iter()
        .map(|s| {
            let st = s.get();
            let effect = st
                .effect
                .as_ref()
                .map(|e| e.get().clone())
                .unwrap_or_else(|| "Allow".into());
            if effect != "Allow" && effect != "Deny" {
                let span = st.effect.as_ref().map(|e| e.span()).unwrap_or(s.span());
                out.push(Diagnostic::new(
                    span,
                    format!("IAM effect must be `Allow` or `Deny`, not `{effect}`"),
                ));
            }
            for (list, what) in [(&st.actions, "actions"), (&st.resources, "resources")] {
                if list.is_empty() {
                    out.push(Diagnostic::new(
                        s.span(),
                        format!("IAM statement has no {what}"),
                    ));
                }
            }
            for action in &st.actions {
                let a = action.get();
                if a != "*" && !a.contains(':') {
                    out.push(
                        Diagnostic::new(
                            action.span(),
                            format!("IAM action `{a}` has no service prefix"),
                        )
                        .with_help("actions look like `s3:GetObject` or `dynamodb:*`"),
                    );
                }
            }
            IamStatement {
                effect,
                actions: st.actions.iter().map(|a| a.get().clone()).collect(),
                resources: st.resources.iter().map(|r| r.get().clone()).collect(),
            }
        })
        .collect()
}

fn check_url(url: &Sp<String>, out: &mut Vec<Diagnostic>) {
    let u = url.get();
    let ok = (u.starts_with("http://") || u.starts_with("https://"))
        && u.len() > "https://".len() - 1
        && !u.contains(char::is_whitespace);
    if !ok {
        out.push(
            Diagnostic::new(url.span(), format!("`{u}` is not an http(s) URL"))
                .with_help("endpoints look like `http://127.0.0.1:5000` or `https://example.com`"),
        );
    }
}

fn resolve_azure(a: &raw::AzureSection, out: &mut Vec<Diagnostic>) -> AzureSettings {
    let sub = a.subscription.get();
    if !is_guid(sub) {
        out.push(
            Diagnostic::new(
                a.subscription.span(),
                format!("subscription `{sub}` is not a subscription id"),
            )
            .with_help("use the GUID shown by `az account show --query id`"),
        );
    }
    let rg = a.resource_group.get();
    let rg_ok = !rg.is_empty()
        && rg.len() <= 90
        && !rg.ends_with('.')
        && rg
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'));
    if !rg_ok {
        out.push(
            Diagnostic::new(
                a.resource_group.span(),
                format!("resource group name `{rg}` is not valid"),
            )
            .with_help("1-90 letters, digits, `-`, `_`, `.`, `(`, `)`, not ending with `.`"),
        );
    }
    let loc = a.location.get();
    if loc.is_empty()
        || !loc
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        out.push(
            Diagnostic::new(
                a.location.span(),
                format!("location `{loc}` is not an Azure region name"),
            )
            .with_help("regions are lowercase without spaces, such as `westeurope` or `eastus2`"),
        );
    }
    let plan = match a.plan.as_ref().map(|p| (p.get().as_str(), p.span())) {
        None | Some(("flex", _)) => AzurePlan::Flex,
        Some(("consumption", _)) => AzurePlan::Consumption,
        Some((other, span)) => {
            out.push(
                Diagnostic::new(span, format!("unknown Azure plan `{other}`"))
                    .with_label("expected `flex` or `consumption`")
                    .with_help_opt(did_you_mean(other, ["flex", "consumption"])),
            );
            AzurePlan::Flex
        }
    };
    let maximum_instances = match &a.maximum_instances {
        Some(m) if !(1..=1000).contains(m.get()) => {
            out.push(Diagnostic::new(
                m.span(),
                format!("maximum_instances is {}, outside 1 to 1000", m.get()),
            ));
            100
        }
        Some(m) => *m.get(),
        None => 100,
    };
    let endpoints = match &a.endpoints {
        Some(e) => {
            for url in [
                &e.arm, &e.storage, &e.scm, &e.app, &e.logs, &e.queue, &e.table,
            ]
            .into_iter()
            .flatten()
            {
                check_url(url, out);
            }
            let get = |u: &Option<Sp<String>>| {
                u.as_ref()
                    .map(|u| u.get().trim_end_matches('/').to_string())
            };
            AzureEndpoints {
                arm: get(&e.arm),
                storage: get(&e.storage),
                scm: get(&e.scm),
                app: get(&e.app),
                logs: get(&e.logs),
                queue: get(&e.queue),
                table: get(&e.table),
            }
        }
        None => AzureEndpoints::default(),
    };
    AzureSettings {
        subscription: sub.clone(),
        resource_group: rg.clone(),
        location: loc.clone(),
        plan,
        maximum_instances,
        app_insights: a.app_insights.as_ref().is_none_or(|b| *b.get()),
        endpoints,
    }
}

fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn resolve_env(
    env: &BTreeMap<String, Sp<EnvEntry>>,
    out: &mut Vec<Diagnostic>,
) -> BTreeMap<String, EnvValue> {
    let mut resolved = BTreeMap::new();
    for (key, entry) in env {
        let valid = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            out.push(
                Diagnostic::new(entry.span(), format!("environment variable name `{key}` is not valid"))
                    .with_help("use letters, digits and `_`, not starting with a digit (both clouds require it)"),
            );
        }
        let value = match entry.get() {
            EnvEntry::Plain(v) => EnvValue {
                value: v.clone(),
                secret: false,
            },
            EnvEntry::Detailed(d) => EnvValue {
                value: d.value.clone(),
                secret: d.secret,
            },
        };
        resolved.insert(key.clone(), value);
    }
    resolved
}

#[allow(clippy::too_many_arguments)]
fn resolve_function(
    name: &str,
    name_span: Range<usize>,
    f: &raw::FunctionSection,
    app: &raw::AppSection,
    app_env: &BTreeMap<String, EnvValue>,
    configured: &[ProviderId],
    resources: &BTreeMap<String, Resource>,
    app_cors: Option<&Cors>,
    cx: &Context<'_>,
    out: &mut Vec<Diagnostic>,
) -> Option<Function> {
    let before = out.len();
    if let Err(why) = check_name(name, FUNCTION_NAME_MAX, true) {
        out.push(
            Diagnostic::new(name_span.clone(), format!("function name `{name}` {why}"))
                .with_help("use lowercase letters, digits, `-` and `_`, starting with a letter, such as `get-user`"),
        );
    }

    let runtime_value = f.runtime.as_ref().or(app.runtime.as_ref());
    let runtime = match runtime_value {
        None => {
            out.push(
                Diagnostic::new(
                    name_span.clone(),
                    format!("function `{name}` has no runtime"),
                )
                .with_help(
                    "set `runtime = \"python3.12\"` in the function, or a default in `[app]`",
                ),
            );
            None
        }
        Some(r) => match Runtime::parse(r.get()) {
            Some(rt) => Some(rt),
            None => {
                let ids: Vec<&str> = Runtime::ALL.iter().map(|r| r.id()).collect();
                out.push(
                    Diagnostic::new(r.span(), format!("unknown runtime `{}`", r.get()))
                        .with_label(format!(
                            "expected one of: {} (Lambda's spellings such as `nodejs22.x` work too)",
                            ids.join(", ")
                        ))
                        .with_help_opt(Runtime::suggest(r.get())),
                );
                None
            }
        },
    };

    let source = match &f.source {
        Some(s) => {
            let dir = cx.root.join(s.get());
            if cx.check_files && !dir.is_dir() {
                out.push(
                    Diagnostic::new(
                        s.span(),
                        format!("source directory `{}` does not exist", s.get()),
                    )
                    .with_help(format!("paths are relative to {}", cx.root.display())),
                );
            }
            dir
        }
        None => cx.root.to_path_buf(),
    };

    let handler = resolve_handler(name, &name_span, f, runtime, &source, cx, out);

    let memory_mb = bounded(
        f.memory.as_ref().or(app.memory.as_ref()),
        DEFAULT_MEMORY_MB,
        MEMORY_MB,
        "memory",
        "MB",
        out,
    );
    let timeout_span = f
        .timeout
        .as_ref()
        .or(app.timeout.as_ref())
        .map(|t| t.span());
    let timeout_s = bounded(
        f.timeout.as_ref().or(app.timeout.as_ref()),
        DEFAULT_TIMEOUT_S,
        TIMEOUT_S,
        "timeout",
        "seconds",
        out,
    );

    let mut env = app_env.clone();
    env.extend(resolve_env(&f.env, out));

    let globs = |list: &[Sp<String>], out: &mut Vec<Diagnostic>| -> Vec<String> {
        list.iter()
            .map(|g| {
                if let Err(e) = globset::Glob::new(g.get()) {
                    out.push(Diagnostic::new(
                        g.span(),
                        format!("`{}` is not a valid glob: {}", g.get(), e.kind()),
                    ));
                }
                g.get().clone()
            })
            .collect()
    };
    let include = globs(&f.include, out);
    let exclude = globs(&f.exclude, out);

    let providers = match &f.providers {
        None => configured.to_vec(),
        Some(list) => {
            let mut chosen = Vec::new();
            for p in list {
                match ProviderId::parse(p.get()) {
                    Some(id) if configured.contains(&id) => chosen.push(id),
                    Some(id) => out.push(
                        Diagnostic::new(p.span(), format!("function `{name}` targets {id}, but `[providers.{id}]` is not configured"))
                            .with_help(format!("add a `[providers.{id}]` table, or remove `{id}` from this list")),
                    ),
                    None => out.push(
                        Diagnostic::new(p.span(), format!("unknown provider `{}`", p.get()))
                            .with_label("expected `aws` or `azure`")
                            .with_help_opt(did_you_mean(p.get(), ["aws", "azure"])),
                    ),
                }
            }
            chosen.sort();
            chosen.dedup();
            chosen
        }
    };

    let mut queue_triggers = Vec::new();
    let triggers: Vec<Trigger> = f
        .triggers
        .iter()
        .filter_map(|t| {
            resolve_trigger(t, cx.source, resources, app_cors, &mut queue_triggers, out)
        })
        .collect();
    let access = resolve_access(name, f, resources, &triggers, &queue_triggers, cx, out);
    let aws = f
        .aws
        .as_ref()
        .map(|a| FunctionAws {
            statements: resolve_statements(&a.get().statements, out),
            span: Some(a.span()),
        })
        .unwrap_or_default();

    if out.len() > before {
        return None;
    }
    Some(Function {
        name: name.to_string(),
        name_span,
        runtime_span: runtime_value.map(|r| r.span()).unwrap_or_default(),
        runtime: runtime?,
        handler: handler?,
        source,
        memory_mb,
        timeout_s,
        timeout_span,
        env,
        include,
        exclude,
        providers,
        triggers,
        queue_triggers,
        access,
        aws,
    })
}

fn resolve_handler(
    name: &str,
    name_span: &Range<usize>,
    f: &raw::FunctionSection,
    runtime: Option<Runtime>,
    source: &Path,
    cx: &Context<'_>,
    out: &mut Vec<Diagnostic>,
) -> Option<String> {
    let runtime = runtime?;
    let (handler, span) = match (&f.handler, runtime.default_handler()) {
        (Some(h), _) => (h.get().clone(), h.span()),
        (None, Some(d)) => (d.to_string(), name_span.clone()),
        (None, None) => {
            out.push(
                Diagnostic::new(
                    name_span.clone(),
                    format!("function `{name}` has no handler"),
                )
                .with_help(
                    "set `handler = \"file.function\"`, such as `handler = \"app.handler\"`",
                ),
            );
            return None;
        }
    };
    let (candidates, _) = match runtime.handler_files(&handler) {
        Ok(parts) => parts,
        Err(why) => {
            out.push(Diagnostic::new(span, why));
            return None;
        }
    };
    if cx.check_files && source.is_dir() && !candidates.iter().any(|c| source.join(c).is_file()) {
        let shown: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
        out.push(
            Diagnostic::new(
                span,
                format!(
                    "handler file `{}` not found for function `{name}`",
                    shown.join("` or `")
                ),
            )
            .with_label("no such file")
            .with_help(format!(
                "looked in {}; create the file or fix the handler",
                display_dir(source)
            )),
        );
        return None;
    }
    Some(handler)
}

fn display_dir(p: &Path) -> String {
    let s = p.display().to_string();
    if s.is_empty() {
        ".".into()
    } else {
        s
    }
}

fn bounded(
    value: Option<&Sp<u32>>,
    default: u32,
    (min, max): (u32, u32),
    what: &str,
    unit: &str,
    out: &mut Vec<Diagnostic>,
) -> u32 {
    match value {
        None => default,
        Some(v) if (min..=max).contains(v.get()) => *v.get(),
        Some(v) => {
            out.push(
                Diagnostic::new(
                    v.span(),
                    format!("{what} is {} {unit}, outside {min} to {max}", v.get()),
                )
                .with_label(format!("must be {min} to {max}")),
            );
            default
        }
    }
}

/// Resolves one trigger; a queue trigger goes to `queues` (see
/// [`Function::queue_triggers`]) and returns `None`.
fn resolve_trigger(
    t: &Sp<TriggerSection>,
    source: &str,
    resources: &BTreeMap<String, Resource>,
    app_cors: Option<&Cors>,
    queues: &mut Vec<QueueTrigger>,
    out: &mut Vec<Diagnostic>,
) -> Option<Trigger> {
    let before = out.len();
    let trigger = match t.get() {
        TriggerSection::Queue(q) => {
            let name = q.queue.get();
            match resources.get(name) {
                None => out.push(unknown_resource(
                    q.queue.span(),
                    "queue trigger",
                    name,
                    resources,
                    Some("queue"),
                )),
                Some(r) if !matches!(r.kind, ResourceKind::Queue(_)) => out.push(
                    Diagnostic::new(
                        q.queue.span(),
                        format!(
                            "queue trigger names `{name}`, which is a {}, not a queue",
                            r.kind.as_str()
                        ),
                    )
                    .with_help(
                        "a queue trigger reads a `[resources.NAME]` with `kind = \"queue\"`",
                    ),
                ),
                Some(_) => queues.push(QueueTrigger {
                    queue: name.clone(),
                    batch_size: q
                        .batch_size
                        .as_ref()
                        .map_or(DEFAULT_BATCH_SIZE, |b| *b.get()),
                    batch_size_span: q.batch_size.as_ref().map_or(t.span(), |b| b.span()),
                    max_batching_window_s: q.max_batching_window.as_ref().map(|w| *w.get()),
                    max_batching_window_span: q
                        .max_batching_window
                        .as_ref()
                        .map_or(t.span(), |w| w.span()),
                    span: q.queue.span(),
                }),
            }
            None
        }
        TriggerSection::Http(h) => {
            let mut methods: Vec<String> = match h.method.as_ref().map(|m| m.get()) {
                None => vec!["ANY".into()],
                Some(OneOrMany::One(m)) => vec![m.to_ascii_uppercase()],
                Some(OneOrMany::Many(ms)) => ms.iter().map(|m| m.to_ascii_uppercase()).collect(),
            };
            let method_span = h.method.as_ref().map(|m| m.span()).unwrap_or(t.span());
            for m in &methods {
                if !HTTP_METHODS.contains(&m.as_str()) {
                    out.push(
                        Diagnostic::new(method_span.clone(), format!("unknown HTTP method `{m}`"))
                            .with_label(format!("expected {}", HTTP_METHODS.join(", ")))
                            .with_help_opt(did_you_mean(m, HTTP_METHODS.iter().copied())),
                    );
                }
            }
            methods.sort();
            methods.dedup();
            if methods.is_empty() {
                out.push(
                    Diagnostic::new(method_span.clone(), "the method list is empty")
                        .with_help("list at least one method, or leave `method` out for ANY"),
                );
            } else if methods.len() > 1 && methods.iter().any(|m| m == "ANY") {
                out.push(Diagnostic::new(
                    method_span,
                    "`ANY` already covers every method; list it alone",
                ));
            }
            let route = match Route::parse(h.path.get()) {
                Ok(r) => Some(r),
                Err(e) => {
                    let span = inner_span(source, h.path.span(), h.path.get(), e.range);
                    out.push(Diagnostic::new(span, e.message).with_help_opt(e.help));
                    None
                }
            };
            let auth = super::http::auth(h.auth.as_ref(), out);
            let cors = super::http::route_cors(h.cors.as_ref(), app_cors, out);
            route.map(|route| {
                Trigger::Http(HttpTrigger {
                    methods,
                    route,
                    auth,
                    cors,
                    span: h.path.span(),
                })
            })
        }
        TriggerSection::Storage(s) => {
            let mut events = Vec::new();
            match &s.events {
                None => events.push(StorageEvent::Created),
                Some(list) => {
                    if list.is_empty() {
                        out.push(
                            Diagnostic::new(t.span(), "`events` is empty")
                                .with_help("list `created`, `deleted` or both"),
                        );
                    }
                    for e in list {
                        match e.get().as_str() {
                            "created" => events.push(StorageEvent::Created),
                            "deleted" => events.push(StorageEvent::Deleted),
                            other => out.push(
                                Diagnostic::new(
                                    e.span(),
                                    format!("unknown storage event `{other}`"),
                                )
                                .with_label("expected `created` or `deleted`")
                                .with_help_opt(did_you_mean(other, ["created", "deleted"])),
                            ),
                        }
                    }
                }
            }
            events.sort();
            events.dedup();
            if s.bucket.get().is_empty() {
                out.push(Diagnostic::new(s.bucket.span(), "bucket name is empty"));
            }
            let non_empty = |v: &Option<Sp<String>>, what: &str, out: &mut Vec<Diagnostic>| {
                v.as_ref().and_then(|p| {
                    if p.get().is_empty() {
                        out.push(
                            Diagnostic::new(p.span(), format!("`{what}` is empty"))
                                .with_help(format!("remove `{what}` to match every object")),
                        );
                    }
                    (!p.get().is_empty()).then(|| p.get().clone())
                })
            };
            match resources.get(s.bucket.get()) {
                Some(r) if r.kind != ResourceKind::Bucket => out.push(
                    Diagnostic::new(
                        s.bucket.span(),
                        format!(
                            "storage trigger names `{}`, which is a {} resource, not a bucket",
                            s.bucket.get(),
                            r.kind.as_str()
                        ),
                    )
                    .with_help("name a `[resources.NAME]` with `kind = \"bucket\"`, or the real name of an existing bucket"),
                ),
                Some(_) if s.create => out.push(
                    Diagnostic::new(
                        s.bucket.span(),
                        format!(
                            "`{}` is the app's bucket resource, which fnctl creates already; `create = true` is for buckets named here",
                            s.bucket.get()
                        ),
                    )
                    .with_help("remove `create = true`"),
                ),
                _ => {}
            }
            let prefix = non_empty(&s.prefix, "prefix", out);
            let suffix = non_empty(&s.suffix, "suffix", out);
            Some(Trigger::Storage(StorageTrigger {
                bucket: s.bucket.get().clone(),
                events,
                prefix,
                suffix,
                create: s.create,
                span: s.bucket.span(),
            }))
        }
        TriggerSection::Schedule(s) => match s.schedule.get().parse::<Schedule>() {
            Ok(schedule) => Some(Trigger::Schedule(ScheduleTrigger {
                schedule,
                enabled: s.enabled,
                span: s.schedule.span(),
            })),
            Err(e) => {
                let span = inner_span(
                    source,
                    s.schedule.span(),
                    s.schedule.get(),
                    e.offset..e.offset + e.len.max(1),
                );
                out.push(
                    Diagnostic::new(
                        span,
                        format!("invalid schedule `{}`: {}", s.schedule.get(), e.message),
                    )
                    .with_help_opt(e.help.clone()),
                );
                None
            }
        },
    };
    if out.len() > before {
        None
    } else {
        trigger
    }
}

fn resolve_resources(
    raw: &BTreeMap<String, Sp<raw::ResourceSection>>,
    cx: &Context<'_>,
    out: &mut Vec<Diagnostic>,
) -> BTreeMap<String, Resource> {
    let mut resources = BTreeMap::new();
    for (name, section) in raw {
        let span = cx
            .resource_spans
            .get(name)
            .cloned()
            .unwrap_or_else(|| section.span());
        let named = check_name(name, RESOURCE_NAME_MAX, false).and_then(|()| {
            if name.len() < RESOURCE_NAME_MIN {
                Err(format!(
                    "is too short: resource names have {RESOURCE_NAME_MIN} to {RESOURCE_NAME_MAX} characters"
                ))
            } else {
                Ok(())
            }
        });
        if let Err(why) = named {
            out.push(
                Diagnostic::new(span.clone(), format!("resource name `{name}` {why}"))
                    .with_help("use 3 to 32 lowercase letters, digits and single hyphens, starting with a letter, such as `orders`; each cloud derives its own name from it"),
            );
        }
        let kind = match section.get() {
            raw::ResourceSection::Bucket(_) => ResourceKind::Bucket,
            raw::ResourceSection::Queue(q) => ResourceKind::Queue(Queue {
                visibility_timeout_s: q
                    .visibility_timeout
                    .as_ref()
                    .map_or(DEFAULT_VISIBILITY_TIMEOUT_S, |v| *v.get()),
                visibility_timeout_span: q
                    .visibility_timeout
                    .as_ref()
                    .map_or(span.clone(), |v| v.span()),
                retention_s: q
                    .retention
                    .as_ref()
                    .map_or(DEFAULT_RETENTION_S, |r| *r.get()),
                dead_letter: q.dead_letter.as_ref().map(|d| DeadLetter {
                    after: *d.get().after.get(),
                    span: d.get().after.span(),
                }),
            }),
            raw::ResourceSection::Table(t) => {
                let partition_key = table_key(&t.partition_key, out);
                let sort_key = t.sort_key.as_ref().map(|k| table_key(k, out));
                if let Some(sort) = &sort_key {
                    if sort.name == partition_key.name && !sort.name.is_empty() {
                        out.push(
                            Diagnostic::new(
                                sort.span.clone(),
                                format!(
                                    "the sort key of table `{name}` is `{}`, the same attribute as its partition key",
                                    sort.name
                                ),
                            )
                            .with_help("name another attribute, or remove `sort_key`"),
                        );
                    }
                }
                ResourceKind::Table(Table {
                    partition_key,
                    sort_key,
                })
            }
        };
        resources.insert(
            name.clone(),
            Resource {
                name: name.clone(),
                span,
                kind,
            },
        );
    }
    resources
}

fn table_key(key: &Sp<raw::TableKeySection>, out: &mut Vec<Diagnostic>) -> TableKey {
    let (name, kind) = match key.get() {
        raw::TableKeySection::Name(n) => (n.clone(), KeyType::String),
        raw::TableKeySection::Typed(t) => (
            t.name.clone(),
            match t.kind {
                None | Some(raw::KeyTypeSection::String) => KeyType::String,
                Some(raw::KeyTypeSection::Number) => KeyType::Number,
                Some(raw::KeyTypeSection::Binary) => KeyType::Binary,
            },
        ),
    };
    if name.is_empty() {
        out.push(
            Diagnostic::new(key.span(), "the key attribute's name is empty")
                .with_help("name the attribute, such as `partition_key = \"id\"`"),
        );
    }
    TableKey {
        name,
        kind,
        span: key.span(),
    }
}

/// A reference to a resource that is not defined, with the closest name of
/// the wanted kind (or of any kind) as a suggestion.
fn unknown_resource(
    span: Range<usize>,
    what: &str,
    name: &str,
    resources: &BTreeMap<String, Resource>,
    kind: Option<&str>,
) -> Diagnostic {
    let fitting: Vec<&str> = resources
        .values()
        .filter(|r| kind.is_none_or(|k| r.kind.as_str() == k))
        .map(|r| r.name.as_str())
        .collect();
    let help = did_you_mean(name, fitting.iter().copied()).unwrap_or_else(|| {
        if fitting.is_empty() {
            match kind {
                Some(k) => format!("define it: `[resources.{name}]` with `kind = \"{k}\"`"),
                None => format!("define it: `[resources.{name}]` with its `kind`"),
            }
        } else {
            format!(
                "defined: {}; or define `[resources.{name}]`",
                fitting
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    });
    Diagnostic::new(
        span,
        format!("{what} names resource `{name}`, which is not defined"),
    )
    .with_help(help)
}

/// The function's effective access: `access` as written, plus `consume` on
/// the queue of each queue trigger and `read` on the resource bucket of each
/// storage trigger.
fn resolve_access(
    function: &str,
    f: &raw::FunctionSection,
    resources: &BTreeMap<String, Resource>,
    triggers: &[Trigger],
    queues: &[QueueTrigger],
    cx: &Context<'_>,
    out: &mut Vec<Diagnostic>,
) -> BTreeMap<String, Access> {
    let mut access: BTreeMap<String, Access> = BTreeMap::new();
    for (name, level) in &f.access {
        let span = cx
            .access_spans
            .get(&(function.to_string(), name.clone()))
            .cloned()
            .unwrap_or_else(|| level.span());
        let level = match level.get() {
            raw::AccessLevelSection::Read => AccessLevel::Read,
            raw::AccessLevelSection::Write => AccessLevel::Write,
            raw::AccessLevelSection::ReadWrite => AccessLevel::ReadWrite,
            raw::AccessLevelSection::Send => AccessLevel::Send,
            raw::AccessLevelSection::Consume => AccessLevel::Consume,
        };
        let Some(r) = resources.get(name) else {
            out.push(unknown_resource(
                span,
                &format!("`access` of function `{function}`"),
                name,
                resources,
                None,
            ));
            continue;
        };
        let levels = r.kind.levels();
        if !levels.contains(&level) {
            let shown: Vec<String> = levels.iter().map(|l| format!("`{l}`")).collect();
            let value_span = f.access[name].span();
            out.push(
                Diagnostic::new(
                    value_span,
                    format!(
                        "`{level}` is not an access level for {} `{name}`",
                        r.kind.as_str()
                    ),
                )
                .with_label(format!("expected {}", shown.join(", ")))
                .with_help(format!(
                    "a {} takes {}",
                    r.kind.as_str(),
                    shown.join(", ")
                )),
            );
            continue;
        }
        access.insert(
            name.clone(),
            Access {
                permissions: level.permissions().iter().copied().collect(),
                declared: Some(level),
                span: Some(span),
            },
        );
    }
    let mut imply = |name: &str, p: Permission| {
        access
            .entry(name.to_string())
            .or_insert_with(|| Access {
                permissions: Default::default(),
                declared: None,
                span: None,
            })
            .permissions
            .insert(p);
    };
    for q in queues {
        imply(&q.queue, Permission::Consume);
    }
    for t in triggers {
        if let Trigger::Storage(s) = t {
            if resources
                .get(&s.bucket)
                .is_some_and(|r| r.kind == ResourceKind::Bucket)
            {
                imply(&s.bucket, Permission::Read);
            }
        }
    }
    access
}

/// fnctl sets `FNCTL_{RESOURCE}_NAME` (and `_URL` for queues) for the
/// resources a function can access; a variable of the same name in `env`
/// would be overwritten, or on Azure (where the functions of an app share
/// one set of settings) clash with it, so the names of every resource's
/// variables are refused in `[app].env` and in every function's `env`.
fn check_resource_env(
    m: &raw::Manifest,
    resources: &BTreeMap<String, Resource>,
    out: &mut Vec<Diagnostic>,
) {
    let reserved: BTreeMap<String, (String, &str)> = resources
        .values()
        .flat_map(|r| resource::env_for(&r.name, &r.kind))
        .map(|e| {
            let what = match e.value {
                resource::ResourceEnvValue::Name => "name",
                resource::ResourceEnvValue::Url => "URL",
            };
            (e.var, (e.resource, what))
        })
        .collect();
    let mut check = |who: String, env: &BTreeMap<String, Sp<EnvEntry>>| {
        for (key, entry) in env {
            if let Some((resource, what)) = reserved.get(key) {
                out.push(
                    Diagnostic::new(
                        entry.span(),
                        format!("{who} sets `{key}`, which fnctl sets to the {what} of resource `{resource}`"),
                    )
                    .with_help("rename this variable; fnctl sets it on the functions that can access the resource"),
                );
            }
        }
    };
    check("`[app].env`".to_string(), &m.app.env);
    for (name, f) in &m.functions {
        check(format!("function `{name}`"), &f.get().env);
    }
}

/// Maps a range inside a string value to the manifest, when the literal has
/// no escapes; otherwise the whole value is underlined.
fn inner_span(
    source: &str,
    value_span: Range<usize>,
    decoded: &str,
    inner: Range<usize>,
) -> Range<usize> {
    let raw = source.get(value_span.clone()).unwrap_or_default();
    for quote in ["\"\"\"", "'''", "\"", "'"] {
        if let Some(body) = raw.strip_prefix(quote).and_then(|r| r.strip_suffix(quote)) {
            if body == decoded && inner.end <= body.len() {
                let start = value_span.start + quote.len();
                return start + inner.start..start + inner.end;
            }
        }
    }
    value_span
}

/// Two functions (or two triggers) serving the same method and route shape
/// would make the deploy fail halfway on AWS and silently shadow on Azure.
fn check_duplicate_routes(
    functions: &BTreeMap<String, Function>,
    source: &str,
    out: &mut Vec<Diagnostic>,
) {
    let mut seen: Vec<(&str, String, &str, Range<usize>)> = Vec::new();
    for f in functions.values() {
        for t in &f.triggers {
            let Trigger::Http(h) = t else { continue };
            let shape = h.route.shape();
            for m in &h.methods {
                let clash = seen.iter().find(|(sm, sshape, _, _)| {
                    *sshape == shape && (sm == m || *sm == "ANY" || m == "ANY")
                });
                if let Some((sm, _, owner, span)) = clash {
                    let line = source[..span.start.min(source.len())].matches('\n').count() + 1;
                    out.push(
                        Diagnostic::new(h.span.clone(), format!("route {m} {} is already served by function `{owner}` ({sm} at line {line})", h.route))
                            .with_help("each method and path may be served by one function; change the path or the method"),
                    );
                } else {
                    seen.push((m, shape.clone(), &f.name, h.span.clone()));
                }
            }
        }
    }
}

/// The directory a manifest's relative paths start from.
pub fn project_root(manifest_path: &Path) -> PathBuf {
    match manifest_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_shared_rule() {
        assert!(check_name("shop-api", 24, false).is_ok());
        assert!(check_name("get_user", 32, true).is_ok());
        assert_eq!(
            check_name("Shop", 24, false).unwrap_err(),
            "must start with a lowercase letter"
        );
        assert_eq!(check_name("a_b", 24, false).unwrap_err(), "contains `_`");
        assert!(check_name("a--b", 24, false).is_err());
        assert!(check_name("a-", 24, false).is_err());
        assert!(check_name(&"a".repeat(25), 24, false)
            .unwrap_err()
            .contains("25 characters"));
        assert!(check_name("aws-python-scheduled-cron", APP_NAME_MAX, false).is_ok());
        assert!(check_name(&"a".repeat(40), APP_NAME_MAX, false).is_ok());
        assert_eq!(
            check_name(&"a".repeat(41), APP_NAME_MAX, false).unwrap_err(),
            "is 41 characters long; the limit is 40"
        );
    }

    #[test]
    fn guid_check() {
        assert!(is_guid("00000000-0000-0000-0000-000000000000"));
        assert!(!is_guid("0000-0000"));
        assert!(!is_guid("g0000000-0000-0000-0000-000000000000"));
    }

    #[test]
    fn inner_span_maps_into_plain_literals_only() {
        let src = "s = \"0 61 * * *\"\n";
        assert_eq!(inner_span(src, 4..16, "0 61 * * *", 2..4), 7..9);
        let src = "s = \"a\\tb\"\n";
        assert_eq!(inner_span(src, 4..10, "a\tb", 0..1), 4..10);
    }
}
