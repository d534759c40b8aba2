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

/// `{app}-{stage}-{function}`, which users type into consoles and log
/// queries; over Lambda's 64 characters (possible since app names may have
/// 40) it is cut and ends in a hash of the full name. Names that fit are
/// never touched, so deployments made before stay fnctl's.
pub fn function(app: &App, function: &str) -> String {
    bounded(&[&prefix(app), function], "-", FUNCTION_NAME_MAX)
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

/// `{app}-{stage}`: at most 53 characters with the manifest's limits, far
/// below API Gateway's; the API key and usage plan add a suffix to it.
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

/// S3 bucket names: 3-63 lowercase letters, digits, dots and hyphens; the
/// tightest limit of the three kinds, so one rule serves them all.
pub const RESOURCE_NAME_MAX: usize = 63;

/// An app resource (`[resources.NAME]`: S3 bucket, SQS queue, DynamoDB
/// table): `{app}-{stage}-{name}`, cut with a hash past 63 characters.
/// Stage-scoped, so stages never share data; S3 bucket names are global,
/// and a name someone else holds is a conflict `plan` names.
pub fn resource(app: &App, resource: &str) -> String {
    bounded(&[&prefix(app), resource], "-", RESOURCE_NAME_MAX)
}

/// The dead-letter queue of a queue resource.
pub fn dead_letter_queue(app: &App, resource: &str) -> String {
    bounded(&[&prefix(app), resource, "dlq"], "-", RESOURCE_NAME_MAX)
}

/// One execution role per function (least privilege: each holds exactly
/// what its function's `access` grants), replacing the app's shared role
/// (`{app}-{stage}-lambda`, which a function named `lambda` must not meet).
pub fn function_role(app: &App, function: &str) -> String {
    bounded(&[&prefix(app), function, "role"], "-", NAME_MAX)
}

pub fn log_group(app: &App, function: &str) -> String {
    format!("/aws/lambda/{}", self::function(app, function))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn app(name: &str, stage: &str) -> App {
        App {
            name: name.into(),
            stage: stage.into(),
            root: ".".into(),
            manifest_path: "fnctl.toml".into(),
            tags: BTreeMap::new(),
            aws: None,
            azure: None,
            functions: BTreeMap::new(),
            resources: Default::default(),
            cors: None,
        }
    }

    /// Names of apps that fit the old 24-character limit are exactly what
    /// earlier versions derived, or their deployments would be orphaned.
    #[test]
    fn names_that_fit_are_unchanged() {
        let shop = app("shop", "dev");
        assert_eq!(function(&shop, "get-user"), "shop-dev-get-user");
        assert_eq!(role(&shop), "shop-dev-lambda");
        assert_eq!(rest_api(&shop), "shop-dev");
        assert_eq!(schedule_rule(&shop, "nightly", 0), "shop-dev-nightly-s0");
        assert_eq!(
            log_group(&shop, "get-user"),
            "/aws/lambda/shop-dev-get-user"
        );
        let long = app("a-twenty-four-char-name1", "production12");
        assert_eq!(
            function(&long, "handler_with_20chars"),
            "a-twenty-four-char-name1-production12-handler_with_20chars"
        );
        assert_eq!(role(&long), "a-twenty-four-char-name1-production12-lambda");
    }

    #[test]
    fn names_of_long_apps_fit_aws_limits() {
        let a = app(&"a".repeat(40), "production12");
        let f = "f".repeat(32);
        let name = function(&a, &f);
        assert!(name.len() <= FUNCTION_NAME_MAX, "{name}");
        assert!(name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(name, function(&a, &f), "stable");
        assert_ne!(name, function(&a, &"g".repeat(32)), "distinct");
        assert_eq!(log_group(&a, &f), format!("/aws/lambda/{name}"));
        assert!(role(&a).len() <= NAME_MAX);
        assert!(schedule_rule(&a, &f, 9).len() <= NAME_MAX);
        // REST API, API key and usage plan names: API Gateway allows far more.
        assert!(rest_api(&a).len() <= 53);
        // `aws-python-scheduled-cron` (25) with a short stage needs no cut.
        let cron = app("aws-python-scheduled-cron", "dev");
        assert_eq!(
            function(&cron, "cron"),
            "aws-python-scheduled-cron-dev-cron"
        );
    }
}
