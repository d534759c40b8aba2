//! `fnctl.toml`: finding, parsing, checking and resolving the manifest.
//!
//! The pipeline, each step reporting every problem it finds:
//! 1. TOML syntax ([`toml::de::DeTable::parse_recoverable`], which keeps spans);
//! 2. shape, against the JSON Schema derived from [`raw`] ([`schema_check`]),
//!    for the base manifest and for every stage merged over it;
//! 3. `${env:...}`, `${app}` and `${stage}` expansion ([`interpolate`]) for
//!    the selected stage;
//! 4. meaning and cross-references ([`resolve`]), producing a [`crate::model::App`].

pub mod diagnostic;
pub mod http;
pub mod interpolate;
pub mod merge;
pub mod raw;
pub mod resolve;
pub mod schema;

pub use schema::check as schema_check;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

pub use diagnostic::{Diagnostic, JsonDiagnostic, ManifestError, Source};
pub use interpolate::{Environment, ProcessEnv};

use crate::model::{App, DEFAULT_STAGE};
use crate::suggest::did_you_mean;

/// The file name fnctl looks for.
pub const MANIFEST_NAME: &str = "fnctl.toml";

/// Why a manifest could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// No manifest in the current directory or any parent.
    #[error("no {MANIFEST_NAME} found in {} or any parent directory", .start.display())]
    NotFound { start: PathBuf },
    /// The file exists but cannot be read.
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The manifest has problems; each is located.
    #[error(transparent)]
    Invalid(#[from] ManifestError),
}

/// Finds the manifest: `explicit` when given, else `fnctl.toml` in `start`
/// or the nearest parent that has one (as cargo finds `Cargo.toml`).
pub fn locate(explicit: Option<&Path>, start: &Path) -> Result<PathBuf, LoadError> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let mut dir = Some(start);
    while let Some(d) = dir {
        let candidate = d.join(MANIFEST_NAME);
        if candidate.is_file() {
            return Ok(candidate);
        }
        dir = d.parent();
    }
    Err(LoadError::NotFound {
        start: start.to_path_buf(),
    })
}

/// Options for [`load`].
pub struct LoadOptions<'a> {
    pub stage: &'a str,
    pub env: &'a dyn Environment,
    /// Check that handler files and source directories exist.
    pub check_files: bool,
}

/// Reads and resolves a manifest for one stage.
pub fn load(path: &Path, opts: &LoadOptions<'_>) -> Result<(App, Source), LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let source = Source::new(path, text);
    match load_source(&source, opts) {
        Ok(app) => Ok((app, source)),
        Err(diags) => Err(ManifestError::new(source, diags).into()),
    }
}

/// Parses and resolves manifest text; the path is only used for relative paths.
pub fn load_source(source: &Source, opts: &LoadOptions<'_>) -> Result<App, Vec<Diagnostic>> {
    let text: &str = &source.text;
    let (table, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        return Err(errors
            .iter()
            .map(|e| {
                let span = e.span().unwrap_or(0..0);
                Diagnostic::new(span, format!("TOML syntax: {}", e.message().trim_end()))
            })
            .collect());
    }
    let root = Spanned::new(table.span(), DeValue::Table(table.into_inner()));
    let schema = schema::manifest_schema();
    let base = schema::check(&root, &schema);
    let mut recoverable = base.only_unknown_keys;
    let mut diags = base.diagnostics;

    let before = diags.len();
    let stages = stage_tables(&root, &mut diags);
    recoverable &= diags.len() == before;
    for stage in stages.values() {
        let merged = merge::merge(&root, stage);
        let checked = schema::check(&merged, &schema);
        recoverable &= checked.only_unknown_keys;
        diags.extend(checked.diagnostics);
    }
    let selected = match stages.get(opts.stage) {
        Some(stage) => merge::merge(&root, stage),
        None => {
            if opts.stage != DEFAULT_STAGE && !stages.is_empty() {
                let names: Vec<&str> = stages.keys().map(String::as_str).collect();
                let span = stage_key_span(&root).unwrap_or(0..0);
                recoverable = false;
                diags.push(
                    Diagnostic::new(span, format!("stage `{}` is not defined", opts.stage))
                        .with_help(
                            did_you_mean(opts.stage, names.iter().copied()).unwrap_or_else(|| {
                                format!(
                                    "defined stages: {}, plus the default `{DEFAULT_STAGE}`",
                                    names.join(", ")
                                )
                            }),
                        ),
                );
            }
            root.clone()
        }
    };
    // Unknown keys alone do not stop the pipeline: serde skips them, so the
    // user also sees the semantic problems of the same file in one run.
    if !diags.is_empty() && !recoverable {
        return Err(diags);
    }
    let structural = diags;
    let mut diags = Vec::new();

    let mut selected = selected;
    interpolate::expand_tree(&mut selected, text, opts.env, opts.stage, &mut diags);
    if !diags.is_empty() {
        diags.extend(structural);
        return Err(diags);
    }
    let function_spans = function_key_spans(&selected);
    let resource_spans = table_key_spans(selected.get_ref().get("resources"));
    let access_spans = access_key_spans(&selected);
    let manifest = match raw::Manifest::deserialize(selected.into_deserializer()) {
        Ok(m) => m,
        Err(e) => {
            // The schema walk should catch every shape error first; this is
            // the safety net for anything it does not model.
            return Err(vec![Diagnostic::new(
                e.span().unwrap_or(0..0),
                e.message().trim_end().to_string(),
            )]);
        }
    };
    let root_dir = resolve::project_root(&source.path);
    let cx = resolve::Context {
        stage: opts.stage,
        manifest_path: &source.path,
        root: &root_dir,
        source: text,
        function_spans: &function_spans,
        resource_spans: &resource_spans,
        access_spans: &access_spans,
        check_files: opts.check_files,
    };
    match resolve::resolve(manifest, &cx) {
        Ok(app) if structural.is_empty() => Ok(app),
        Ok(_) => Err(structural),
        Err(mut semantic) => {
            semantic.extend(structural);
            Err(semantic)
        }
    }
}

