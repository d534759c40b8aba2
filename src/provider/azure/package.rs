//! The layout of an Azure Functions package, generated from the manifest.
//!
//! A Function App holds every function of the app, so Azure gets one zip per
//! app+stage (AWS gets one per function). Its layout is the Functions host's
//! "function.json" model, where bindings are data fnctl can generate:
//!
//! ```text
//! host.json                           extension bundle, empty route prefix, timeout
//! fnctl_azure_shim.py                 the adapter: Azure inputs <-> AWS-shaped events
//! fnctl_azure_queue.py                the queue-trigger adapter (apps with queue triggers)
//! <azure function>/function.json      one trigger binding (+ the HTTP output)
//! <azure function>/__init__.py        generated entry: calls the shim for that trigger
//! fnctl_code/<function>/...           the function's own files, as packaged for AWS
//! .python_packages/lib/site-packages  vendored requirements (where the host looks)
//! ```
//!
//! An Azure function has exactly one trigger, so a manifest function with
//! several triggers becomes several Azure functions sharing one code copy
//! ([`azure_functions`] names them). The handler itself is untouched: the
//! shim builds the event AWS would send and calls `handler(event, context)`.

use serde_json::{json, Value};

use super::kinds::{data, function_app::DATA_CONNECTION};
use super::{resources, schedule};
use crate::model::{
    App, AzurePlan, Function, HttpAuth, Language, ProviderId, QueueTrigger, ResourceKind, Trigger,
};

/// The adapter every Python package carries (see docs/portable-handlers.md).
pub const PYTHON_SHIM: &str = include_str!("shim/fnctl_azure_shim.py");
/// Its file name at the package root.
pub const PYTHON_SHIM_FILE: &str = "fnctl_azure_shim.py";
/// The Node adapter, and the generated module that registers every function
/// with `@azure/functions` (the v4 programming model, where bindings are
/// declared in code rather than in function.json).
pub const NODE_SHIM: &str = include_str!("shim/fnctl_azure_shim.js");
pub const NODE_SHIM_FILE: &str = "fnctl_azure_shim.js";
pub const NODE_APP_FILE: &str = "fnctl_azure_app.js";
/// The `@azure/functions` release line the generated Node app is written for.
pub const NODE_FUNCTIONS_PACKAGE: &str = "^4.6.0";
/// The queue-trigger adapters, generated only into packages of apps with
/// queue triggers (the others keep exactly the files they had).
pub const PYTHON_QUEUE_SHIM: &str = include_str!("shim/fnctl_azure_queue.py");
pub const PYTHON_QUEUE_SHIM_FILE: &str = "fnctl_azure_queue.py";
pub const NODE_QUEUE_SHIM: &str = include_str!("shim/fnctl_azure_queue.js");
pub const NODE_QUEUE_SHIM_FILE: &str = "fnctl_azure_queue.js";
/// Where each function's own files go inside the package.
pub const CODE_DIR: &str = "fnctl_code";
/// Where the Python worker looks for vendored packages.
pub const PYTHON_PACKAGES: &str = ".python_packages/lib/site-packages";

/// A file fnctl writes into the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// `/`-separated path inside the package.
    pub path: String,
    pub contents: String,
}

/// One Azure function: a manifest function bound to one of its triggers.
#[derive(Debug, Clone)]
pub struct AzureFunction<'a> {
    /// The Azure function name (also its folder).
    pub name: String,
    pub function: &'a Function,
    pub trigger: &'a Trigger,
}

/// The binding name of each trigger kind, as the entry's parameter is named.
fn binding_name(t: &Trigger) -> &'static str {
    match t {
        Trigger::Http(_) => "req",
        Trigger::Storage(_) => "blob",
        Trigger::Schedule(_) => "timer",
    }
}

fn kind(t: &Trigger) -> &'static str {
    match t {
        Trigger::Http(_) => "http",
        Trigger::Storage(_) => "blob",
        Trigger::Schedule(_) => "timer",
    }
}

