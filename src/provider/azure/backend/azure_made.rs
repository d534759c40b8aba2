//! What Azure creates on its own next to what fnctl creates, and how
//! `remove` recognises it.
//!
//! - **Smart detection of the Application Insights component.** A few
//!   minutes after a component is created, Azure adds to its resource
//!   group a smart detector alert rule `Failure Anomalies - {component}`
//!   (`microsoft.alertsManagement/smartDetectorAlertRules`, detector
//!   `FailureAnomaliesDetector`, scope the component) and, unless the group
//!   already has one, the action group `Application Insights Smart
//!   Detection` (`microsoft.insights/actionGroups`) it notifies
//!   (hashicorp/terraform-provider-azurerm#10563, #18026). The rule is
//!   fnctl's to delete when its name, its detector and its one scope are
//!   fnctl's component. The action group may serve other components' rules
//!   too, so it is deleted only when it is the one fnctl's rule names, in
//!   the same group, and no other alert rule in the group names it — and,
//!   since fnctl cannot tell whether a metric, log or activity-log alert
//!   uses it without reading each, only when the group holds no alert rule
//!   of those kinds at all. It goes before the rule: as long as the rule is
//!   there it proves whose the action group is, so a remove interrupted
//!   between the two finds both, or the rule alone, on its rerun.
//! - **The Event Grid system topic of the storage account.** Creating the
//!   first event subscription on a storage account (blob triggers on Flex
//!   Consumption) makes Event Grid create a system topic
//!   `{account}-{GUID}` (`Microsoft.EventGrid/systemTopics`) whose `source`
//!   is the account ("System topics in Azure Event Grid"). It is deleted
//!   with the last subscription, but deleting the account can leave it.
//!   fnctl deletes the system topic whose source is fnctl's storage
//!   account once that account is gone; a kept account keeps its topic.
//!
//! Nothing else is touched, and what is found is compared by exact type and
//! resource id (case-insensitively, as ARM compares them).

use serde_json::Value;

use super::apply::Applied;
use super::{
    paths, AzureBackend, AzureError, API_EVENTGRID, API_INSIGHTS, API_RESOURCES, API_STORAGE,
};
use crate::plan::ResourceId;
use crate::provider::azure::names;
use crate::provider::interrupt::{Interrupt, Interrupted};

/// Microsoft.Insights actionGroups.
pub const API_ACTION_GROUPS: &str = "2023-01-01";
/// microsoft.alertsManagement smartDetectorAlertRules.
pub const API_SMART_DETECTOR: &str = "2021-04-01";

/// The action group Azure creates for smart detection.
pub const SMART_DETECTION_GROUP: &str = "Application Insights Smart Detection";

const RULE_TYPE: &str = "microsoft.alertsManagement/smartDetectorAlertRules";
const ACTION_GROUP_TYPE: &str = "microsoft.insights/actionGroups";
const SYSTEM_TOPIC_TYPE: &str = "Microsoft.EventGrid/systemTopics";
/// Alert rules that can name an action group and are not read here: while
/// one is in the group, the smart detection action group stays.
const OTHER_ALERT_TYPES: &[&str] = &[
    "microsoft.insights/metricAlerts",
    "microsoft.insights/activityLogAlerts",
    "microsoft.insights/scheduledQueryRules",
    "microsoft.insights/alertrules",
];

/// ARM ids and types compare case-insensitively; an id may come
/// percent-encoded.
fn same_id(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        percent_encoding::percent_decode_str(s.trim_end_matches('/'))
            .decode_utf8_lossy()
            .to_ascii_lowercase()
    };
    norm(a) == norm(b)
}

fn type_of(resource: &Value) -> &str {
    resource["type"].as_str().unwrap_or_default()
}

