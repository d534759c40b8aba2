//! The manifest's JSON Schema, and a structural checker that walks it.
//!
//! The schema is generated from the serde types in [`super::raw`]. Rather than
//! trust serde to report problems (it stops at the first one and has no
//! did-you-mean), the checker walks the parsed TOML tree against the very same
//! schema and reports *every* unknown key, wrong type, missing key and
//! out-of-range number with its span. Only the small subset of JSON Schema
//! that `schemars` emits for our types is understood: `$ref`, `type`,
//! `properties`, `additionalProperties`, `required`, `items`, `anyOf`,
//! tagged `oneOf`, `const`, `enum`, `minimum`/`maximum`.

use serde_json::{Map, Value};
use toml::de::DeValue;
use toml::Spanned;

use super::diagnostic::Diagnostic;
use super::raw::Manifest;
use crate::suggest::did_you_mean;

/// The schema `fnctl schema` prints, and editors use for completion.
pub fn manifest_schema() -> Value {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<Manifest>();
    let mut value = schema.to_value();
    drop_null(&mut value);
    add_stage_schema(&mut value);
    value
}

/// TOML has no null: an absent key is how a value is left out, so the
/// `null` alternatives schemars adds for `Option` fields are removed.
fn drop_null(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types[0].clone();
                    map.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(branches)) = map.get_mut("anyOf") {
                branches.retain(|b| b.get("type").and_then(Value::as_str) != Some("null"));
                if branches.len() == 1 {
                    let only = branches.remove(0);
                    map.remove("anyOf");
                    if let Value::Object(inner) = only {
                        for (k, v) in inner {
                            map.entry(k).or_insert(v);
                        }
                    }
                }
            }
            map.values_mut().for_each(drop_null);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null),
        _ => {}
    }
}

/// Names of the definitions a stage may override; in a stage, all their keys
/// are optional because the stage is merged over the base manifest.
const STAGE_PARTIALS: &[&str] = &[
    "AppSection",
    "ProvidersSection",
    "AwsSection",
    "AzureSection",
    "FunctionSection",
    "ResourceSection",
];

/// Describes `[stages.NAME]` as a copy of the top level with nothing required.
fn add_stage_schema(root: &mut Value) {
    let Some(defs) = root.get("$defs").and_then(Value::as_object).cloned() else {
        return;
    };
    let mut partial_defs = Map::new();
    for name in STAGE_PARTIALS {
        if let Some(def) = defs.get(*name) {
            let mut copy = def.clone();
            relax(&mut copy);
            partial_defs.insert(format!("Partial{name}"), copy);
        }
    }
    let mut stage = serde_json::json!({
        "description": "Overrides merged over the top level when this stage is selected. Tables merge key by key; arrays (such as triggers) replace.",
        "type": "object",
        "properties": {},
        "additionalProperties": false,
    });
    if let Some(props) = root.get("properties").and_then(Value::as_object) {
        let mut stage_props = props.clone();
        stage_props.remove("stages");
        let mut stage_props = Value::Object(stage_props);
        relax(&mut stage_props);
        stage["properties"] = stage_props;
    }
    let defs_mut = root["$defs"].as_object_mut().expect("checked above");
    defs_mut.extend(partial_defs);
    defs_mut.insert("Stage".into(), stage);
    root["properties"]["stages"] = serde_json::json!({
        "description": root["properties"]["stages"]["description"].clone(),
        "type": "object",
        "additionalProperties": { "$ref": "#/$defs/Stage" },
    });
}