/// Every Azure function of the app: a manifest function with one trigger
/// keeps its name; with several, each trigger gets `<name>-<kind>` (and a
/// number when a kind repeats). Functions without triggers have nothing to
/// bind on Azure and are left out.
pub fn azure_functions(app: &App) -> Vec<AzureFunction<'_>> {
    let mut out = Vec::new();
    for f in app.functions_for(ProviderId::Azure) {
        if f.triggers.len() == 1 {
            out.push(AzureFunction {
                name: f.name.clone(),
                function: f,
                trigger: &f.triggers[0],
            });
            continue;
        }
        for (i, t) in f.triggers.iter().enumerate() {
            let same_kind: Vec<usize> = f
                .triggers
                .iter()
                .enumerate()
                .filter(|(_, o)| kind(o) == kind(t))
                .map(|(j, _)| j)
                .collect();
            let name = if same_kind.len() == 1 {
                format!("{}-{}", f.name, kind(t))
            } else {
                let n = same_kind.iter().position(|j| *j == i).unwrap_or(0) + 1;
                format!("{}-{}{n}", f.name, kind(t))
            };
            out.push(AzureFunction {
                name,
                function: f,
                trigger: t,
            });
        }
    }
    out
}

/// One Azure queue-trigger function: a manifest function bound to one of its
/// queue triggers (`Function.queue_triggers`, kept apart from [`Trigger`]).
#[derive(Debug, Clone)]
pub struct QueueFunction<'a> {
    /// The Azure function name (also its folder): the manifest name when the
    /// function has no other trigger and one queue trigger, else
    /// `<name>-queue` (`<name>-queue<n>` when there are several).
    pub name: String,
    pub function: &'a Function,
    pub trigger: &'a QueueTrigger,
    /// The Storage queue in the app-data account ([`data::cloud_name`]).
    pub queue_name: String,
}

/// Every queue-trigger function of the app (see [`QueueFunction`]).
pub fn queue_functions(app: &App) -> Vec<QueueFunction<'_>> {
    let mut out = Vec::new();
    for f in app.functions_for(ProviderId::Azure) {
        let n = f.queue_triggers.len();
        for (i, q) in f.queue_triggers.iter().enumerate() {
            let name = match (f.triggers.is_empty(), n) {
                (true, 1) => f.name.clone(),
                (false, 1) => format!("{}-queue", f.name),
                _ => format!("{}-queue{}", f.name, i + 1),
            };
            let kind = app
                .resources
                .get(&q.queue)
                .map(|r| r.kind.clone())
                .unwrap_or(ResourceKind::Bucket);
            out.push(QueueFunction {
                name,
                function: f,
                trigger: q,
                queue_name: data::cloud_name(app, &q.queue, &kind),
            });
        }
    }
    out
}

/// Azure's default `maxDequeueCount`: a message whose function failed this
/// many times moves to `<queue>-poison`. Source: "Azure Queue storage trigger
/// and bindings for Azure Functions", host.json settings (`maxDequeueCount`,
/// default 5) and "Poison messages"
/// (<https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue#hostjson-settings>).
pub const DEFAULT_MAX_DEQUEUE_COUNT: u32 = 5;

/// host.json `extensions.queues` for an app with queue triggers, else `None`.
/// `batchSize` is the triggers' one batch size and `maxDequeueCount` the
/// `dead_letter.after` of their queues (`checks` makes both agree across the
/// app); a queue without `dead_letter` still gets Azure's default of 5:
/// Azure always moves a message that failed that often to `<queue>-poison`.
/// Source: the host.json settings of the page above and `QueuesOptions` of
/// Microsoft.Azure.WebJobs.Extensions.Storage.Queues (`BatchSize` 1 to 32,
/// default 16; `MaxDequeueCount` default 5).
pub fn queues_settings(app: &App) -> Option<Value> {
    let functions = queue_functions(app);
    let first = functions.first()?;
    let after = functions.iter().find_map(|qf| {
        match app.resources.get(&qf.trigger.queue).map(|r| &r.kind) {
            Some(ResourceKind::Queue(q)) => q.dead_letter.as_ref().map(|d| d.after),
            _ => None,
        }
    });
    Some(json!({
        "batchSize": first.trigger.batch_size,
        "maxDequeueCount": after.unwrap_or(DEFAULT_MAX_DEQUEUE_COUNT),
    }))
}

