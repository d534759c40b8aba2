//! Language runtimes and what their handler strings mean.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// A runtime fnctl can package and deploy on every provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Runtime {
    #[serde(rename = "python3.11")]
    Python311,
    #[serde(rename = "python3.12")]
    Python312,
    #[serde(rename = "python3.13")]
    Python313,
    #[serde(rename = "nodejs20")]
    Node20,
    #[serde(rename = "nodejs22")]
    Node22,
    /// A compiled executable named by the handler (default `bootstrap`)
    /// that speaks the Lambda Runtime API (e.g. Rust with `lambda_runtime`).
    #[serde(rename = "provided")]
    Provided,
}

/// The language family, which decides packaging and handler syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Python,
    Node,
    Binary,
}

impl Runtime {
    pub const ALL: [Runtime; 6] = [
        Runtime::Python311,
        Runtime::Python312,
        Runtime::Python313,
        Runtime::Node20,
        Runtime::Node22,
        Runtime::Provided,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Runtime::Python311 => "python3.11",
            Runtime::Python312 => "python3.12",
            Runtime::Python313 => "python3.13",
            Runtime::Node20 => "nodejs20",
            Runtime::Node22 => "nodejs22",
            Runtime::Provided => "provided",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.id() == s)
    }

    pub fn language(self) -> Language {
        match self {
            Runtime::Python311 | Runtime::Python312 | Runtime::Python313 => Language::Python,
            Runtime::Node20 | Runtime::Node22 => Language::Node,
            Runtime::Provided => Language::Binary,
        }
    }

    /// The language version (`3.12`, `20`); empty for `provided`.
    pub fn version(self) -> &'static str {
        match self {
            Runtime::Python311 => "3.11",
            Runtime::Python312 => "3.12",
            Runtime::Python313 => "3.13",
            Runtime::Node20 => "20",
            Runtime::Node22 => "22",
            Runtime::Provided => "",
        }
    }

    /// The handler used when the manifest gives none, if the runtime has one.
    pub fn default_handler(self) -> Option<&'static str> {
        match self.language() {
            Language::Binary => Some("bootstrap"),
            _ => None,
        }
    }

    /// Splits a handler into the file that must exist and the entry point
    /// inside it, or explains what the handler should look like.
    ///
    /// Python `pkg/mod.fn` → `pkg/mod.py` + `fn`; Node `src/app.handler` →
    /// `src/app.js` (or `.mjs`/`.cjs`) + `handler`; `provided` → the
    /// executable itself.
    pub fn handler_files(self, handler: &str) -> Result<(Vec<PathBuf>, String), String> {
        match self.language() {
            Language::Binary => {
                if handler.is_empty() || handler.contains(['/', '\\']) {
                    return Err(format!(
                        "handler `{handler}` must be the name of an executable at the top of the source directory, such as `bootstrap`"
                    ));
                }
                Ok((vec![PathBuf::from(handler)], String::new()))
            }
            lang => {
                let Some((file, entry)) = handler.rsplit_once('.') else {
                    let example = if lang == Language::Python {
                        "app.handler"
                    } else {
                        "index.handler"
                    };
                    return Err(format!(
                        "handler `{handler}` needs the form `file.function`, such as `{example}`"
                    ));
                };
                let valid_ident = !entry.is_empty()
                    && !entry.starts_with(|c: char| c.is_ascii_digit())
                    && entry
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
                if file.is_empty()
                    || !valid_ident
                    || Path::new(file).is_absolute()
                    || file.contains("..")
                {
                    return Err(format!(
                        "handler `{handler}`: `{file}` must be a relative path and `{entry}` a function name"
                    ));
                }
                let candidates = match lang {
                    Language::Python => {
                        vec![PathBuf::from(format!("{}.py", file.replace('.', "/")))]
                    }
                    _ => ["js", "mjs", "cjs"]
                        .iter()
                        .map(|ext| PathBuf::from(format!("{file}.{ext}")))
                        .collect(),
                };
                Ok((candidates, entry.to_string()))
            }
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_files_per_language() {
        let (files, entry) = Runtime::Python312.handler_files("src/users.get").unwrap();
        assert_eq!(files, vec![PathBuf::from("src/users.py")]);
        assert_eq!(entry, "get");
        let (files, _) = Runtime::Python312.handler_files("pkg.mod.run").unwrap();
        assert_eq!(files, vec![PathBuf::from("pkg/mod.py")]);
        let (files, entry) = Runtime::Node22.handler_files("index.handler").unwrap();
        assert_eq!(files.len(), 3);
        assert_eq!(files[1], PathBuf::from("index.mjs"));
        assert_eq!(entry, "handler");
        assert!(Runtime::Python311
            .handler_files("nodot")
            .unwrap_err()
            .contains("file.function"));
        assert!(Runtime::Python311.handler_files("../x.y").is_err());
        assert!(Runtime::Provided.handler_files("bin/bootstrap").is_err());
        assert_eq!(
            Runtime::Provided.handler_files("bootstrap").unwrap().0,
            vec![PathBuf::from("bootstrap")]
        );
    }

    #[test]
    fn ids_round_trip() {
        for r in Runtime::ALL {
            assert_eq!(Runtime::parse(r.id()), Some(r));
        }
        assert_eq!(Runtime::parse("python2.7"), None);
    }
}
