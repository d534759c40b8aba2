//! A route removed from the manifest stops being served: the REST API's
//! stage is a snapshot taken by a deployment, and the engine deletes
//! methods after this run's deployment, so the stage must be deployed once
//! more after the deletes (once, however many were deleted). Without it the
//! stage goes on routing the removed path, to a function that may be gone.
//!
//! moto keeps no snapshot (no `embed=apisummary`), so what is checked is
//! that the newest deployment, the one the stage serves, was created after
//! the deletes: there is one deployment more than the plan made, and the
//! stage points at it.

use std::path::Path;

use serde_json::Value;

use crate::common::{python_project, MotoClients};
use crate::faults::fnctl_json_at;
use crate::moto::Moto;

const MANIFEST: &str = r#"
[app]
name = "routes"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"

[functions.orders]
handler = "app.handler"
include = ["app.py"]
[[functions.orders.triggers]]
type = "http"
method = "GET"
path = "/orders"
EXTRA
"#;

const EXTRA: &str = r#"[[functions.orders.triggers]]
type = "http"
method = "GET"
path = "/orders/{id}/items"
[[functions.orders.triggers]]
type = "http"
method = "DELETE"
path = "/orders/{id}/items"
"#;

fn deploy(moto: &Moto, path: &Path) -> Value {
    let (code, doc, stderr) = fnctl_json_at(moto, &moto.endpoint, path, &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true, "{doc:#}");
    doc
}

/// (number of deployments, the id the stage serves, the newest id).
fn deployments(moto: &Moto) -> (usize, String, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = MotoClients::new(moto, "us-east-1").await;
        let apis = c.apigw.get_rest_apis().send().await.unwrap();
        let api = apis.items()[0].id().unwrap().to_string();
        let all = c
            .apigw
            .get_deployments()
            .rest_api_id(&api)
            .send()
            .await
            .unwrap();
        let newest = all
            .items()
            .iter()
            .max_by_key(|d| d.created_date().map(|t| t.as_nanos()))
            .and_then(|d| d.id())
            .unwrap()
            .to_string();
        let stage = c
            .apigw
            .get_stage()
            .rest_api_id(&api)
            .stage_name("dev")
            .send()
            .await
            .unwrap();
        (
            all.items().len(),
            stage.deployment_id().unwrap().to_string(),
            newest,
        )
    })
}

#[test]
fn removed_routes_are_no_longer_served_by_the_stage() {
    let moto = Moto::start();
    let (_dir, path) = python_project(&MANIFEST.replace("EXTRA", EXTRA));
    deploy(&moto, &path);
    let (before, _, _) = deployments(&moto);

    std::fs::write(&path, MANIFEST.replace("EXTRA", "")).unwrap();
    let doc = deploy(&moto, &path);
    let deleted = doc["deployments"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "delete")
        .count();
    // Two methods and their resources (`/orders/{id}`, `/orders/{id}/items`).
    assert!(deleted >= 3, "{doc:#}");
    let (after, served, newest) = deployments(&moto);
    // The planned deployment (the routes changed) and one more after the
    // deletes, not one per delete.
    assert_eq!(after, before + 2, "{doc:#}");
    assert_eq!(served, newest);

    // Converged: nothing to do, no deployment.
    let doc = deploy(&moto, &path);
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");
    assert_eq!(deployments(&moto).0, after);
}
