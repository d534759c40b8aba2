//! `fnctl init`: a new project from one of the embedded templates.
//!
//! Templates live in `templates/` and are embedded at build time, so the
//! binary works offline. The only substitution is `{{app_name}}`; a template
//! engine would be more machinery than one variable needs.

use std::path::Path;

use include_dir::{include_dir, Dir};
use serde_json::json;

use super::{CommandError, Context, ExitStatus};
use crate::cli::InitArgs;
use crate::suggest::did_you_mean;

static TEMPLATES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// `(name, description)` of every template; the description is the first
/// line of its fnctl.toml, a `# ` comment.
pub fn templates() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = TEMPLATES
        .dirs()
        .filter_map(|d| {
            let name = d.path().file_name()?.to_str()?;
            let manifest = d.get_file(d.path().join("fnctl.toml"))?.contents_utf8()?;
            let description = manifest.lines().next()?.trim_start_matches('#').trim();
            Some((name, description))
        })
        .collect();
    out.sort();
    out
}

pub fn run(cx: &Context, args: &InitArgs) -> Result<ExitStatus, CommandError> {
    if args.list {
        if cx.printer.is_json() {
            let list: Vec<_> = templates()
                .into_iter()
                .map(|(n, d)| json!({"name": n, "description": d}))
                .collect();
            cx.printer.json(&json!({ "templates": list }));
        } else {
            let text: String = templates()
                .into_iter()
                .map(|(n, d)| format!("{n:<20} {d}\n"))
                .collect();
            cx.printer.data(&text);
        }
        return Ok(ExitStatus::Success);
    }
    let Some(template) = TEMPLATES.get_dir(&args.template) else {
        let names: Vec<&str> = templates().into_iter().map(|(n, _)| n).collect();
        return Err(CommandError::usage(
            format!("there is no template named `{}`", args.template),
            Some(
                did_you_mean(&args.template, names.iter().copied())
                    .unwrap_or_else(|| format!("templates: {}", names.join(", "))),
            ),
        ));
    };
    let dir = if args.dir.is_absolute() {
        args.dir.clone()
    } else {
        cx.cwd.join(&args.dir)
    };
    let app_name = match &args.name {
        Some(n) => n.clone(),
        None => app_name_from_dir(&dir),
    };

    let mut files = Vec::new();
    collect_files(template, &mut files);
    let existing: Vec<String> = files
        .iter()
        .map(|f| relative(template, f))
        .filter(|rel| dir.join(rel).exists())
        .collect();
    if !existing.is_empty() && !args.force {
        return Err(CommandError::usage(
            format!("{} already has {}", dir.display(), existing.join(", ")),
            Some("choose another --dir, or pass --force to overwrite".to_string()),
        ));
    }
    let mut written = Vec::new();
    for f in files {
        let rel = relative(template, f);
        let target = dir.join(&rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| CommandError::io(format!("creating {}", parent.display()), e))?;
        }
        let contents = match f.contents_utf8() {
            Some(text) => text.replace("{{app_name}}", &app_name).into_bytes(),
            None => f.contents().to_vec(),
        };
        std::fs::write(&target, contents)
            .map_err(|e| CommandError::io(format!("writing {}", target.display()), e))?;
        written.push(rel);
    }
    if ignore_build_output(&dir)? {
        written.push(".gitignore".into());
    }
    if cx.printer.is_json() {
        cx.printer.json(
            &json!({"template": args.template, "app": app_name, "dir": dir, "files": written}),
        );
    } else {
        cx.printer.data(&format!(
            "created app `{app_name}` from template `{}` in {}\n",
            args.template,
            dir.display()
        ));
        for w in &written {
            cx.printer.status(&format!("  {w}"));
        }
        cx.printer.status(&format!(
            "next:\n  cd {}\n  fnctl dev          run it on this machine (no cloud account needed)\n  fnctl deploy       deploy it (AWS credentials from `aws configure` or `aws sso login`)\n  fnctl remove       delete what the deploy created",
            args.dir.display()
        ));
    }
    Ok(ExitStatus::Success)
}

/// What fnctl writes under `.fnctl/` (packages, build files, local bucket
/// folders) is output, not source: keep it out of git. An existing
/// `.gitignore` gets the line added, never replaced. True when the file was
/// written.
fn ignore_build_output(dir: &Path) -> Result<bool, CommandError> {
    const LINE: &str = ".fnctl/";
    let path = dir.join(".gitignore");
    let current = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(CommandError::io(format!("reading {}", path.display()), e)),
    };
    if current
        .lines()
        .any(|l| matches!(l.trim(), ".fnctl" | ".fnctl/" | "/.fnctl" | "/.fnctl/"))
    {
        return Ok(false);
    }
    let mut text = current;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("# fnctl's packages, build files and local bucket folders\n");
    text.push_str(LINE);
    text.push('\n');
    std::fs::write(&path, text)
        .map_err(|e| CommandError::io(format!("writing {}", path.display()), e))?;
    Ok(true)
}

fn collect_files<'a>(dir: &'a Dir<'a>, out: &mut Vec<&'a include_dir::File<'a>>) {
    out.extend(dir.files());
    for d in dir.dirs() {
        collect_files(d, out);
    }
}

fn relative(template: &Dir<'_>, f: &include_dir::File<'_>) -> String {
    f.path()
        .strip_prefix(template.path())
        .unwrap_or(f.path())
        .to_string_lossy()
        .replace('\\', "/")
}

/// A valid app name derived from a directory name, or `my-app`.
pub fn app_name_from_dir(dir: &Path) -> String {
    let raw = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().to_string()))
        .or_else(|| dir.file_name().map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_default();
    let mut name = String::new();
    for c in raw.to_ascii_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    let name: String = name
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '-')
        .chars()
        .take(24)
        .collect();
    let name = name.trim_end_matches('-').to_string();
    if name.is_empty() {
        "my-app".into()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_names_from_directories() {
        assert_eq!(
            app_name_from_dir(Path::new("/tmp/My Cool_App")),
            "my-cool-app"
        );
        assert_eq!(app_name_from_dir(Path::new("/tmp/123")), "my-app");
        assert_eq!(
            app_name_from_dir(Path::new("/tmp/a-very-long-directory-name-indeed")).len(),
            24
        );
    }

    #[test]
    fn gitignore_gets_the_build_output_once_and_keeps_what_was_there() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ignore_build_output(dir.path()).unwrap());
        let text = std::fs::read_to_string(dir.path().join(".gitignore")).unwrap();
        assert!(text.lines().any(|l| l == ".fnctl/"), "{text}");
        assert!(!ignore_build_output(dir.path()).unwrap(), "not added twice");
        std::fs::write(dir.path().join(".gitignore"), "target").unwrap();
        assert!(ignore_build_output(dir.path()).unwrap());
        let text = std::fs::read_to_string(dir.path().join(".gitignore")).unwrap();
        assert!(text.starts_with("target\n"), "kept: {text}");
        assert!(text.ends_with(".fnctl/\n"), "{text}");
    }

    #[test]
    fn every_template_has_a_description() {
        let t = templates();
        assert!(t.len() >= 4, "{t:?}");
        assert!(t.iter().all(|(_, d)| !d.is_empty()));
    }
}
