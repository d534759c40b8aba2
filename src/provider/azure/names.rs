//! Azure resource names for an app+stage.
//!
//! Function App and storage account names are global (they become DNS
//! names), so both carry a short hash of subscription + resource group: two
//! teams deploying an app called `api` do not collide, and the same team
//! always gets the same name back.

use crate::model::{App, AzureSettings};
use crate::provider::naming::short_hash;

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
pub fn function_app(app: &App, az: &AzureSettings) -> String {
    format!("{}-{}-{}", app.name, app.stage, scope_hash(app, az, 6))
}

pub fn plan(app: &App) -> String {
    format!("{}-{}-plan", app.name, app.stage)
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
    format!("{}-{}-logs", app.name, app.stage)
}

/// The Application Insights component the Function App reports to.
pub fn app_insights(app: &App) -> String {
    format!("{}-{}-insights", app.name, app.stage)
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
        };
        (app, az)
    }

    #[test]
    fn log_workspace_names_fit_azure_rules_at_the_manifest_limits() {
        // App names are at most 24 characters, stages at most 12.
        for (n, s) in [("a", "d"), ("a-twenty-four-char-name1", "production12")] {
            let (app, _) = app(n, s);
            let ws = log_workspace(&app);
            assert!((4..=63).contains(&ws.len()), "{ws}");
            assert!(ws.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
            assert!(!ws.starts_with('-') && !ws.ends_with('-'));
        }
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