/// Drops `required` and points references at the partial definitions.
fn relax(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("required");
            if let Some(Value::String(r)) = map.get_mut("$ref") {
                for name in STAGE_PARTIALS {
                    if r == &format!("#/$defs/{name}") {
                        *r = format!("#/$defs/Partial{name}");
                    }
                }
            }
            for v in map.values_mut() {
                relax(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(relax),
        _ => {}
    }
}

/// What the structural check found.
#[derive(Debug, Default)]
pub struct Checked {
    pub diagnostics: Vec<Diagnostic>,
    /// True when every problem is an unknown key: the tree can still be
    /// deserialised (serde skips those keys), so later checks can run too.
    pub only_unknown_keys: bool,
}

/// Checks a parsed (and stage-merged) manifest tree against the schema.
pub fn check(root: &Spanned<DeValue<'_>>, schema: &Value) -> Checked {
    let mut walker = Walker {
        defs: schema.get("$defs").and_then(Value::as_object),
        out: Vec::new(),
        fatal: 0,
    };
    // Stages are checked one by one after merging, not as raw tables here.
    walker.value(root, schema, &Path::root(), Some("stages"));
    Checked {
        only_unknown_keys: walker.fatal == 0,
        diagnostics: walker.out,
    }
}

/// Dotted location of a value, for messages (`functions.api.triggers[0]`).
#[derive(Clone)]
struct Path(String);

impl Path {
    fn root() -> Self {
        Path(String::new())
    }
    fn key(&self, key: &str) -> Self {
        let bare = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let key = if bare {
            key.to_string()
        } else {
            format!("\"{key}\"")
        };
        if self.0.is_empty() {
            Path(key)
        } else {
            Path(format!("{}.{}", self.0, key))
        }
    }
    fn index(&self, i: usize) -> Self {
        Path(format!("{}[{}]", self.0, i))
    }
    fn describe(&self) -> String {
        if self.0.is_empty() {
            "the top level".into()
        } else {
            format!("`{}`", self.0)
        }
    }
}

struct Walker<'s> {
    defs: Option<&'s Map<String, Value>>,
    out: Vec<Diagnostic>,
    /// Problems other than unknown keys.
    fatal: usize,
}

/// The JSON type name of a TOML value, as schema `type` spells it.
fn json_type(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "string",
        DeValue::Integer(_) => "integer",
        DeValue::Float(_) => "number",
        DeValue::Boolean(_) => "boolean",
        DeValue::Datetime(_) => "datetime",
        DeValue::Array(_) => "array",
        DeValue::Table(_) => "object",
    }
}

/// How the user would call a type, in TOML words.
fn toml_word(json: &str) -> &'static str {
    match json {
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "a boolean (true or false)",
        "datetime" => "a date-time",
        "array" => "an array",
        "object" => "a table",
        _ => "a value",
    }
}

