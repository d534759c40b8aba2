//! AWS resource names for an app+stage.

use crate::model::App;
use crate::provider::naming::bounded;

/// Lambda function names: at most 64 of `[A-Za-z0-9_-]`.
pub const FUNCTION_NAME_MAX: usize = 64;
/// IAM role, EventBridge rule and statement ids share the 64 limit.
pub const NAME_MAX: usize = 64;

pub fn prefix(app: &App) -> String {
    format!("{}-{}", app.name, app.stage)
}

/// `{app}-{stage}-{function}`; too long is a manifest error (see checks),
/// because users type this name into consoles and log queries.
pub fn function(app: &App, function: &str) -> String {
    format!("{}-{}", prefix(app), function)
}

/// The per-stage alias that API Gateway, S3 and EventBridge invoke, so a
/// deploy switches traffic atomically and `rollback` can repoint it.
pub fn alias(app: &App) -> String {
    app.stage.clone()
}

/// One execution role per app+stage (IAM is global, so no region in it).
pub fn role(app: &App) -> String {
    bounded(&[&prefix(app), "lambda"], "-", NAME_MAX)
}

pub fn rest_api(app: &App) -> String {
    prefix(app)
}

/// The base URL API Gateway serves a REST API's stage at; routes follow it.
pub fn stage_url(api_id: &str, region: &str, stage: &str) -> String {
    format!("https://{api_id}.execute-api.{region}.amazonaws.com/{stage}")
}

pub fn schedule_rule(app: &App, function: &str, index: usize) -> String {
    bounded(
        &[&prefix(app), function, &format!("s{index}")],
        "-",
        NAME_MAX,
    )
}

/// Notification configuration ids fnctl owns start with this, which is how
/// foreign notifications on a shared bucket are told apart and kept.
pub fn notification_id(app: &App, function: &str, index: usize) -> String {
    bounded(
        &["fnctl", &prefix(app), function, &format!("n{index}")],
        "-",
        255,
    )
}

pub fn log_group(app: &App, function: &str) -> String {
    format!("/aws/lambda/{}", self::function(app, function))
}
