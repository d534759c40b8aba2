//! "Did you mean" hints for misspelled keys, values and names.

/// Suggests the closest candidate when it is close enough to be a likely typo.
///
/// Two measures, because typos come in two shapes: Jaro-Winkler favours a
/// shared prefix (`memroy`, `handlr`), while the edit distance with
/// transpositions catches swapped letters in short words (`JNA` for `JAN`),
/// where Jaro-Winkler scores poorly. The thresholds keep unrelated words out.
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower = input.to_ascii_lowercase();
    let max_edits = (lower.chars().count() / 4).max(1);
    candidates
        .into_iter()
        .filter_map(|c| {
            let cand = c.to_ascii_lowercase();
            let edits = strsim::osa_distance(&lower, &cand);
            let similarity = strsim::jaro_winkler(&lower, &cand);
            (edits <= max_edits || similarity >= 0.8).then_some((edits, similarity, c))
        })
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(_, _, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_close_words_only() {
        let keys = ["runtime", "handler", "memory", "timeout"];
        assert_eq!(
            did_you_mean("memroy", keys).as_deref(),
            Some("did you mean `memory`?")
        );
        assert_eq!(
            did_you_mean("handlr", keys).as_deref(),
            Some("did you mean `handler`?")
        );
        assert_eq!(did_you_mean("zzz", keys), None);
        assert_eq!(
            did_you_mean("JNA", ["JAN", "FEB", "JUN"]).as_deref(),
            Some("did you mean `JAN`?")
        );
        assert_eq!(did_you_mean("x", []), None);
    }
}
