//! Provider size limits, checked before anything is compressed or uploaded.

use std::collections::BTreeMap;

use super::{Entry, PackageError};

/// Lambda accepts zips up to this size in the request; larger go through S3.
pub const AWS_DIRECT_UPLOAD_MAX: u64 = 50 * 1024 * 1024;
/// Lambda's limit for the unzipped function code (all layers included).
pub const AWS_UNZIPPED_MAX: u64 = 250 * 1024 * 1024;

/// One provider's size limit.
#[derive(Debug, Clone)]
pub struct Limits {
    pub provider: &'static str,
    pub max_unzipped: u64,
}

/// Fails fast when the files alone exceed the unzipped limit, naming the
/// biggest contributors so the user knows what to exclude.
pub fn check_unzipped(
    function: &str,
    entries: &[Entry],
    limits: &Limits,
) -> Result<(), PackageError> {
    let total: u64 = entries.iter().map(|e| e.size).sum();
    if total <= limits.max_unzipped {
        return Ok(());
    }
    let largest = largest_groups(entries, 5)
        .into_iter()
        .map(|(group, size)| format!("{group} ({})", human_size(size)))
        .collect::<Vec<_>>()
        .join(", ");
    Err(PackageError::TooLarge {
        function: function.to_string(),
        provider: limits.provider,
        size: human_size(total),
        limit: human_size(limits.max_unzipped),
        largest,
    })
}

/// Sizes grouped by what a user would exclude: the top-level directory, or
/// the package itself under a dependency directory (`node_modules/aws-sdk`).
pub fn largest_groups(entries: &[Entry], n: usize) -> Vec<(String, u64)> {
    let mut groups: BTreeMap<String, u64> = BTreeMap::new();
    for e in entries {
        let parts: Vec<&str> = e.zip_path.split('/').collect();
        let depth = match parts.first() {
            Some(&"node_modules") | Some(&".python_packages") => {
                let site = parts
                    .iter()
                    .position(|p| *p == "site-packages")
                    .map(|i| i + 2)
                    .unwrap_or(2);
                site.min(parts.len())
            }
            _ => 1,
        };
        let mut key = parts[..depth].join("/");
        if depth < parts.len() {
            key.push('/');
        }
        *groups.entry(key).or_default() += e.size;
    }
    let mut sorted: Vec<(String, u64)> = groups.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    sorted.truncate(n);
    sorted
}

/// `12.3 KB`, `4.0 MB`: decimal units, as the clouds state their limits.
pub fn human_size(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 1e3 {
        format!("{bytes} B")
    } else if b < 1e6 {
        format!("{:.1} KB", b / 1e3)
    } else if b < 1e9 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.2} GB", b / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(path: &str, size: u64) -> Entry {
        Entry {
            zip_path: path.into(),
            disk_path: path.into(),
            size,
            executable: false,
        }
    }

    #[test]
    fn names_the_biggest_contributors() {
        let entries = vec![
            e("node_modules/aws-sdk/a.js", 120_000_000),
            e("node_modules/aws-sdk/b.js", 10_000_000),
            e("node_modules/tiny/x.js", 1_000),
            e("data/blob.bin", 80_000_000),
            e("index.js", 500),
        ];
        let err = check_unzipped(
            "api",
            &entries,
            &Limits {
                provider: "AWS Lambda",
                max_unzipped: 100_000_000,
            },
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "function `api`: package is 210.0 MB unzipped, over AWS Lambda's 100.0 MB limit; largest: node_modules/aws-sdk/ (130.0 MB), data/ (80.0 MB), node_modules/tiny/ (1.0 KB), index.js (500 B)"
        );
        assert!(check_unzipped(
            "api",
            &entries[4..],
            &Limits {
                provider: "AWS Lambda",
                max_unzipped: 1000
            }
        )
        .is_ok());
    }
}
