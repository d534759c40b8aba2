//! Vendoring third-party dependencies for the target platform, cached.
//!
//! Python wheels are fetched for Linux (the functions' platform), not for the
//! machine fnctl runs on, and binary-only so nothing is compiled for the wrong
//! system. Node installs production dependencies only. Both results are cached
//! under `.fnctl/cache/` keyed by a hash of the lockfile and the target, so a
//! rebuild with an unchanged lockfile does not run pip or npm at all.
//!
//! `FNCTL_PIP_ARGS` (split on whitespace) is appended to pip's arguments,
//! for private indexes or offline wheel directories
//! (`--no-index --find-links ./wheels`).

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::PackageError;

/// A command to run: program plus leading arguments (`python3 -m pip`).
#[derive(Debug, Clone)]
pub struct Tool {
    pub program: PathBuf,
    pub args: Vec<String>,
}

impl Tool {
    /// pip through the interpreter in `FNCTL_PYTHON`, else `python3`.
    pub fn python_pip() -> Self {
        let program = std::env::var_os("FNCTL_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| "python3".into());
        Tool {
            program,
            args: vec!["-m".into(), "pip".into()],
        }
    }

    pub fn npm() -> Self {
        Tool {
            program: "npm".into(),
            args: vec![],
        }
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args);
        c
    }
}

/// The functions' CPU architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Arm64,
}

impl Arch {
    fn pip_platform(self) -> &'static str {
        match self {
            Arch::X86_64 => "manylinux2014_x86_64",
            Arch::Arm64 => "manylinux2014_aarch64",
        }
    }
}

fn cache_key(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())[..32].to_string()
}

fn read(path: &Path) -> Result<Vec<u8>, PackageError> {
    std::fs::read(path).map_err(|source| PackageError::Cache {
        dir: path.to_path_buf(),
        source,
    })
}

/// Installs `requirements` into a cached directory for Linux and `python_version`.
pub fn vendor_python(
    requirements: &Path,
    python_version: &str,
    arch: Arch,
    cache_dir: &Path,
    pip: &Tool,
    extra_args: &[String],
) -> Result<PathBuf, PackageError> {
    let mut extra: Vec<String> = extra_args.to_vec();
    if let Ok(env_args) = std::env::var("FNCTL_PIP_ARGS") {
        extra.extend(env_args.split_whitespace().map(str::to_string));
    }
    let content = read(requirements)?;
    let key = cache_key(&[
        &content,
        python_version.as_bytes(),
        arch.pip_platform().as_bytes(),
        extra.join(" ").as_bytes(),
    ]);
    let target = cache_dir.join("python").join(key);
    cached_or_build(&target, |tmp| {
        let mut cmd = pip.command();
        cmd.args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
        ])
        .arg(tmp)
        .args([
            "--platform",
            arch.pip_platform(),
            "--implementation",
            "cp",
            "--python-version",
            python_version,
            "--only-binary=:all:",
            "-r",
        ])
        .arg(requirements)
        .args(&extra);
        run(
            cmd,
            pip,
            "pip",
            "install Python 3 with pip, or set FNCTL_PYTHON to an interpreter that has pip",
        )
    })
}

