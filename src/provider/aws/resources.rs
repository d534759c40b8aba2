//! The AWS resources an app maps to, with the attributes fnctl owns.
//!
//! Attributes are exactly what a later live read is compared with, so they
//! use AWS's own vocabulary (runtime ids, event names, expressions) and leave
//! out anything only the cloud knows (ARNs with account ids, versions).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::kinds::{function, permission, KINDS};
use super::{names, schedule};
use crate::model::{App, Function, ProviderId, StorageEvent, Trigger, REDACTED};
use crate::plan::Resource;
use crate::provider::CodeDigests;

pub use super::kinds::role::BASIC_EXECUTION_POLICY;

/// S3 event names for neutral storage events.
pub fn s3_events(events: &[StorageEvent]) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| match e {
            StorageEvent::Created => "s3:ObjectCreated:*",
            StorageEvent::Deleted => "s3:ObjectRemoved:*",
        })
        .collect()
}

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

pub use super::kinds::api::{resource_chain, resource_path, routes_digest};
pub use super::kinds::function::{config_digest, env_values, runtime_id, secret_keys};
pub use super::kinds::permission::statement_id;

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

/// All resources for `app`, in creation order.
pub fn desired(app: &App, code: &CodeDigests) -> Vec<Resource> {
    let mut out = Vec::new();
    for kind in KINDS {
        kind.desired(app, code, &mut out);
    }
    let functions: Vec<&Function> = app.functions_for(ProviderId::Aws).collect();
    storage_resources(app, &functions, &mut out);
    schedule_resources(app, &functions, &mut out);
    out
}

/// Storage triggers grouped by bucket: whether fnctl creates the bucket, and who listens.
type BucketTriggers<'a> = BTreeMap<
    &'a str,
    (
        bool,
        Vec<(&'a Function, usize, &'a crate::model::StorageTrigger)>,
    ),
>;

fn storage_resources(app: &App, functions: &[&Function], out: &mut Vec<Resource>) {
    // bucket -> (create?, [(function, index, trigger)])
    let mut buckets: BucketTriggers = BTreeMap::new();
    for f in functions {
        for (i, t) in f.triggers.iter().enumerate() {
            if let Trigger::Storage(s) = t {
                let entry = buckets.entry(&s.bucket).or_default();
                entry.0 |= s.create;
                entry.1.push((*f, i, s));
            }
        }
    }
    for (bucket, (create, triggers)) in buckets {
        let bucket_id = if create {
            let b = Resource::new("s3_bucket", bucket).attr("tags", tags(app, None));
            let id = b.id.clone();
            out.push(b);
            Some(id)
        } else {
            None
        };
        let mut notification = Resource::new("s3_notification", bucket);
        let mut configs = Vec::new();
        let mut permitted = BTreeSet::new();
        for (f, i, s) in &triggers {
            let mut filter = Vec::new();
            if let Some(p) = &s.prefix {
                filter.push(json!({"name": "prefix", "value": p}));
            }
            if let Some(x) = &s.suffix {
                filter.push(json!({"name": "suffix", "value": x}));
            }
            configs.push(json!({
                "id": names::notification_id(app, &f.name, *i),
                "function": format!("{}:{}", names::function(app, &f.name), names::alias(app)),
                "events": s3_events(&s.events),
                "filter": filter,
            }));
            if permitted.insert(f.name.as_str()) {
                let mut p = permission::resource(
                    app,
                    &f.name,
                    &format!("s3-{bucket}"),
                    "s3.amazonaws.com",
                    &format!("arn:aws:s3:::{bucket}"),
                );
                p = p.depends_on(&function::alias_id(app, &f.name));
                if let Some(b) = &bucket_id {
                    p = p.depends_on(b);
                }
                notification = notification.depends_on(&p.id);
                out.push(p);
            }
        }
        notification = notification.attr("owned_configurations", json!(configs));
        if let Some(b) = &bucket_id {
            notification = notification.depends_on(b);
        }
        out.push(notification);
    }
}

fn schedule_resources(app: &App, functions: &[&Function], out: &mut Vec<Resource>) {
    for f in functions {
        for (i, t) in f.triggers.iter().enumerate() {
            let Trigger::Schedule(s) = t else { continue };
            // Checks have already rejected what AWS cannot express.
            let Ok(expression) = schedule::to_aws(&s.schedule) else {
                continue;
            };
            let rule_name = names::schedule_rule(app, &f.name, i);
            let rule = Resource::new("eventbridge_rule", &rule_name)
                .for_function(&f.name)
                .attr("schedule_expression", expression)
                .attr("state", if s.enabled { "ENABLED" } else { "DISABLED" })
                .attr(
                    "target",
                    format!("{}:{}", names::function(app, &f.name), names::alias(app)),
                )
                .attr("tags", tags(app, Some(&f.name)));
            let mut p = permission::resource(
                app,
                &f.name,
                &format!("events-{rule_name}"),
                "events.amazonaws.com",
                &format!("rule/{rule_name}"),
            );
            p = p.depends_on(&function::alias_id(app, &f.name));
            let rule = rule.depends_on(&p.id);
            out.push(p);
            out.push(rule);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_event_names() {
        assert_eq!(
            s3_events(&[StorageEvent::Created, StorageEvent::Deleted]),
            vec!["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
        );
    }
}