/// The `queueTrigger` binding of `function.json` (the same options go to
/// Node's `app.storageQueue`): the queue by its Azure name, read through the
/// identity-based connection to the app-data account ([`DATA_CONNECTION`]).
/// Source: "Azure Queue storage trigger for Azure Functions", Configuration
/// (`type`, `direction`, `name`, `queueName`, `connection`).
pub fn queue_binding(qf: &QueueFunction) -> Value {
    json!({
        "type": "queueTrigger",
        "direction": "in",
        "name": "msg",
        "queueName": qf.queue_name,
        "connection": DATA_CONNECTION,
    })
}

/// `host.json`: the extension bundle (blob and timer triggers live there), no
/// `api/` route prefix so paths match the manifest, and the longest timeout of
/// any function (the host has one timeout for the whole app).
pub fn host_json(app: &App) -> String {
    let timeout = app
        .functions_for(ProviderId::Azure)
        .map(|f| f.timeout_s)
        .max()
        .unwrap_or(30);
    let mut doc = json!({
        "version": "2.0",
        "extensionBundle": {
            "id": "Microsoft.Azure.Functions.ExtensionBundle",
            "version": "[4.*, 5.0.0)"
        },
        "extensions": {"http": {"routePrefix": ""}},
        "functionTimeout": format!("{:02}:{:02}:{:02}", timeout / 3600, timeout / 60 % 60, timeout % 60),
    });
    // Only apps with queue triggers get queue settings: the others' host.json
    // stays as it was.
    if let Some(queues) = queues_settings(app) {
        doc["extensions"]["queues"] = queues;
    }
    pretty(&doc)
}

/// The trigger binding in `function.json`.
pub fn trigger_binding(app: &App, t: &Trigger) -> Value {
    let plan = app.azure.as_ref().map_or(AzurePlan::Flex, |a| a.plan);
    match t {
        Trigger::Http(h) => {
            let mut b = json!({
                "type": "httpTrigger",
                "direction": "in",
                "name": binding_name(t),
                "authLevel": match h.auth { HttpAuth::None | HttpAuth::Jwt(_) => "anonymous", HttpAuth::Key => "function" },
                "route": resources::route_template(&h.route),
            });
            if h.methods != ["ANY"] {
                b["methods"] = json!(h
                    .methods
                    .iter()
                    .map(|m| m.to_ascii_lowercase())
                    .collect::<Vec<_>>());
            }
            b
        }
        Trigger::Storage(s) => json!({
            "type": "blobTrigger",
            "direction": "in",
            "name": binding_name(t),
            "path": resources::blob_path(s),
            "connection": "AzureWebJobsStorage",
            // Flex Consumption only supports the Event Grid source; classic
            // plans poll the container logs.
            "source": if plan == AzurePlan::Flex { "EventGrid" } else { "LogsAndContainerScan" },
        }),
        Trigger::Schedule(s) => json!({
            "type": "timerTrigger",
            "direction": "in",
            "name": binding_name(t),
            // Checked by `checks`; an untranslatable schedule never gets here.
            "schedule": schedule::to_ncrontab(&s.schedule).unwrap_or_default(),
            "runOnStartup": false,
            "useMonitor": true,
        }),
    }
}

/// `<azure function>/function.json`.
pub fn function_json(app: &App, af: &AzureFunction) -> String {
    let mut bindings = vec![trigger_binding(app, af.trigger)];
    if let Trigger::Http(_) = af.trigger {
        bindings.push(json!({"type": "http", "direction": "out", "name": "$return"}));
    }
    let mut doc = json!({
        "scriptFile": "__init__.py",
        "entryPoint": "main",
        "bindings": bindings,
    });
    if let Trigger::Schedule(s) = af.trigger {
        if !s.enabled {
            doc["disabled"] = json!(true);
        }
    }
    pretty(&doc)
}

