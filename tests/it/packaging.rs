//! Packaging safety through the CLI: what must never get into a zip (files
//! outside the project through symlinks, pipes and devices, unreadable
//! files, packages over the cloud's limit) stops `fnctl package` with an
//! error that names the file and the fix, before compressing anything, and
//! leaves nothing half-written: no partial zip, no temp file, and an older
//! good zip untouched.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::common::fnctl_process;

const MIB: u64 = 1024 * 1024;

const MANIFEST: &str = r#"[app]
name = "pk"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"

[functions.api]
source = "src"
handler = "app.handler"
"#;

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("fnctl.toml"), MANIFEST).unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(
            dir.path().join("src/app.py"),
            "def handler(event, context):\n    return event\n",
        )
        .unwrap();
        Project { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn zip(&self) -> PathBuf {
        self.path(".fnctl/dist/aws/api.zip")
    }

    /// `fnctl package`: (exit code, stderr, bytes it read).
    ///
    /// The bytes come from the kernel's I/O accounting: a shell runs fnctl
    /// and, once it has waited for it, reads its own `rchar`, to which the
    /// kernel adds that of each child it reaps. Only the shell's own few
    /// reads come on top.
    fn package(&self) -> (i32, String, u64) {
        let fnctl = fnctl_process();
        let mut cmd = std::process::Command::new("sh");
        cmd.arg("-c")
            .arg(r#""$0" package; code=$?; grep '^rchar:' /proc/$$/io; exit $code"#)
            .arg(fnctl.get_program())
            .current_dir(self.dir.path());
        for (key, value) in fnctl.get_envs() {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let read = stdout
            .lines()
            .find_map(|l| l.strip_prefix("rchar:"))
            .unwrap_or_else(|| panic!("no rchar from /proc/<pid>/io: {stdout}"))
            .trim()
            .parse()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            read,
        )
    }

    /// Files in the output directory other than the good zip (temp files,
    /// partial zips).
    fn debris(&self) -> Vec<String> {
        let dist = self.path(".fnctl/dist/aws");
        std::fs::read_dir(&dist)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n != "api.zip")
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Builds a good zip, adds the bad thing, packages again: the error names
/// it, the good zip is unchanged and nothing else was written. Returns the
/// bytes the refused run read.
fn refused(setup: impl FnOnce(&Project), expect: &[&str]) -> u64 {
    let p = Project::new();
    let (code, stderr, _) = p.package();
    assert_eq!(code, 0, "{stderr}");
    let good = std::fs::read(p.zip()).unwrap();
    setup(&p);
    let (code, stderr, read) = p.package();
    assert_eq!(code, 1, "{stderr}");
    for text in expect {
        assert!(stderr.contains(text), "expected `{text}` in: {stderr}");
    }
    assert_eq!(std::fs::read(p.zip()).unwrap(), good, "the old zip changed");
    assert_eq!(p.debris(), Vec::<String>::new());
    read
}

#[test]
fn a_symlink_to_a_file_outside_the_project_is_refused() {
    refused(
        |p| {
            std::fs::write(p.path("secret.txt"), "not for the zip").unwrap();
            std::os::unix::fs::symlink(p.path("secret.txt"), p.path("src/leak.txt")).unwrap();
        },
        &[
            "`leak.txt` is a symlink to",
            "outside the function's directory",
            "exclude",
        ],
    );
}

#[test]
fn a_symlinked_directory_escaping_upwards_is_refused() {
    refused(
        |p| std::os::unix::fs::symlink("..", p.path("src/up")).unwrap(),
        &["up", "outside the function's directory"],
    );
}

#[test]
fn a_named_pipe_is_refused_without_blocking() {
    refused(
        |p| {
            let status = std::process::Command::new("mkfifo")
                .arg(p.path("src/pipe"))
                .status()
                .unwrap();
            assert!(status.success());
        },
        &["`pipe` is a FIFO", "exclude"],
    );
}

#[test]
fn a_device_file_is_refused() {
    // mknod needs root (CI runs as root); elsewhere a Unix socket stands in
    // for the special files a tree can hold.
    refused(
        |p| {
            let made = std::process::Command::new("mknod")
                .arg(p.path("src/null"))
                .args(["c", "1", "3"])
                .status()
                .is_ok_and(|s| s.success());
            if !made {
                let socket = std::os::unix::net::UnixListener::bind(p.path("src/null")).unwrap();
                std::mem::forget(socket);
            }
        },
        &["`null` is a"],
    );
}

#[test]
fn a_package_over_the_lambda_limit_fails_before_compressing() {
    // Sparse files: large on paper, no disk used; reading one still counts
    // every byte.
    let sparse = |p: &Project, size: u64| {
        let f = std::fs::File::create(p.path("src/model.bin")).unwrap();
        f.set_len(size).unwrap();
    };
    // The count sees what fnctl reads: a 32 MiB file under the limit is
    // compressed, so read whole.
    let p = Project::new();
    sparse(&p, 32 * MIB);
    let (code, stderr, read) = p.package();
    assert_eq!(code, 0, "{stderr}");
    assert!(read >= 32 * MIB, "a packaged run read only {read} bytes");

    let read = refused(
        |p| sparse(p, 300 * MIB),
        &[
            "300.0 MiB unzipped",
            "AWS Lambda's 250.0 MiB limit",
            "largest: model.bin (300.0 MiB)",
        ],
    );
    assert!(
        read < 32 * MIB,
        "the refused run read {read} bytes: it read the file before refusing it"
    );
}

#[test]
fn an_unreadable_file_is_named() {
    // Root reads any file whatever its mode, so as root the run drops to
    // `nobody` (setpriv, util-linux) for fnctl itself.
    let p = Project::new();
    let (code, stderr, _) = p.package();
    assert_eq!(code, 0, "{stderr}");
    let good = std::fs::read(p.zip()).unwrap();
    std::fs::write(p.path("src/private.key"), "-----BEGIN KEY-----").unwrap();
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    open_up(p.dir.path());
    std::fs::set_permissions(
        p.path("src/private.key"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    let mut cmd = if root {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(assert_cmd::cargo::cargo_bin("fnctl"));
        c
    } else {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("fnctl"))
    };
    let out = cmd
        .current_dir(p.dir.path())
        .env("NO_COLOR", "1")
        .arg("package")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("private.key") && stderr.contains("ermission denied"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(p.zip()).unwrap(), good, "the old zip changed");
    assert_eq!(p.debris(), Vec::<String>::new());
}

#[test]
fn zip_entry_names_never_climb_out_or_start_at_the_root() {
    // Sources outside the project directory are allowed (monorepos), but
    // entries are named relative to the source, so `..` cannot get in.
    let p = Project::new();
    std::fs::create_dir_all(p.path("shared/lib")).unwrap();
    std::fs::write(p.path("shared/lib/util.py"), "X = 1\n").unwrap();
    std::fs::write(
        p.path("fnctl.toml"),
        MANIFEST.replace(
            "source = \"src\"",
            "source = \"src/../shared\"\ninclude = [\"../src/*\", \"**\"]",
        ),
    )
    .unwrap();
    std::fs::write(
        p.path("shared/app.py"),
        "def handler(e, c):\n    return e\n",
    )
    .unwrap();
    let (code, stderr, _) = p.package();
    assert_eq!(code, 0, "{stderr}");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(p.zip()).unwrap()).unwrap();
    let names: Vec<String> = (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["app.py", "lib/util.py"]);
}

/// Lets another user read and write a temp project (for the setpriv run).
fn open_up(dir: &Path) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else if e.file_type().unwrap().is_file() {
                std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(0o666)).unwrap();
            }
        }
    }
}
