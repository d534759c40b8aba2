//! `fnctl package`: build each function's deterministic zip under `.fnctl/dist/`.
//!
//! Limits are checked on the file list before compressing anything, so an
//! oversized function fails in seconds. Dependencies declared in
//! `requirements.txt` / `package.json` are vendored for the target platform
//! (cached by lockfile hash) and placed where each provider's runtime looks.

use std::path::PathBuf;

use serde::Serialize;

use super::{CommandError, Context, ExitStatus};
use crate::model::{App, Function, Language, ProviderId};
use crate::package::{self, deps, human_size, limits, ExtraDir, Limits};
use crate::project;

/// Where artifacts go, relative to the project root.
pub const DIST_DIR: &str = ".fnctl/dist";
/// Where vendored dependencies are cached.
pub const CACHE_DIR: &str = ".fnctl/cache";

/// One built package, as printed.
#[derive(Debug, Serialize)]
pub struct Built {
    pub provider: ProviderId,
    pub function: String,
    pub path: PathBuf,
    pub bytes: u64,
    pub unzipped_bytes: u64,
    pub files: usize,
    pub sha256: String,
    /// How the AWS backend will upload it: `direct` or `s3` (over 50 MB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<&'static str>,
    /// The artifact itself, for deploys.
    #[serde(skip)]
    pub artifact: crate::package::Artifact,
}

pub fn run(cx: &Context, only: &[String]) -> Result<ExitStatus, CommandError> {
    let project = project::load(cx)?;
    let app = &project.app;
    for name in only {
        if !app.functions.contains_key(name) {
            let names: Vec<&str> = app.functions.keys().map(String::as_str).collect();
            return Err(CommandError::usage(
                format!("no function named `{name}` in {}", project.source.name()),
                crate::suggest::did_you_mean(name, names.iter().copied())
                    .or_else(|| Some(format!("functions: {}", names.join(", ")))),
            ));
        }
    }
    // Without providers the package still has a use (local checks): AWS layout.
    let none_configured = project.providers.is_empty();
    let providers = if none_configured {
        vec![ProviderId::Aws]
    } else {
        project.providers.clone()
    };
    // AWS: one zip per function. Azure: one zip per Function App, which
    // holds every function of the app.
    let jobs: Vec<(ProviderId, &Function)> = providers
        .iter()
        .filter(|p| **p == ProviderId::Aws)
        .flat_map(|p| {
            app.functions
                .values()
                .filter(move |f| none_configured || f.providers.contains(p))
                .filter(|f| only.is_empty() || only.contains(&f.name))
                .map(move |f| (*p, f))
        })
        .collect();

    let azure = providers.contains(&ProviderId::Azure)
        && app
            .functions_for(ProviderId::Azure)
            .any(|f| only.is_empty() || only.contains(&f.name));

    let bar = cx
        .printer
        .progress(jobs.len() as u64 + u64::from(azure), "packaging");
    let mut built = Vec::new();
    for (provider, f) in jobs {
        bar.set_message(format!("{provider}/{}", f.name));
        built.push(build_one(cx, app, provider, f)?);
        bar.inc(1);
    }
    if azure {
        bar.set_message("azure/app");
        built.push(build_azure_app(cx, app)?);
        bar.inc(1);
    }
    bar.finish_and_clear();

    if cx.printer.is_json() {
        cx.printer.json(&serde_json::json!({ "artifacts": built }));
    } else {
        let root = &app.root;
        let mut text = String::new();
        for b in &built {
            let shown = b.path.strip_prefix(root).unwrap_or(&b.path);
            text.push_str(&format!(
                "{:<6} {:<20} {}  {}  sha256:{}\n",
                b.provider.as_str(),
                b.function,
                shown.display(),
                human_size(b.bytes),
                b.sha256
            ));
        }
        cx.printer.data(&text);
        if built.iter().any(|b| b.upload == Some("s3")) {
            cx.printer.status(
                "note: packages over 50 MB are uploaded through an S3 artifacts bucket on deploy",
            );
        }
    }
    Ok(ExitStatus::Success)
}

