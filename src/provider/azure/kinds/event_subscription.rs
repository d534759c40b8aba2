//! `event_subscription`: Flex Consumption runs blob triggers only from
//! Event Grid. One subscription per blob-triggered function, on the app's
//! storage account, delivers BlobCreated events under the trigger's
//! container/prefix/suffix to the host's blob webhook. Made after the
//! package: the webhook's key exists only once the host has loaded the
//! trigger.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::common::leaf;
use super::{package, storage, Kind, Outcome, Reading, Run, Then};
use crate::model::{App, AzurePlan, AzureSettings, StorageTrigger, Trigger};
use crate::plan::{Change, Resource};
use crate::provider::azure::backend::{paths, AzureBackend, AzureError, Live, API_EVENTGRID};
use crate::provider::azure::{names, package as layout};
use crate::provider::CodeDigests;

/// The Event Grid event type blob triggers fire on.
pub const BLOB_CREATED: &str = "Microsoft.Storage.BlobCreated";

pub struct EventSubscription;

/// Event Grid's subject for blobs under a trigger's container and prefix.
pub fn blob_subject_prefix(s: &StorageTrigger) -> String {
    format!(
        "/blobServices/default/containers/{}/blobs/{}",
        s.bucket,
        s.prefix.as_deref().unwrap_or("")
    )
}

/// How plans show a subscription's destination: the host's blob webhook for
/// one function (the URL carries a key, so it is never shown).
pub fn blob_webhook_label(site: &str, azure_function: &str) -> String {
    format!("{site}/runtime/webhooks/blobs?functionName=Host.Functions.{azure_function}")
}

#[async_trait::async_trait]
impl Kind for EventSubscription {
    fn kinds(&self) -> &'static [&'static str] {
        &["event_subscription"]
    }

    fn desired(&self, app: &App, az: &AzureSettings, _: &CodeDigests, out: &mut Vec<Resource>) {
        if az.plan != AzurePlan::Flex {
            return;
        }
        let sa_name = names::storage_account(app, az);
        let site_name = names::function_app(app, az);
        let created = storage::trigger_containers(app);
        for af in layout::azure_functions(app) {
            let Trigger::Storage(s) = af.trigger else {
                continue;
            };
            let mut r = Resource::new(
                "event_subscription",
                format!("{sa_name}/{}", names::event_subscription(&af.name)),
            )
            .for_function(&af.function.name)
            .attr("events", json!([BLOB_CREATED]))
            .attr("subject_begins_with", blob_subject_prefix(s))
            .attr("subject_ends_with", s.suffix.clone().unwrap_or_default())
            .attr("destination", blob_webhook_label(&site_name, &af.name))
            .depends_on(&package::id(app, az));
            if created.contains(&s.bucket) {
                r = r.depends_on(&storage::container(app, az, &s.bucket).id);
            }
            out.push(r);
        }
    }

    /// fnctl's subscriptions on the storage account, when that is fnctl's.
    async fn read(&self, b: &AzureBackend, reading: &mut Reading) -> Result<Then, AzureError> {
        if b.settings.plan == AzurePlan::Flex && reading.storage_owned {
            b.read_event_subscriptions(&mut reading.live).await?;
        }
        Ok(Then::Continue)
    }

    async fn apply(
        &self,
        b: &AzureBackend,
        change: &Change,
        _: &mut Run<'_>,
    ) -> Result<Outcome, AzureError> {
        b.put_event_subscription(leaf(&change.id.name)).await?;
        Ok(Outcome::Done)
    }

    async fn delete(
        &self,
        b: &AzureBackend,
        change: &Change,
        _: &mut Run<'_>,
    ) -> Result<Outcome, AzureError> {
        let path = paths::event_subscription(&b.app, &b.settings, leaf(&change.id.name));
        b.arm.delete(&path, API_EVENTGRID).await?;
        Ok(Outcome::Done)
    }
}

impl AzureBackend {
    /// Event Grid hides the query of a webhook URL (it holds the key), so
    /// which function a subscription feeds is read from its name, and only
    /// the base URL is compared with the host's blob webhook.
    async fn read_event_subscriptions(&self, live: &mut Live) -> Result<(), AzureError> {
        let (app, az) = (&self.app, &self.settings);
        let Some(list) = self
            .arm
            .get(&paths::event_subscriptions(app, az), API_EVENTGRID)
            .await?
        else {
            return Ok(());
        };
        let sa_name = names::storage_account(app, az);
        let site_name = names::function_app(app, az);
        let webhook = live.host.as_deref().map(|h| paths::blob_webhook(az, h));
        let by_name: BTreeMap<String, (String, String)> = layout::azure_functions(app)
            .into_iter()
            .map(|af| {
                (
                    names::event_subscription(&af.name),
                    (af.name.clone(), af.function.name.clone()),
                )
            })
            .collect();
        for sub in fnctls(&list) {
            let name = sub["name"].as_str().unwrap_or_default();
            let props = &sub["properties"];
            let base = props
                .pointer("/destination/properties/endpointBaseUrl")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .trim_end_matches('/');
            let known = by_name.get(name);
            let destination = match known {
                Some((af, _)) if Some(base) == webhook.as_deref() => {
                    blob_webhook_label(&site_name, af)
                }
                _ => base.to_string(),
            };
            let filter = &props["filter"];
            let mut r = Resource::new("event_subscription", format!("{sa_name}/{name}"))
                .attr("events", filter["includedEventTypes"].clone())
                .attr(
                    "subject_begins_with",
                    filter["subjectBeginsWith"].as_str().unwrap_or_default(),
                )
                .attr(
                    "subject_ends_with",
                    filter["subjectEndsWith"].as_str().unwrap_or_default(),
                )
                .attr("destination", destination);
            if let Some((_, function)) = known {
                r = r.for_function(function);
            }
            live.resources.push(r);
        }
        Ok(())
    }