/// `<azure function>/__init__.py`: builds the shim's `Function` and calls the
/// method for its trigger. `code` is where the function's files are, relative
/// to the package root (or absolute, for local runs).
pub fn python_entry(app: &App, af: &AzureFunction, code: &str) -> String {
    let f = af.function;
    let s = |v: &str| serde_json::to_string(v).unwrap_or_default();
    let route = match af.trigger {
        Trigger::Http(h) => s(&h.route.to_string()),
        _ => "None".to_string(),
    };
    let (param, annotation, ret, method) = match af.trigger {
        Trigger::Http(_) => ("req", "func.HttpRequest", " -> func.HttpResponse", "http"),
        Trigger::Storage(_) => ("blob", "func.InputStream", " -> None", "blob"),
        Trigger::Schedule(_) => ("timer", "func.TimerRequest", " -> None", "timer"),
    };
    let ret_kw = if method == "http" { "return " } else { "" };
    let payload = match af.trigger {
        Trigger::Http(h) => http_api_options(app, h)
            .map(|any| {
                format!(
                    "\x20   payload=\"2.0\",\n\x20   any_method={},\n",
                    if any { "True" } else { "False" }
                )
            })
            .unwrap_or_default(),
        _ => String::new(),
    };
    format!(
        "# Generated by fnctl for function {name} of app {app} (stage {stage}).\n\
         # It runs the AWS-shaped handler {handler} through fnctl_azure_shim;\n\
         # fnctl rewrites this file on every package.\n\
         import azure.functions as func\n\
         \n\
         import fnctl_azure_shim\n\
         \n\
         _function = fnctl_azure_shim.Function(\n\
         \x20   name={name},\n\
         \x20   app={app},\n\
         \x20   stage={stage},\n\
         \x20   code={code},\n\
         \x20   handler={handler},\n\
         \x20   memory_mb={memory},\n\
         \x20   timeout_s={timeout},\n\
         \x20   route={route},\n\
         {payload})\n\
         \n\
         \n\
         def main({param}: {annotation}, context: func.Context){ret}:\n\
         \x20   {ret_kw}_function.{method}({param}, context)\n",
        name = s(&f.name),
        app = s(&app.name),
        stage = s(&app.stage),
        code = s(code),
        handler = s(&f.handler),
        memory = f.memory_mb,
        timeout = f.timeout_s,
    )
}

/// For an app whose AWS gateway is an HTTP API, the adapter builds payload
/// format 2.0 events for `h`: `Some(any)`, where `any` says the route takes
/// every method (its route key is `ANY /path`). REST apps (`None`) keep
/// their generated files byte for byte, so their package digest does not
/// change.
pub fn http_api_options(app: &App, h: &crate::model::HttpTrigger) -> Option<bool> {
    (app.gateway() == crate::model::Gateway::HttpApi).then(|| h.methods.iter().any(|m| m == "ANY"))
}

/// `<queue function>/__init__.py`: like [`python_entry`], calling the shim's
/// `queue` with the Azure queue name (for `eventSourceARN`).
pub fn python_queue_entry(app: &App, qf: &QueueFunction, code: &str) -> String {
    let f = qf.function;
    let s = |v: &str| serde_json::to_string(v).unwrap_or_default();
    format!(
        "# Generated by fnctl for function {name} of app {app} (stage {stage}).\n\
         # It runs the AWS-shaped handler {handler} through fnctl_azure_shim;\n\
         # fnctl rewrites this file on every package.\n\
         import azure.functions as func\n\
         \n\
         import fnctl_azure_queue\n\
         \n\
         _function = fnctl_azure_queue.QueueFunction(\n\
         \x20   name={name},\n\
         \x20   app={app},\n\
         \x20   stage={stage},\n\
         \x20   code={code},\n\
         \x20   handler={handler},\n\
         \x20   memory_mb={memory},\n\
         \x20   timeout_s={timeout},\n\
         )\n\
         \n\
         \n\
         def main(msg: func.QueueMessage, context: func.Context) -> None:\n\
         \x20   _function.queue(msg, context, {queue})\n",
        name = s(&f.name),
        app = s(&app.name),
        stage = s(&app.stage),
        code = s(code),
        handler = s(&f.handler),
        memory = f.memory_mb,
        timeout = f.timeout_s,
        queue = s(&qf.queue_name),
    )
}

