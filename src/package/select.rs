//! Which files go into a package.

use std::path::{Path, PathBuf};

use globset::{GlobSet, GlobSetBuilder};
use ignore::WalkBuilder;

use super::{Entry, PackageError, PackageSpec};

/// Names never packaged: credentials (`.env*`), VCS data, fnctl's own
/// output, and interpreter caches that differ per machine.
fn always_excluded(name: &str, is_dir: bool) -> bool {
    match name {
        ".git" | ".fnctl" | "__pycache__" | ".DS_Store" | ".env" => true,
        _ => name.starts_with(".env.") || (!is_dir && name.ends_with(".pyc")),
    }
}

fn globset(function: &str, globs: &[String]) -> Result<Option<GlobSet>, PackageError> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for g in globs {
        let glob = globset::GlobBuilder::new(g)
            .literal_separator(true)
            .build()
            .map_err(|e| PackageError::Glob {
                function: function.to_string(),
                glob: g.clone(),
                reason: e.kind().to_string(),
            })?;
        b.add(glob);
    }
    b.build().map(Some).map_err(|e| PackageError::Glob {
        function: function.to_string(),
        glob: globs.join(", "),
        reason: e.to_string(),
    })
}

/// Every file of the package, sorted by zip path.
pub fn collect(spec: &PackageSpec) -> Result<Vec<Entry>, PackageError> {
    let include = globset(&spec.function, &spec.include)?;
    let exclude = globset(&spec.function, &spec.exclude)?;
    let mut entries = walk(spec, &spec.root, "", true, |rel| {
        include.as_ref().is_none_or(|s| s.is_match(rel))
            && !exclude.as_ref().is_some_and(|s| s.is_match(rel))
    })?;
    for extra in &spec.extra_dirs {
        entries.extend(walk(spec, &extra.dir, &extra.prefix, false, |_| true)?);
    }
    for e in &mut entries {
        let top_level = !e.zip_path.contains('/');
        if spec.executables.contains(&e.zip_path) || (top_level && e.zip_path == "bootstrap") {
            e.executable = true;
        }
    }
    sorted_unique(&spec.function, entries)
}

/// Sorts entries by zip path and refuses a path packaged twice: a project
/// file and a vendored dependency at the same path would silently shadow
/// each other in the function.
pub fn sorted_unique(function: &str, mut entries: Vec<Entry>) -> Result<Vec<Entry>, PackageError> {
    entries.sort_by(|a, b| a.zip_path.cmp(&b.zip_path));
    if let Some(pair) = entries.windows(2).find(|w| w[0].zip_path == w[1].zip_path) {
        return Err(PackageError::Duplicate {
            function: function.to_string(),
            path: pair[0].zip_path.clone(),
            first: pair[0].disk_path.clone(),
            second: pair[1].disk_path.clone(),
        });
    }
    Ok(entries)
}

/// Every file under `dir`, placed under `prefix`, without ignore rules or
/// globs: for trees fnctl made itself (generated files, vendored packages).
pub fn collect_tree(function: &str, dir: &Path, prefix: &str) -> Result<Vec<Entry>, PackageError> {
    let spec = PackageSpec {
        function: function.to_string(),
        root: dir.to_path_buf(),
        include: Vec::new(),
        exclude: Vec::new(),
        executables: Vec::new(),
        extra_dirs: Vec::new(),
    };
    walk(&spec, dir, prefix, false, |_| true)
}

