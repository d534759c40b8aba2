//! "Did you mean" hints for misspelled keys, values and names.

/// Suggests the closest candidate when it is close enough to be a likely typo.
///
/// Jaro-Winkler favours shared prefixes, which matches how keys are usually
/// mistyped (`memroy`, `handlr`); the threshold keeps unrelated words out.
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_close_words_only() {
        let keys = ["runtime", "handler", "memory", "timeout"];
        assert_eq!(did_you_mean("memroy", keys).as_deref(), Some("did you mean `memory`?"));
        assert_eq!(did_you_mean("handlr", keys).as_deref(), Some("did you mean `handler`?"));
        assert_eq!(did_you_mean("zzz", keys), None);
        assert_eq!(did_you_mean("x", []), None);
    }
}
