//! Deterministic resource names shared by the providers.
//!
//! "The cloud is the state": fnctl finds its resources again by name and tag,
//! so a name must be a pure function of app, stage and function. When a
//! cloud's limit is shorter than the natural name, the name is cut and a
//! short hash of the full name is appended, which keeps it unique and stable.

use sha2::{Digest, Sha256};

/// First `len` hex characters of sha256(`input`).
pub fn short_hash(input: &str, len: usize) -> String {
    let digest = hex::encode(Sha256::digest(input.as_bytes()));
    digest[..len.min(digest.len())].to_string()
}

/// `parts` joined by `sep`, cut to `max` characters with a hash suffix when longer.
pub fn bounded(parts: &[&str], sep: &str, max: usize) -> String {
    let full = parts.join(sep);
    if full.len() <= max {
        return full;
    }
    let hash = short_hash(&full, 8);
    let keep = max.saturating_sub(hash.len() + sep.len());
    let mut cut: String = full.chars().take(keep).collect();
    while cut.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
        cut.pop();
    }
    format!("{cut}{sep}{hash}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_names_are_stable_and_fit() {
        assert_eq!(bounded(&["a", "dev", "f"], "-", 64), "a-dev-f");
        let long = bounded(
            &[
                "averyveryverylongappname",
                "staging",
                "a-very-long-function-name-here-x",
                "1",
            ],
            "-",
            64,
        );
        assert!(long.len() <= 64, "{long}");
        assert_eq!(
            long,
            bounded(
                &[
                    "averyveryverylongappname",
                    "staging",
                    "a-very-long-function-name-here-x",
                    "1"
                ],
                "-",
                64
            )
        );
        assert_ne!(
            long,
            bounded(
                &[
                    "averyveryverylongappname",
                    "staging",
                    "a-very-long-function-name-here-x",
                    "2"
                ],
                "-",
                64
            )
        );
    }
}