fn strings<'a>(v: &'a Value, pointer: &str) -> Vec<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Whether `rule` is the Failure Anomalies rule Azure made for the
/// component `component` whose id is `component_id`.
pub fn is_failure_anomalies_of(rule: &Value, component_id: &str, component: &str) -> bool {
    let name = rule["name"].as_str().unwrap_or_default();
    let detector = rule
        .pointer("/properties/detector/id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let scope = strings(rule, "/properties/scope");
    name.eq_ignore_ascii_case(&format!("Failure Anomalies - {component}"))
        && detector.eq_ignore_ascii_case("FailureAnomaliesDetector")
        && scope.len() == 1
        && same_id(scope[0], component_id)
}

/// The action groups a smart detector rule notifies.
fn groups_of(rule: &Value) -> Vec<&str> {
    strings(rule, "/properties/actionGroups/groupIds")
}

/// One resource as the output names it: ``type `name` ``.
fn described(resource: &Value) -> String {
    format!(
        "{} `{}`",
        type_of(resource),
        resource["name"].as_str().unwrap_or_default()
    )
}

impl AzureBackend {
    /// Every page of an ARM list; `None` when the list's parent is gone.
    pub(super) async fn list_all(
        &self,
        path: &str,
        api: &str,
    ) -> Result<Option<Vec<Value>>, AzureError> {
        let Some(mut page) = self.arm.get(path, api).await? else {
            return Ok(None);
        };
        let mut all = Vec::new();
        loop {
            all.extend(page["value"].as_array().into_iter().flatten().cloned());
            let Some(next) = page["nextLink"].as_str().filter(|n| !n.is_empty()) else {
                return Ok(Some(all));
            };
            let url = azure_core::Url::parse(next).map_err(|e| AzureError::Config {
                reason: format!("ARM returned an unusable nextLink ({e})"),
            })?;
            let reply = self
                .arm
                .send(azure_core::Method::Get, url, None, "")
                .await?;
            if !(200..=299).contains(&reply.status) {
                return Err(super::arm::arm_error("GET", path, &reply));
            }
            page = reply.json();
        }
    }

    /// The resources in the app's resource group, as ARM lists them.
    pub(super) async fn group_resources(&self) -> Result<Option<Vec<Value>>, AzureError> {
        self.list_all(
            &format!("{}/resources", paths::resource_group(&self.settings)),
            API_RESOURCES,
        )
        .await
    }

    /// Deletes what Azure made for fnctl's component and storage account
    /// (see the module docs), after fnctl's own resources are gone.
    /// `storage_kept`: the storage account stays for its data, and so does
    /// its system topic.
    pub(super) async fn remove_azure_made(
        &self,
        progress: &(dyn Fn(&ResourceId, &str) + Send + Sync),
        removed: &mut Vec<Applied>,
        interrupt: &Interrupt,
        storage_kept: bool,
    ) -> Result<(), AzureError> {
        let Some(listed) = self.group_resources().await? else {
            return Ok(());
        };
        let has = |t: &str| listed.iter().any(|r| type_of(r).eq_ignore_ascii_case(t));
        let mut doomed: Vec<(&'static str, String, String, &'static str)> = Vec::new();
        if has(RULE_TYPE) {
            doomed.extend(self.smart_detection(&listed).await?);
        }
        if has(SYSTEM_TOPIC_TYPE) && !storage_kept {
            doomed.extend(self.storage_system_topics().await?);
        }
        for (kind, name, id, api) in doomed {
            if interrupt.requested() {
                return Err(Interrupted {
                    done: removed.len(),
                    left: 1,
                }
                .into());
            }
            let rid = ResourceId::new(kind, &name);
            progress(&rid, "delete");
            self.arm.delete(&id, api).await?;
            progress(&rid, "done");
            removed.push(Applied {
                action: "delete",
                kind: kind.into(),
                name,
            });
        }
        Ok(())
    }

    /// The smart detection made for fnctl's component, in the order to
    /// delete it: each action group only fnctl's rule names, then the rule.
    async fn smart_detection(
        &self,
        listed: &[Value],
    ) -> Result<Vec<(&'static str, String, String, &'static str)>, AzureError> {
        let (app, az) = (&self.app, &self.settings);
        let component_id = paths::app_insights(app, az);
        // A component with fnctl's name that is still there is not
        // fnctl's (remove deleted fnctl's): its rule is not fnctl's either.
        if self.arm.get(&component_id, API_INSIGHTS).await?.is_some() {
            return Ok(Vec::new());
        }
        let component = names::app_insights(app);
        let rules = self
            .list_all(
                &format!("{}/providers/{RULE_TYPE}", paths::resource_group(az)),
                API_SMART_DETECTOR,
            )
            .await?
            .unwrap_or_default();
        let (ours, others): (Vec<&Value>, Vec<&Value>) = rules
            .iter()
            .partition(|r| is_failure_anomalies_of(r, &component_id, &component));
        let other_alerts = listed.iter().any(|r| {
            OTHER_ALERT_TYPES
                .iter()
                .any(|t| type_of(r).eq_ignore_ascii_case(t))
        });
        let smart_group = format!(
            "{}/providers/{ACTION_GROUP_TYPE}/{SMART_DETECTION_GROUP}",
            paths::resource_group(az)
        );
        let mut doomed = Vec::new();
        for rule in ours {
            for group in groups_of(rule) {
                let shared = other_alerts
                    || others
                        .iter()
                        .any(|o| groups_of(o).iter().any(|g| same_id(g, group)));
                // Still there (a rerun after an interrupted remove finds
                // the rule without it).
                let listed_here = listed
                    .iter()
                    .any(|r| same_id(r["id"].as_str().unwrap_or_default(), group));
                if same_id(group, &smart_group) && !shared && listed_here {
                    doomed.push((
                        "action_group",
                        SMART_DETECTION_GROUP.to_string(),
                        group.to_string(),
                        API_ACTION_GROUPS,
                    ));
                }
            }
            doomed.push((
                "smart_detector_alert_rule",
                rule["name"].as_str().unwrap_or_default().to_string(),
                rule["id"].as_str().unwrap_or_default().to_string(),
                API_SMART_DETECTOR,
            ));
        }
        Ok(doomed)
    }

    /// The system topics whose source is fnctl's storage account, once the
    /// account is gone.
    async fn storage_system_topics(
        &self,
    ) -> Result<Vec<(&'static str, String, String, &'static str)>, AzureError> {
        let (app, az) = (&self.app, &self.settings);
        let account = paths::storage_account(app, az);
        // Still there: kept for its data, or not fnctl's.
        if self.arm.get(&account, API_STORAGE).await?.is_some() {
            return Ok(Vec::new());
        }
        let topics = self
            .list_all(
                &format!(
                    "{}/providers/{SYSTEM_TOPIC_TYPE}",
                    paths::resource_group(az)
                ),
                API_EVENTGRID,
            )
            .await?
            .unwrap_or_default();
        Ok(topics
            .iter()
            .filter(|t| {
                let source = t
                    .pointer("/properties/source")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let topic_type = t
                    .pointer("/properties/topicType")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                same_id(source, &account)
                    && topic_type.eq_ignore_ascii_case("Microsoft.Storage.StorageAccounts")
            })
            .map(|t| {
                (
                    "system_topic",
                    t["name"].as_str().unwrap_or_default().to_string(),
                    t["id"].as_str().unwrap_or_default().to_string(),
                    API_EVENTGRID,
                )
            })
            .collect())
    }

    /// What is still in the resource group, in words, for the reason a
    /// group fnctl created is kept; empty when nothing is.
    pub(super) async fn left_in_group(&self) -> Result<Option<Vec<String>>, AzureError> {
        Ok(self
            .group_resources()
            .await?
            .map(|listed| listed.iter().map(described).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const COMPONENT: &str = "/subscriptions/s/resourcegroups/rg/providers/Microsoft.Insights/components/shop-dev-insights";

    fn rule(name: &str, scope: &[&str], detector: &str) -> Value {
        json!({"name": name, "properties": {"scope": scope, "detector": {"id": detector},
            "actionGroups": {"groupIds": ["/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/actiongroups/Application Insights Smart Detection"]}}})
    }

    #[test]
    fn only_the_failure_anomalies_rule_of_the_component_is_recognised() {
        let azure_made = "/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/components/shop-dev-insights";
        let ok = rule(
            "Failure Anomalies - shop-dev-insights",
            &[azure_made],
            "FailureAnomaliesDetector",
        );
        assert!(is_failure_anomalies_of(&ok, COMPONENT, "shop-dev-insights"));
        let lower = rule(
            "failure anomalies - shop-dev-insights",
            &[azure_made],
            "FailureAnomaliesDetector",
        );
        assert!(is_failure_anomalies_of(
            &lower,
            COMPONENT,
            "shop-dev-insights"
        ));
        for other in [
            rule("my rule", &[azure_made], "FailureAnomaliesDetector"),
            rule(
                "Failure Anomalies - shop-dev-insights",
                &[azure_made, "/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/components/other"],
                "FailureAnomaliesDetector",
            ),
            rule(
                "Failure Anomalies - shop-dev-insights",
                &["/subscriptions/s/resourceGroups/other-rg/providers/microsoft.insights/components/shop-dev-insights"],
                "FailureAnomaliesDetector",
            ),
            rule(
                "Failure Anomalies - shop-dev-insights",
                &[azure_made],
                "RequestPerformanceDegradationDetector",
            ),
        ] {
            assert!(
                !is_failure_anomalies_of(&other, COMPONENT, "shop-dev-insights"),
                "{other}"
            );
        }
    }

    #[test]
    fn ids_compare_as_arm_compares_them() {
        assert!(same_id(
            "/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/actiongroups/Application Insights Smart Detection",
            "/subscriptions/s/resourcegroups/rg/providers/microsoft.insights/actionGroups/Application%20Insights%20Smart%20Detection/",
        ));
        assert!(!same_id(
            "/subscriptions/s/resourceGroups/rg/providers/microsoft.insights/actiongroups/a",
            "/subscriptions/s/resourceGroups/rg2/providers/microsoft.insights/actiongroups/a",
        ));
    }
}