use serde::de::IntoDeserializer;

fn stage_tables<'i>(
    root: &Spanned<DeValue<'i>>,
    diags: &mut Vec<Diagnostic>,
) -> BTreeMap<String, Spanned<DeValue<'i>>> {
    let mut out = BTreeMap::new();
    let Some(stages) = root.get_ref().get("stages") else {
        return out;
    };
    let DeValue::Table(table) = stages.get_ref() else {
        diags.push(Diagnostic::new(
            stages.span(),
            "`stages` must be a table of stage tables, such as `[stages.prod]`",
        ));
        return out;
    };
    for (name, value) in table.iter() {
        let name_str = name.get_ref().to_string();
        if !value.get_ref().is_table() {
            diags.push(Diagnostic::new(
                value.span(),
                format!("stage `{name_str}` must be a table"),
            ));
            continue;
        }
        if let Err(why) = check_stage_name(&name_str) {
            diags.push(
                Diagnostic::new(name.span(), format!("stage name `{name_str}` {why}")).with_help(
                    "use lowercase letters and digits, at most 12 characters, such as `prod`",
                ),
            );
        }
        out.insert(name_str, value.clone());
    }
    out
}

/// Stage names become parts of resource names everywhere, so they are short.
/// The `dev` stage of a manifest given as text, for tests (files are not
/// checked); panics on an invalid manifest.
#[cfg(test)]
pub fn test_app(text: impl Into<std::sync::Arc<str>>) -> crate::model::App {
    let source = Source::new(Path::new("fnctl.toml"), text);
    let env: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    load_source(
        &source,
        &LoadOptions {
            stage: "dev",
            env: &env,
            check_files: false,
        },
    )
    .unwrap()
}

pub fn check_stage_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 12 {
        return Err("must be 1 to 12 characters".into());
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase())
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        return Err("must be lowercase letters and digits, starting with a letter".into());
    }
    Ok(())
}

fn stage_key_span(root: &Spanned<DeValue<'_>>) -> Option<Range<usize>> {
    let DeValue::Table(t) = root.get_ref() else {
        return None;
    };
    t.get_key_value("stages").map(|(k, _)| k.span())
}

fn function_key_spans(root: &Spanned<DeValue<'_>>) -> BTreeMap<String, Range<usize>> {
    let Some(DeValue::Table(functions)) = root.get_ref().get("functions").map(|f| f.get_ref())
    else {
        return BTreeMap::new();
    };
    functions
        .iter()
        .map(|(k, _)| (k.get_ref().to_string(), k.span()))
        .collect()
}

/// The spans of the keys of a table (`[resources.NAME]` names, say).
fn table_key_spans(table: Option<&Spanned<DeValue<'_>>>) -> BTreeMap<String, Range<usize>> {
    let Some(DeValue::Table(t)) = table.map(|t| t.get_ref()) else {
        return BTreeMap::new();
    };
    t.iter()
        .map(|(k, _)| (k.get_ref().to_string(), k.span()))
        .collect()
}

