//! Language runtimes and what their handler strings mean.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// A language version fnctl knows.
///
/// Every version Lambda or Azure Functions runs today is here, and so are
/// the ones they retired recently: a manifest naming one gets the date and
/// the version to move to from the provider checks (`provider/*/checks.rs`,
/// which hold each cloud's support table) instead of "unknown runtime".
/// Which cloud runs which version is not the model's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Runtime {
    #[serde(rename = "python3.9")]
    Python39,
    #[serde(rename = "python3.10")]
    Python310,
    #[serde(rename = "python3.11")]
    Python311,
    #[serde(rename = "python3.12")]
    Python312,
    #[serde(rename = "python3.13")]
    Python313,
    #[serde(rename = "python3.14")]
    Python314,
    #[serde(rename = "nodejs18")]
    Node18,
    #[serde(rename = "nodejs20")]
    Node20,
    #[serde(rename = "nodejs22")]
    Node22,
    #[serde(rename = "nodejs24")]
    Node24,
    /// A compiled executable named by the handler (default `bootstrap`)
    /// that speaks the Lambda Runtime API (e.g. Rust with `lambda_runtime`).
    #[serde(rename = "provided")]
    Provided,
}

/// Whether a cloud runs a runtime, as its provider checks report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// Generally available.
    Runs,
    /// The cloud stopped running it; `when` says since when, in words.
    Retired { when: &'static str },
    /// Not generally available there (never offered, or only in preview).
    NotOffered,
}

/// The language family, which decides packaging and handler syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Python,
    Node,
    Binary,
}

