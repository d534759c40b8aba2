//! The AWS resources an app maps to, with the attributes fnctl owns.
//!
//! Attributes are exactly what a later live read is compared with, so they
//! use AWS's own vocabulary (runtime ids, event names, expressions) and leave
//! out anything only the cloud knows (ARNs with account ids, versions).
//!
//! Each kind's resources are built in its own module under
//! [`super::kinds`]; this module holds what they share (ownership tags, the
//! way secret environment values are shown) and the whole list
//! ([`desired`]).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::kinds::KINDS;
use crate::model::{App, REDACTED};
use crate::plan::Resource;
use crate::provider::CodeDigests;

// Kept at the paths they had before each kind got its module.
pub use super::kinds::api::{resource_chain, resource_path, routes_digest};
pub use super::kinds::bucket::s3_events;
pub use super::kinds::function::{config_digest, env_values, runtime_id, secret_keys};
pub use super::kinds::permission::statement_id;
pub use super::kinds::role::BASIC_EXECUTION_POLICY;

/// Tags on every resource: how `info` and `remove` find what fnctl owns.
pub fn tags(app: &App, function: Option<&str>) -> Value {
    let mut t: BTreeMap<String, String> = app.tags.clone();
    t.insert("fnctl:app".into(), app.name.clone());
    t.insert("fnctl:stage".into(), app.stage.clone());
    t.insert("managed-by".into(), "fnctl".into());
    if let Some(f) = function {
        t.insert("fnctl:function".into(), f.to_string());
    }
    json!(t)
}

/// Shown instead of a secret whose live value differs from the manifest's.
pub const REDACTED_CHANGED: &str = "(sensitive, changed)";

/// Environment as shown in plans and compared by the diff. Secret values
/// are replaced, so nothing derived from them (not even a hash) leaves the
/// process. To still detect a changed secret, the live side compares its
/// values with the manifest's privately (`desired`) and marks the ones that
/// differ; the desired side passes `None`.
pub fn environment_view(
    values: &BTreeMap<String, String>,
    secret_keys: &BTreeSet<String>,
    desired: Option<&BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|(k, v)| {
            let shown = if !secret_keys.contains(k) {
                v.clone()
            } else if desired.is_none_or(|d| d.get(k) == Some(v)) {
                REDACTED.to_string()
            } else {
                REDACTED_CHANGED.to_string()
            };
            (k.clone(), shown)
        })
        .collect()
}

/// All resources for `app`, in creation order: every kind's
/// [`Kind::desired`](super::kinds::Kind::desired), in the order of
/// [`KINDS`].
pub fn desired(app: &App, code: &CodeDigests) -> Vec<Resource> {
    let mut out = Vec::new();
    for kind in KINDS {
        kind.desired(app, code, &mut out);
    }
    out
}