fn walk(
    spec: &PackageSpec,
    root: &Path,
    prefix: &str,
    honour_ignore_files: bool,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<Entry>, PackageError> {
    let function = spec.function.as_str();
    let canonical_root = root.canonicalize().map_err(|source| PackageError::Root {
        function: function.to_string(),
        dir: root.to_path_buf(),
        source,
    })?;
    let walker = WalkBuilder::new(root)
        .hidden(false)
        .git_ignore(honour_ignore_files)
        .git_exclude(false)
        .git_global(false)
        .ignore(honour_ignore_files)
        .require_git(false)
        .parents(false)
        .follow_links(true)
        .filter_entry(|e| {
            let is_dir = e.file_type().is_some_and(|t| t.is_dir());
            e.depth() == 0 || !always_excluded(&e.file_name().to_string_lossy(), is_dir)
        })
        .build();
    let mut out = Vec::new();
    for item in walker {
        let entry = match item {
            Ok(e) => e,
            Err(err) => return Err(walk_error(function, root, err)),
        };
        let path = entry.path();
        let rel_path = path.strip_prefix(root).unwrap_or(path);
        let Some(rel) = rel_path.to_str() else {
            return Err(PackageError::NonUtf8Path {
                function: function.to_string(),
                path: path.to_path_buf(),
            });
        };
        let rel = rel.replace('\\', "/");
        let Some(ft) = entry.file_type() else {
            continue;
        };
        if ft.is_dir() {
            if entry.path_is_symlink() {
                check_inside(function, &canonical_root, path, &rel)?;
            }
            continue;
        }
        if !ft.is_file() {
            return Err(PackageError::SpecialFile {
                function: function.to_string(),
                path: rel,
                kind: special_kind(&ft),
            });
        }
        if !keep(&rel) {
            continue;
        }
        // Anything reached through a link (the file itself or a parent
        // directory) must resolve inside the root.
        let resolved = check_inside(function, &canonical_root, path, &rel)?;
        // A link must not smuggle in what is never packaged (`cfg -> .env`).
        if resolved
            .file_name()
            .is_some_and(|n| always_excluded(&n.to_string_lossy(), false))
            || resolved
                .strip_prefix(&canonical_root)
                .unwrap_or(&resolved)
                .components()
                .any(|c| matches!(c.as_os_str().to_str(), Some(".git" | ".fnctl")))
        {
            return Err(PackageError::SymlinkToExcluded {
                function: function.to_string(),
                link: rel,
                target: resolved,
            });
        }
        let meta = std::fs::metadata(&resolved).map_err(|source| PackageError::Read {
            function: function.to_string(),
            path: rel.clone(),
            source,
        })?;
        let zip_path = if prefix.is_empty() {
            rel
        } else {
            format!("{}/{rel}", prefix.trim_end_matches('/'))
        };
        out.push(Entry {
            zip_path,
            disk_path: resolved,
            size: meta.len(),
            executable: is_executable(&meta),
        });
    }
    Ok(out)
}

/// Resolves `path` and refuses it when it leaves the root.
fn check_inside(
    function: &str,
    canonical_root: &Path,
    path: &Path,
    rel: &str,
) -> Result<PathBuf, PackageError> {
    let resolved = path
        .canonicalize()
        .map_err(|e| PackageError::BrokenSymlink {
            function: function.to_string(),
            link: rel.to_string(),
            reason: e.to_string(),
        })?;
    if !resolved.starts_with(canonical_root) {
        return Err(PackageError::SymlinkEscape {
            function: function.to_string(),
            link: rel.to_string(),
            target: resolved,
        });
    }
    Ok(resolved)
}

fn walk_error(function: &str, root: &Path, err: ignore::Error) -> PackageError {
    // Find the innermost error and the path it is about.
    let mut path: Option<PathBuf> = None;
    let mut current = &err;
    loop {
        match current {
            ignore::Error::WithPath { path: p, err } => {
                path = Some(p.clone());
                current = err;
            }
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                current = err
            }
            ignore::Error::Loop { child, .. } => {
                let rel = child
                    .strip_prefix(root)
                    .unwrap_or(child)
                    .display()
                    .to_string();
                return PackageError::BrokenSymlink {
                    function: function.to_string(),
                    link: rel,
                    reason: "it loops back to a parent directory".into(),
                };
            }
            _ => break,
        }
    }
    let rel = path
        .as_ref()
        .map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string())
        .unwrap_or_else(|| root.display().to_string());
    if let Some(p) = &path {
        if p.symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            return PackageError::BrokenSymlink {
                function: function.to_string(),
                link: rel,
                reason: "its target does not exist".into(),
            };
        }
    }
    let io = match current {
        ignore::Error::Io(e) => std::io::Error::new(e.kind(), e.to_string()),
        other => std::io::Error::other(other.to_string()),
    };
    PackageError::Read {
        function: function.to_string(),
        path: rel,
        source: io,
    }
}

