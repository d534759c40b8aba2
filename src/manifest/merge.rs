//! Merging a `[stages.NAME]` table over the base manifest.
//!
//! Tables merge key by key, everything else (strings, numbers, arrays such as
//! `triggers`) is replaced whole: replacing a list is predictable, while
//! appending to one makes it impossible to remove an item in a stage. Merged
//! values keep their own spans, so an error in a stage override points into
//! the stage section.

use toml::de::DeValue;
use toml::Spanned;

/// Returns `base` with `overlay` merged over it.
pub fn merge<'i>(
    base: &Spanned<DeValue<'i>>,
    overlay: &Spanned<DeValue<'i>>,
) -> Spanned<DeValue<'i>> {
    match (base.get_ref(), overlay.get_ref()) {
        (DeValue::Table(b), DeValue::Table(o)) => {
            let mut merged = b.clone();
            for (key, value) in o.iter() {
                let combined = match merged.get(key.get_ref().as_ref()) {
                    Some(existing) => merge(existing, value),
                    None => value.clone(),
                };
                // Keep the base key (and its span) when it exists.
                if let Some(slot) = merged.get_mut(key.get_ref().as_ref()) {
                    *slot = combined;
                } else {
                    merged.insert(key.clone(), combined);
                }
            }
            Spanned::new(base.span(), DeValue::Table(merged))
        }
        _ => overlay.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml::de::DeTable;

    fn parse(src: &str) -> Spanned<DeValue<'_>> {
        let t = DeTable::parse(src).unwrap();
        Spanned::new(t.span(), DeValue::Table(t.into_inner()))
    }

    #[test]
    fn tables_merge_and_arrays_replace() {
        let base = parse("[app]\nname='a'\nmemory=128\n[functions.f]\ninclude=['a','b']\n");
        let stage = parse(
            "[app]\nmemory=512\n[functions.f]\ninclude=['c']\n[functions.g]\nhandler='x.y'\n",
        );
        let merged = merge(&base, &stage);
        let app = merged.get_ref().get("app").unwrap().get_ref();
        assert_eq!(app.get("name").unwrap().get_ref().as_str(), Some("a"));
        assert_eq!(
            app.get("memory")
                .unwrap()
                .get_ref()
                .as_integer()
                .unwrap()
                .as_str(),
            "512"
        );
        let f = merged
            .get_ref()
            .get("functions")
            .unwrap()
            .get_ref()
            .get("f")
            .unwrap()
            .get_ref();
        assert_eq!(
            f.get("include")
                .unwrap()
                .get_ref()
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert!(merged
            .get_ref()
            .get("functions")
            .unwrap()
            .get_ref()
            .get("g")
            .is_some());
    }
}
