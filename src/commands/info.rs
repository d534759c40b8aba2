//! `fnctl info`: what is deployed for this app+stage, read from the cloud.

use serde_json::{json, Value};

use super::live;
use super::{CommandError, Context, ExitStatus};

pub fn run(cx: &Context) -> Result<ExitStatus, CommandError> {
    let project = live::load_for_cloud(cx)?;
    let app = &project.app;
    let rt = live::runtime()?;
    if project.providers == [crate::model::ProviderId::Azure] {
        return azure_info(cx, app, &rt);
    }
    if project.providers.contains(&crate::model::ProviderId::Azure) {
        cx.printer
            .warn("showing AWS; pass --provider azure for the Azure deployment");
    }
    let (found, region) = rt.block_on(async {
        let backend = live::connect_aws(app).await?;
        let found = backend.read().await?;
        Ok::<_, CommandError>((found, backend.clients.region.clone()))
    })?;
    warn_conflicts(cx, &found.conflicts);
    let functions: Vec<Value> = found
        .resources
        .iter()
        .filter(|r| r.id.kind == "lambda_function")
        .map(|r| {
            let alias = found.resources.iter().find(|a| {
                a.id.kind == "lambda_alias" && a.id.name.starts_with(&format!("{}:", r.id.name))
            });
            let triggers: Vec<String> = found
                .resources
                .iter()
                .filter(|t| {
                    t.function == r.function
                        && matches!(t.id.kind.as_str(), "api_method" | "eventbridge_rule")
                })
                .map(|t| match t.id.kind.as_str() {
                    "api_method" => format!(
                        "http {} {}",
                        t.attrs["http_method"].as_str().unwrap_or_default(),
                        t.attrs["path"].as_str().unwrap_or_default()
                    ),
                    _ => format!(
                        "schedule {} ({})",
                        t.attrs["schedule_expression"].as_str().unwrap_or_default(),
                        t.attrs["state"].as_str().unwrap_or_default().to_lowercase()
                    ),
                })
                .collect();
            json!({
                "function": r.function,
                "name": r.id.name,
                "runtime": r.attrs["runtime"],
                "memory_size": r.attrs["memory_size"],
                "timeout": r.attrs["timeout"],
                "alias": alias.map(|a| a.id.name.clone()),
                "version": alias.and_then(|a| a.attrs.get("published_version").cloned()),
                "triggers": triggers,
            })
        })
        .collect();
    let storage: Vec<Value> = found
        .resources
        .iter()
        .filter(|r| r.id.kind == "s3_notification")
        .map(|r| json!({"bucket": r.id.name, "notifications": r.attrs["owned_configurations"]}))
        .collect();
    let urls = live::aws_urls(app, found.ids.rest_api_id.as_deref(), &region);
    if cx.printer.is_json() {
        cx.printer.json(&json!({"provider": "aws", "app": app.name, "stage": app.stage, "region": region, "deployed": !functions.is_empty(), "functions": functions, "storage": storage, "urls": urls}));
        return Ok(ExitStatus::Success);
    }
    let mut text = format!(
        "aws ({region}): app `{}`, stage `{}`\n",
        app.name, app.stage
    );
    if functions.is_empty() {
        text.push_str("  nothing deployed\n");
    }
    for f in &functions {
        text.push_str(&format!(
            "  {}  {} {} MB {} s  alias {} -> version {}\n",
            f["name"].as_str().unwrap_or_default(),
            f["runtime"].as_str().unwrap_or_default(),
            f["memory_size"],
            f["timeout"],
            f["alias"].as_str().unwrap_or("(none)"),
            f["version"].as_str().unwrap_or("?")
        ));
        for t in f["triggers"].as_array().into_iter().flatten() {
            text.push_str(&format!("      {}\n", t.as_str().unwrap_or_default()));
        }
    }
    for s in &storage {
        text.push_str(&format!(
            "  bucket {}: {} notification(s)\n",
            s["bucket"].as_str().unwrap_or_default(),
            s["notifications"].as_array().map(Vec::len).unwrap_or(0)
        ));
    }
    for u in &urls {
        text.push_str(&format!("  {:<7} {}\n", u.method, u.url));
    }
    cx.printer.data(&text);
    Ok(ExitStatus::Success)
}

/// Resources with the names fnctl uses that belong to something else:
/// not shown as the app's, but said, since a deploy would refuse them.
fn warn_conflicts(cx: &Context, conflicts: &[crate::plan::Conflict]) {
    for c in conflicts {
        cx.printer
            .warn(&format!("{c} (not shown; `fnctl plan` says how to go on)"));
    }
}

/// What is deployed on Azure: the Function App, its functions and URLs.
fn azure_info(
    cx: &Context,
    app: &crate::model::App,
    rt: &tokio::runtime::Runtime,
) -> Result<ExitStatus, CommandError> {
    let (found, target) = rt.block_on(async {
        let backend = crate::provider::azure::backend::AzureBackend::connect(app)?;
        let found = backend.read().await?;
        Ok::<_, CommandError>((found, backend.target()))
    })?;
    warn_conflicts(cx, &found.conflicts);
    let site = found.resources.iter().find(|r| r.id.kind == "function_app");
    let insights = found
        .resources
        .iter()
        .find(|r| r.id.kind == "app_insights")
        .map(|r| r.id.name.clone());
    let functions: Vec<Value> = found
        .resources
        .iter()
        .filter(|r| r.id.kind == "function")
        .map(|r| {
            json!({
                "function": r.function,
                "name": r.id.name.rsplit('/').next(),
                "binding": r.attrs.get("binding"),
                "disabled": r.attrs.get("disabled"),
            })
        })
        .collect();
    let urls = live::azure_urls(app, found.host.as_deref());
    if cx.printer.is_json() {
        cx.printer.json(&json!({
            "provider": "azure", "app": app.name, "stage": app.stage, "target": target,
            "deployed": site.is_some(),
            "function_app": site.map(|s| s.id.name.clone()),
            "runtime": site.map(|s| s.attrs["runtime"].clone()),
            "package": found.package_digest,
            "app_insights": insights,
            "functions": functions, "urls": urls,
        }));
        return Ok(ExitStatus::Success);
    }
    let mut text = format!(
        "azure ({target}): app `{}`, stage `{}`\n",
        app.name, app.stage
    );
    match site {
        None => text.push_str("  nothing deployed\n"),
        Some(s) => text.push_str(&format!(
            "  Function App {}  {} {}\n",
            s.id.name,
            s.attrs["runtime"]["name"].as_str().unwrap_or("?"),
            s.attrs["runtime"]["version"].as_str().unwrap_or("?")
        )),
    }
    for f in &functions {
        let b = &f["binding"];
        let what = match b["type"].as_str().unwrap_or_default() {
            "httpTrigger" => format!("http /{}", b["route"].as_str().unwrap_or_default()),
            "blobTrigger" => format!("blob {}", b["path"].as_str().unwrap_or_default()),
            "timerTrigger" => format!("timer {}", b["schedule"].as_str().unwrap_or_default()),
            other => other.to_string(),
        };
        text.push_str(&format!(
            "  {}  {what}{}\n",
            f["name"].as_str().unwrap_or_default(),
            if f["disabled"] == true {
                " (disabled)"
            } else {
                ""
            }
        ));
    }
    for u in &urls {
        text.push_str(&format!("  {:<7} {}\n", u.method, u.url));
    }
    if let Some(name) = &insights {
        text.push_str(&format!(
            "  logs and telemetry: Application Insights {name}\n"
        ));
    }
    cx.printer.data(&text);
    Ok(ExitStatus::Success)
}