#[cfg(unix)]
fn special_kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "FIFO"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "device file"
    } else {
        "special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "special file"
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{spec, write};
    use super::super::ExtraDir;
    use super::*;

    fn paths(entries: &[Entry]) -> Vec<&str> {
        entries.iter().map(|e| e.zip_path.as_str()).collect()
    }

    #[test]
    fn honours_gitignore_and_default_excludes() {
        let d = tempfile::tempdir().unwrap();
        for f in [
            "app.py",
            "lib/util.py",
            ".env",
            ".env.local",
            ".git/config",
            ".fnctl/dist/x.zip",
            "__pycache__/a.pyc",
            "b.pyc",
            "build/out.txt",
            ".gitignore",
            ".hidden.cfg",
        ] {
            write(d.path(), f, "x");
        }
        write(d.path(), ".gitignore", "build/\n");
        let e = collect(&spec(d.path())).unwrap();
        assert_eq!(
            paths(&e),
            vec![".gitignore", ".hidden.cfg", "app.py", "lib/util.py"]
        );
    }

    #[test]
    fn include_and_exclude_globs() {
        let d = tempfile::tempdir().unwrap();
        for f in [
            "src/a.py",
            "src/deep/b.py",
            "src/a_test.py",
            "tests/t.py",
            "README.md",
        ] {
            write(d.path(), f, "x");
        }
        let mut s = spec(d.path());
        s.include = vec!["src/**".into()];
        s.exclude = vec!["**/*_test.py".into()];
        assert_eq!(
            paths(&collect(&s).unwrap()),
            vec!["src/a.py", "src/deep/b.py"]
        );
        s.include = vec!["src/*.py".into()];
        s.exclude = vec![];
        assert_eq!(
            paths(&collect(&s).unwrap()),
            vec!["src/a.py", "src/a_test.py"],
            "`*` stays within one directory"
        );
        s.include = vec!["[".into()];
        assert!(matches!(collect(&s), Err(PackageError::Glob { .. })));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_inside_are_followed_outside_refused() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("proj");
        write(&root, "real.txt", "data");
        write(outer.path(), "secret.txt", "nope");
        std::os::unix::fs::symlink(root.join("real.txt"), root.join("link.txt")).unwrap();
        let e = collect(&spec(&root)).unwrap();
        assert_eq!(paths(&e), vec!["link.txt", "real.txt"]);
        assert_eq!(std::fs::read_to_string(&e[0].disk_path).unwrap(), "data");

        std::os::unix::fs::symlink(outer.path().join("secret.txt"), root.join("escape.txt"))
            .unwrap();
        let err = collect(&spec(&root)).unwrap_err().to_string();
        assert!(
            err.contains("`escape.txt` is a symlink to")
                && err.contains("outside the function's directory"),
            "{err}"
        );
        std::fs::remove_file(root.join("escape.txt")).unwrap();

        std::os::unix::fs::symlink(outer.path(), root.join("updir")).unwrap();
        let err = collect(&spec(&root)).unwrap_err().to_string();
        assert!(
            err.contains("outside the function's directory") || err.contains("loops"),
            "{err}"
        );
        std::fs::remove_file(root.join("updir")).unwrap();

        std::os::unix::fs::symlink(root.join("missing"), root.join("dangling")).unwrap();
        let err = collect(&spec(&root)).unwrap_err().to_string();
        assert!(err.contains("`dangling` is a broken symlink"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn fifo_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("pipe");
        let Ok(status) = std::process::Command::new("mkfifo").arg(&fifo).status() else {
            eprintln!("mkfifo not available; skipping");
            return;
        };
        assert!(status.success());
        let err = collect(&spec(d.path())).unwrap_err().to_string();
        assert!(err.contains("`pipe` is a FIFO"), "{err}");
    }

    #[test]
    fn extra_dirs_go_under_their_prefix_and_bootstrap_is_executable() {
        let d = tempfile::tempdir().unwrap();
        let deps = tempfile::tempdir().unwrap();
        write(d.path(), "bootstrap", "bin");
        write(d.path(), "sub/bootstrap", "not top level");
        write(deps.path(), "pkg/__init__.py", "");
        write(deps.path(), "pkg/__pycache__/x.pyc", "");
        let mut s = spec(d.path());
        s.extra_dirs.push(ExtraDir {
            dir: deps.path().to_path_buf(),
            prefix: ".python_packages/lib/site-packages".into(),
        });
        let e = collect(&s).unwrap();
        assert_eq!(
            paths(&e),
            vec![
                ".python_packages/lib/site-packages/pkg/__init__.py",
                "bootstrap",
                "sub/bootstrap"
            ]
        );
        assert!(e[1].executable);
        assert!(!e[2].executable);
    }
}

#[cfg(test)]
mod more_tests {
    use super::super::testutil::{spec, write};
    use super::super::ExtraDir;
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_link_to_a_never_packaged_file_is_refused() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), ".env", "SECRET=1");
        std::os::unix::fs::symlink(d.path().join(".env"), d.path().join("cfg")).unwrap();
        let err = collect(&spec(d.path())).unwrap_err().to_string();
        assert!(
            err.contains("`cfg` is a symlink to") && err.contains("never packaged"),
            "{err}"
        );
    }

    #[test]
    fn the_same_path_from_two_sources_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let deps = tempfile::tempdir().unwrap();
        write(d.path(), "six.py", "mine");
        write(deps.path(), "six.py", "vendored");
        let mut s = spec(d.path());
        s.extra_dirs.push(ExtraDir {
            dir: deps.path().to_path_buf(),
            prefix: String::new(),
        });
        let err = collect(&s).unwrap_err().to_string();
        assert!(err.contains("`six.py` would be packaged twice"), "{err}");
    }
}
