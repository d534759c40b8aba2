//! `fnctl logs --provider azure`: a function's log lines from the app's
//! Application Insights.
//!
//! The component is workspace-based, so what the Functions host sends as
//! traces lands in the Log Analytics workspace's `AppTraces` table, with the
//! Azure function's name as `OperationName`. fnctl reads it with the Log
//! Analytics query API (`POST /v1/workspaces/{customerId}/query`, a token
//! for `https://api.loganalytics.io`). Ingestion takes a minute or more, so
//! the newest lines show up late; `--follow` keeps asking.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::{paths, AzureBackend, AzureError, API_LOG_WORKSPACES};
use crate::provider::azure::{names, package};

/// The public cloud's Log Analytics query API.
pub const LOGS_ENDPOINT: &str = "https://api.loganalytics.io";

/// One trace line.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TraceLine {
    /// As Log Analytics reports it: ISO 8601 in UTC.
    pub time: String,
    /// The Azure function (one per trigger of the manifest function).
    pub operation: String,
    pub message: String,
}

/// Where the next query starts: after the newest line seen, or a while ago.
#[derive(Debug, Clone)]
pub enum Since {
    Ago { seconds: u64 },
    After { time: String },
}

impl AzureBackend {
    /// The function's trace lines since `since`, oldest first, skipping
    /// lines in `seen` (queries overlap at the boundary).
    pub async fn logs(
        &self,
        function: &str,
        since: &Since,
        seen: &mut BTreeSet<String>,
    ) -> Result<Vec<TraceLine>, AzureError> {
        let (app, az) = (&self.app, &self.settings);
        let workspace = self
            .arm
            .get(&paths::log_workspace(app, az), API_LOG_WORKSPACES)
            .await?
            .ok_or_else(|| AzureError::Config {
                reason: format!(
                    "the Log Analytics workspace `{}` does not exist; run `fnctl deploy --provider azure` first",
                    names::log_workspace(app)
                ),
            })?;
        let customer_id = workspace
            .pointer("/properties/customerId")
            .and_then(Value::as_str)
            .ok_or_else(|| AzureError::Config {
                reason: "the Log Analytics workspace reports no customerId".into(),
            })?
            .to_string();
        let operations = operations(app, function);
        let base = az
            .endpoints
            .logs
            .clone()
            .unwrap_or_else(|| LOGS_ENDPOINT.into());
        let url = azure_core::Url::parse(&format!("{base}/v1/workspaces/{customer_id}/query"))
            .map_err(|e| AzureError::Config {
                reason: format!("endpoints.logs `{base}` is not a URL: {e}"),
            })?;
        let reply = self
            .arm
            .post_json_to(
                url,
                &format!("{base}/.default"),
                &json!({"query": query(&operations, since)}),
            )
            .await?;
        if !(200..=299).contains(&reply.status) {
            return Err(super::arm::arm_error(
                "POST /v1/workspaces/{id}/query",
                &names::log_workspace(app),
                &reply,
            ));
        }
        let mut lines = parse_rows(&reply.json());
        lines.retain(|l| seen.insert(format!("{}\u{0}{}\u{0}{}", l.time, l.operation, l.message)));
        Ok(lines)
    }
}

/// The Azure functions (the host's operation names) a manifest function
/// runs as: one per trigger, queue triggers included.
pub fn operations(app: &crate::model::App, function: &str) -> Vec<String> {
    package::azure_functions(app)
        .into_iter()
        .filter(|af| af.function.name == function)
        .map(|af| af.name)
        .chain(
            package::queue_functions(app)
                .into_iter()
                .filter(|qf| qf.function.name == function)
                .map(|qf| qf.name),
        )
        .collect()
}

/// The KQL: the function's traces in the window, oldest first. Names and
/// times are quoted as KQL string literals.
pub fn query(operations: &[String], since: &Since) -> String {
    let names: Vec<String> = operations.iter().map(|o| kql_string(o)).collect();
    let window = match since {
        Since::Ago { seconds } => format!("ago({seconds}s)"),
        Since::After { time } => format!("todatetime({})", kql_string(time)),
    };
    format!(
        "AppTraces | where TimeGenerated >= {window} | where OperationName in ({}) | project TimeGenerated, OperationName, Message | order by TimeGenerated asc | take 1000",
        names.join(", ")
    )
}

fn kql_string(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The rows of the query API's first table, by column name.
pub fn parse_rows(answer: &Value) -> Vec<TraceLine> {
    let table = &answer["tables"][0];
    let column = |name: &str| {
        table["columns"]
            .as_array()
            .and_then(|c| c.iter().position(|c| c["name"] == name))
    };
    let (Some(t), Some(o), Some(m)) = (
        column("TimeGenerated"),
        column("OperationName"),
        column("Message"),
    ) else {
        return Vec::new();
    };
    table["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| {
            let text = |i: usize| row[i].as_str().unwrap_or_default().to_string();
            TraceLine {
                time: text(t),
                operation: text(o),
                message: text(m),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_names_the_functions_and_the_window() {
        let q = query(
            &["api-http1".into(), "o'brien".into()],
            &Since::Ago { seconds: 600 },
        );
        assert_eq!(
            q,
            "AppTraces | where TimeGenerated >= ago(600s) | where OperationName in ('api-http1', 'o\\'brien') | project TimeGenerated, OperationName, Message | order by TimeGenerated asc | take 1000"
        );
        let after = query(
            &["tick".into()],
            &Since::After {
                time: "2026-12-03T08:00:00.123Z".into(),
            },
        );
        assert!(after.contains("TimeGenerated >= todatetime('2026-12-03T08:00:00.123Z')"));
    }

    /// A function with an HTTP and a queue trigger logs under both Azure
    /// functions; another function's queue trigger is not its.
    #[test]
    fn a_functions_logs_include_its_queue_trigger() {
        let app = crate::manifest::test_app(
            r#"
[app]
name = "shop"
runtime = "python3.12"
[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "rg"
location = "westeurope"
[resources.jobs]
kind = "queue"
[functions.api]
handler = "app.handler"
triggers = [{ type = "http", path = "/x", method = "GET" }, { type = "queue", queue = "jobs" }]
[functions.worker]
handler = "app.handler"
triggers = [{ type = "queue", queue = "jobs" }]
"#,
        );
        assert_eq!(operations(&app, "api"), ["api", "api-queue"]);
        assert_eq!(operations(&app, "worker"), ["worker"]);
    }

    #[test]
    fn rows_are_read_by_column_name() {
        let answer = json!({"tables": [{"name": "PrimaryResult",
            "columns": [{"name": "Message", "type": "string"}, {"name": "TimeGenerated", "type": "datetime"}, {"name": "OperationName", "type": "string"}],
            "rows": [["hello", "2026-12-03T08:00:00Z", "api-http1"]]}]});
        assert_eq!(
            parse_rows(&answer),
            vec![TraceLine {
                time: "2026-12-03T08:00:00Z".into(),
                operation: "api-http1".into(),
                message: "hello".into()
            }]
        );
        assert!(parse_rows(&json!({"tables": []})).is_empty());
    }
}
