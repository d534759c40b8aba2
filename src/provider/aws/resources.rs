//! The AWS resources an app maps to, with the attributes fnctl owns.
//!
//! Attributes are exactly what a later live read is compared with, so they
//! use AWS's own vocabulary (runtime ids, event names, expressions) and leave
//! out anything only the cloud knows (ARNs with account ids, versions).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::kinds::{function, permission, KINDS};
use super::{names, schedule};
use crate::model::route::{Route, Segment};
use crate::model::{App, Function, HttpAuth, ProviderId, StorageEvent, Trigger, REDACTED};
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

/// API Gateway resource path of a route (same syntax: `{id}`, `{path+}`).
pub fn resource_path(route: &Route) -> String {
    route.to_string()
}

/// Every API Gateway resource a route needs, parents first (`/users`, `/users/{id}`).
pub fn resource_chain(route: &Route) -> Vec<String> {
    let mut out = Vec::new();
    let mut path = String::new();
    for seg in &route.segments {
        path.push('/');
        match seg {
            Segment::Literal(l) => path.push_str(l),
            Segment::Param(n) => path.push_str(&format!("{{{n}}}")),
            Segment::Greedy(n) => path.push_str(&format!("{{{n}+}}")),
        }
        out.push(path.clone());
    }
    out
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

/// `routes_digest` of an API deployment: which routes a deployment serves.
pub fn routes_digest(lines: &[String]) -> String {
    let mut h = Sha256::new();
    for l in lines {
        h.update(l.as_bytes());
        h.update(b"\n");
    }
    format!("sha256:{}", &hex::encode(h.finalize())[..16])
}

/// All resources for `app`, in creation order.
pub fn desired(app: &App, code: &CodeDigests) -> Vec<Resource> {
    let mut out = Vec::new();
    for kind in KINDS {
        kind.desired(app, code, &mut out);
    }
    let functions: Vec<&Function> = app.functions_for(ProviderId::Aws).collect();
    http_resources(app, &functions, &mut out);
    storage_resources(app, &functions, &mut out);
    schedule_resources(app, &functions, &mut out);
    out
}

fn http_resources(app: &App, functions: &[&Function], out: &mut Vec<Resource>) {
    let routes: Vec<(&Function, &crate::model::HttpTrigger)> = functions
        .iter()
        .flat_map(|f| {
            f.triggers.iter().filter_map(move |t| match t {
                Trigger::Http(h) => Some((*f, h)),
                _ => None,
            })
        })
        .collect();
    if routes.is_empty() {
        return;
    }
    let api = Resource::new("rest_api", names::rest_api(app))
        .attr("endpoint_type", "REGIONAL")
        .attr("tags", tags(app, None));
    let api_id = api.id.clone();
    out.push(api);

    let mut paths: BTreeSet<String> = BTreeSet::new();
    for (_, h) in &routes {
        paths.extend(resource_chain(&h.route));
    }
    let mut path_ids = BTreeMap::new();
    for path in &paths {
        let parent = path
            .rsplit_once('/')
            .map(|(p, _)| if p.is_empty() { "/" } else { p })
            .unwrap_or("/");
        let mut r = Resource::new("api_resource", format!("{}{}", names::rest_api(app), path))
            .attr("path", path.clone())
            .attr("parent", parent)
            .depends_on(&api_id);
        if let Some(parent_id) = path_ids.get(parent) {
            r = r.depends_on(parent_id);
        }
        path_ids.insert(path.clone(), r.id.clone());
        out.push(r);
    }

    let mut method_ids = Vec::new();
    let mut needs_key = false;
    let mut route_lines = Vec::new();
    for (f, h) in &routes {
        let path = resource_path(&h.route);
        for m in &h.methods {
            needs_key |= h.auth == HttpAuth::Key;
            let mut r = Resource::new("api_method", format!("{} {}{}", m, names::rest_api(app), path))
                .for_function(&f.name)
                .attr("http_method", m.clone())
                .attr("path", path.clone())
                .attr("authorization", "NONE")
                .attr("api_key_required", h.auth == HttpAuth::Key)
                .attr("integration", json!({"type": "AWS_PROXY", "http_method": "POST", "target": format!("{}:{}", names::function(app, &f.name), names::alias(app))}))
                .depends_on(&api_id);
            if let Some(pid) = path_ids.get(&path) {
                r = r.depends_on(pid);
            }
            r = r.depends_on(&function::alias_id(app, &f.name));
            route_lines.push(format!("{m} {path} -> {}", f.name));
            method_ids.push(r.id.clone());
            out.push(r);
        }
    }
    let mut invoked: Vec<&str> = routes.iter().map(|(f, _)| f.name.as_str()).collect();
    invoked.sort();
    invoked.dedup();
    for f in invoked {
        let mut p = permission::resource(
            app,
            f,
            "apigateway",
            "apigateway.amazonaws.com",
            &format!("execute-api:{}/*", names::rest_api(app)),
        );
        p = p.depends_on(&function::alias_id(app, f));
        out.push(p);
    }
    route_lines.sort();
    let mut deployment = Resource::new(
        "api_deployment",
        format!("{}/{}", names::rest_api(app), app.stage),
    )
    .attr("stage", app.stage.clone())
    .attr("routes_digest", routes_digest(&route_lines));
    for id in &method_ids {
        deployment = deployment.depends_on(id);
    }
    if needs_key {
        let key = Resource::new("api_key", format!("{}-key", names::rest_api(app)))
            .attr("enabled", true)
            .attr("tags", tags(app, None));
        let plan = Resource::new("usage_plan", format!("{}-usage", names::rest_api(app)))
            .attr(
                "api_stage",
                format!("{}/{}", names::rest_api(app), app.stage),
            )
            .depends_on(&key.id)
            .depends_on(&deployment.id);
        out.push(deployment);
        out.push(key);
        out.push(plan);
    } else {
        out.push(deployment);
    }
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
    fn resource_chain_lists_parents_first() {
        let r = Route::parse("/users/{id}/files/{path+}").unwrap();
        assert_eq!(
            resource_chain(&r),
            vec![
                "/users",
                "/users/{id}",
                "/users/{id}/files",
                "/users/{id}/files/{path+}"
            ]
        );
        assert!(resource_chain(&Route::parse("/").unwrap()).is_empty());
    }

    #[test]
    fn s3_event_names() {
        assert_eq!(
            s3_events(&[StorageEvent::Created, StorageEvent::Deleted]),
            vec!["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
        );
    }
}