/// Vendors dependencies and builds one function's zip for `provider`.
pub fn build_one(
    cx: &Context,
    app: &App,
    provider: ProviderId,
    f: &Function,
) -> Result<Built, CommandError> {
    let mut spec = project::package_spec(app, &f.name).expect("function exists");
    let cache = app.root.join(CACHE_DIR);
    match f.runtime.language() {
        Language::Python if f.source.join("requirements.txt").is_file() => {
            cx.printer
                .detail(&format!("vendoring Python dependencies of `{}`", f.name));
            let dir = deps::vendor_python(
                &f.source.join("requirements.txt"),
                f.runtime.version(),
                deps::Arch::X86_64,
                &cache,
                &deps::Tool::python_pip(),
                &[],
            )?;
            let prefix = match provider {
                ProviderId::Aws => String::new(),
                ProviderId::Azure => ".python_packages/lib/site-packages".to_string(),
            };
            spec.extra_dirs.push(ExtraDir { dir, prefix });
        }
        Language::Node => vendor_node_dependencies(cx, f, &cache, &mut spec)?,
        _ => {}
    }
    let entries = package::collect(&spec)?;
    if provider == ProviderId::Aws {
        package::check_unzipped(
            &f.name,
            &entries,
            &Limits {
                provider: "AWS Lambda",
                max_unzipped: package::AWS_UNZIPPED_MAX,
            },
        )?;
    }
    let out = app
        .root
        .join(DIST_DIR)
        .join(provider.as_str())
        .join(format!("{}.zip", f.name));
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| CommandError::io(format!("creating {}", dir.display()), e))?;
    }
    let artifact = package::build(&spec, &out)?;
    Ok(Built {
        provider,
        function: f.name.clone(),
        path: artifact.path.clone(),
        bytes: artifact.zipped_bytes,
        unzipped_bytes: artifact.unzipped_bytes,
        files: artifact.files,
        sha256: artifact.sha256_hex.clone(),
        upload: (provider == ProviderId::Aws).then(|| {
            if artifact.needs_s3_upload() {
                "s3"
            } else {
                "direct"
            }
        }),
        artifact,
    })
}

/// Builds the Function App's package: the generated host files and entries,
/// every function's own files under `fnctl_code/<function>/`, and the
/// vendored Python requirements of all functions where the host looks.
pub fn build_azure_app(cx: &Context, app: &App) -> Result<Built, CommandError> {
    use crate::provider::azure::{names, package as layout};
    let Some(az) = &app.azure else {
        return Err(CommandError::usage(
            "the manifest has no [providers.azure] section",
            Some("add one, or pass --provider aws".to_string()),
        ));
    };
    let site = names::function_app(app, az);
    let functions: Vec<&Function> = app.functions_for(ProviderId::Azure).collect();
    let io = |what: String| move |e: std::io::Error| CommandError::io(what, e);
    let builds = app.root.join(".fnctl/build/azure");
    std::fs::create_dir_all(&builds).map_err(io(format!("creating {}", builds.display())))?;
    let generated = generated_dir(
        &builds,
        &layout::generated_files(app, &|f: &Function| layout::code_path(f)),
    )?;
    // This run's own scratch space (the merged requirements file): two
    // fnctl processes in one project must not rewrite each other's files.
    let staging = tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(&builds)
        .map_err(io(format!(
            "creating a staging directory in {}",
            builds.display()
        )))?;
    let build = staging.path().to_path_buf();
    let mut entries = package::collect_tree(&site, &generated, "")?;
    let cache = app.root.join(CACHE_DIR);
    for f in &functions {
        let mut spec = project::package_spec(app, &f.name).expect("function exists");
        let prefix = layout::code_path(f);
        if f.runtime.language() == Language::Node {
            vendor_node_dependencies(cx, f, &cache, &mut spec)?;
        }
        entries.extend(package::collect(&spec)?.into_iter().map(|mut e| {
            e.zip_path = format!("{prefix}/{}", e.zip_path);
            e
        }));
    }
    if generated.join("package.json").is_file() {
        // The generated Node app needs @azure/functions at the package root.
        cx.printer
            .detail("installing @azure/functions for the Azure Node app");
        let dir = deps::vendor_node(&generated, &cache, &deps::Tool::npm())?;
        entries.extend(package::collect_tree(
            &site,
            &dir.join("node_modules"),
            "node_modules",
        )?);
    }
    if let Some(requirements) = azure_requirements(app, &functions, &build)? {
        cx.printer
            .detail("vendoring Python dependencies of the Azure app");
        let runtime = functions[0].runtime;
        let dir = deps::vendor_python(
            &requirements,
            runtime.version(),
            deps::Arch::X86_64,
            &cache,
            &deps::Tool::python_pip(),
            &[],
        )?;
        entries.extend(package::collect_tree(&site, &dir, layout::PYTHON_PACKAGES)?);
    }
    let entries = package::sorted_unique(&site, entries)?;
    let out = app
        .root
        .join(DIST_DIR)
        .join(ProviderId::Azure.as_str())
        .join(format!("{site}.zip"));
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    }
    let artifact = package::build_entries(&site, &entries, &out, package::default_threads())?;
    if az.plan == crate::model::AzurePlan::Consumption
        && artifact.zipped_bytes > limits::AZURE_RUN_FROM_PACKAGE_MAX
    {
        // Checked on the zip (the limit is the package file's), before any
        // upload; the oversized zip is not left behind as if it were usable.
        let _ = std::fs::remove_file(&artifact.path);
        let largest = limits::largest_groups(&entries, 5)
            .into_iter()
            .map(|(group, size)| format!("{group} ({})", human_size(size)))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(package::PackageError::ZipTooLarge {
            package: site,
            provider: "Azure run-from-package",
            size: human_size(artifact.zipped_bytes),
            limit: human_size(limits::AZURE_RUN_FROM_PACKAGE_MAX),
            largest,
        }
        .into());
    }
    Ok(Built {
        provider: ProviderId::Azure,
        function: site,
        path: artifact.path.clone(),
        bytes: artifact.zipped_bytes,
        unzipped_bytes: artifact.unzipped_bytes,
        files: artifact.files,
        sha256: artifact.sha256_hex.clone(),
        upload: None,
        artifact,
    })
}