fn types_of(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn accepts(types: &[&str], actual: &str) -> bool {
    types.is_empty()
        || types.contains(&actual)
        || (actual == "integer" && types.contains(&"number"))
}

impl<'s> Walker<'s> {
    fn fatal(&mut self, d: Diagnostic) {
        self.fatal += 1;
        self.out.push(d);
    }

    fn resolve(&self, mut schema: &'s Value) -> &'s Value {
        // References only ever point into `$defs`; follow a bounded chain.
        for _ in 0..16 {
            let Some(r) = schema.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let name = r.trim_start_matches("#/$defs/");
            match self.defs.and_then(|d| d.get(name)) {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }

    fn value(
        &mut self,
        v: &Spanned<DeValue<'_>>,
        schema: &'s Value,
        path: &Path,
        skip_key: Option<&str>,
    ) {
        let schema = self.resolve(schema);
        if let Some(variants) = schema.get("oneOf").and_then(Value::as_array) {
            return self.tagged(v, variants, path);
        }
        if let Some(branches) = schema.get("anyOf").and_then(Value::as_array) {
            return self.any_of(v, branches, path);
        }
        let actual = json_type(v.get_ref());
        let types = types_of(schema);
        if !accepts(&types, actual) {
            let expected: Vec<&str> = types.iter().map(|t| toml_word(t)).collect();
            self.fatal(
                Diagnostic::new(
                    v.span(),
                    format!(
                        "{} must be {}, found {}",
                        path.describe(),
                        expected.join(" or "),
                        toml_word(actual)
                    ),
                )
                .with_label(format!("expected {}", expected.join(" or "))),
            );
            return;
        }
        match v.get_ref() {
            DeValue::Table(table) => self.table(v, table, schema, path, skip_key),
            DeValue::Array(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.value(item, item_schema, &path.index(i), None);
                    }
                }
            }
            DeValue::Integer(i) => self.integer(v, i, schema, path),
            DeValue::String(s) => self.string(v, s, schema, path),
            _ => {}
        }
    }

    fn integer(
        &mut self,
        v: &Spanned<DeValue<'_>>,
        i: &toml::de::DeInteger<'_>,
        schema: &Value,
        path: &Path,
    ) {
        let Ok(n) = i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()) else {
            self.fatal(Diagnostic::new(
                v.span(),
                format!("{} is not a valid integer", path.describe()),
            ));
            return;
        };
        let min = schema.get("minimum").and_then(Value::as_i64);
        let mut max = schema.get("maximum").and_then(Value::as_i64);
        if schema.get("format").and_then(Value::as_str) == Some("uint32") {
            max = Some(max.unwrap_or(i64::from(u32::MAX)));
        }
        if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
            let range = match (min, max) {
                (Some(a), Some(b)) => format!("{a} to {b}"),
                (Some(a), None) => format!("at least {a}"),
                (None, Some(b)) => format!("at most {b}"),
                (None, None) => unreachable!("a bound was violated"),
            };
            self.fatal(
                Diagnostic::new(
                    v.span(),
                    format!("{} is {n}, outside {range}", path.describe()),
                )
                .with_label(format!("must be {range}")),
            );
        }
    }

    fn string(&mut self, v: &Spanned<DeValue<'_>>, s: &str, schema: &Value, path: &Path) {
        let allowed: Vec<&str> = match (schema.get("const"), schema.get("enum")) {
            (Some(Value::String(c)), _) => vec![c.as_str()],
            (_, Some(Value::Array(vals))) => vals.iter().filter_map(Value::as_str).collect(),
            _ => return,
        };
        if !allowed.contains(&s) {
            self.fatal(
                Diagnostic::new(v.span(), format!("{} cannot be `{s}`", path.describe()))
                    .with_label(format!("expected one of: {}", allowed.join(", ")))
                    .with_help_opt(did_you_mean(s, allowed.iter().copied())),
            );
        }
    }

    fn table(
        &mut self,
        v: &Spanned<DeValue<'_>>,
        table: &toml::de::DeTable<'_>,
        schema: &'s Value,
        path: &Path,
        skip_key: Option<&str>,
    ) {
        let props = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        for (key, value) in table.iter() {
            let name = key.get_ref().as_ref();
            if Some(name) == skip_key {
                continue;
            }
            let child = path.key(name);
            if let Some(prop) = props.and_then(|p| p.get(name)) {
                self.value(value, prop, &child, None);
                continue;
            }
            match additional {
                Some(Value::Bool(false)) => {
                    let known: Vec<&str> = props
                        .map(|p| p.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    let help = did_you_mean(name, known.iter().copied()).or_else(|| {
                        (!known.is_empty()).then(|| format!("valid keys: {}", known.join(", ")))
                    });
                    let place = if path.0.is_empty() {
                        "at the top level".to_string()
                    } else {
                        format!("in {}", path.describe())
                    };
                    self.out.push(
                        Diagnostic::new(key.span(), format!("unknown key `{name}` {place}"))
                            .with_label("not a known key")
                            .with_help_opt(help),
                    );
                }
                Some(extra @ Value::Object(_)) => self.value(value, extra, &child, None),
                _ => {}
            }
        }
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if !table.contains_key(name) {
                    self.fatal(
                        Diagnostic::new(
                            v.span(),
                            format!("{} is missing the required key `{name}`", path.describe()),
                        )
                        .with_label(format!("add `{name} = ...` here")),
                    );
                }
            }
        }
    }

    /// `oneOf` as schemars emits it for `#[serde(tag = "...")]` enums: every
    /// variant has one property with a `const`, which selects the variant.
    fn tagged(&mut self, v: &Spanned<DeValue<'_>>, variants: &'s [Value], path: &Path) {
        let tag_of = |variant: &'s Value| -> Option<(&'s str, &'s str)> {
            let variant = self.resolve(variant);
            variant
                .get("properties")?
                .as_object()?
                .iter()
                .find_map(|(k, p)| Some((k.as_str(), p.get("const")?.as_str()?)))
        };
        let tags: Vec<(&str, &str, &Value)> = variants
            .iter()
            .filter_map(|var| tag_of(var).map(|(k, c)| (k, c, var)))
            .collect();
        let Some(&(tag_key, _, _)) = tags.first() else {
            return;
        };
        let names: Vec<&str> = tags.iter().map(|t| t.1).collect();
        let DeValue::Table(table) = v.get_ref() else {
            self.fatal(Diagnostic::new(
                v.span(),
                format!(
                    "{} must be a table, found {}",
                    path.describe(),
                    toml_word(json_type(v.get_ref()))
                ),
            ));
            return;
        };
        let Some(tag_value) = table.get(tag_key) else {
            self.fatal(
                Diagnostic::new(v.span(), format!("{} has no `{tag_key}`", path.describe()))
                    .with_help(format!(
                        "add `{tag_key} = \"...\"`, one of: {}",
                        names.join(", ")
                    )),
            );
            return;
        };
        let chosen = tag_value
            .get_ref()
            .as_str()
            .and_then(|s| tags.iter().find(|t| t.1 == s));
        match chosen {
            Some(&(_, _, variant)) => self.value(v, variant, path, None),
            None => {
                let shown = tag_value.get_ref().as_str().unwrap_or("?");
                self.fatal(
                    Diagnostic::new(
                        tag_value.span(),
                        format!("{} has unknown {tag_key} `{shown}`", path.describe()),
                    )
                    .with_label(format!("expected one of: {}", names.join(", ")))
                    .with_help_opt(did_you_mean(shown, names.iter().copied())),
                );
            }
        }
    }

    /// `anyOf` (untagged enums): the first branch whose type fits is checked.
    fn any_of(&mut self, v: &Spanned<DeValue<'_>>, branches: &'s [Value], path: &Path) {
        let actual = json_type(v.get_ref());
        let mut expected = Vec::new();
        for branch in branches {
            let resolved = self.resolve(branch);
            let types = types_of(resolved);
            if accepts(&types, actual) && !types.is_empty() {
                return self.value(v, branch, path, None);
            }
            expected.extend(types.into_iter().map(toml_word));
        }
        expected.dedup();
        self.fatal(
            Diagnostic::new(
                v.span(),
                format!(
                    "{} must be {}, found {}",
                    path.describe(),
                    expected.join(" or "),
                    toml_word(actual)
                ),
            )
            .with_label(format!("expected {}", expected.join(" or "))),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml::de::DeTable;

    fn problems(src: &str) -> Vec<String> {
        let root = DeTable::parse(src).expect("test input parses");
        let root = Spanned::new(root.span(), DeValue::Table(root.into_inner()));
        check(&root, &manifest_schema())
            .diagnostics
            .into_iter()
            .map(|d| format!("{}:{} {}", d.span.start, d.span.end, d.message))
            .collect()
    }

    #[test]
    fn valid_minimal_manifest_has_no_problems() {
        assert_eq!(problems("[app]\nname = \"x\"\n"), Vec::<String>::new());
    }

    #[test]
    fn unknown_key_is_located_with_suggestion() {
        let src = "[app]\nname = \"x\"\n[functions.a]\nmemroy = 3\n";
        let root = DeTable::parse(src).unwrap();
        let root = Spanned::new(root.span(), DeValue::Table(root.into_inner()));
        let checked = check(&root, &manifest_schema());
        assert!(checked.only_unknown_keys);
        let d = checked.diagnostics;
        assert_eq!(d.len(), 1);
        assert_eq!(&src[d[0].span.clone()], "memroy");
        assert_eq!(d[0].message, "unknown key `memroy` in `functions.a`");
        assert_eq!(d[0].help.as_deref(), Some("did you mean `memory`?"));
    }

    #[test]
    fn reports_every_problem_not_just_the_first() {
        let src = "[app]\nname = 1\nruntime = true\n[functions.a]\nmemory = -1\n[[functions.a.triggers]]\ntype = \"htp\"\n";
        let p = problems(src);
        assert_eq!(p.len(), 4, "{p:#?}");
        assert!(p[0].ends_with("`app.name` must be a string, found an integer"));
        assert!(p[1].ends_with("`app.runtime` must be a string, found a boolean (true or false)"));
        assert!(p[2].ends_with("`functions.a.memory` is -1, outside 0 to 4294967295"));
        assert!(p[3].ends_with("`functions.a.triggers[0]` has unknown type `htp`"));
    }

    #[test]
    fn missing_required_key_and_tag() {
        let p = problems("[app]\n[[functions.a.triggers]]\nmethod = \"GET\"\n");
        assert!(
            p[0].ends_with("`app` is missing the required key `name`"),
            "{p:?}"
        );
        assert!(
            p[1].ends_with("`functions.a.triggers[0]` has no `type`"),
            "{p:?}"
        );
    }

    #[test]
    fn untagged_union_accepts_either_branch_and_names_both_when_neither() {
        let ok = "[app]\nname='x'\n[[functions.a.triggers]]\ntype='http'\npath='/'\nmethod=['GET','POST']\n";
        assert!(problems(ok).is_empty());
        let bad = "[app]\nname='x'\n[[functions.a.triggers]]\ntype='http'\npath='/'\nmethod=3\n";
        let p = problems(bad);
        assert_eq!(p.len(), 1);
        assert!(
            p[0].ends_with("must be a string or an array, found an integer"),
            "{p:?}"
        );
    }

    #[test]
    fn stage_schema_makes_everything_optional() {
        let schema = manifest_schema();
        let partial = &schema["$defs"]["PartialAzureSection"];
        assert!(partial.get("required").is_none());
        assert!(schema["$defs"]["AzureSection"].get("required").is_some());
        assert_eq!(
            schema["properties"]["stages"]["additionalProperties"]["$ref"],
            "#/$defs/Stage"
        );
    }
}
