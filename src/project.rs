//! Loading a project: the manifest for one stage, checked by the providers it targets.
//!
//! This is where the provider-neutral manifest meets the providers: the
//! manifest module knows nothing of AWS or Azure, so their rules are run
//! here and merged into the same located error list the user sees.

use crate::commands::{CommandError, Context};
use crate::manifest::{
    self, JsonDiagnostic, LoadError, LoadOptions, ManifestError, ProcessEnv, Source,
};
use crate::model::{App, ProviderId};
use crate::provider;

/// A loaded, fully checked project.
#[derive(Debug)]
pub struct Project {
    pub app: App,
    pub source: Source,
    /// The providers this command works on: `--provider`, else all configured.
    pub providers: Vec<ProviderId>,
    /// The providers' warnings, already printed on stderr; `validate
    /// --output json` also lists them.
    pub warnings: Vec<JsonDiagnostic>,
}

/// Finds, loads and checks the manifest for the context's stage and providers.
pub fn load(cx: &Context) -> Result<Project, CommandError> {
    if let Err(why) = manifest::check_stage_name(&cx.stage) {
        return Err(CommandError::usage(
            format!("stage name `{}` {why}", cx.stage),
            None,
        ));
    }
    let path = manifest::locate(cx.manifest.as_deref(), &cx.cwd)?;
    let opts = LoadOptions {
        stage: &cx.stage,
        env: &ProcessEnv,
        check_files: true,
    };
    let (app, source) = manifest::load(&path, &opts)?;
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
    let diagnostics: Vec<_> = providers
        .iter()
        .flat_map(|p| provider::for_id(*p).check(&app))
        .collect();
    if !diagnostics.is_empty() {
        return Err(LoadError::Invalid(ManifestError::new(source, diagnostics)).into());
    }
    let warnings: Vec<_> = providers
        .iter()
        .flat_map(|p| provider::for_id(*p).warnings(&app))
        .collect();
    let warnings = ManifestError::new(source.clone(), warnings).to_json();
    for w in &warnings {
        let help = w
            .help
            .as_deref()
            .map(|h| format!("\n  help: {h}"))
            .unwrap_or_default();
        cx.printer.warn(&format!(
            "{}:{}:{}: {}{help}",
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

pub use crate::package::build::{code_digests, package_spec};
