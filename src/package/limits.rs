//! Provider size limits, checked before anything is compressed or uploaded.

use std::collections::BTreeMap;

use super::{Entry, PackageError};

/// Lambda accepts zips up to this size in the request; larger go through S3.
pub const AWS_DIRECT_UPLOAD_MAX: u64 = 50 * 1024 * 1024;
/// Lambda's limit for the unzipped function code (all layers included).
pub const AWS_UNZIPPED_MAX: u64 = 250 * 1024 * 1024;
/// Azure's limit for a run-from-package zip (classic Consumption).
pub const AZURE_RUN_FROM_PACKAGE_MAX: u64 = 1024 * 1024 * 1024;

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

/// `12.3 KiB`, `4.0 MiB`: binary units, because the clouds' limits are
/// binary ("250 MB" unzipped for Lambda is 250 × 1024² bytes), and printing
/// them in decimal would show 262.1 where the documentation says 250.
pub fn human_size(bytes: u64) -> String {
    const K: f64 = 1024.0;
    let b = bytes as f64;
    if b < K {
        format!("{bytes} B")
    } else if b < K * K {
        format!("{:.1} KiB", b / K)
    } else if b < K * K * K {
        format!("{:.1} MiB", b / (K * K))
    } else {
        format!("{:.2} GiB", b / (K * K * K))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

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
            e("node_modules/aws-sdk/a.js", 120 * MIB),
            e("node_modules/aws-sdk/b.js", 10 * MIB),
            e("node_modules/tiny/x.js", 1024),
            e("data/blob.bin", 80 * MIB),
            e("index.js", 500),
        ];
        let err = check_unzipped(
            "api",
            &entries,
            &Limits {
                provider: "AWS Lambda",
                max_unzipped: 100 * MIB,
            },
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "function `api`: package is 210.0 MiB unzipped, over AWS Lambda's 100.0 MiB limit; largest: node_modules/aws-sdk/ (130.0 MiB), data/ (80.0 MiB), node_modules/tiny/ (1.0 KiB), index.js (500 B)"
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
