//! The queue data plane of the app-data account, for `fnctl invoke` of a
//! queue-triggered function: one Put Message onto the function's Storage
//! queue, which the Functions host then delivers to the function as it
//! would any message (so the invocation runs asynchronously, on Azure).
//!
//! Like the blob data plane ([`super::blob`]), a request carries a service
//! SAS signed with the data account's key (ARM `listKeys`): the deployer
//! needs no data role of its own, and the key never leaves the process.
//! String-to-sign and query of "Create a service SAS", queue form (signed
//! version 2015-04-05 and later; no `sr`), and Put Message
//! (<https://learn.microsoft.com/rest/api/storageservices/create-service-sas>,
//! <https://learn.microsoft.com/rest/api/storageservices/put-message>).

use azure_core::auth::Secret;
use azure_core::{Method, Url};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::blob::STORAGE_VERSION;
use super::{paths, AzureBackend, AzureError, API_STORAGE};
use crate::model::AzureSettings;
use crate::provider::azure::names;

/// How long the SAS of one Put Message lives, back-dated for clock skew.
const LIFETIME: Duration = Duration::minutes(15);
const CLOCK_SKEW: Duration = Duration::minutes(15);

/// The data account's queue service base URL: `endpoints.queue` (an
/// emulator such as Azurite's `azurite-queue`, path-style: `/{account}` is
/// appended), else the public endpoint.
pub fn service_url(account: &str, az: &AzureSettings) -> String {
    match az.endpoints.queue.as_deref().map(str::trim) {
        Some(base) if !base.is_empty() => {
            format!("{}/{account}", base.trim_end_matches('/'))
        }
        _ => format!("https://{account}.queue.core.windows.net"),
    }
}

/// The query string of a service SAS for queue `queue` with permissions
/// `sp` (`a` adds messages), valid from `window.0` to `window.1`.
pub fn queue_sas(
    account: &str,
    key: &Secret,
    queue: &str,
    sp: &str,
    window: (OffsetDateTime, OffsetDateTime),
    https_only: bool,
) -> Result<String, AzureError> {
    let fmt = |t: OffsetDateTime| {
        t.replace_nanosecond(0)
            .unwrap_or(t)
            .format(&Rfc3339)
            .unwrap_or_default()
    };
    let (st, se) = (fmt(window.0), fmt(window.1));
    let spr = if https_only { "https" } else { "" };
    // sp, st, se, canonicalized resource, si, sip, spr, sv.
    let to_sign = [
        sp,
        &st,
        &se,
        &format!("/queue/{account}/{queue}"),
        "",
        "",
        spr,
        STORAGE_VERSION,
    ]
    .join("\n");
    let sig = azure_core::hmac::hmac_sha256(&to_sign, key).map_err(|_| AzureError::Config {
        reason: format!("the key of storage account `{account}` is not base64"),
    })?;
    let mut query = Url::parse("http://sas.invalid/").expect("static URL");
    {
        let mut q = query.query_pairs_mut();
        q.append_pair("sv", STORAGE_VERSION)
            .append_pair("sp", sp)
            .append_pair("st", &st)
            .append_pair("se", &se);
        if https_only {
            q.append_pair("spr", spr);
        }
        q.append_pair("sig", &sig);
    }
    Ok(query.query().unwrap_or_default().to_string())
}

/// The Put Message body: the text base64-encoded, because the Functions
/// queue trigger decodes base64 by default (host.json
/// `queues.messageEncoding`, "base64"), and base64 needs no XML escaping.
pub fn message_xml(body: &str) -> String {
    use base64::Engine;
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessage><MessageText>{}</MessageText></QueueMessage>",
        base64::engine::general_purpose::STANDARD.encode(body)
    )
}

/// The text of the first `<name>` element of an XML answer.
fn element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(xml[start..end].trim().to_string())
}

impl AzureBackend {
    /// The app-data account's first key (ARM `listKeys`).
    async fn data_key(&self) -> Result<String, AzureError> {
        let (app, az) = (&self.app, &self.settings);
        let path = format!("{}/listKeys", paths::data_account(app, az));
        let keys = self.arm.post(&path, API_STORAGE, None).await?;
        keys.pointer("/keys/0/value")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| AzureError::Config {
                reason: format!(
                    "the data account `{}` returned no keys; run `fnctl deploy --provider azure` first",
                    names::data_account(app, az)
                ),
            })
    }

    /// Puts one message with text `body` on queue `queue` of the app-data
    /// account, kept for `ttl_s` seconds (the queue's `retention`: Azure
    /// keeps each message for the time-to-live its sender gives). Returns
    /// the message id Azure assigned.
    pub async fn put_message(
        &self,
        queue: &str,
        body: &str,
        ttl_s: u32,
    ) -> Result<String, AzureError> {
        let account = names::data_account(&self.app, &self.settings);
        let key = Secret::new(self.data_key().await?);
        let base = service_url(&account, &self.settings);
        let now = OffsetDateTime::now_utc();
        let sas = queue_sas(
            &account,
            &key,
            queue,
            "a",
            (now - CLOCK_SKEW, now + LIFETIME),
            base.starts_with("https://"),
        )?;
        let url = Url::parse(&format!("{base}/{queue}/messages?messagettl={ttl_s}&{sas}"))
            .map_err(|e| AzureError::Config {
                reason: format!(
                    "the queue service URL `{base}` (endpoints.queue) does not make a URL: {e}"
                ),
            })?;
        let reply = self
            .arm
            .send_storage(
                Method::Post,
                url,
                vec![("content-type", "application/xml")],
                Some(message_xml(body).into_bytes()),
            )
            .await?;
        if !(200..=299).contains(&reply.status) {
            return Err(super::blob::storage_error(
                "Put Message",
                &format!("{account}/{queue}"),
                &reply,
            ));
        }
        Ok(element(&String::from_utf8_lossy(&reply.body), "MessageId").unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_base64_in_xml() {
        assert_eq!(
            message_xml("{\"id\": \"<1>\"}"),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessage><MessageText>eyJpZCI6ICI8MT4ifQ==</MessageText></QueueMessage>"
        );
    }

    /// The signature covers exactly the fields the queue form lists, so a
    /// token for one queue or permission is not one for another.
    #[test]
    fn the_sas_names_the_queue_and_the_permission() {
        use base64::Engine;
        let key = Secret::new(base64::engine::general_purpose::STANDARD.encode("k"));
        let t = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap();
        let a = queue_sas("acct", &key, "jobs", "a", (t, t + LIFETIME), true).unwrap();
        assert!(a.starts_with("sv=2022-11-02&sp=a&st=2026-01-01T00%3A00%3A00Z&se=2026-01-01T00%3A15%3A00Z&spr=https&sig="), "{a}");
        assert!(!a.contains("sr="), "{a}");
        let other = queue_sas("acct", &key, "mails", "a", (t, t + LIFETIME), true).unwrap();
        assert_ne!(a, other);
    }

    #[test]
    fn the_message_id_is_read_from_the_answer() {
        let xml = "<?xml version=\"1.0\"?><QueueMessagesList><QueueMessage><MessageId>abc-1</MessageId><PopReceipt>x</PopReceipt></QueueMessage></QueueMessagesList>";
        assert_eq!(element(xml, "MessageId").as_deref(), Some("abc-1"));
    }
}