impl Runtime {
    /// Oldest first within each language, so the last of a language is its newest.
    pub const ALL: [Runtime; 11] = [
        Runtime::Python39,
        Runtime::Python310,
        Runtime::Python311,
        Runtime::Python312,
        Runtime::Python313,
        Runtime::Python314,
        Runtime::Node18,
        Runtime::Node20,
        Runtime::Node22,
        Runtime::Node24,
        Runtime::Provided,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Runtime::Python39 => "python3.9",
            Runtime::Python310 => "python3.10",
            Runtime::Python311 => "python3.11",
            Runtime::Python312 => "python3.12",
            Runtime::Python313 => "python3.13",
            Runtime::Python314 => "python3.14",
            Runtime::Node18 => "nodejs18",
            Runtime::Node20 => "nodejs20",
            Runtime::Node22 => "nodejs22",
            Runtime::Node24 => "nodejs24",
            Runtime::Provided => "provided",
        }
    }

    /// Lambda's runtime identifier (`nodejs22.x`, `provided.al2023`).
    ///
    /// Most apps are written against Lambda first, so its spellings are
    /// accepted as aliases of fnctl's names (see [`Runtime::parse`]).
    pub fn lambda_id(self) -> &'static str {
        match self {
            Runtime::Node18 => "nodejs18.x",
            Runtime::Node20 => "nodejs20.x",
            Runtime::Node22 => "nodejs22.x",
            Runtime::Node24 => "nodejs24.x",
            Runtime::Provided => "provided.al2023",
            python => python.id(),
        }
    }

    /// fnctl's name or Lambda's (`nodejs22` or `nodejs22.x`).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.id() == s || r.lambda_id() == s)
    }

    /// The newest version of a language, for "did you mean".
    pub fn newest(lang: Language) -> Runtime {
        Self::ALL
            .into_iter()
            .rev()
            .find(|r| r.language() == lang)
            .unwrap_or(Runtime::Provided)
    }

    /// A "did you mean" for a runtime name fnctl does not know.
    ///
    /// A name that starts like a language (`python3.99`, `node16`,
    /// `nodejs26.x`) gets that language's newest version: the closest
    /// spelling would be an old one (`python3.9` for `python3.99`), which
    /// is the version least likely to be wanted. Anything else gets the
    /// closest spelling.
    pub fn suggest(input: &str) -> Option<String> {
        let lower = input.to_ascii_lowercase();
        let lang = if lower.starts_with("py") {
            Some(Language::Python)
        } else if lower.starts_with("node") || lower.starts_with("js") {
            Some(Language::Node)
        } else {
            None
        };
        match lang {
            Some(lang) => Some(format!("did you mean `{}`?", Self::newest(lang))),
            None => crate::suggest::did_you_mean(
                input,
                Self::ALL
                    .iter()
                    .flat_map(|r| [r.id(), r.lambda_id()])
                    .collect::<Vec<_>>(),
            ),
        }
    }

    /// Among `candidates` of this runtime's language, the version nearest to
    /// it, preferring the newer one when two are equally near (moving up is
    /// the way out of a retirement).
    pub fn nearest(self, candidates: impl IntoIterator<Item = Runtime>) -> Option<Runtime> {
        let index = |r: Runtime| Self::ALL.iter().position(|x| *x == r).unwrap_or(0) as i64;
        let me = index(self);
        candidates
            .into_iter()
            .filter(|c| *c != self && c.language() == self.language())
            .min_by_key(|c| ((index(*c) - me).abs(), -index(*c)))
    }

    pub fn language(self) -> Language {
        match self {
            Runtime::Python39
            | Runtime::Python310
            | Runtime::Python311
            | Runtime::Python312
            | Runtime::Python313
            | Runtime::Python314 => Language::Python,
            Runtime::Node18 | Runtime::Node20 | Runtime::Node22 | Runtime::Node24 => Language::Node,
            Runtime::Provided => Language::Binary,
        }
    }

    /// The language version (`3.12`, `20`); empty for `provided`.
    pub fn version(self) -> &'static str {
        match self {
            Runtime::Provided => "",
            r => r
                .id()
                .trim_start_matches("python")
                .trim_start_matches("nodejs"),
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

    #[test]
    fn lambda_spellings_are_aliases() {
        assert_eq!(Runtime::parse("nodejs18.x"), Some(Runtime::Node18));
        assert_eq!(Runtime::parse("nodejs20.x"), Some(Runtime::Node20));
        assert_eq!(Runtime::parse("nodejs22.x"), Some(Runtime::Node22));
        assert_eq!(Runtime::parse("nodejs24.x"), Some(Runtime::Node24));
        assert_eq!(Runtime::parse("provided.al2023"), Some(Runtime::Provided));
        assert_eq!(Runtime::parse("python3.14"), Some(Runtime::Python314));
        for r in Runtime::ALL {
            assert_eq!(Runtime::parse(r.lambda_id()), Some(r));
        }
        assert_eq!(Runtime::parse("nodejs22.y"), None);
    }

    #[test]
    fn versions() {
        assert_eq!(Runtime::Python310.version(), "3.10");
        assert_eq!(Runtime::Node24.version(), "24");
        assert_eq!(Runtime::Provided.version(), "");
    }

    #[test]
    fn did_you_mean_offers_the_newest_version() {
        assert_eq!(
            Runtime::suggest("python3.99").as_deref(),
            Some("did you mean `python3.14`?")
        );
        assert_eq!(
            Runtime::suggest("nodejs26.x").as_deref(),
            Some("did you mean `nodejs24`?")
        );
        assert_eq!(
            Runtime::suggest("provdied").as_deref(),
            Some("did you mean `provided`?")
        );
        assert_eq!(Runtime::suggest("ruby3.3"), None);
    }

    #[test]
    fn nearest_prefers_the_newer_of_two() {
        use Runtime::*;
        let aws = [Python312, Python313, Python314];
        assert_eq!(Python311.nearest(aws), Some(Python312));
        assert_eq!(Python39.nearest(aws), Some(Python312));
        let azure = [Python311, Python312, Python313];
        assert_eq!(Python314.nearest(azure), Some(Python313));
        assert_eq!(Python312.nearest([Python311, Python313]), Some(Python313));
        assert_eq!(Node20.nearest(aws), None);
    }
}