    /// Creates or replaces the Event Grid subscription `name` for the blob
    /// trigger it is named after. The webhook URL carries the host's
    /// `blobs_extension` system key, which the host creates once it has
    /// loaded a blob trigger with the Event Grid source; it is waited for,
    /// and never printed.
    async fn put_event_subscription(&self, name: &str) -> Result<(), AzureError> {
        let (app, az) = (&self.app, &self.settings);
        let Some((af, trigger)) = layout::azure_functions(app)
            .into_iter()
            .find_map(|af| match af.trigger {
                Trigger::Storage(s) if names::event_subscription(&af.name) == name => {
                    Some((af.name.clone(), s.clone()))
                }
                _ => None,
            })
        else {
            return Err(AzureError::Config {
                reason: format!("internal: no blob trigger for the subscription `{name}`"),
            });
        };
        let key = self.blobs_extension_key().await?;
        let host = self.default_host().await?;
        let url = format!(
            "{}?functionName=Host.Functions.{af}&code={key}",
            paths::blob_webhook(az, &host)
        );
        let mut filter = json!({
            "includedEventTypes": [BLOB_CREATED],
            "subjectBeginsWith": blob_subject_prefix(&trigger),
            "isSubjectCaseSensitive": true,
        });
        if let Some(suffix) = &trigger.suffix {
            filter["subjectEndsWith"] = json!(suffix);
        }
        self.arm
            .put(
                &paths::event_subscription(app, az, name),
                API_EVENTGRID,
                &json!({
                    "properties": {
                        "destination": {"endpointType": "WebHook", "properties": {"endpointUrl": url}},
                        "filter": filter,
                        "eventDeliverySchema": "EventGridSchema",
                    }
                }),
            )
            .await?;
        Ok(())
    }

    /// The host's `blobs_extension` key, polled for up to a minute: the
    /// host creates it when it first loads the deployed blob trigger.
    async fn blobs_extension_key(&self) -> Result<String, AzureError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let keys = self.host_keys().await?;
            if let Some(key) = keys
                .pointer("/systemKeys/blobs_extension")
                .and_then(Value::as_str)
            {
                return Ok(key.to_string());
            }
            if std::time::Instant::now() >= deadline {
                return Err(AzureError::Deploy {
                    site: names::function_app(&self.app, &self.settings),
                    message: "the Functions host did not create its blobs_extension key within 60 s, so the Event Grid subscription for the blob trigger cannot be made; run the deploy again".into(),
                });
            }
            tokio::time::sleep(self.arm.poll_interval).await;
        }
    }
}

/// fnctl's subscriptions (named `fnctl-…`) in an Event Grid list answer.
pub fn fnctls(list: &Value) -> impl Iterator<Item = &Value> {
    list["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|sub| {
            sub["name"]
                .as_str()
                .unwrap_or_default()
                .starts_with("fnctl-")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only blob triggers get an Event Grid subscription: a queue trigger
    /// (the host polls its queue) does not, even on a function that also
    /// has a blob trigger.
    #[test]
    fn queue_triggers_get_no_subscription() {
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
[resources.uploads]
kind = "bucket"
[functions.thumbs]
handler = "app.handler"
triggers = [{ type = "storage", bucket = "uploads" }, { type = "queue", queue = "jobs" }]
[functions.worker]
handler = "app.handler"
triggers = [{ type = "queue", queue = "jobs" }]
"#,
        );
        let az = app.azure.clone().unwrap();
        let mut out = Vec::new();
        EventSubscription.desired(&app, &az, &CodeDigests::default(), &mut out);
        let destinations: Vec<&Value> = out.iter().map(|r| &r.attrs["destination"]).collect();
        assert_eq!(out.len(), 1, "{out:#?}");
        assert!(
            destinations[0]
                .as_str()
                .unwrap()
                .ends_with("functionName=Host.Functions.thumbs"),
            "{destinations:?}"
        );
    }
}