/// Installs the production dependencies of `project_dir/package.json` into a
/// cached directory; the result holds `node_modules/`.
pub fn vendor_node(
    project_dir: &Path,
    cache_dir: &Path,
    npm: &Tool,
) -> Result<PathBuf, PackageError> {
    let manifest = read(&project_dir.join("package.json"))?;
    let lock_path = project_dir.join("package-lock.json");
    let lock = if lock_path.is_file() {
        Some(read(&lock_path)?)
    } else {
        None
    };
    let key = cache_key(&[&manifest, lock.as_deref().unwrap_or_default()]);
    let target = cache_dir.join("node").join(key);
    cached_or_build(&target, |tmp| {
        std::fs::write(tmp.join("package.json"), &manifest).map_err(|source| {
            PackageError::Cache {
                dir: tmp.to_path_buf(),
                source,
            }
        })?;
        let mut cmd = npm.command();
        if let Some(lock) = &lock {
            std::fs::write(tmp.join("package-lock.json"), lock).map_err(|source| {
                PackageError::Cache {
                    dir: tmp.to_path_buf(),
                    source,
                }
            })?;
            cmd.args(["ci", "--omit=dev"]);
        } else {
            cmd.args(["install", "--omit=dev", "--no-package-lock"]);
        }
        cmd.args([
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .current_dir(tmp);
        run(cmd, npm, "npm", "install Node.js with npm")?;
        std::fs::create_dir_all(tmp.join("node_modules")).map_err(|source| PackageError::Cache {
            dir: tmp.to_path_buf(),
            source,
        })
    })
}

/// Returns `target` if present; otherwise builds into a sibling temp dir and
/// renames it into place, so an interrupted install never looks complete.
fn cached_or_build(
    target: &Path,
    build: impl FnOnce(&Path) -> Result<(), PackageError>,
) -> Result<PathBuf, PackageError> {
    if target.is_dir() {
        return Ok(target.to_path_buf());
    }
    let parent = target.parent().expect("cache entries have a parent");
    std::fs::create_dir_all(parent).map_err(|source| PackageError::Cache {
        dir: parent.to_path_buf(),
        source,
    })?;
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempdir_in(parent)
        .map_err(|source| PackageError::Cache {
            dir: parent.to_path_buf(),
            source,
        })?;
    build(tmp.path())?;
    let tmp = tmp.keep();
    if let Err(source) = std::fs::rename(&tmp, target) {
        let _ = std::fs::remove_dir_all(&tmp);
        // Another process may have finished the same entry first.
        if !target.is_dir() {
            return Err(PackageError::Cache {
                dir: target.to_path_buf(),
                source,
            });
        }
    }
    Ok(target.to_path_buf())
}

fn run(
    mut cmd: Command,
    tool: &Tool,
    name: &str,
    install: &'static str,
) -> Result<(), PackageError> {
    let shown = format!("{} {}", tool.program.display(), tool.args.join(" "))
        .trim()
        .to_string();
    let output = cmd.output().map_err(|e| PackageError::ToolMissing {
        tool: format!("{name} (`{shown}`)"),
        reason: e.to_string(),
        install,
    })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n");
    if tail.contains("No module named pip") {
        return Err(PackageError::ToolMissing {
            tool: name.into(),
            reason: tail,
            install,
        });
    }
    Err(PackageError::ToolFailed {
        command: format!("{shown} ..."),
        status: output.status.to_string(),
        stderr_tail: tail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A minimal pure-Python wheel, so the test needs no index.
    fn make_wheel(dir: &Path) {
        let path = dir.join("tinypkg-1.0-py3-none-any.whl");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        for (name, body) in [
            ("tinypkg/__init__.py", "VALUE = 42\n"),
            ("tinypkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n"),
            ("tinypkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: fnctl-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
            ("tinypkg-1.0.dist-info/RECORD", "tinypkg/__init__.py,,\ntinypkg-1.0.dist-info/METADATA,,\ntinypkg-1.0.dist-info/WHEEL,,\ntinypkg-1.0.dist-info/RECORD,,\n"),
        ] {
            zip.start_file(name, opts).unwrap();
            zip.write_all(body.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
    }

    #[test]
    fn python_vendoring_is_cached_by_lockfile() {
        let wheels = tempfile::tempdir().unwrap();
        make_wheel(wheels.path());
        let proj = tempfile::tempdir().unwrap();
        let req = proj.path().join("requirements.txt");
        std::fs::write(&req, "tinypkg==1.0\n").unwrap();
        let cache = proj.path().join("cache");
        let args = vec![
            "--no-index".to_string(),
            "--find-links".to_string(),
            wheels.path().display().to_string(),
        ];
        let dir = vendor_python(
            &req,
            "3.12",
            Arch::X86_64,
            &cache,
            &Tool::python_pip(),
            &args,
        )
        .unwrap();
        assert!(
            dir.join("tinypkg/__init__.py").is_file(),
            "installed into the cache"
        );
        let bogus = Tool {
            program: "/nonexistent/pip".into(),
            args: vec![],
        };
        assert_eq!(
            vendor_python(&req, "3.12", Arch::X86_64, &cache, &bogus, &args).unwrap(),
            dir,
            "cache hit runs no tool"
        );
        std::fs::write(&req, "tinypkg==1.0\n# changed\n").unwrap();
        let err = vendor_python(&req, "3.12", Arch::X86_64, &cache, &bogus, &args)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not found") && err.contains("install Python 3 with pip"),
            "{err}"
        );
    }

    #[test]
    fn pip_failure_reports_stderr() {
        let proj = tempfile::tempdir().unwrap();
        let req = proj.path().join("requirements.txt");
        std::fs::write(&req, "definitely-not-a-package-fnctl==9.9\n").unwrap();
        let args = vec![
            "--no-index".to_string(),
            "--find-links".to_string(),
            proj.path().display().to_string(),
        ];
        let err = vendor_python(
            &req,
            "3.12",
            Arch::Arm64,
            &proj.path().join("c"),
            &Tool::python_pip(),
            &args,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("failed") && err.contains("definitely-not-a-package-fnctl"),
            "{err}"
        );
        assert!(
            !proj.path().join("c/python").read_dir().unwrap().any(|e| !e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".tmp")),
            "no cache entry for a failed install"
        );
    }

    #[test]
    fn node_vendoring_without_dependencies_is_offline_and_cached() {
        if Command::new("npm").arg("--version").output().is_err() {
            eprintln!("npm not installed; skipping");
            return;
        }
        let proj = tempfile::tempdir().unwrap();
        std::fs::write(
            proj.path().join("package.json"),
            r#"{"name":"t","version":"1.0.0","dependencies":{}}"#,
        )
        .unwrap();
        let cache = proj.path().join("cache");
        let dir = vendor_node(proj.path(), &cache, &Tool::npm()).unwrap();
        assert!(dir.join("node_modules").is_dir());
        let bogus = Tool {
            program: "/nonexistent/npm".into(),
            args: vec![],
        };
        assert_eq!(vendor_node(proj.path(), &cache, &bogus).unwrap(), dir);
    }
}
