//! The Azure half of an app with CORS and a JWT-protected route on the ARM
//! test server: the Function App's `siteConfig.cors` and its App Service
//! Authentication (`config/authsettingsV2`) are written as the manifest
//! says, verified, left alone by a no-op redeploy, changed alone when only
//! they change, and cleared when the manifest drops them.

use serde_json::{json, Value};

use crate::arm::ArmServer;
use crate::azure::run;

const ISSUER: &str = "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0";

const HANDLER: &str = "def handler(event, context):\n    return {\"ok\": True}\n";

fn manifest(url: &str, cors: &str, auth: &str) -> String {
    format!(
        r#"[app]
name = "shop"
runtime = "python3.12"

[providers.aws]
region = "eu-west-1"
http = "http-api"

[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "shop-rg"
location = "westeurope"
endpoints = {{ arm = "{url}", scm = "{url}", app = "{url}", storage = "{url}/devstoreaccount1", logs = "{url}" }}

{cors}

[functions.health]
source = "src"
handler = "h.handler"
triggers = [{{ type = "http", method = "GET", path = "/health" }}]

[functions.orders]
source = "src"
handler = "h.handler"
triggers = [{{ type = "http", method = "POST", path = "/orders"{auth} }}]
"#
    )
}

const CORS: &str = "[http.cors]\norigins = [\"https://shop.example.com\"]\ncredentials = true\n";
const JWT: &str = ", auth = { jwt = { issuer = \"https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0\", audience = [\"api://shop\"] } }";

fn site_state(server: &ArmServer) -> (Value, Value) {
    let w = server.world.lock().unwrap();
    let site = w.sites.values().next().unwrap();
    (site.cors.clone(), site.auth.clone())
}

#[test]
fn cors_and_jwt_deploy_verify_change_drop_and_remove() {
    let server = ArmServer::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/h.py"), HANDLER).unwrap();
    let write = |cors: &str, auth: &str| {
        std::fs::write(
            dir.path().join("fnctl.toml"),
            manifest(&server.url, cors, auth),
        )
        .unwrap()
    };
    write(CORS, JWT);

    // 1. Deploy: CORS and authentication as the manifest says, verified.
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true, "{doc:#}");
    let (cors, auth) = site_state(&server);
    assert_eq!(
        cors,
        json!({"allowedOrigins": ["https://shop.example.com"], "supportCredentials": true})
    );
    assert_eq!(auth["platform"]["enabled"], true);
    let g = &auth["globalValidation"];
    assert_eq!(g["requireAuthentication"], true);
    assert_eq!(g["unauthenticatedClientAction"], "Return401");
    // host.json's route prefix is empty: the public route's request path
    // is the manifest's.
    assert_eq!(g["excludedPaths"], json!(["/health"]));
    let aad = &auth["identityProviders"]["azureActiveDirectory"];
    assert_eq!(aad["enabled"], true);
    assert_eq!(aad["registration"]["openIdIssuer"], ISSUER);
    assert_eq!(aad["validation"]["allowedAudiences"], json!(["api://shop"]));

    // The protected route answers 401 without a token, before any code
    // runs; the public one is not asked for one.
    let (status, _) = crate::arm::http_get(&format!("{}/orders", server.url)).unwrap();
    assert_eq!(status, 401);
    // The public route runs through the packaged adapter, which reads the
    // handler's `{"ok": true}` by payload 2.0's rules: a 200 JSON answer.
    let (status, body) = crate::arm::http_get(&format!("{}/health", server.url)).unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"ok": true})
    );

    // 2. A no-op redeploy makes no mutating call.
    server.clear_log();
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(doc["deployments"][0]["mutating_calls"], 0, "{doc:#}");
    assert_eq!(server.mutating_requests(), Vec::<String>::new());

    // 3. New origins: only the CORS setting changes.
    write(
        &CORS.replace("https://shop.example.com", "https://www.example.com"),
        JWT,
    );
    server.clear_log();
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let mutating = server.mutating_requests();
    assert_eq!(mutating.len(), 1, "{mutating:?}");
    assert!(
        mutating[0].starts_with("PATCH ") && mutating[0].ends_with("/config/web"),
        "{mutating:?}"
    );
    assert_eq!(
        site_state(&server).0["allowedOrigins"],
        json!(["https://www.example.com"])
    );

    // 4. JWT dropped: authentication disabled, the route public.
    write(
        &CORS.replace("https://shop.example.com", "https://www.example.com"),
        "",
    );
    server.clear_log();
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true, "{doc:#}");
    let mutating = server.mutating_requests();
    assert!(
        mutating
            .iter()
            .any(|m| m.starts_with("PUT ") && m.ends_with("/config/authsettingsV2")),
        "{mutating:?}"
    );
    assert_eq!(site_state(&server).1["platform"]["enabled"], false);

    // 5. CORS dropped: cleared; then nothing is left to change.
    write("", "");
    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(
        site_state(&server).0,
        json!({"allowedOrigins": [], "supportCredentials": false})
    );
    server.clear_log();
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(server.mutating_requests(), Vec::<String>::new());

    // CORS and authentication set by hand on an app whose manifest has
    // none are not fnctl's: not planned away, not cleared.
    {
        let mut w = server.world.lock().unwrap();
        let site = w.sites.values_mut().next().unwrap();
        site.cors =
            json!({"allowedOrigins": ["https://portal.azure.com"], "supportCredentials": false});
        site.auth = json!({"platform": {"enabled": true}});
    }
    let (code, doc, _) = run(dir.path(), &["plan"]);
    assert_eq!(code, 0);
    assert_eq!(doc["plans"][0]["summary"]["delete"], 0, "{doc:#}");
    server.clear_log();
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(server.mutating_requests(), Vec::<String>::new());
    assert_eq!(
        site_state(&server).0["allowedOrigins"],
        json!(["https://portal.azure.com"])
    );

    // 6. remove takes the Function App, settings and all.
    let (code, _, stderr) = run(dir.path(), &["remove"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(server.world.lock().unwrap().sites.is_empty());
}

/// `deploy -f` of a function with a new JWT route applies the app's
/// authentication with it: the route is never served unprotected.
#[test]
fn deploying_one_function_with_a_jwt_route_protects_it() {
    let server = ArmServer::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/h.py"), HANDLER).unwrap();
    let only_health = manifest(&server.url, "", "");
    let only_health = &only_health[..only_health.find("[functions.orders]").unwrap()];
    std::fs::write(dir.path().join("fnctl.toml"), only_health).unwrap();
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(server
        .world
        .lock()
        .unwrap()
        .sites
        .values()
        .next()
        .unwrap()
        .auth
        .is_null());

    std::fs::write(
        dir.path().join("fnctl.toml"),
        manifest(&server.url, "", JWT),
    )
    .unwrap();
    server.clear_log();
    let (code, doc, stderr) = run(dir.path(), &["deploy", "-f", "orders"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    let mutating = server.mutating_requests();
    let auth = mutating
        .iter()
        .position(|m| m.ends_with("/config/authsettingsV2"))
        .unwrap_or_else(|| panic!("authentication not applied: {mutating:?}"));
    let publish = mutating
        .iter()
        .position(|m| m.starts_with("POST /api/publish"))
        .unwrap_or_else(|| panic!("package not published: {mutating:?}"));
    assert!(
        auth < publish,
        "protected before the code is live: {mutating:?}"
    );
    assert_eq!(
        site_state(&server).1["globalValidation"]["excludedPaths"],
        json!(["/health"])
    );
    let (status, _) = crate::arm::http_get(&format!("{}/orders", server.url)).unwrap();
    assert_eq!(status, 401);
}

/// Classic Consumption has the same two settings: the site PUT carries the
/// CORS, authentication is the same authsettingsV2.
#[test]
fn classic_consumption_gets_the_same_cors_and_authentication() {
    let server = ArmServer::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/h.py"), HANDLER).unwrap();
    let text = manifest(&server.url, CORS, JWT).replace(
        "location = \"westeurope\"\n",
        "location = \"westeurope\"\nplan = \"consumption\"\n",
    );
    std::fs::write(dir.path().join("fnctl.toml"), text).unwrap();
    let (code, doc, stderr) = run(dir.path(), &["plan", "--offline"]);
    assert_eq!(code, 0, "{stderr}");
    let changes = doc["plans"][0]["changes"].as_array().unwrap();
    let kinds: Vec<&str> = changes
        .iter()
        .filter_map(|c| c["id"]["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"site_cors") && kinds.contains(&"auth_settings"),
        "{kinds:?}"
    );
    let sa = changes
        .iter()
        .find(|c| c["id"]["kind"] == "storage_account")
        .and_then(|c| c["id"]["name"].as_str())
        .unwrap()
        .to_string();
    let azurite = crate::azurite::Azurite::start(&[(&sa, &crate::arm::storage_key(&sa, 1))]);
    crate::azure_classic::point_storage_at(
        dir.path(),
        &format!("{}/devstoreaccount1", server.url),
        &azurite.url,
        &sa,
    );
    server.world.lock().unwrap().blob_service = Some(azurite.url.clone());

    let (code, doc, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}\n{doc:#}");
    assert_eq!(doc["deployments"][0]["verified"], true, "{doc:#}");
    let (cors, auth) = site_state(&server);
    assert_eq!(cors["supportCredentials"], true);
    assert_eq!(
        auth["globalValidation"]["excludedPaths"],
        json!(["/health"])
    );
    server.clear_log();
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(server.mutating_requests(), Vec::<String>::new());
}

/// The server refuses what the REST spec's models do not have, as ARM
/// does: fnctl's bodies pass only because they follow them.
#[test]
fn the_test_server_refuses_bodies_outside_the_models() {
    let server = ArmServer::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/h.py"), HANDLER).unwrap();
    std::fs::write(
        dir.path().join("fnctl.toml"),
        manifest(&server.url, CORS, JWT),
    )
    .unwrap();
    let (code, _, stderr) = run(dir.path(), &["deploy"]);
    assert_eq!(code, 0, "{stderr}");
    let site = server
        .world
        .lock()
        .unwrap()
        .sites
        .keys()
        .next()
        .unwrap()
        .clone();
    let base = format!(
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/shop-rg/providers/Microsoft.Web/sites/{site}"
    );
    let call = |method: &str, path: &str, body: Value| {
        server.call(
            method,
            &format!("{base}{path}?api-version=2024-04-01"),
            Some(&body),
        )
    };
    let (status, doc) = call(
        "PATCH",
        "/config/web",
        json!({"properties": {"cors": {"allowedOrigins": ["https://a.example"], "allowedMethods": ["GET"]}}}),
    );
    assert_eq!(status, 400, "{doc:#}");
    assert_eq!(doc["error"]["code"], "InvalidRequestContent");
    assert!(doc["error"]["message"]
        .as_str()
        .unwrap()
        .contains("allowedMethods"));
    let (status, doc) = call(
        "PUT",
        "/config/authsettingsV2",
        json!({"properties": {"globalValidation": {"requireAuthentication": "yes"}}}),
    );
    assert_eq!(status, 400, "{doc:#}");
    let (status, doc) = call(
        "PUT",
        "/config/authsettingsV2",
        json!({"properties": {"globalValidation": {"unauthenticatedClientAction": "Return402"}}}),
    );
    assert_eq!(status, 400, "{doc:#}");
    // Nothing was changed by the refused calls.
    let (cors, auth) = site_state(&server);
    assert_eq!(cors["allowedOrigins"], json!(["https://shop.example.com"]));
    assert_eq!(auth["globalValidation"]["requireAuthentication"], true);
}
