//! `fnctl dev`: serve the app locally (see `local::dev`).

use std::sync::Arc;
use std::time::Duration;

use super::live;
use super::{CommandError, Context, ExitStatus};
use crate::local::dev::{self, DevOptions};
use crate::manifest::{self, LoadOptions, ManifestError, ProcessEnv};
use crate::model::Trigger;
use crate::project::Project;

/// Loads the project for a run on this machine (`fnctl dev`,
/// `invoke --local`). The manifest's own errors stop it as always; the
/// providers' rules are about deploying to a cloud (what a cloud refuses,
/// or what this version of fnctl does not deploy yet, such as HTTP APIs),
/// so they are printed as warnings and the app runs anyway: a handler for
/// an HTTP API app can be developed before it can be deployed. The reload
/// of `fnctl dev` has always loaded the manifest alone.
pub(crate) fn load_local(cx: &Context) -> Result<Project, CommandError> {
    if let Err(why) = manifest::check_stage_name(&cx.stage) {
        return Err(CommandError::usage(
            format!("stage name `{}` {why}", cx.stage),
            None,
        ));
    }
    let path = manifest::locate(cx.manifest.as_deref(), &cx.cwd)?;
    let (app, source) = manifest::load(
        &path,
        &LoadOptions {
            stage: &cx.stage,
            env: &ProcessEnv,
            check_files: true,
        },
    )?;
    cx.printer.redactor.add(app.secrets());
    let configured = app.providers();
    let providers = match cx.provider {
        Some(p) if configured.contains(&p) => vec![p],
        Some(p) => {
            return Err(CommandError::usage(
                format!("provider `{p}` is not configured in {}", source.name()),
                Some(format!("add a `[providers.{p}]` table to the manifest")),
            ))
        }
        None => configured,
    };
    let errors: Vec<_> = providers
        .iter()
        .flat_map(|p| crate::provider::for_id(*p).check(&app))
        .collect();
    let warnings: Vec<_> = providers
        .iter()
        .flat_map(|p| crate::provider::for_id(*p).warnings(&app))
        .collect();
    let errors = ManifestError::new(source.clone(), errors).to_json();
    let warnings = ManifestError::new(source.clone(), warnings).to_json();
    for (w, deploy_fails) in errors
        .iter()
        .map(|e| (e, true))
        .chain(warnings.iter().map(|w| (w, false)))
    {
        let help = w
            .help
            .as_deref()
            .map(|h| format!("\n  help: {h}"))
            .unwrap_or_default();
        let note = if deploy_fails {
            " (runs locally; deploying fails until this is fixed)"
        } else {
            ""
        };
        cx.printer.warn(&format!(
            "{}:{}:{}: {}{note}{help}",
            w.file, w.line, w.column, w.message
        ));
    }
    Ok(Project {
        app,
        source,
        providers,
        warnings,
    })
}

pub fn run(
    cx: &Context,
    port: u16,
    max_workers: usize,
    watch: bool,
    queue_retry_delay: Duration,
) -> Result<ExitStatus, CommandError> {
    let project = load_local(cx)?;
    let app = project.app.clone();
    let path = project.source.path.clone();
    let stage = cx.stage.clone();
    let color = cx.printer.color;
    let loader: dev::Loader = Arc::new(move || {
        manifest::load(
            &path,
            &LoadOptions {
                stage: &stage,
                env: &ProcessEnv,
                check_files: true,
            },
        )
        .map(|(app, _)| app)
        .map_err(|e| match e {
            manifest::LoadError::Invalid(m) => {
                crate::output::errors::render_manifest_error(&m, color, None)
            }
            other => other.to_string(),
        })
    });
    let opts = DevOptions {
        port,
        max_workers,
        buckets_dir: app.root.join(".fnctl/buckets"),
        watch,
        queue_retry_delay,
    };
    let printer = cx.printer.clone();
    let rt = live::runtime()?;
    rt.block_on(dev::serve(app, loader, opts.clone(), |addr, app| {
        // The first stdout line is the address, for scripts and tests.
        printer.data(&format!("listening on http://{addr}\n"));
        // Which gateway dev plays decides the events handlers get.
        let gateway = match app.gateway() {
            crate::model::Gateway::Rest => "REST API gateway (payload 1.0)",
            crate::model::Gateway::HttpApi => "HTTP API gateway (payload 2.0)",
        };
        let mut text = format!("fnctl dev: app `{}`, stage `{}`, {gateway} (Ctrl-C to stop)\n", app.name, app.stage);
        for f in app.functions.values() {
            for t in &f.triggers {
                match t {
                    Trigger::Http(h) => text.push_str(&format!("  {:<7} http://{addr}{}  -> {}\n", h.methods.join(","), h.route, f.name)),
                    Trigger::Schedule(s) => text.push_str(&format!("  schedule {}{}  -> {}  (now: curl -X POST http://{addr}/_fnctl/schedule/{})\n", s.schedule, if s.enabled { "" } else { " (disabled)" }, f.name, f.name)),
                    Trigger::Storage(s) => text.push_str(&format!("  files in {}  -> {}\n", opts.buckets_dir.join(&s.bucket).display(), f.name)),
                }
            }
            for q in &f.queue_triggers {
                text.push_str(&format!(
                    "  queue {} (batches of up to {})  -> {}  (send: curl -X POST http://{addr}{}/{} -d BODY)\n",
                    q.queue,
                    q.batch_size,
                    f.name,
                    crate::local::queue::PATH_PREFIX,
                    q.queue
                ));
            }
        }
        printer.status(text.trim_end());
    }))?;
    Ok(ExitStatus::Success)
}
