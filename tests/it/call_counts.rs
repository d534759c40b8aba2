//! The JSON result counts every request fnctl sends: `api_calls` equals
//! what arrives at the cloud, the deploy lock's calls included (they are
//! not counted as the app's mutating calls).

use crate::fault_proxy::{FaultProxy, Faults};
use crate::faults::{all_triggers_project, fnctl_json_at};
use crate::moto::Moto;

#[test]
fn api_calls_is_what_the_cloud_received_lock_included() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint, Faults::default());
    let (_dir, manifest) = all_triggers_project();

    let (code, doc, stderr) =
        fnctl_json_at(&moto, &proxy.endpoint, &manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}{doc:#}");
    let d = &doc["deployments"][0];
    assert_eq!(
        d["api_calls"].as_u64().unwrap(),
        proxy.requests(),
        "a first deploy, lock taken and given back: {doc:#}"
    );
    let mutating = d["mutating_calls"].as_u64().unwrap();
    assert!(mutating > 0 && mutating < proxy.requests());

    // A no-op takes no lock and changes nothing; its count is exact too.
    let before = proxy.requests();
    let (code, doc, stderr) =
        fnctl_json_at(&moto, &proxy.endpoint, &manifest, &["deploy", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}{doc:#}");
    let d = &doc["deployments"][0];
    assert_eq!(d["mutating_calls"], 0, "{doc:#}");
    assert_eq!(d["api_calls"].as_u64().unwrap(), proxy.requests() - before);

    // Remove: the same, lock included.
    let before = proxy.requests();
    let (code, doc, stderr) =
        fnctl_json_at(&moto, &proxy.endpoint, &manifest, &["remove", "-p", "aws"]);
    assert_eq!(code, 0, "{stderr}{doc:#}");
    assert_eq!(
        doc["removals"][0]["api_calls"].as_u64().unwrap(),
        proxy.requests() - before,
        "{doc:#}"
    );
}
