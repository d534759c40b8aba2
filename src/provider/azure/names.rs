//! Azure resource names for an app+stage.
//!
//! Function App and storage account names are global (they become DNS
//! names), so both carry a short hash of subscription + resource group: two
//! teams deploying an app called `api` do not collide, and the same team
//! always gets the same name back.

use crate::model::{App, AzureSettings};
use crate::provider::naming::{bounded, short_hash};

fn scope_hash(app: &App, az: &AzureSettings, len: usize) -> String {
    short_hash(
        &format!(
            "{}/{}/{}/{}",
            az.subscription, az.resource_group, app.name, app.stage
        ),
        len,
    )
}

/// Function App (site) name: 2-60 letters, digits and hyphens.
///
/// `{app}-{stage}-{hash}` is at most 60 with the manifest's limits (40, 12,
/// 6 and two hyphens); `bounded` keeps that true should they grow, and
/// leaves every name that fits as it was.
pub fn function_app(app: &App, az: &AzureSettings) -> String {
    let hash = scope_hash(app, az, 6);
    format!(
        "{}-{hash}",
        bounded(
            &[&app.name, &app.stage],
            "-",
            FUNCTION_APP_MAX - hash.len() - 1
        )
    )
}

/// Function App names: 2-60 characters.
const FUNCTION_APP_MAX: usize = 60;
/// App Service plan names: 1-60 characters.
const PLAN_MAX: usize = 60;
/// Log Analytics workspace names: 4-63 characters.
const WORKSPACE_MAX: usize = 63;
/// Application Insights component names: 1-260 characters.
const INSIGHTS_MAX: usize = 260;

pub fn plan(app: &App) -> String {
    bounded(&[&app.name, &app.stage, "plan"], "-", PLAN_MAX)
}

/// Storage account: 3-24 lowercase letters and digits, globally unique.
pub fn storage_account(app: &App, az: &AzureSettings) -> String {
    let letters: String = format!("{}{}", app.name, app.stage)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(14)
        .collect();
    format!("fn{letters}{}", scope_hash(app, az, 8))
}

/// The container Flex Consumption deploys packages from.
pub const DEPLOYMENT_CONTAINER: &str = "app-package";

/// The Log Analytics workspace behind Application Insights (4 to 63
/// letters, digits and hyphens; the manifest's name rules keep it so).
pub fn log_workspace(app: &App) -> String {
    bounded(&[&app.name, &app.stage, "logs"], "-", WORKSPACE_MAX)
}

/// The Application Insights component the Function App reports to.
pub fn app_insights(app: &App) -> String {
    bounded(&[&app.name, &app.stage, "insights"], "-", INSIGHTS_MAX)
}

/// The Event Grid subscription that feeds one blob-triggered Azure function:
/// `fnctl-{function}`, within Event Grid's 64 letters, digits and hyphens.
pub fn event_subscription(azure_function: &str) -> String {
    let clean: String = azure_function
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    crate::provider::naming::bounded(&["fnctl", &clean], "-", 64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AzureEndpoints, AzurePlan};
    use std::collections::BTreeMap;

    fn app(name: &str, stage: &str) -> (App, AzureSettings) {
        let az = AzureSettings {
            subscription: "00000000-0000-0000-0000-000000000000".into(),
            resource_group: "rg".into(),
            location: "westeurope".into(),
            plan: AzurePlan::Flex,
            maximum_instances: 100,
            app_insights: true,
            endpoints: AzureEndpoints::default(),
        };
        let app = App {
            name: name.into(),
            stage: stage.into(),
            root: ".".into(),
            manifest_path: "fnctl.toml".into(),
            tags: BTreeMap::new(),
            aws: None,
            azure: Some(az.clone()),
            functions: BTreeMap::new(),
            resources: Default::default(),
        };
        (app, az)
    }

    #[test]
    fn log_workspace_names_fit_azure_rules_at_the_manifest_limits() {
        // App names are at most 40 characters, stages at most 12.
        for (n, s) in [
            ("a", "d"),
            ("a-twenty-four-char-name1", "production12"),
            ("a-forty-character-application-name-here1", "production12"),
        ] {
            let (app, _) = app(n, s);
            let ws = log_workspace(&app);
            assert!((4..=63).contains(&ws.len()), "{ws}");
            assert!(ws.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
            assert!(!ws.starts_with('-') && !ws.ends_with('-'));
        }
    }

    /// Names of apps that fit the old 24-character limit are exactly what
    /// earlier versions derived, or their deployments would be orphaned.
    #[test]
    fn names_that_fit_are_unchanged() {
        let (shop, az) = app("shop", "dev");
        assert_eq!(function_app(&shop, &az), "shop-dev-52707c");
        assert_eq!(storage_account(&shop, &az), "fnshopdev52707c99");
        assert_eq!(plan(&shop), "shop-dev-plan");
        assert_eq!(log_workspace(&shop), "shop-dev-logs");
        assert_eq!(app_insights(&shop), "shop-dev-insights");
        let (long, az) = app("a-twenty-four-char-name1", "production12");
        assert_eq!(
            function_app(&long, &az),
            "a-twenty-four-char-name1-production12-9b4934"
        );
        assert_eq!(storage_account(&long, &az), "fnatwentyfourcha9b4934f0");
        assert_eq!(plan(&long), "a-twenty-four-char-name1-production12-plan");
        let (reports, az) = app("reports", "prod");
        assert_eq!(function_app(&reports, &az), "reports-prod-6c3a64");
        assert_eq!(storage_account(&reports, &az), "fnreportsprod6c3a6471");
    }

    #[test]
    fn names_of_long_apps_fit_azure_limits() {
        let (a, az) = app("a-forty-character-application-name-here1", "production12");
        let site = function_app(&a, &az);
        assert!((2..=FUNCTION_APP_MAX).contains(&site.len()), "{site}");
        assert_eq!(site, function_app(&a, &az), "stable");
        assert!(plan(&a).len() <= PLAN_MAX);
        assert!(log_workspace(&a).len() <= WORKSPACE_MAX);
        assert!(app_insights(&a).len() <= INSIGHTS_MAX);
        assert!(storage_account(&a, &az).len() <= 24);
        let (b, az) = app("a-forty-character-application-name-here2", "production12");
        assert_ne!(storage_account(&a, &az), storage_account(&b, &az));
        assert_ne!(site, function_app(&b, &az));
    }

    #[test]
    fn storage_account_names_fit_azure_rules() {
        for (n, s) in [("a", "dev"), ("a-very-long-application", "production12")] {
            let (app, az) = app(n, s);
            let sa = storage_account(&app, &az);
            assert!((3..=24).contains(&sa.len()), "{sa}");
            assert!(
                sa.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
                "{sa}"
            );
            assert_eq!(sa, storage_account(&app, &az), "deterministic");
        }
        let (a, az) = app("shop", "dev");
        let (b, _) = app("shop", "prod");
        assert_ne!(storage_account(&a, &az), storage_account(&b, &az));
        assert!(function_app(&a, &az).starts_with("shop-dev-"));
    }

    #[test]
    fn event_subscription_names_fit_event_grid_rules() {
        assert_eq!(event_subscription("upload"), "fnctl-upload");
        assert_eq!(
            event_subscription("on_upload-storage2"),
            "fnctl-on-upload-storage2"
        );
        let long = event_subscription(&"x".repeat(100));
        assert!(long.len() <= 64, "{long}");
        assert!(long.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        assert_ne!(long, event_subscription(&"x".repeat(99)));
    }
}
