//! Building a function's package in a cloud's layout: dependencies
//! vendored where that cloud's runtime looks for them, the cloud's size
//! limit checked on the file list before anything is compressed, and the
//! zip written under `.fnctl/dist/<provider>/`.
//!
//! The cloud supplies a [`FunctionLayout`]; the Function App package, which
//! holds every function of an Azure app, is built by the Azure provider
//! from the same parts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{deps, Artifact, ExtraDir, Limits, PackageError, PackageSpec};
use crate::model::{App, Function, Language, ProviderId, Runtime};
use crate::provider::CodeDigests;

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
    pub artifact: Artifact,
}

/// What a build tells its caller along the way.
pub struct BuildReport<'a> {
    /// A package is being built (`aws/hello`).
    pub started: &'a dyn Fn(&str),
    /// That package is done.
    pub finished: &'a dyn Fn(),
    /// Detail for `-v` (vendoring dependencies).
    pub detail: &'a dyn Fn(&str),
}

/// How one cloud lays out a single function's package.
pub struct FunctionLayout {
    /// The cloud (names the dist directory).
    pub provider: ProviderId,
    /// Where vendored Python packages go inside the zip.
    pub python_packages: &'static str,
    /// The unzipped size limit, checked before compressing.
    pub unzipped_limit: Option<Limits>,
    /// Packages too big to upload inline are staged elsewhere: say which.
    pub upload_mode: Option<fn(&Artifact) -> &'static str>,
}

/// The package specification of one function (before any dependency vendoring).
pub fn package_spec(app: &App, function: &str) -> Option<PackageSpec> {
    let f = app.functions.get(function)?;
    let mut executables = Vec::new();
    if f.runtime == Runtime::Provided {
        executables.push(f.handler.clone());
    }
    Some(PackageSpec {
        function: f.name.clone(),
        root: f.source.clone(),
        include: f.include.clone(),
        exclude: f.exclude.clone(),
        executables,
        extra_dirs: Vec::new(),
    })
}

/// Content digests of every function's code (its sources, not a zip), for
/// plans that need no package built.
pub fn code_digests(app: &App) -> Result<CodeDigests, PackageError> {
    let mut digests = BTreeMap::new();
    for name in app.functions.keys() {
        let spec = package_spec(app, name).expect("function exists");
        let entries = super::collect(&spec)?;
        digests.insert(
            name.clone(),
            format!("sha256:{}", super::source_hash(name, &entries)?),
        );
    }
    Ok(CodeDigests(digests))
}

/// Vendors dependencies and builds one function's zip in `layout`.
pub fn build_function(
    app: &App,
    layout: &FunctionLayout,
    f: &Function,
    report: &BuildReport<'_>,
) -> Result<Built, PackageError> {
    let mut spec = package_spec(app, &f.name).expect("function exists");
    let cache = app.root.join(CACHE_DIR);
    match f.runtime.language() {
        Language::Python if f.source.join("requirements.txt").is_file() => {
            (report.detail)(&format!("vendoring Python dependencies of `{}`", f.name));
            let dir = deps::vendor_python(
                &f.source.join("requirements.txt"),
                f.runtime.version(),
                deps::Arch::X86_64,
                &cache,
                &deps::Tool::python_pip(),
                &[],
            )?;
            spec.extra_dirs.push(ExtraDir {
                dir,
                prefix: layout.python_packages.to_string(),
            });
        }
        Language::Node => vendor_node_dependencies(f, &cache, &mut spec, report)?,
        _ => {}
    }
    let entries = super::collect(&spec)?;
    if let Some(limits) = &layout.unzipped_limit {
        super::check_unzipped(&f.name, &entries, limits)?;
    }
    let out = app
        .root
        .join(DIST_DIR)
        .join(layout.provider.as_str())
        .join(format!("{}.zip", f.name));
    create_parent(&f.name, &out)?;
    let artifact = super::build(&spec, &out)?;
    Ok(Built {
        provider: layout.provider,
        function: f.name.clone(),
        path: artifact.path.clone(),
        bytes: artifact.zipped_bytes,
        unzipped_bytes: artifact.unzipped_bytes,
        files: artifact.files,
        sha256: artifact.sha256_hex.clone(),
        upload: layout.upload_mode.map(|mode| mode(&artifact)),
        artifact,
    })
}

/// Creates the directory `path` will be written in.
pub fn create_parent(package: &str, path: &Path) -> Result<(), PackageError> {
    match path.parent() {
        Some(dir) => std::fs::create_dir_all(dir).map_err(|e| PackageError::Write {
            function: package.to_string(),
            path: dir.to_path_buf(),
            reason: e.to_string(),
        }),
        None => Ok(()),
    }
}

/// A Node function's production dependencies (from its `package.json`),
/// installed into the cache and packaged as its `node_modules/` in place of
/// whatever is on disk there.
pub fn vendor_node_dependencies(
    f: &Function,
    cache: &Path,
    spec: &mut PackageSpec,
    report: &BuildReport<'_>,
) -> Result<(), PackageError> {
    if !f.source.join("package.json").is_file() {
        return Ok(());
    }
    (report.detail)(&format!(
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
