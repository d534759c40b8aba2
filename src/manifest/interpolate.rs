//! `${env:VAR}`, `${env:VAR:-default}`, `${app}` and `${stage}` expansion in
//! manifest strings.
//!
//! Expansion runs on the parsed tree, before any value is interpreted, so a
//! variable can supply any string: a region, a bucket name, a secret. `$${`
//! writes a literal `${`. Unknown sources and unset variables without a
//! default are errors located at the `${...}` that caused them: silently
//! deploying an empty string is how production outages start.
//!
//! `${app}` is the app's name (`[app].name` of the selected stage's merged
//! tree, after its own `${env:...}` expansion) and `${stage}` the selected
//! stage, so a name the user owns and the cloud keeps global (an S3 bucket
//! with `create = true`) can differ per stage: `${app}-${stage}-uploads`.
//! Both are errors inside `[app].name` itself, where they could only repeat
//! what fnctl already puts in every name it derives.

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

/// What `${app}` or `${stage}` stands for where a string is expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin<'a> {
    /// Replaced by this value.
    Value(&'a str),
    /// Not known here (the app name is missing, not a string, or has an
    /// error of its own, each reported elsewhere): the reference is left as
    /// written and reported nowhere, so one problem is not reported twice.
    Unknown,
    /// Not allowed here (inside `[app].name`): an error at the reference.
    Forbidden,
}

/// Everything a reference can name.
#[derive(Clone, Copy)]
pub struct Vars<'a> {
    pub env: &'a dyn Environment,
    pub app: Builtin<'a>,
    pub stage: Builtin<'a>,
}

impl<'a> Vars<'a> {
    /// Environment variables only; `${app}` and `${stage}` are left as written.
    pub fn env_only(env: &'a dyn Environment) -> Self {
        Self {
            env,
            app: Builtin::Unknown,
            stage: Builtin::Unknown,
        }
    }
}

/// Expands every string value in the tree (the selected stage's merged
/// manifest) in place. `${stage}` is `stage`; `${app}` is the tree's
/// `[app].name`, itself expanded first (where `${app}` and `${stage}` are
/// errors).
pub fn expand_tree(
    root: &mut Spanned<DeValue<'_>>,
    source: &str,
    env: &dyn Environment,
    stage: &str,
    out: &mut Vec<Diagnostic>,
) {
    let in_name = Vars {
        env,
        app: Builtin::Forbidden,
        stage: Builtin::Forbidden,
    };
    // The name's own errors are reported when the walk reaches it.
    let app_name = app_name(root).and_then(|name| expand_with(name, &in_name).ok());
    let elsewhere = Vars {
        env,
        app: app_name.as_deref().map_or(Builtin::Unknown, Builtin::Value),
        stage: Builtin::Value(stage),
    };
    let DeValue::Table(table) = root.get_mut() else {
        expand_value(root, source, &elsewhere, out);
        return;
    };
    for (key, item) in table.iter_mut() {
        match (key.get_ref().as_ref(), item.get_mut()) {
            ("app", DeValue::Table(app)) => {
                for (key, item) in app.iter_mut() {
                    let vars = if key.get_ref() == "name" {
                        &in_name
                    } else {
                        &elsewhere
                    };
                    expand_value(item, source, vars, out);
                }
            }
            _ => expand_value(item, source, &elsewhere, out),
        }
    }
}

/// `[app].name` when it is a string.
fn app_name<'t>(root: &'t Spanned<DeValue<'_>>) -> Option<&'t str> {
    root.get_ref()
        .get("app")?
        .get_ref()
        .get("name")?
        .get_ref()
        .as_str()
}

