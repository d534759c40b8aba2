//! The Azure resources an app maps to, with the attributes fnctl owns (each
//! kind's in its module under `kinds/`), and what several kinds and the
//! package layout share: runtimes, routes, blob paths, tags, the package's
//! digest.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{kinds, package};
use crate::model::route::{Route, Segment};
use crate::model::{App, Language, ProviderId, Runtime, StorageTrigger};
use crate::plan::Resource;
use crate::provider::CodeDigests;

/// Flex Consumption instance sizes, in MB.
pub const FLEX_INSTANCE_MEMORY: &[u32] = &[512, 2048, 4096];

/// `functionAppConfig.runtime.name` / version for a runtime.
pub fn runtime(r: Runtime) -> Option<(&'static str, &'static str)> {
    match r.language() {
        Language::Python => Some(("python", r.version())),
        Language::Node => Some(("node", r.version())),
        Language::Binary => None,
    }
}

/// Azure route template: no leading slash, greedy `{name+}` becomes `{*name}`.
/// (host.json sets an empty route prefix, so paths match the manifest.)
pub fn route_template(route: &Route) -> String {
    route
        .segments
        .iter()
        .map(|s| match s {
            Segment::Literal(l) => l.clone(),
            Segment::Param(n) => format!("{{{n}}}"),
            Segment::Greedy(n) => format!("{{*{n}}}"),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Blob trigger path: `container/prefix{name}suffix`.
pub fn blob_path(s: &StorageTrigger) -> String {
    format!(
        "{}/{}{{name}}{}",
        s.bucket,
        s.prefix.as_deref().unwrap_or(""),
        s.suffix.as_deref().unwrap_or("")
    )
}

/// The smallest Flex instance size that fits the largest function.
pub fn instance_memory(max_function_mb: u32) -> Option<u32> {
    FLEX_INSTANCE_MEMORY
        .iter()
        .copied()
        .find(|m| *m >= max_function_mb)
}

pub fn tags(app: &App) -> Value {
    let mut t: BTreeMap<String, String> = app.tags.clone();
    t.insert("fnctl-app".into(), app.name.clone());
    t.insert("fnctl-stage".into(), app.stage.clone());
    t.insert("managed-by".into(), "fnctl".into());
    json!(t)
}

/// The identity of the Function App's package: every function's code digest
/// and every file fnctl generates (so a new adapter version redeploys).
pub fn package_digest(app: &App, code: &CodeDigests) -> String {
    let mut h = Sha256::new();
    for f in app.functions_for(ProviderId::Azure) {
        h.update(format!("{}={}\n", f.name, code.get(&f.name)));
    }
    for g in package::generated_files(app, &package::code_path) {
        h.update(format!("{}\0", g.path));
        h.update(Sha256::digest(g.contents.as_bytes()));
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// Every resource the app needs on Azure, gathered from each kind's module
/// in [`kinds::KINDS`] order (which the plan keeps among independent
/// resources).
pub fn desired(app: &App, code: &CodeDigests) -> Vec<Resource> {
    let Some(az) = &app.azure else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for kind in kinds::KINDS {
        kind.desired(app, az, code, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_templates() {
        assert_eq!(
            route_template(&Route::parse("/users/{id}").unwrap()),
            "users/{id}"
        );
        assert_eq!(
            route_template(&Route::parse("/files/{path+}").unwrap()),
            "files/{*path}"
        );
        assert_eq!(route_template(&Route::parse("/").unwrap()), "");
    }

    #[test]
    fn blob_paths_and_memory() {
        let s = StorageTrigger {
            bucket: "uploads".into(),
            events: vec![],
            prefix: Some("img/".into()),
            suffix: Some(".jpg".into()),
            create: false,
            span: 0..0,
        };
        assert_eq!(blob_path(&s), "uploads/img/{name}.jpg");
        assert_eq!(instance_memory(256), Some(512));
        assert_eq!(instance_memory(1024), Some(2048));
        assert_eq!(instance_memory(4096), Some(4096));
        assert_eq!(instance_memory(8192), None);
    }
}
