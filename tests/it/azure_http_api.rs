//! Portable handlers behind an HTTP API: the generated Azure adapter hands
//! the handler the payload format 2.0 event the app's AWS gateway would, and
//! reads its result by the 2.0 rules. The Python adapter runs from the Azure
//! package under Microsoft's azure-functions package, the Node adapter with
//! @azure/functions' own `HttpRequest`; both are compared with the event
//! `fnctl invoke --local --event http` builds for the same request (the
//! local side's `to_event_v2`, which `fnctl dev` serves too).

use serde_json::{json, Value};

use crate::common::{fnctl, repo};

const HANDLER_PY: &str = r#"import json


def echo(event, context):
    return {"statusCode": 201, "headers": {"content-type": "application/json"},
            "cookies": ["a=1", "b=2; Path=/"], "body": json.dumps(event)}


def plain(event, context):
    return {"ok": True, "path": event["rawPath"]}
"#;

const HANDLER_JS: &str = r#"exports.echo = async (event) => ({
  statusCode: 201, headers: { 'content-type': 'application/json' },
  cookies: ['a=1', 'b=2; Path=/'], body: JSON.stringify(event),
});
exports.plain = async (event) => ({ ok: true, path: event.rawPath });
"#;

fn manifest(runtime: &str) -> String {
    format!(
        r#"[app]
name = "shop"
runtime = "{runtime}"

[providers.aws]
region = "eu-west-1"
http = "http-api"

[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "shop-rg"
location = "westeurope"

[functions.echo]
source = "src"
handler = "h.echo"
triggers = [{{ type = "http", method = "GET", path = "/orders/{{id}}" }}]

[functions.plain]
source = "src"
handler = "h.plain"
triggers = [{{ type = "http", method = "ANY", path = "/plain" }}]
"#
    )
}

fn project(runtime: &str, file: &str, handler: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fnctl.toml"), manifest(runtime)).unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src").join(file), handler).unwrap();
    dir
}

fn python() -> std::path::PathBuf {
    repo().join(".venv-test/bin/python")
}