/// Expands every string in one value, recursively.
fn expand_value(
    value: &mut Spanned<DeValue<'_>>,
    source: &str,
    vars: &Vars<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let span = value.span();
    match value.get_mut() {
        DeValue::String(s) if s.contains('$') => {
            let literal_start = literal_offset(source, span.clone(), s);
            match expand_with(s, vars) {
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
                expand_value(item, source, vars, out);
            }
        }
        DeValue::Table(table) => {
            for (_, item) in table.iter_mut() {
                expand_value(item, source, vars, out);
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

/// Every form a reference can take, for help lines.
const FORMS: &str = "`${env:NAME}`, `${env:NAME:-default}`, `${app}` or `${stage}`";

/// Expands environment variables in one string; `${app}` and `${stage}` are
/// left as written. Reports every bad reference in it.
pub fn expand(input: &str, env: &dyn Environment) -> Result<String, Vec<ExpandError>> {
    expand_with(input, &Vars::env_only(env))
}

/// Expands one string; reports every bad reference in it.
pub fn expand_with(input: &str, vars: &Vars<'_>) -> Result<String, Vec<ExpandError>> {
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
                help: Some(format!("write {FORMS}, or `$${{` for a literal `${{`")),
            });
            return Err(errors);
        };
        let inner = &after[2..close];
        let range = start..start + close + 1;
        match resolve(inner, vars) {
            Ok(Some(value)) => out.push_str(value.as_ref()),
            Ok(None) => out.push_str(&after[..=close]),
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

type Problem = (String, Option<String>);

/// The value of one reference (`inner` is the text between `${` and `}`);
/// `None` leaves the reference as written.
fn resolve<'v>(inner: &str, vars: &Vars<'v>) -> Result<Option<std::borrow::Cow<'v, str>>, Problem> {
    let builtin = match inner {
        "app" => Some(vars.app),
        "stage" => Some(vars.stage),
        _ => None,
    };
    if let Some(builtin) = builtin {
        return match builtin {
            Builtin::Value(v) => Ok(Some(v.into())),
            Builtin::Unknown => Ok(None),
            Builtin::Forbidden => Err((
                format!("`${{{inner}}}` cannot be used in `[app].name`"),
                Some(
                    "fnctl already puts the app and the stage in every name it derives \
                     (`shop-dev-orders`); write the app's own name, such as `shop`"
                        .into(),
                ),
            )),
        };
    }
    let Some(spec) = inner.strip_prefix("env:") else {
        let source = inner.split(':').next().unwrap_or(inner);
        if source == "app" || source == "stage" {
            return Err((
                format!("`${{{source}}}` takes no argument, found `${{{inner}}}`"),
                Some(format!("write `${{{source}}}`; the forms are {FORMS}")),
            ));
        }
        return Err((
            format!("unknown interpolation `${{{inner}}}`: `{source}` is not a source fnctl knows"),
            Some(format!("the forms fnctl knows are {FORMS}")),
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
    match (vars.env.var(name), default) {
        (Some(v), _) => Ok(Some(v.into())),
        (None, Some(d)) => Ok(Some(d.to_string().into())),
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
        expand_tree(&mut root, src, &env(), "dev", &mut out);
        assert_eq!(&src[out[0].span.clone()], "${env:MISSING}");
    }

    fn vars<'a>(
        env: &'a BTreeMap<String, String>,
        app: Builtin<'a>,
        stage: Builtin<'a>,
    ) -> Vars<'a> {
        Vars { env, app, stage }
    }

    /// Expands a whole manifest text for `stage`; the expanded tree and the
    /// diagnostics.
    fn expand_src<'s>(
        src: &'s str,
        stage: &str,
        env: &BTreeMap<String, String>,
    ) -> (Spanned<DeValue<'s>>, Vec<Diagnostic>) {
        let table = toml::de::DeTable::parse(src).unwrap();
        let mut root = Spanned::new(table.span(), DeValue::Table(table.into_inner()));
        let mut out = Vec::new();
        expand_tree(&mut root, src, env, stage, &mut out);
        (root, out)
    }

    /// The string at a dotted path (array items by index).
    fn string_at(root: &Spanned<DeValue<'_>>, path: &str) -> String {
        let mut at = root;
        for part in path.split('.') {
            at = match (at.get_ref(), part.parse::<usize>()) {
                (DeValue::Array(items), Ok(i)) => &items[i],
                (value, _) => value
                    .get(part)
                    .unwrap_or_else(|| panic!("no `{part}` in {path}")),
            };
        }
        at.get_ref().as_str().unwrap().to_string()
    }

    #[test]
    fn app_and_stage_expand_in_one_string() {
        let env = env();
        let v = vars(&env, Builtin::Value("shop"), Builtin::Value("prod"));
        assert_eq!(
            expand_with("${app}-${stage}-uploads", &v).unwrap(),
            "shop-prod-uploads"
        );
        assert_eq!(
            expand_with("$${app}-$${stage}", &v).unwrap(),
            "${app}-${stage}",
            "`$${{` still writes a literal `${{`"
        );
        assert_eq!(
            expand_with("${app}-${env:REGION}", &v).unwrap(),
            "shop-eu-west-1"
        );
        let unknown = vars(&env, Builtin::Unknown, Builtin::Value("dev"));
        assert_eq!(
            expand_with("${app}-${stage}", &unknown).unwrap(),
            "${app}-dev",
            "an unknown app name is left as written, with no error of its own"
        );
        assert_eq!(
            expand("${app}-${stage}", &env).unwrap(),
            "${app}-${stage}",
            "environment-only expansion leaves them alone"
        );
    }

    #[test]
    fn builtins_take_no_argument_and_unknown_sources_list_every_form() {
        let env = env();
        let v = vars(&env, Builtin::Value("shop"), Builtin::Value("dev"));
        let errs = expand_with("a-${app:x}-${stage:-dev}-${ssm:y}", &v).unwrap_err();
        assert_eq!(errs.len(), 3);
        assert_eq!(errs[0].range, 2..10);
        assert_eq!(
            errs[0].message,
            "`${app}` takes no argument, found `${app:x}`"
        );
        assert_eq!(errs[1].range, 11..24);
        assert!(errs[1].message.starts_with("`${stage}` takes no argument"));
        assert_eq!(
            errs[2].message,
            "unknown interpolation `${ssm:y}`: `ssm` is not a source fnctl knows"
        );
        let help = errs[2].help.as_deref().unwrap();
        for form in [
            "`${env:NAME}`",
            "`${env:NAME:-default}`",
            "`${app}`",
            "`${stage}`",
        ] {
            assert!(help.contains(form), "{form} missing from: {help}");
        }
        let unclosed = expand_with("${app", &v).unwrap_err();
        assert!(unclosed[0].help.as_deref().unwrap().contains("`${app}`"));
    }

    #[test]
    fn tree_expands_app_and_stage_for_the_selected_stage() {
        let src = r#"
[app]
name = "shop"
env = { BUCKET = "${app}-${stage}-uploads" }
[functions.f]
handler = "app.handler"
[[functions.f.triggers]]
type = "storage"
bucket = "${app}-${stage}-uploads"
create = true
"#;
        for stage in ["dev", "prod"] {
            let (root, out) = expand_src(src, stage, &env());
            assert!(out.is_empty(), "{out:?}");
            let want = format!("shop-{stage}-uploads");
            assert_eq!(string_at(&root, "functions.f.triggers.0.bucket"), want);
            assert_eq!(
                string_at(&root, "app.env.BUCKET"),
                want,
                "other `[app]` keys expand"
            );
            assert_eq!(string_at(&root, "app.name"), "shop");
        }
    }

    #[test]
    fn app_is_the_name_after_its_own_env_expansion() {
        let src = "[app]\nname = \"${env:APP:-shop}\"\n[x]\nb = \"${app}-${stage}\"\n";
        let (root, out) = expand_src(src, "dev", &env());
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(string_at(&root, "x.b"), "shop-dev");
        let mut set = env();
        set.insert("APP".into(), "store".into());
        let (root, _) = expand_src(src, "prod", &set);
        assert_eq!(string_at(&root, "app.name"), "store");
        assert_eq!(string_at(&root, "x.b"), "store-prod");
    }

    #[test]
    fn app_and_stage_inside_the_app_name_are_errors_at_the_reference() {
        let src = "[app]\nname = \"x-${app}-${stage}\"\n[x]\nb = \"${app}-${stage}\"\n";
        let (root, out) = expand_src(src, "dev", &env());
        let located: Vec<&str> = out.iter().map(|d| &src[d.span.clone()]).collect();
        assert_eq!(
            located,
            ["${app}", "${stage}"],
            "one error per reference in the name, none for its uses elsewhere: {out:?}"
        );
        assert_eq!(out[0].message, "`${app}` cannot be used in `[app].name`");
        assert_eq!(out[1].message, "`${stage}` cannot be used in `[app].name`");
        assert!(out[0].help.as_deref().unwrap().contains("already"));
        assert_eq!(string_at(&root, "x.b"), "${app}-dev");
    }

    #[test]
    fn a_bad_reference_in_the_app_name_is_reported_once() {
        let src = "[app]\nname = \"${env:MISSING}\"\n[x]\nb = \"${app}\"\n";
        let (_, out) = expand_src(src, "dev", &env());
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(&src[out[0].span.clone()], "${env:MISSING}");
    }

    #[test]
    fn a_missing_or_non_string_app_name_leaves_app_alone() {
        for src in [
            "[x]\nb = \"${app}-${stage}\"\n",
            "[app]\nruntime = \"python3.12\"\n[x]\nb = \"${app}-${stage}\"\n",
            "[app]\nname = 5\n[x]\nb = \"${app}-${stage}\"\n",
            "app = \"shop\"\n[x]\nb = \"${app}-${stage}\"\n",
        ] {
            let (root, out) = expand_src(src, "dev", &env());
            assert!(out.is_empty(), "{src}: {out:?}");
            assert_eq!(string_at(&root, "x.b"), "${app}-dev", "{src}");
        }
    }
}
