//! Building the Function App's one package: the generated host files and
//! entries (see [`super::package`]), every function's own files under
//! `fnctl_code/<function>/`, and the vendored dependencies of all
//! functions where the Functions host looks for them.

use std::path::{Path, PathBuf};

use super::{names, package as layout};
use crate::model::{App, AzurePlan, Function, Language, ProviderId};
use crate::package::build::{
    create_parent, package_spec, vendor_node_dependencies, BuildReport, Built, CACHE_DIR, DIST_DIR,
};
use crate::package::{self, deps, human_size, limits, PackageError};

/// Builds the Function App's package.
pub fn build_app(app: &App, report: &BuildReport<'_>) -> Result<Built, PackageError> {
    let az = app
        .azure
        .as_ref()
        .expect("only an app with [providers.azure] is built for Azure");
    let site = names::function_app(app, az);
    let functions: Vec<&Function> = app.functions_for(ProviderId::Azure).collect();
    let write_err = |path: &Path, e: std::io::Error| PackageError::Write {
        function: site.clone(),
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let builds = app.root.join(".fnctl/build/azure");
    std::fs::create_dir_all(&builds).map_err(|e| write_err(&builds, e))?;
    let generated = generated_dir(
        &builds,
        &layout::generated_files(app, &|f: &Function| layout::code_path(f)),
    )
    .map_err(|(path, e)| write_err(&path, e))?;
    // This run's own scratch space (the merged requirements file): two
    // fnctl processes in one project must not rewrite each other's files.
    let staging = tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(&builds)
        .map_err(|e| write_err(&builds, e))?;
    let mut entries = package::collect_tree(&site, &generated, "")?;
    let cache = app.root.join(CACHE_DIR);
    for f in &functions {
        let mut spec = package_spec(app, &f.name).expect("function exists");
        let prefix = layout::code_path(f);
        if f.runtime.language() == Language::Node {
            vendor_node_dependencies(f, &cache, &mut spec, report)?;
        }
        entries.extend(package::collect(&spec)?.into_iter().map(|mut e| {
            e.zip_path = format!("{prefix}/{}", e.zip_path);
            e
        }));
    }
    if generated.join("package.json").is_file() {
        // The generated Node app needs @azure/functions at the package root.
        (report.detail)("installing @azure/functions for the Azure Node app");
        let dir = deps::vendor_node(&generated, &cache, &deps::Tool::npm())?;
        entries.extend(package::collect_tree(
            &site,
            &dir.join("node_modules"),
            "node_modules",
        )?);
    }
    if let Some(requirements) = requirements(&site, &functions, staging.path())? {
        (report.detail)("vendoring Python dependencies of the Azure app");
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
    create_parent(&site, &out)?;
    let artifact = package::build_entries(&site, &entries, &out, package::default_threads())?;
    if az.plan == AzurePlan::Consumption
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
        return Err(PackageError::ZipTooLarge {
            package: site,
            provider: "Azure run-from-package",
            size: human_size(artifact.zipped_bytes),
            limit: human_size(limits::AZURE_RUN_FROM_PACKAGE_MAX),
            largest,
        });
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
    builds: &Path,
    files: &[layout::GeneratedFile],
) -> Result<PathBuf, (PathBuf, std::io::Error)> {
    use sha2::{Digest, Sha256};
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
        .map_err(|e| (builds.to_path_buf(), e))?;
    for g in files {
        let path = tmp.path().join(&g.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| (parent.to_path_buf(), e))?;
        }
        std::fs::write(&path, &g.contents).map_err(|e| (path.clone(), e))?;
    }
    let tmp = tmp.keep();
    if let Err(e) = std::fs::rename(&tmp, &dir) {
        let _ = std::fs::remove_dir_all(&tmp);
        // Another run made the same directory first: use it.
        if !dir.is_dir() {
            return Err((dir, e));
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
/// as is; several are merged (unique lines, in order) into `build`.
fn requirements(
    site: &str,
    functions: &[&Function],
    build: &Path,
) -> Result<Option<PathBuf>, PackageError> {
    let write_err = |path: &Path, e: std::io::Error| PackageError::Write {
        function: site.to_string(),
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
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
                let text = std::fs::read_to_string(p).map_err(|source| PackageError::Read {
                    function: site.to_string(),
                    path: p.display().to_string(),
                    source,
                })?;
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
            std::fs::create_dir_all(build).map_err(|e| write_err(build, e))?;
            std::fs::write(&merged, lines.join("\n") + "\n").map_err(|e| write_err(&merged, e))?;
            Ok(Some(merged))
        }
    }
}
