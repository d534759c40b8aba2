//! Deterministic, parallel packaging of function code into zips.
//!
//! **Determinism.** "Skip what has not changed" only works if the same inputs
//! give the same bytes. So entries are sorted by zip path, every entry gets
//! the DOS epoch (1980-01-01 00:00) as its time, permissions are normalised to
//! 0644/0755, no extra fields are written and the compression level is fixed.
//! Nothing about the machine (file order on disk, mtimes, thread count) can
//! reach the archive.
//!
//! **Parallelism with bounded memory.** Workers compress files on all cores
//! into prepared entries ([`zip::write::PreparedZipFile`]); one writer appends
//! them strictly in sorted order. Workers may run only a small window ahead
//! of the writer, so memory holds a handful of compressed files at most, and
//! files above [`STREAM_THRESHOLD`] are streamed by the writer itself.
//!
//! **Selection.** `.gitignore`/`.ignore` are honoured (also outside git),
//! secrets-prone paths (`.env*`, `.git/`, `.fnctl/`) are always left out, and
//! include/exclude globs from the manifest apply on top ([`select`]).

pub mod build;
pub mod deps;
pub mod limits;
pub mod select;
pub mod zipper;

use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::{Digest, Sha256};

pub use limits::{check_unzipped, human_size, Limits, AWS_DIRECT_UPLOAD_MAX, AWS_UNZIPPED_MAX};
pub use select::{collect, collect_tree, sorted_unique};

/// What to package for one function.
#[derive(Debug, Clone)]
pub struct PackageSpec {
    /// Function name, for messages.
    pub function: String,
    /// The function's code directory.
    pub root: PathBuf,
    /// Globs relative to `root`; empty means every file.
    pub include: Vec<String>,
    /// Globs relative to `root` to leave out.
    pub exclude: Vec<String>,
    /// Relative paths stored as executable (0755) whatever their mode on disk.
    pub executables: Vec<String>,
    /// Vendored dependency directories added whole under a prefix.
    pub extra_dirs: Vec<ExtraDir>,
}

/// A directory added to the zip under `prefix` (empty: at the zip root).
#[derive(Debug, Clone)]
pub struct ExtraDir {
    pub dir: PathBuf,
    pub prefix: String,
}

/// One file to be zipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path inside the zip, `/`-separated.
    pub zip_path: String,
    /// Where the bytes come from (a symlink's target when it was one).
    pub disk_path: PathBuf,
    pub size: u64,
    pub executable: bool,
}

impl Entry {
    /// The normalised unix mode stored in the zip.
    pub fn mode(&self) -> u32 {
        if self.executable {
            0o755
        } else {
            0o644
        }
    }
}

/// A built zip.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub function: String,
    pub path: PathBuf,
    pub zipped_bytes: u64,
    pub unzipped_bytes: u64,
    pub sha256_hex: String,
    /// What AWS Lambda reports as `CodeSha256`.
    pub sha256_base64: String,
    pub files: usize,
}

impl Artifact {
    /// Lambda takes zips up to 50 MB inline; larger ones go through S3.
    pub fn needs_s3_upload(&self) -> bool {
        self.zipped_bytes > AWS_DIRECT_UPLOAD_MAX
    }
}

/// Why packaging failed. Each message names the function, the file, the
/// cause and what to do.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The function's directory is missing or unreadable.
    #[error("function `{function}`: cannot read code directory {}: {source}", .dir.display())]
    Root {
        function: String,
        dir: PathBuf,
        source: std::io::Error,
    },
    /// A symlink leads outside the project, so its content would be a surprise.
    #[error("function `{function}`: `{link}` is a symlink to `{}`, outside the function's directory; copy the file into the project or add it to `exclude`", .target.display())]
    SymlinkEscape {
        function: String,
        link: String,
        target: PathBuf,
    },
    /// A symlink leads to a file fnctl never packages (`.env`, `.git/`).
    #[error("function `{function}`: `{link}` is a symlink to `{}`, which is never packaged (it may hold secrets); remove the link or add it to `exclude`", .target.display())]
    SymlinkToExcluded {
        function: String,
        link: String,
        target: PathBuf,
    },
    /// A symlink points nowhere (or in a loop).
    #[error("function `{function}`: `{link}` is a broken symlink ({reason}); fix or remove it, or add it to `exclude`")]
    BrokenSymlink {
        function: String,
        link: String,
        reason: String,
    },
    /// Devices, sockets and FIFOs have no content to package.
    #[error(
        "function `{function}`: `{path}` is a {kind}, not a regular file; add it to `exclude`"
    )]
    SpecialFile {
        function: String,
        path: String,
        kind: &'static str,
    },
    /// A file name that is not UTF-8 cannot be stored portably.
    #[error("function `{function}`: the file name {} is not valid UTF-8; rename it", .path.display())]
    NonUtf8Path { function: String, path: PathBuf },
    /// Two sources would write the same path into the zip.
    #[error("function `{function}`: `{path}` would be packaged twice (from {} and {}); rename one or exclude it", .first.display(), .second.display())]
    Duplicate {
        function: String,
        path: String,
        first: PathBuf,
        second: PathBuf,
    },
    /// A glob in include/exclude did not compile.
    #[error("function `{function}`: `{glob}` is not a valid glob: {reason}")]
    Glob {
        function: String,
        glob: String,
        reason: String,
    },
    /// A file could not be read.
    #[error("function `{function}`: cannot read `{path}`: {source}; check its permissions or add it to `exclude`")]
    Read {
        function: String,
        path: String,
        source: std::io::Error,
    },
    /// The zip could not be written.
    #[error("function `{function}`: cannot write {}: {reason}", .path.display())]
    Write {
        function: String,
        path: PathBuf,
        reason: String,
    },
    /// Over a provider's size limit.
    #[error("function `{function}`: package is {size} unzipped, over {provider}'s {limit} limit; largest: {largest}")]
    TooLarge {
        function: String,
        provider: &'static str,
        size: String,
        limit: String,
        largest: String,
    },
    /// A built zip over a provider's limit for the package file.
    #[error("package `{package}` is {size} zipped, over {provider}'s {limit} limit; largest parts (unzipped): {largest}")]
    ZipTooLarge {
        package: String,
        provider: &'static str,
        size: String,
        limit: String,
        largest: String,
    },
    /// pip or npm is not installed.
    #[error("{tool} not found ({reason}); {install}")]
    ToolMissing {
        tool: String,
        reason: String,
        install: &'static str,
    },
    /// pip or npm failed.
    #[error("`{command}` failed with {status}:\n{stderr_tail}")]
    ToolFailed {
        command: String,
        status: String,
        stderr_tail: String,
    },
    /// The dependency cache could not be used.
    #[error("dependency cache {}: {source}", .dir.display())]
    Cache {
        dir: PathBuf,
        source: std::io::Error,
    },
}