/// The spans of the resource names in every function's `access` table,
/// keyed by (function, resource).
fn access_key_spans(root: &Spanned<DeValue<'_>>) -> BTreeMap<(String, String), Range<usize>> {
    let Some(DeValue::Table(functions)) = root.get_ref().get("functions").map(|f| f.get_ref())
    else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for (name, f) in functions.iter() {
        for (resource, span) in table_key_spans(f.get_ref().get("access")) {
            out.insert((name.get_ref().to_string(), resource), span);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn load_text(text: &str) -> Result<App, Vec<Diagnostic>> {
        load_stage(text, "dev")
    }

    fn load_stage(text: &str, stage: &str) -> Result<App, Vec<Diagnostic>> {
        let source = Source::new(Path::new("fnctl.toml"), text);
        let env: BTreeMap<String, String> = BTreeMap::new();
        load_source(
            &source,
            &LoadOptions {
                stage,
                env: &env,
                check_files: false,
            },
        )
    }

    const UPLOADS: &str = r#"
[app]
name = "shop"
runtime = "python3.12"
[functions.f]
handler = "app.handler"
[[functions.f.triggers]]
type = "storage"
bucket = "${app}-${stage}-uploads"
create = true
[stages.prod]
app = { memory = 1024 }
[stages.test]
app = { name = "shoptest" }
"#;

    fn bucket(app: &App) -> &str {
        let crate::model::Trigger::Storage(s) = &app.functions["f"].triggers[0] else {
            panic!("not a storage trigger")
        };
        &s.bucket
    }

    #[test]
    fn app_and_stage_name_the_bucket_of_the_selected_stage() {
        assert_eq!(
            bucket(&load_stage(UPLOADS, "dev").unwrap()),
            "shop-dev-uploads"
        );
        assert_eq!(
            bucket(&load_stage(UPLOADS, "prod").unwrap()),
            "shop-prod-uploads"
        );
    }

    /// A stage that overrides `[app].name` deploys under that name (every
    /// derived name uses it), so `${app}` is the merged tree's name too.
    #[test]
    fn a_stage_override_of_the_app_name_is_the_app_of_that_stage() {
        let app = load_stage(UPLOADS, "test").unwrap();
        assert_eq!(app.name, "shoptest");
        assert_eq!(bucket(&app), "shoptest-test-uploads");
    }

    #[test]
    fn app_inside_the_app_name_is_one_located_error() {
        let text = UPLOADS.replace("name = \"shop\"", "name = \"${app}-x\"");
        let diags = load_text(&text).unwrap_err();
        assert_eq!(
            diags.len(),
            1,
            "no echo from the bucket's `${{app}}`: {diags:?}"
        );
        assert_eq!(&text[diags[0].span.clone()], "${app}");
        assert_eq!(diags[0].message, "`${app}` cannot be used in `[app].name`");
        assert!(diags[0].help.is_some());
        // In a stage's override, the error points into the stage table.
        let text = UPLOADS.replace("name = \"shoptest\"", "name = \"shop-${stage}\"");
        assert!(
            load_stage(&text, "dev").is_ok(),
            "another stage's `[app].name` is not the app's name"
        );
        let diags = load_stage(&text, "test").unwrap_err();
        assert_eq!(diags.len(), 1, "{diags:?}");
        let at = text.rfind("${stage}").unwrap();
        assert_eq!(diags[0].span, at..at + "${stage}".len());
    }

    /// Without a usable `[app].name`, `${app}` adds nothing: the problems
    /// shown are exactly those of the same file with a literal bucket name
    /// (of the same length, so the spans match).
    #[test]
    fn app_without_a_name_does_not_panic_or_add_noise() {
        let shown = |text: &str| {
            let diags = load_text(text).unwrap_err();
            assert_spans_valid(text, &diags);
            ManifestError::new(Source::new(Path::new("fnctl.toml"), text), diags).diagnostics
        };
        for text in [
            UPLOADS.replace("name = \"shop\"\n", ""),
            UPLOADS.replace("name = \"shop\"", "name = 7"),
            UPLOADS.replace("[app]\nname = \"shop\"\nruntime = \"python3.12\"\n", ""),
        ] {
            let with_app = shown(&text);
            let literal =
                shown(&text.replace("${app}-${stage}-uploads", "xxxxxx-xxxxxxxx-uploads"));
            assert_eq!(with_app, literal, "{text}");
            assert!(
                with_app.iter().any(|d| d.message.contains("`app")),
                "the name's own problem is shown: {with_app:?}"
            );
        }
    }

    /// Every diagnostic's span must lie inside the source, on char boundaries,
    /// or the renderer could not show it.
    fn assert_spans_valid(text: &str, diags: &[Diagnostic]) {
        for d in diags {
            assert!(
                d.span.start <= d.span.end && d.span.end <= text.len(),
                "span {:?} outside {} bytes: {}",
                d.span,
                text.len(),
                d.message
            );
            assert!(
                text.is_char_boundary(d.span.start) && text.is_char_boundary(d.span.end),
                "span splits a character: {}",
                d.message
            );
        }
    }

    const RESOURCES: &str = r#"
[app]
name = "shop"
runtime = "python3.12"
[resources.orders]
kind = "table"
partition_key = "pk"
sort_key = { name = "n", type = "number" }
[resources.job-queue]
kind = "queue"
[resources.uploads]
kind = "bucket"
[functions.worker]
handler = "app.handler"
access = { orders = "read", job-queue = "send" }
[[functions.worker.triggers]]
type = "queue"
queue = "job-queue"
[[functions.worker.triggers]]
type = "storage"
bucket = "uploads"
[[functions.worker.triggers]]
type = "storage"
bucket = "someone-elses-bucket"
[functions.idle]
handler = "app.handler"
[stages.prod]
resources.job-queue = { visibility_timeout = 600, dead_letter = { after = 3 } }
"#;

    #[test]
    fn resources_resolve_with_defaults_and_stage_overrides() {
        use crate::model::{KeyType, ResourceKind};
        let app = load_text(RESOURCES).unwrap();
        let ResourceKind::Queue(q) = &app.resources["job-queue"].kind else {
            panic!("a queue")
        };
        assert_eq!((q.visibility_timeout_s, q.retention_s), (30, 345_600));
        assert!(q.dead_letter.is_none());
        let ResourceKind::Table(t) = &app.resources["orders"].kind else {
            panic!("a table")
        };
        assert_eq!(t.partition_key.kind, KeyType::String);
        assert_eq!(t.sort_key.as_ref().unwrap().kind, KeyType::Number);

        let prod = load_stage(RESOURCES, "prod").unwrap();
        let ResourceKind::Queue(q) = &prod.resources["job-queue"].kind else {
            panic!("a queue")
        };
        assert_eq!(q.visibility_timeout_s, 600);
        assert_eq!(q.dead_letter.as_ref().unwrap().after, 3);
    }

    /// Effective access is what `access` says plus what the triggers imply,
    /// and the resource environment follows it.
    #[test]
    fn effective_access_and_resource_env() {
        use crate::model::{Permission, ResourceEnvValue, Trigger};
        let app = load_text(RESOURCES).unwrap();
        let f = &app.functions["worker"];
        let perms = |r: &str| f.access[r].permissions.iter().copied().collect::<Vec<_>>();
        assert_eq!(perms("orders"), [Permission::Read]);
        assert_eq!(perms("job-queue"), [Permission::Send, Permission::Consume]);
        assert_eq!(perms("uploads"), [Permission::Read]);
        assert!(f.access["uploads"].declared.is_none());
        assert!(!f.access.contains_key("someone-elses-bucket"));
        assert_eq!(f.queue_triggers[0].batch_size, 10);
        assert_eq!(f.triggers.len(), 2, "the queue trigger is kept apart");

        let storage: Vec<bool> = f
            .triggers
            .iter()
            .map(|t| match t {
                Trigger::Storage(s) => app.storage_resource(s).is_some(),
                _ => false,
            })
            .collect();
        assert_eq!(
            storage,
            [true, false],
            "a resource, then a bucket's real name"
        );

        let env: Vec<(String, ResourceEnvValue)> = f
            .resource_env(&app)
            .into_iter()
            .map(|e| (e.var, e.value))
            .collect();
        assert_eq!(
            env,
            [
                ("FNCTL_JOB_QUEUE_NAME".to_string(), ResourceEnvValue::Name),
                ("FNCTL_JOB_QUEUE_URL".to_string(), ResourceEnvValue::Url),
                ("FNCTL_ORDERS_NAME".to_string(), ResourceEnvValue::Name),
                ("FNCTL_UPLOADS_NAME".to_string(), ResourceEnvValue::Name),
            ]
        );
        assert!(app.functions["idle"].resource_env(&app).is_empty());
        assert!(app.functions["idle"].access.is_empty());
    }

    #[test]
    fn a_sort_key_must_differ_from_the_partition_key() {
        let text = RESOURCES.replace("name = \"n\"", "name = \"pk\"");
        let diags = load_text(&text).unwrap_err();
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(
            diags[0].message,
            "the sort key of table `orders` is `pk`, the same attribute as its partition key"
        );
        assert_eq!(
            &text[diags[0].span.clone()],
            "{ name = \"pk\", type = \"number\" }"
        );
    }

    #[test]
    fn an_app_env_variable_may_not_take_a_resource_variable() {
        let text = RESOURCES.replace(
            "runtime = \"python3.12\"\n[resources",
            "runtime = \"python3.12\"\nenv = { FNCTL_JOB_QUEUE_URL = \"x\" }\n[resources",
        );
        let diags = load_text(&text).unwrap_err();
        assert_eq!(diags.len(), 1, "once, at `[app].env`: {diags:?}");
        assert_eq!(
            diags[0].message,
            "`[app].env` sets `FNCTL_JOB_QUEUE_URL`, which fnctl sets to the URL of resource `job-queue`"
        );
        // Also in a function that cannot access the resource: on Azure the
        // functions of an app share their settings.
        let text = RESOURCES.replace(
            "[functions.idle]\nhandler = \"app.handler\"\n",
            "[functions.idle]\nhandler = \"app.handler\"\nenv = { FNCTL_ORDERS_NAME = \"x\" }\n",
        );
        let diags = load_text(&text).unwrap_err();
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(diags[0]
            .message
            .starts_with("function `idle` sets `FNCTL_ORDERS_NAME`"));
    }

    #[test]
    fn resolves_a_complete_manifest() {
        let text = r#"
[app]
name = "shop"
runtime = "python3.12"
env = { A = "1" }
[providers.aws]
region = "us-east-1"
[functions.api]
handler = "app.handler"
env = { B = { value = "s3cret", secret = true } }
[[functions.api.triggers]]
type = "http"
method = "get"
path = "/items/{id}"
[[functions.api.triggers]]
type = "schedule"
schedule = "rate(5 minutes)"
enabled = false
"#;
        let app = load_text(text).unwrap();
        let f = &app.functions["api"];
        assert_eq!(f.memory_mb, resolve::DEFAULT_MEMORY_MB);
        assert_eq!(f.env["A"].value, "1");
        assert!(f.env["B"].secret);
        assert_eq!(app.secrets(), vec!["s3cret".to_string()]);
        let crate::model::Trigger::Http(h) = &f.triggers[0] else {
            panic!()
        };
        assert_eq!(h.methods, vec!["GET"]);
        assert_eq!(h.route.to_string(), "/items/{id}");
        let crate::model::Trigger::Schedule(s) = &f.triggers[1] else {
            panic!()
        };
        assert!(!s.enabled);
        assert_eq!(f.providers, vec![crate::model::ProviderId::Aws]);
    }

    #[test]
    fn mutated_manifests_never_panic_and_spans_stay_valid() {
        mutate(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/all-triggers/fnctl.toml"
        ));
    }

    #[test]
    fn mutated_resource_manifests_never_panic_and_spans_stay_valid() {
        mutate(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/resources-app/fnctl.toml"
        ));
    }

    fn mutate(path: &str) {
        let base = std::fs::read_to_string(path).unwrap();
        let pieces = [
            "",
            "\"",
            "'",
            "[",
            "]",
            "=",
            "\n",
            "{",
            "}",
            ",",
            "${env:X}",
            "[[functions.x.triggers]]",
            "type = \"http\"",
            "é",
            "0",
            "-1",
            "99999999999999999999",
            "[stages.prod]",
            "[app]",
            "true",
            "*/0",
            "[resources.x]",
            "kind = \"queue\"",
            "type = \"queue\"",
            "access = { jobs = \"send\" }",
        ];
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..3000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut text = base.clone();
            for k in 0..(1 + seed % 3) {
                let r = seed.rotate_left(k as u32 * 17);
                let mut at = (r % (text.len() as u64 + 1)) as usize;
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                let piece = pieces[(r >> 20) as usize % pieces.len()];
                let cut = ((r >> 40) % 4) as usize;
                let mut end = (at + cut).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                text.replace_range(at..end, piece);
            }
            if let Err(diags) = load_text(&text) {
                assert!(!diags.is_empty());
                assert_spans_valid(&text, &diags);
            }
        }
    }
}