/// `<queue function>/function.json`.
pub fn queue_function_json(qf: &QueueFunction) -> String {
    pretty(&json!({
        "scriptFile": "__init__.py",
        "entryPoint": "main",
        "bindings": [queue_binding(qf)],
    }))
}

/// `fnctl_azure_app.js`: one `app.http` / `app.storageBlob` / `app.timer`
/// registration per Azure function, each calling the adapter.
pub fn node_app(app: &App, code: &dyn Fn(&Function) -> String) -> String {
    let s = |v: &str| serde_json::to_string(v).unwrap_or_default();
    let mut out = format!(
        "// Generated by fnctl for app {} (stage {}): registers every function with\n\
         // @azure/functions and runs its AWS-shaped handler through fnctl_azure_shim.js.\n\
         // fnctl rewrites this file on every package.\n\
         'use strict';\n\
         const {{ app }} = require('@azure/functions');\n\
         const {{ Function }} = require('./fnctl_azure_shim.js');\n",
        s(&app.name),
        s(&app.stage)
    );
    let mut seen: Vec<&str> = Vec::new();
    let functions = azure_functions(app);
    let queues = queue_functions(app);
    let all = functions
        .iter()
        .map(|af| af.function)
        .chain(queues.iter().map(|qf| qf.function));
    for f in all {
        if seen.contains(&f.name.as_str()) {
            continue;
        }
        seen.push(&f.name);
        let options = json!({
            "name": f.name, "app": app.name, "stage": app.stage, "code": code(f),
            "handler": f.handler, "memoryMb": f.memory_mb, "timeoutS": f.timeout_s,
        });
        out.push_str(&format!(
            "\nconst {} = new Function({options});\n",
            js_ident(&f.name)
        ));
    }
    for af in &functions {
        let var = js_ident(&af.function.name);
        let binding = trigger_binding(app, af.trigger);
        let (register, options, method) = match af.trigger {
            Trigger::Http(h) => {
                let methods: Vec<String> = if h.methods == ["ANY"] {
                    ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
                        .map(String::from)
                        .to_vec()
                } else {
                    h.methods.clone()
                };
                (
                    "http",
                    json!({"methods": methods, "route": binding["route"], "authLevel": binding["authLevel"]}),
                    match http_api_options(app, h) {
                        None => format!(
                            "(request, context) => {var}.http(request, context, {})",
                            s(&h.route.to_string())
                        ),
                        Some(any) => format!(
                            "(request, context) => {var}.http(request, context, {}, {{ payload: \"2.0\", anyMethod: {any} }})",
                            s(&h.route.to_string())
                        ),
                    },
                )
            }
            Trigger::Storage(_) => (
                "storageBlob",
                json!({"path": binding["path"], "connection": binding["connection"], "source": binding["source"]}),
                format!("(blob, context) => {var}.blob(blob, context)"),
            ),
            Trigger::Schedule(_) => (
                "timer",
                json!({"schedule": binding["schedule"], "runOnStartup": false, "useMonitor": true}),
                format!("(timer, context) => {var}.timer(timer, context)"),
            ),
        };
        let mut options = serde_json::to_string(&options).unwrap_or_default();
        options.pop(); // the closing brace: the handler goes in as code
        out.push_str(&format!(
            "\napp.{register}({}, {options}, \"handler\": {method} }});\n",
            s(&af.name)
        ));
    }
    // `app.storageQueue(name, { queueName, connection, handler })`: the v4
    // model's queue trigger ("Azure Queue storage trigger for Azure
    // Functions", Node.js v4 example).
    if !queues.is_empty() {
        out.push_str(&format!(
            "\nconst {{ queue }} = require('./{NODE_QUEUE_SHIM_FILE}');\n"
        ));
    }
    for qf in &queues {
        let var = js_ident(&qf.function.name);
        let b = queue_binding(qf);
        let mut options = serde_json::to_string(
            &json!({"queueName": b["queueName"], "connection": b["connection"]}),
        )
        .unwrap_or_default();
        options.pop();
        out.push_str(&format!(
            "\napp.storageQueue({}, {options}, \"handler\": (message, context) => queue({var}, message, context, {}) }});\n",
            s(&qf.name),
            s(&qf.queue_name)
        ));
    }
    out
}