/// sha256 (hex) over every entry's zip path, mode and content: the identity
/// of a package's inputs, computed without compressing anything.
pub fn source_hash(function: &str, entries: &[Entry]) -> Result<String, PackageError> {
    let mut total = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    for e in entries {
        let mut file =
            std::fs::File::open(&e.disk_path).map_err(|source| read_err(function, e, source))?;
        let mut content = Sha256::new();
        loop {
            let n = file
                .read(&mut buf)
                .map_err(|source| read_err(function, e, source))?;
            if n == 0 {
                break;
            }
            content.update(&buf[..n]);
        }
        total.update(e.zip_path.as_bytes());
        total.update(format!("\0{:o}\0", e.mode()).as_bytes());
        total.update(content.finalize());
        total.update(b"\n");
    }
    Ok(hex::encode(total.finalize()))
}

fn read_err(function: &str, e: &Entry, source: std::io::Error) -> PackageError {
    PackageError::Read {
        function: function.to_string(),
        path: e.zip_path.clone(),
        source,
    }
}

/// Collects, then zips to `out` atomically, using every core.
pub fn build(spec: &PackageSpec, out: &Path) -> Result<Artifact, PackageError> {
    build_with_threads(spec, out, default_threads())
}

/// One compression worker per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// [`build`] with an explicit worker count (the output does not depend on it).
pub fn build_with_threads(
    spec: &PackageSpec,
    out: &Path,
    threads: usize,
) -> Result<Artifact, PackageError> {
    let entries = collect(spec)?;
    build_entries(&spec.function, &entries, out, threads)
}

/// Zips entries already collected (and sorted by [`select::sorted_unique`]).
pub fn build_entries(
    function: &str,
    entries: &[Entry],
    out: &Path,
    threads: usize,
) -> Result<Artifact, PackageError> {
    zipper::write_zip(function, entries, out, threads)?;
    // Hash the written file in chunks: a package can be hundreds of MB, and
    // holding it whole would set the peak memory of packaging.
    let werr = |e: std::io::Error| PackageError::Write {
        function: function.to_string(),
        path: out.to_path_buf(),
        reason: e.to_string(),
    };
    let mut file = std::fs::File::open(out).map_err(werr)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut zipped_bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(werr)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        zipped_bytes += n as u64;
    }
    let digest = hasher.finalize();
    Ok(Artifact {
        function: function.to_string(),
        path: out.to_path_buf(),
        zipped_bytes,
        unzipped_bytes: entries.iter().map(|e| e.size).sum(),
        sha256_hex: hex::encode(digest),
        sha256_base64: base64::engine::general_purpose::STANDARD.encode(digest),
        files: entries.len(),
    })
}

#[cfg(test)]
pub(crate) mod testutil {
    use std::path::Path;

    pub fn write(root: &Path, rel: &str, content: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    pub fn spec(root: &Path) -> super::PackageSpec {
        super::PackageSpec {
            function: "f".into(),
            root: root.to_path_buf(),
            include: vec![],
            exclude: vec![],
            executables: vec![],
            extra_dirs: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::{spec, write};
    use super::*;

    #[test]
    fn source_hash_tracks_content_mode_and_path() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.py", "x = 1\n");
        let s = spec(dir.path());
        let h1 = source_hash("f", &collect(&s).unwrap()).unwrap();
        assert_eq!(h1, source_hash("f", &collect(&s).unwrap()).unwrap());
        write(dir.path(), "a.py", "x = 2\n");
        let h2 = source_hash("f", &collect(&s).unwrap()).unwrap();
        assert_ne!(h1, h2);
        let mut exec = s.clone();
        exec.executables = vec!["a.py".into()];
        assert_ne!(h2, source_hash("f", &collect(&exec).unwrap()).unwrap());
        std::fs::rename(dir.path().join("a.py"), dir.path().join("b.py")).unwrap();
        assert_ne!(h2, source_hash("f", &collect(&s).unwrap()).unwrap());
    }

    #[test]
    fn s3_threshold() {
        let a = Artifact {
            function: "f".into(),
            path: "x".into(),
            zipped_bytes: AWS_DIRECT_UPLOAD_MAX + 1,
            unzipped_bytes: 0,
            sha256_hex: String::new(),
            sha256_base64: String::new(),
            files: 0,
        };
        assert!(a.needs_s3_upload());
    }
}
