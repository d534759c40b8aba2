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

/// The app-data storage account that holds the app's resources
/// (`[resources.NAME]`: blob containers, queues, tables), apart from
/// fnctl's own account (the Functions host's storage and the packages):
/// `fd{app+stage letters, 14 at most}{8-hex hash}`, 3-24 lowercase letters
/// and digits like [`storage_account`], whose `fn` prefix it never shares.
/// The hash also covers the word `data`, so the two accounts' hashes differ.
pub fn data_account(app: &App, az: &AzureSettings) -> String {
    let letters: String = format!("{}{}", app.name, app.stage)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(14)
        .collect();
    let hash = short_hash(
        &format!(
            "{}/{}/{}/{}/data",
            az.subscription, az.resource_group, app.name, app.stage
        ),
        8,
    );
    format!("fd{letters}{hash}")
}

/// Blob container, queue and table names: at most 63 characters (Azure
/// Storage's naming rules: containers and queues 3-63 lowercase letters,
/// digits and single hyphens; tables 3-63 letters and digits, starting with
/// a letter).
const DATA_NAME_MAX: usize = 63;

/// A bucket or queue resource in the data account: `{app}-{stage}-{name}`
/// (stage-scoped like the AWS names, cut with a hash past 63 characters).
/// App, stage and resource names are lowercase letters, digits and single
/// hyphens, so the result fits the container and queue rules.
pub fn data_resource(app: &App, resource: &str) -> String {
    bounded(&[&app.name, &app.stage, resource], "-", DATA_NAME_MAX)
}

/// A table resource: Azure table names allow no hyphens, so
/// `{app}{stage}{name}` with them dropped (`shop`, `dev`, `order-items` →
/// `shopdevorderitems`), cut with a hash past 63 characters, and prefixed
/// with `t` should it not start with a letter.
pub fn data_table(app: &App, resource: &str) -> String {
    let joined: String = format!("{}{}{}", app.name, app.stage, resource)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let joined = if joined.starts_with(|c: char| c.is_ascii_alphabetic()) {
        joined
    } else {
        format!("t{joined}")
    };
    if joined.len() <= DATA_NAME_MAX {
        return joined;
    }
    let hash = short_hash(&joined, 8);
    format!("{}{hash}", &joined[..DATA_NAME_MAX - hash.len()])
}

/// The name of the role assignment that grants `role` (a role definition
/// GUID) on the app resource `resource` to the Function App's identity.
///
/// Role assignments carry no tags, so their name is their ownership mark:
/// a GUID derived from subscription, resource group, app, stage, resource
/// and role, the same on every run. It is the first 16 bytes of the
/// SHA-256 of `fnctl-role-assignment/{subscription}/{group}/{app}/{stage}/{resource}/{role}`
/// with the version nibble set to 8 and the RFC 4122 variant bits (RFC 9562
/// §5.8, a name-based UUID with a custom hash, like its SHA-256 example in
/// appendix B.2). Azure requires the name to be a GUID.
pub fn role_assignment(app: &App, az: &AzureSettings, resource: &str, role: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(
        format!(
            "fnctl-role-assignment/{}/{}/{}/{}/{resource}/{role}",
            az.subscription, az.resource_group, app.name, app.stage
        )
        .as_bytes(),
    );
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
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
            cors: None,
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
    fn data_names_fit_azure_rules_and_stay_apart() {
        let (shop, az) = app("shop", "dev");
        let data = data_account(&shop, &az);
        assert!((3..=24).contains(&data.len()), "{data}");
        assert!(data.starts_with("fdshopdev"), "{data}");
        assert_ne!(data, storage_account(&shop, &az));
        let (long, az2) = app("a-forty-character-application-name-here1", "production12");
        assert!(data_account(&long, &az2).len() <= 24);
        assert_eq!(data_resource(&shop, "uploads"), "shop-dev-uploads");
        assert_eq!(data_table(&shop, "order-items"), "shopdevorderitems");
        let t = data_table(&long, "a-very-long-table-name-that-goes-on-and-on");
        assert!(
            t.len() <= 63 && t.chars().all(|c| c.is_ascii_alphanumeric()),
            "{t}"
        );
        let (digit, _) = app("1app", "dev");
        assert_eq!(data_table(&digit, "tab"), "t1appdevtab");
        let q = data_resource(&long, "a-very-long-queue-name-that-goes-on-and-on");
        assert!(q.len() <= 63 && !q.ends_with('-'), "{q}");
    }

    #[test]
    fn role_assignment_names_are_stable_guids() {
        let (shop, az) = app("shop", "dev");
        let reader = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
        let a = role_assignment(&shop, &az, "uploads", reader);
        assert_eq!(a, role_assignment(&shop, &az, "uploads", reader));
        assert_eq!(a.len(), 36);
        assert_eq!(
            a.split('-').map(str::len).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert_eq!(&a[14..15], "8", "version nibble");
        assert!("89ab".contains(&a[19..20]), "variant");
        let (prod, _) = app("shop", "prod");
        assert_ne!(a, role_assignment(&prod, &az, "uploads", reader));
        assert_ne!(a, role_assignment(&shop, &az, "images", reader));
        assert_ne!(a, role_assignment(&shop, &az, "uploads", "other"));
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
