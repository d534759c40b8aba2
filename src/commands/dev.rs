//! `fnctl dev`: serve the app locally (see `local::dev`).

use std::sync::Arc;
use std::time::Duration;

use super::live;
use super::{CommandError, Context, ExitStatus};
use crate::local::dev::{self, DevOptions};
use crate::manifest::{self, LoadOptions, ProcessEnv};
use crate::model::Trigger;
use crate::project;

pub fn run(
    cx: &Context,
    port: u16,
    max_workers: usize,
    watch: bool,
    queue_retry_delay: Duration,
) -> Result<ExitStatus, CommandError> {
    let project = project::load(cx)?;
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
        let mut text = format!("fnctl dev: app `{}`, stage `{}` (Ctrl-C to stop)\n", app.name, app.stage);
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