/// The event of `fnctl invoke echo --local --event http --path /orders/42`.
fn local_event(dir: &std::path::Path) -> Value {
    let out = fnctl()
        .current_dir(dir)
        .env("FNCTL_PYTHON", python())
        .args(["invoke", "echo", "--local", "--event", "http"])
        .args(["--path", "/orders/42", "--output", "json"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    let p = &doc["invocation"]["payload"];
    assert_eq!(p["statusCode"], 201, "{doc:#}");
    serde_json::from_str(p["body"].as_str().unwrap()).unwrap()
}

/// The request `invoke --event http` describes, as a client sends it.
fn sample_request() -> Value {
    json!({
        "method": "GET",
        "url": "https://example.execute-api.amazonaws.com/orders/42",
        "headers": {"accept": "application/json", "host": "example.execute-api.amazonaws.com", "user-agent": "fnctl-invoke"},
        "params": {"id": "42"},
    })
}

/// A request with what the sample lacks: repeated query keys, cookies, a
/// client address, and the principal App Service Authentication passes on.
fn rich_request() -> Value {
    use base64::Engine;
    let principal = json!({"auth_typ": "aad", "name_typ": "name", "role_typ": "roles", "claims": [
        {"typ": "sub", "val": "u1"}, {"typ": "scp", "val": "orders.read orders.write"},
        {"typ": "roles", "val": "a"}, {"typ": "roles", "val": "b"}]});
    json!({
        "method": "GET",
        "url": "https://shop.azurewebsites.net/orders/7?tag=a&tag=b&q=x+y",
        "headers": {"host": "shop.azurewebsites.net", "cookie": "s=1; t=2", "x-forwarded-for": "203.0.113.9:51234",
            "x-ms-client-principal": base64::engine::general_purpose::STANDARD.encode(principal.to_string())},
        "params": {"id": "7"},
    })
}

/// What differs between two runs of one request (ids, clocks, and the
/// account and API a cloud assigns).
fn comparable(event: &Value) -> Value {
    let mut e = event.clone();
    let rc = e["requestContext"].as_object_mut().unwrap();
    for k in ["requestId", "time", "timeEpoch", "accountId", "apiId"] {
        assert!(
            rc.remove(k).is_some(),
            "requestContext.{k} missing: {event:#}"
        );
    }
    rc["http"].as_object_mut().unwrap().remove("sourceIp");
    e
}

const PY_DRIVER: &str = r#"
import importlib.util, json, sys
import azure.functions as func
pkg, name, request = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path.insert(0, pkg)
spec = importlib.util.spec_from_file_location("entry_" + name.replace("-", "_"), "%s/%s/__init__.py" % (pkg, name))
entry = importlib.util.module_from_spec(spec)
spec.loader.exec_module(entry)
req = func.HttpRequest(method=request["method"], url=request["url"], headers=request["headers"],
                       route_params=request["params"], body=b"")
class Context:
    invocation_id = "azure-invocation"
resp = entry.main(req, Context())
print(json.dumps({"status": resp.status_code, "contentType": resp.headers.get("content-type"),
                  "cookies": resp.headers.get_all("Set-Cookie"), "body": resp.get_body().decode()}))
"#;

/// Runs the packaged Python entry `name` for `request`.
fn python_azure(pkg: &std::path::Path, name: &str, request: &Value) -> Value {
    let out = std::process::Command::new(python())
        .args(["-c", PY_DRIVER])
        .arg(pkg)
        .arg(name)
        .arg(request.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn package(dir: &std::path::Path) -> tempfile::TempDir {
    let out = fnctl()
        .current_dir(dir)
        .args(["package", "--provider", "azure", "--output", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let zip_path = doc["artifacts"][0]["path"].as_str().unwrap().to_string();
    let unpacked = tempfile::tempdir().unwrap();
    zip::ZipArchive::new(std::fs::File::open(zip_path).unwrap())
        .unwrap()
        .extract(unpacked.path())
        .unwrap();
    unpacked
}

#[test]
fn the_python_adapter_gives_a_handler_the_local_payload_2_0_event() {
    let dir = project("python3.12", "h.py", HANDLER_PY);
    let local = local_event(dir.path());
    assert_eq!(local["version"], "2.0", "{local:#}");
    let pkg = package(dir.path());

    let azure = python_azure(pkg.path(), "echo", &sample_request());
    assert_eq!(azure["status"], 201, "{azure:#}");
    assert_eq!(azure["contentType"], "application/json");
    // 2.0's `cookies` become one Set-Cookie header each.
    assert_eq!(azure["cookies"], json!(["a=1", "b=2; Path=/"]));
    let event: Value = serde_json::from_str(azure["body"].as_str().unwrap()).unwrap();
    assert_eq!(comparable(&event), comparable(&local));
    assert_eq!(event["requestContext"]["requestId"], "azure-invocation");

    // What the sample lacks, field by field (the values of the local
    // side's own unit test for the same request shape).
    let azure = python_azure(pkg.path(), "echo", &rich_request());
    let e: Value = serde_json::from_str(azure["body"].as_str().unwrap()).unwrap();
    assert_eq!(e["rawPath"], "/dev/orders/7");
    assert_eq!(e["rawQueryString"], "tag=a&tag=b&q=x+y");
    assert_eq!(
        e["queryStringParameters"],
        json!({"tag": "a,b", "q": "x y"})
    );
    assert_eq!(e["cookies"], json!(["s=1", "t=2"]));
    assert!(e["headers"].get("cookie").is_none(), "{e:#}");
    assert_eq!(e["pathParameters"], json!({"id": "7"}));
    assert!(e.get("body").is_none() && e.get("multiValueHeaders").is_none());
    assert_eq!(e["requestContext"]["http"]["sourceIp"], "203.0.113.9");
    assert_eq!(e["requestContext"]["domainPrefix"], "shop");
    assert_eq!(
        e["requestContext"]["authorizer"]["jwt"],
        json!({"claims": {"sub": "u1", "scp": "orders.read orders.write", "roles": "[a b]"},
               "scopes": ["orders.read", "orders.write"]})
    );

    // A result without statusCode is a 200 JSON answer of it; an ANY
    // route's key says ANY.
    let mut plain = sample_request();
    plain["method"] = json!("POST");
    plain["url"] = json!("https://example.execute-api.amazonaws.com/plain");
    plain["params"] = json!({});
    let azure = python_azure(pkg.path(), "plain", &plain);
    assert_eq!(azure["status"], 200);
    assert_eq!(azure["contentType"], "application/json");
    let body: Value = serde_json::from_str(azure["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, json!({"ok": true, "path": "/dev/plain"}));
}

const NODE_DRIVER: &str = r#"
const [shim, modules, code, request] = process.argv.slice(1);
const azf = require(require.resolve('@azure/functions', { paths: [modules] }));
const { Function } = require(shim);
const r = JSON.parse(request);
const fn = new Function({ name: 'echo', app: 'shop', stage: 'dev', code, handler: 'h.echo', memoryMb: 128, timeoutS: 5 });
const req = new azf.HttpRequest({ method: r.method, url: r.url, headers: r.headers, params: r.params });
const context = new azf.InvocationContext({ invocationId: 'azure-invocation', functionName: 'echo' });
fn.http(req, context, '/orders/{id}', { payload: '2.0', anyMethod: false }).then((res) => {
  const headers = new Headers(res.headers);
  process.stdout.write(JSON.stringify({ status: res.status, contentType: headers.get('content-type'),
    cookies: headers.getSetCookie(), body: Buffer.from(res.body).toString('utf8') }));
}, (e) => { console.error(e); process.exit(4); });
"#;

/// Where a Node test run vendored @azure/functions for the portable-node
/// fixture (`invoke --local --as azure` fills that cache).
fn azure_functions_modules() -> std::path::PathBuf {
    let cache = repo().join("tests/fixtures/portable-node/.fnctl/cache/node");
    let find = || {
        std::fs::read_dir(&cache).ok()?.find_map(|e| {
            let m = e.ok()?.path().join("node_modules");
            m.join("@azure/functions").is_dir().then_some(m)
        })
    };
    if let Some(m) = find() {
        return m;
    }
    let out = fnctl()
        .arg("--manifest")
        .arg(repo().join("tests/fixtures/portable-node/fnctl.toml"))
        .args([
            "invoke", "tick", "--local", "--as", "azure", "--event", "schedule",
        ])
        .output()
        .unwrap();
    find().unwrap_or_else(|| {
        panic!(
            "@azure/functions was not vendored: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn the_node_adapter_gives_a_handler_the_local_payload_2_0_event() {
    // The local event, from the Python twin of this app (one route, one
    // request: the event does not depend on the handler's language).
    let py = project("python3.12", "h.py", HANDLER_PY);
    let local = local_event(py.path());
    let dir = project("nodejs22", "h.js", HANDLER_JS);
    let run = |request: &Value| -> Value {
        let out = std::process::Command::new("node")
            .args(["-e", NODE_DRIVER])
            .arg(repo().join("src/provider/azure/shim/fnctl_azure_shim.js"))
            .arg(azure_functions_modules())
            .arg(dir.path().join("src"))
            .arg(request.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let azure = run(&sample_request());
    assert_eq!(azure["status"], 201, "{azure:#}");
    assert_eq!(azure["cookies"], json!(["a=1", "b=2; Path=/"]));
    let event: Value = serde_json::from_str(azure["body"].as_str().unwrap()).unwrap();
    assert_eq!(comparable(&event), comparable(&local));

    let azure = run(&rich_request());
    let e: Value = serde_json::from_str(azure["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        e["queryStringParameters"],
        json!({"tag": "a,b", "q": "x y"})
    );
    assert_eq!(e["cookies"], json!(["s=1", "t=2"]));
    assert_eq!(e["requestContext"]["http"]["sourceIp"], "203.0.113.9");
    assert_eq!(
        e["requestContext"]["authorizer"]["jwt"]["scopes"],
        json!(["orders.read", "orders.write"])
    );
    assert_eq!(
        e["requestContext"]["authorizer"]["jwt"]["claims"]["roles"],
        "[a b]"
    );
}

/// `fnctl invoke FN --local [--as azure] --event http --output json` in
/// `dir`: the invocation's payload.
fn invoke_payload(dir: &std::path::Path, function: &str, azure: bool) -> Value {
    let mut cmd = fnctl();
    cmd.current_dir(dir)
        .env("FNCTL_PYTHON", python())
        .args(["invoke", function, "--local", "--event", "http"]);
    if azure {
        cmd.args(["--as", "azure"]);
    }
    let out = cmd.args(["--output", "json"]).output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        doc["invocation"].get("error").is_none_or(Value::is_null),
        "{doc:#}"
    );
    doc["invocation"]["payload"].clone()
}

/// `invoke --local --as azure --event http` on an HTTP API app: the
/// harness reads the payload 2.0 sample, hands the generated entry the
/// request Azure would deliver, and the handler (through the adapter) gets
/// the 2.0 event the AWS-local run gives it; the answer is reported by the
/// 2.0 rules. `aws_dir` is the app the AWS-local run uses (the Python
/// twin of a Node app: fnctl's tests have no Node runtime client, and the
/// event does not depend on the handler's language).
fn the_harness_runs_a_payload_2_0_event(aws_dir: &std::path::Path, dir: &std::path::Path) {
    let aws = invoke_payload(aws_dir, "echo", false);
    assert_eq!(aws["statusCode"], 201, "{aws:#}");
    let azure = invoke_payload(dir, "echo", true);
    assert_eq!(azure["statusCode"], 201, "{azure:#}");
    // Each of the result's cookies is a Set-Cookie header of its own.
    let set_cookie = azure["multiValueHeaders"]
        .as_object()
        .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case("set-cookie")))
        .map(|(_, v)| v.clone());
    assert_eq!(set_cookie, Some(json!(["a=1", "b=2; Path=/"])), "{azure:#}");
    let local: Value = serde_json::from_str(aws["body"].as_str().expect("a body")).unwrap();
    let event: Value = serde_json::from_str(azure["body"].as_str().unwrap()).unwrap();
    assert_eq!(event["version"], "2.0", "{event:#}");
    // The stage prefix, which the harness strips for Azure and the adapter
    // puts back.
    assert!(
        local["rawPath"]
            .as_str()
            .unwrap()
            .starts_with("/dev/orders/"),
        "{local:#}"
    );
    for field in ["/rawPath", "/routeKey", "/requestContext/http/method"] {
        assert_eq!(
            event.pointer(field),
            local.pointer(field),
            "{field}: {event:#}\n{local:#}"
        );
    }
    assert_eq!(event["pathParameters"], local["pathParameters"]);
    assert_eq!(event["headers"]["user-agent"], "fnctl-invoke");

    // A result without statusCode: a 200 JSON answer of it.
    let aws = invoke_payload(aws_dir, "plain", false);
    let azure = invoke_payload(dir, "plain", true);
    assert_eq!(azure["statusCode"], 200, "{azure:#}");
    assert_eq!(azure["headers"]["content-type"], "application/json");
    let body: Value = serde_json::from_str(azure["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, aws, "{azure:#}");
    assert_eq!(body["path"], "/dev/plain");
}

#[test]
fn invoke_as_azure_runs_a_python_handler_on_the_payload_2_0_event() {
    let dir = project("python3.12", "h.py", HANDLER_PY);
    the_harness_runs_a_payload_2_0_event(dir.path(), dir.path());
}

#[test]
fn invoke_as_azure_runs_a_node_handler_on_the_payload_2_0_event() {
    let dir = project("nodejs22", "h.js", HANDLER_JS);
    // The @azure/functions the portable-node fixture vendored, copied into
    // this app's cache (the same package.json, so the same cache key).
    let vendored = azure_functions_modules();
    let cache = dir.path().join(".fnctl/cache/node");
    std::fs::create_dir_all(&cache).unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(vendored.parent().unwrap())
        .arg(&cache)
        .status()
        .unwrap();
    assert!(status.success());
    let py = project("python3.12", "h.py", HANDLER_PY);
    the_harness_runs_a_payload_2_0_event(py.path(), dir.path());
}
