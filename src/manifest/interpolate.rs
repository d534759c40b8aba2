//! `${env:VAR}` and `${env:VAR:-default}` expansion in manifest strings.
//!
//! Expansion runs on the parsed tree, before any value is interpreted, so a
//! variable can supply any string: a region, a bucket name, a secret. `$${`
//! writes a literal `${`. Unknown sources and unset variables without a
//! default are errors located at the `${...}` that caused them: silently
//! deploying an empty string is how production outages start.

use std::ops::Range;

use toml::de::DeValue;
use toml::Spanned;

use super::diagnostic::Diagnostic;

/// Where variable values come from; the process environment in production,
/// a map in tests.
pub trait Environment {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Environment for std::collections::BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// Expands every string value in the tree in place.
pub fn expand_tree(
    value: &mut Spanned<DeValue<'_>>,
    source: &str,
    env: &dyn Environment,
    out: &mut Vec<Diagnostic>,
) {
    let span = value.span();
    match value.get_mut() {
        DeValue::String(s) if s.contains('$') => {
            let literal_start = literal_offset(source, span.clone(), s);
            match expand(s, env) {
                Ok(expanded) => *s = expanded.into(),
                Err(errors) => out.extend(errors.into_iter().map(|e| {
                    let span = match literal_start {
                        Some(start) => start + e.range.start..start + e.range.end,
                        None => span.clone(),
                    };
                    Diagnostic::new(span, e.message).with_help_opt(e.help)
                })),
            }
        }
        DeValue::Array(items) => {
            for item in items.iter_mut() {
                expand_tree(item, source, env, out);
            }
        }
        DeValue::Table(table) => {
            for (_, item) in table.iter_mut() {
                expand_tree(item, source, env, out);
            }
        }
        _ => {}
    }
}

/// Byte offset in the source where the decoded string's text starts, when
/// the literal has no escapes (so offsets inside it map one to one).
fn literal_offset(source: &str, span: Range<usize>, decoded: &str) -> Option<usize> {
    let raw = source.get(span.clone())?;
    for quote in ["\"\"\"", "'''", "\"", "'"] {
        if let Some(inner) = raw.strip_prefix(quote).and_then(|r| r.strip_suffix(quote)) {
            return (inner == decoded).then_some(span.start + quote.len());
        }
    }
    None
}

/// A problem inside one string, located relative to that string.
#[derive(Debug, PartialEq, Eq)]
pub struct ExpandError {
    pub range: Range<usize>,
    pub message: String,
    pub help: Option<String>,
}

/// Expands one string; reports every bad reference in it.
pub fn expand(input: &str, env: &dyn Environment) -> Result<String, Vec<ExpandError>> {
    let mut out = String::with_capacity(input.len());
    let mut errors = Vec::new();
    let mut rest = input;
    let mut offset = 0;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
            offset += pos + 3;
            continue;
        }
        if !after.starts_with("${") {
            out.push('$');
            rest = &after[1..];
            offset += pos + 1;
            continue;
        }
        let start = offset + pos;
        let Some(close) = after.find('}') else {
            errors.push(ExpandError {
                range: start..offset + rest.len(),
                message: "`${` is not closed by `}`".into(),
                help: Some("write `${env:NAME}`, or `$${` for a literal `${`".into()),
            });
            return Err(errors);
        };
        let inner = &after[2..close];
        let range = start..start + close + 1;
        match resolve(inner, env) {
            Ok(value) => out.push_str(&value),
            Err((message, help)) => errors.push(ExpandError {
                range,
                message,
                help,
            }),
        }
        rest = &after[close + 1..];
        offset += pos + close + 1;
    }
    out.push_str(rest);
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn resolve(inner: &str, env: &dyn Environment) -> Result<String, (String, Option<String>)> {
    let Some(spec) = inner.strip_prefix("env:") else {
        let source = inner.split(':').next().unwrap_or(inner);
        return Err((
            format!("unknown interpolation `${{{inner}}}`: `{source}` is not a source fnctl knows"),
            Some("only environment variables can be referenced: `${env:NAME}` or `${env:NAME:-default}`".into()),
        ));
    };
    let (name, default) = match spec.split_once(":-") {
        Some((n, d)) => (n, Some(d)),
        None => (spec, None),
    };
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err((
            format!("`{name}` is not a valid environment variable name"),
            Some("use letters, digits and `_`, not starting with a digit".into()),
        ));
    }
    match (env.var(name), default) {
        (Some(v), _) => Ok(v),
        (None, Some(d)) => Ok(d.to_string()),
        (None, None) => Err((
            format!("environment variable `{name}` is not set"),
            Some(format!(
                "set `{name}`, or give a default: `${{env:{name}:-value}}`"
            )),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("REGION".into(), "eu-west-1".into()),
            ("EMPTY".into(), String::new()),
        ])
    }

    #[test]
    fn expands_set_variables_and_defaults() {
        assert_eq!(expand("${env:REGION}", &env()).unwrap(), "eu-west-1");
        assert_eq!(expand("a-${env:NOPE:-b}-c", &env()).unwrap(), "a-b-c");
        assert_eq!(
            expand("${env:EMPTY:-x}", &env()).unwrap(),
            "",
            "set-but-empty wins over the default"
        );
        assert_eq!(
            expand("cost $5 $${literal}", &env()).unwrap(),
            "cost $5 ${literal}"
        );
    }

    #[test]
    fn reports_each_bad_reference_with_its_range() {
        let errs = expand("${env:A} and ${self:x} and ${env:1x}", &env()).unwrap_err();
        assert_eq!(errs.len(), 3);
        assert_eq!(errs[0].range, 0..8);
        assert_eq!(errs[0].message, "environment variable `A` is not set");
        assert_eq!(errs[1].range, 13..22);
        assert!(errs[1].message.contains("`self` is not a source"));
        assert_eq!(
            errs[2].message,
            "`1x` is not a valid environment variable name"
        );
    }

    #[test]
    fn unterminated_reference_is_an_error() {
        let errs = expand("abc ${env:X", &env()).unwrap_err();
        assert_eq!(errs[0].range, 4..11);
    }

    #[test]
    fn tree_errors_point_inside_the_literal() {
        let src = "a = \"x-${env:MISSING}\"\n";
        let table = toml::de::DeTable::parse(src).unwrap();
        let mut root = Spanned::new(table.span(), DeValue::Table(table.into_inner()));
        let mut out = Vec::new();
        expand_tree(&mut root, src, &env(), &mut out);
        assert_eq!(&src[out[0].span.clone()], "${env:MISSING}");
    }
}