/// The root `package.json` of a Node app: `main` is the generated module,
/// and `@azure/functions` is its one dependency (vendored by the packager).
pub fn node_package_json(app: &App) -> String {
    pretty(&json!({
        "name": format!("{}-{}", app.name, app.stage),
        "version": "1.0.0",
        "private": true,
        "main": NODE_APP_FILE,
        "dependencies": {"@azure/functions": NODE_FUNCTIONS_PACKAGE},
    }))
}

fn js_ident(name: &str) -> String {
    let mut id: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    id.insert_str(0, "fn_");
    id
}

/// Where `f`'s files go inside the package.
pub fn code_path(f: &Function) -> String {
    format!("{CODE_DIR}/{}", f.name)
}

/// Every generated file of the package. `code` says where each function's
/// files are (the package path, or the source directory for local runs).
pub fn generated_files(app: &App, code: &dyn Fn(&Function) -> String) -> Vec<GeneratedFile> {
    let mut out = vec![GeneratedFile {
        path: "host.json".into(),
        contents: host_json(app),
    }];
    let functions = azure_functions(app);
    let queues = queue_functions(app);
    let language = |l: Language| {
        functions
            .iter()
            .any(|af| af.function.runtime.language() == l)
            || queues.iter().any(|qf| qf.function.runtime.language() == l)
    };
    if language(Language::Python) {
        out.push(GeneratedFile {
            path: PYTHON_SHIM_FILE.into(),
            contents: PYTHON_SHIM.into(),
        });
    }
    let queue_language = |l: Language| queues.iter().any(|qf| qf.function.runtime.language() == l);
    if queue_language(Language::Python) {
        out.push(GeneratedFile {
            path: PYTHON_QUEUE_SHIM_FILE.into(),
            contents: PYTHON_QUEUE_SHIM.into(),
        });
    }
    if queue_language(Language::Node) {
        out.push(GeneratedFile {
            path: NODE_QUEUE_SHIM_FILE.into(),
            contents: NODE_QUEUE_SHIM.into(),
        });
    }
    if language(Language::Node) {
        out.push(GeneratedFile {
            path: "package.json".into(),
            contents: node_package_json(app),
        });
        out.push(GeneratedFile {
            path: NODE_SHIM_FILE.into(),
            contents: NODE_SHIM.into(),
        });
        out.push(GeneratedFile {
            path: NODE_APP_FILE.into(),
            contents: node_app(app, code),
        });
    }
    for af in &functions {
        // Node's v4 model declares bindings in code; function.json files
        // would be ignored once one function is registered that way.
        if af.function.runtime.language() == Language::Python {
            out.push(GeneratedFile {
                path: format!("{}/function.json", af.name),
                contents: function_json(app, af),
            });
        }
        if af.function.runtime.language() == Language::Python {
            out.push(GeneratedFile {
                path: format!("{}/__init__.py", af.name),
                contents: python_entry(app, af, &code(af.function)),
            });
        }
    }
    for qf in &queues {
        if qf.function.runtime.language() == Language::Python {
            out.push(GeneratedFile {
                path: format!("{}/function.json", qf.name),
                contents: queue_function_json(qf),
            });
            out.push(GeneratedFile {
                path: format!("{}/__init__.py", qf.name),
                contents: python_queue_entry(app, qf, &code(qf.function)),
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(toml: &str) -> App {
        let source = crate::manifest::Source::new(std::path::Path::new("fnctl.toml"), toml);
        let env: std::collections::BTreeMap<String, String> = Default::default();
        crate::manifest::load_source(
            &source,
            &crate::manifest::LoadOptions {
                stage: "dev",
                env: &env,
                check_files: false,
            },
        )
        .unwrap()
    }

    const BASE: &str = r#"
[app]
name = "shop"
runtime = "python3.12"
[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "rg"
location = "westeurope"
"#;

    #[test]
    fn one_trigger_keeps_the_name_several_get_suffixes() {
        let a = app(&format!(
            r#"{BASE}
[functions.api]
handler = "app.handler"
timeout = 90
triggers = [{{ type = "http", path = "/orders/{{id}}", method = "GET" }}]
[functions.job]
handler = "app.handler"
triggers = [
  {{ type = "schedule", schedule = "rate(5 minutes)" }},
  {{ type = "schedule", schedule = "0 3 * * *", enabled = false }},
  {{ type = "http", path = "/job", method = "POST", auth = "key" }},
]
"#
        ));
        let names: Vec<String> = azure_functions(&a).into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["api", "job-timer1", "job-timer2", "job-http"]);

        let files = generated_files(&a, &code_path);
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert!(paths.contains(&"host.json") && paths.contains(&PYTHON_SHIM_FILE));
        let get = |p: &str| {
            serde_json::from_str::<Value>(&files.iter().find(|f| f.path == p).unwrap().contents)
                .unwrap()
        };
        assert_eq!(get("host.json")["functionTimeout"], "00:01:30");
        let api = get("api/function.json");
        assert_eq!(api["bindings"][0]["route"], "orders/{id}");
        assert_eq!(api["bindings"][0]["methods"], json!(["get"]));
        assert_eq!(api["bindings"][0]["authLevel"], "anonymous");
        assert_eq!(api["bindings"][1]["name"], "$return");
        assert_eq!(
            get("job-http/function.json")["bindings"][0]["authLevel"],
            "function"
        );
        let t1 = get("job-timer1/function.json");
        assert_eq!(t1["bindings"][0]["schedule"], "0 */5 * * * *");
        assert!(t1.get("disabled").is_none());
        let t2 = get("job-timer2/function.json");
        assert_eq!(t2["bindings"][0]["schedule"], "0 0 3 * * *");
        assert_eq!(t2["disabled"], true);

        let entry = &files
            .iter()
            .find(|f| f.path == "api/__init__.py")
            .unwrap()
            .contents;
        assert!(entry.contains("code=\"fnctl_code/api\""), "{entry}");
        assert!(entry.contains(
            "def main(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:"
        ));
        assert!(entry.contains("return _function.http(req, context)"));
        assert!(entry.contains("route=\"/orders/{id}\""));
    }

    #[test]
    fn queue_triggers_get_a_binding_and_host_queue_settings() {
        let a = app(&format!(
            r#"{BASE}
[resources.jobs]
kind = "queue"
dead_letter = {{ after = 3 }}
[functions.worker]
handler = "app.handler"
[[functions.worker.triggers]]
type = "queue"
queue = "jobs"
batch_size = 8
[functions.api]
handler = "app.handler"
triggers = [{{ type = "http", path = "/x", method = "GET" }}, {{ type = "queue", queue = "jobs", batch_size = 8 }}]
"#
        ));
        let names: Vec<String> = queue_functions(&a).into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["api-queue", "worker"]);
        let files = generated_files(&a, &code_path);
        let get = |p: &str| {
            serde_json::from_str::<Value>(&files.iter().find(|f| f.path == p).unwrap().contents)
                .unwrap()
        };
        let host = get("host.json");
        assert_eq!(
            host["extensions"]["queues"],
            json!({"batchSize": 8, "maxDequeueCount": 3})
        );
        assert_eq!(host["extensions"]["http"]["routePrefix"], "");
        let b = &get("worker/function.json")["bindings"][0];
        assert_eq!(b["type"], "queueTrigger");
        assert_eq!(b["queueName"], "shop-dev-jobs");
        assert_eq!(b["connection"], DATA_CONNECTION);
        let entry = &files
            .iter()
            .find(|f| f.path == "worker/__init__.py")
            .unwrap()
            .contents;
        assert!(entry.contains("def main(msg: func.QueueMessage, context: func.Context) -> None:"));
        assert!(entry.contains("_function.queue(msg, context, \"shop-dev-jobs\")"));
        assert!(entry.contains("fnctl_azure_queue.QueueFunction("));
        assert!(files.iter().any(|f| f.path == PYTHON_QUEUE_SHIM_FILE));
        assert!(files.iter().any(|f| f.path == "api-queue/function.json"));
        // The http function keeps its name and its own binding.
        assert_eq!(
            get("api/function.json")["bindings"][0]["type"],
            "httpTrigger"
        );
    }

    #[test]
    fn without_dead_letter_azure_default_applies_and_node_registers_storage_queue() {
        let a = app(&format!(
            r#"{BASE}
[resources.jobs]
kind = "queue"
[functions.worker]
handler = "app.handler"
runtime = "nodejs22.x"
[[functions.worker.triggers]]
type = "queue"
queue = "jobs"
"#
        ));
        assert_eq!(
            queues_settings(&a),
            Some(json!({"batchSize": 10, "maxDequeueCount": DEFAULT_MAX_DEQUEUE_COUNT}))
        );
        let js = node_app(&a, &code_path);
        assert!(
            js.contains("app.storageQueue(\"worker\", {\"queueName\":\"shop-dev-jobs\",\"connection\":\"FNCTL_DATA\", \"handler\": (message, context) => queue(fn_worker, message, context, \"shop-dev-jobs\") });"),
            "{js}"
        );
        assert!(js.contains("const fn_worker = new Function("));
        assert!(js.contains("const { queue } = require('./fnctl_azure_queue.js');"));
        let files = generated_files(&a, &code_path);
        assert!(files.iter().any(|f| f.path == NODE_QUEUE_SHIM_FILE));
    }

    #[test]
    fn http_api_apps_tell_the_adapter_to_build_payload_2_0() {
        let routes = r#"
[functions.api]
handler = "app.handler"
runtime = "python3.12"
triggers = [{ type = "http", path = "/orders", method = "GET" }, { type = "http", path = "/any", method = "ANY" }]
[functions.web]
handler = "web.handler"
runtime = "nodejs22.x"
triggers = [{ type = "http", path = "/web", method = "GET" }]
"#;
        let rest = app(&format!("{BASE}{routes}"));
        let http_api = app(&format!(
            "{BASE}[providers.aws]\nregion = \"us-east-1\"\nhttp = \"http-api\"\n{routes}"
        ));
        let get = |a: &App, p: &str| {
            generated_files(a, &code_path)
                .into_iter()
                .find(|f| f.path == p)
                .unwrap()
                .contents
        };
        assert!(!get(&rest, "api-http1/__init__.py").contains("payload"));
        assert!(!get(&rest, NODE_APP_FILE).contains("payload"));
        let e1 = get(&http_api, "api-http1/__init__.py");
        assert!(
            e1.contains("    payload=\"2.0\",\n    any_method=False,\n)"),
            "{e1}"
        );
        assert!(get(&http_api, "api-http2/__init__.py").contains("any_method=True"));
        let js = get(&http_api, NODE_APP_FILE);
        assert!(
            js.contains(
                "fn_web.http(request, context, \"/web\", { payload: \"2.0\", anyMethod: false })"
            ),
            "{js}"
        );
        // Only the apps whose gateway changes get a different package.
        let digests = crate::provider::CodeDigests(Default::default());
        assert_ne!(
            resources::package_digest(&rest, &digests),
            resources::package_digest(&http_api, &digests)
        );
    }

    #[test]
    fn apps_without_queue_triggers_keep_their_host_json() {
        let a = app(&format!(
            "{BASE}\n[resources.jobs]\nkind = \"queue\"\n[functions.api]\nhandler = \"app.handler\"\ntriggers = [{{ type = \"http\", path = \"/x\", method = \"GET\" }}]\n"
        ));
        assert!(queue_functions(&a).is_empty());
        let host: Value = serde_json::from_str(&host_json(&a)).unwrap();
        assert_eq!(host["extensions"], json!({"http": {"routePrefix": ""}}));
        let files = generated_files(&a, &code_path);
        assert!(!files.iter().any(|f| f.path == PYTHON_QUEUE_SHIM_FILE));
    }
}