/// The generated host files (host.json, function.json files, entries) in a
/// directory named by their digest. It is written once — into a temp
/// directory renamed into place, so a concurrent run never sees it half
/// written — and reused while nothing changes, so an unchanged redeploy
/// writes no files (creating hundreds of small files costs a second on some
/// file systems). Directories of older generations are pruned after an hour.
fn generated_dir(
    builds: &std::path::Path,
    files: &[crate::provider::azure::package::GeneratedFile],
) -> Result<PathBuf, CommandError> {
    use sha2::{Digest, Sha256};
    let io = |what: String| move |e: std::io::Error| CommandError::io(what, e);
    let mut digest = Sha256::new();
    for g in files {
        digest.update(g.path.as_bytes());
        digest.update([0]);
        digest.update(g.contents.as_bytes());
        digest.update([0]);
    }
    let name = format!("generated-{}", &hex::encode(digest.finalize())[..16]);
    let dir = builds.join(&name);
    if dir.is_dir() {
        return Ok(dir);
    }
    let tmp = tempfile::Builder::new()
        .prefix(".generated-")
        .tempdir_in(builds)
        .map_err(io(format!("creating a directory in {}", builds.display())))?;
    for g in files {
        let path = tmp.path().join(&g.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(io(format!("creating {}", parent.display())))?;
        }
        std::fs::write(&path, &g.contents).map_err(io(format!("writing {}", path.display())))?;
    }
    let tmp = tmp.keep();
    if let Err(e) = std::fs::rename(&tmp, &dir) {
        let _ = std::fs::remove_dir_all(&tmp);
        // Another run made the same directory first: use it.
        if !dir.is_dir() {
            return Err(CommandError::io(format!("creating {}", dir.display()), e));
        }
    }
    let hour = std::time::Duration::from_secs(3600);
    for old in std::fs::read_dir(builds).into_iter().flatten().flatten() {
        let stale = old.file_name().to_string_lossy().starts_with("generated-")
            && old.file_name().to_string_lossy() != name.as_str()
            && old
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > hour));
        if stale {
            let _ = std::fs::remove_dir_all(old.path());
        }
    }
    Ok(dir)
}

/// The requirements of every Azure function as one file: one Function App
/// has one Python environment. With a single `requirements.txt` it is used
/// as is; several are merged (unique lines, in order) into the build dir.
fn azure_requirements(
    app: &App,
    functions: &[&Function],
    build: &std::path::Path,
) -> Result<Option<PathBuf>, CommandError> {
    let mut files: Vec<PathBuf> = functions
        .iter()
        .filter(|f| f.runtime.language() == Language::Python)
        .map(|f| f.source.join("requirements.txt"))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files.dedup();
    match files.len() {
        0 => Ok(None),
        1 => Ok(files.pop()),
        _ => {
            let mut lines: Vec<String> = Vec::new();
            for p in &files {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| CommandError::io(format!("reading {}", p.display()), e))?;
                for line in text.lines().map(str::trim) {
                    if !line.is_empty()
                        && !line.starts_with('#')
                        && !lines.iter().any(|l| l == line)
                    {
                        lines.push(line.to_string());
                    }
                }
            }
            let merged = build.join("requirements.txt");
            std::fs::create_dir_all(build)
                .map_err(|e| CommandError::io(format!("creating {}", build.display()), e))?;
            std::fs::write(&merged, lines.join("\n") + "\n")
                .map_err(|e| CommandError::io(format!("writing {}", merged.display()), e))?;
            let _ = app;
            Ok(Some(merged))
        }
    }
}

/// A Node function's production dependencies (from its `package.json`),
/// installed into the cache and packaged as its `node_modules/` in place of
/// whatever is on disk there.
fn vendor_node_dependencies(
    cx: &Context,
    f: &Function,
    cache: &std::path::Path,
    spec: &mut crate::package::PackageSpec,
) -> Result<(), CommandError> {
    if !f.source.join("package.json").is_file() {
        return Ok(());
    }
    cx.printer.detail(&format!(
        "installing production Node dependencies of `{}`",
        f.name
    ));
    let dir = deps::vendor_node(&f.source, cache, &deps::Tool::npm())?;
    spec.exclude.push("node_modules/**".into());
    spec.extra_dirs.push(ExtraDir {
        dir: dir.join("node_modules"),
        prefix: "node_modules".into(),
    });
    Ok(())
}
