//! `fnctl invoke --provider azure`: a deployed function, called as a smoke test.
//!
//! HTTP functions are called over their own URL with the request the event
//! describes (method, path, query, headers, body) and, for `auth = "key"`,
//! the function key fetched through ARM. Blob and timer functions are
//! started through the host's admin endpoint with the master key (a blob
//! function with the path of a blob the host can read); a queue function
//! by putting the event's messages on its Storage queue. Azure runs those
//! asynchronously, so there is no result to show. Keys are only sent,
//! never printed. The ARM token is never sent to the app itself.

use serde_json::{json, Value};

use super::{paths, AzureBackend, AzureError, API_WEB};
use crate::model::{HttpAuth, ResourceKind, Trigger};
use crate::provider::azure::{names, package};
use crate::provider::http_call::{self, HttpCall, HttpReply};

/// Whether `e` is a Function App's host saying it is (re)starting: 400 with
/// "Encountered an error (ServiceUnavailable) from host runtime." Other
/// 400s are answers.
pub fn host_restarting(e: &AzureError) -> bool {
    matches!(e, AzureError::Arm { status: 400, message, .. }
        if message.contains("(ServiceUnavailable) from host runtime"))
}

impl AzureBackend {
    /// The host's keys (`host/default/listkeys`), waiting for a host that
    /// is restarting.
    pub(crate) async fn host_keys(&self) -> Result<Value, AzureError> {
        let path = format!(
            "{}/host/default/listkeys",
            paths::site(&self.app, &self.settings)
        );
        self.while_host_restarts("host/default/listkeys", || {
            self.arm.post(&path, API_WEB, None)
        })
        .await
    }

    /// Runs `call` until the Function App's host stops answering that it
    /// is restarting, waiting [`super::HostRetry`]'s delays between
    /// attempts; then fails with [`AzureError::HostUnavailable`].
    pub(crate) async fn while_host_restarts<T, F, Fut>(
        &self,
        operation: &str,
        mut call: F,
    ) -> Result<T, AzureError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, AzureError>>,
    {
        let mut delays = self.host_retry.delays.iter();
        let mut waited = std::time::Duration::ZERO;
        let mut attempts = 0;
        loop {
            attempts += 1;
            match call().await {
                Err(e) if host_restarting(&e) => match delays.next() {
                    Some(delay) => {
                        tokio::time::sleep(*delay).await;
                        waited += *delay;
                    }
                    None => {
                        return Err(AzureError::HostUnavailable {
                            site: names::function_app(&self.app, &self.settings),
                            operation: operation.to_string(),
                            attempts,
                            waited_s: waited.as_secs(),
                        })
                    }
                },
                other => return other,
            }
        }
    }

    pub(crate) async fn default_host(&self) -> Result<String, AzureError> {
        let site = self
            .arm
            .get(&paths::site(&self.app, &self.settings), API_WEB)
            .await?
            .ok_or_else(|| AzureError::Config {
                reason: format!(
                    "the Function App `{}` does not exist; run `fnctl deploy --provider azure` first",
                    names::function_app(&self.app, &self.settings)
                ),
            })?;
        site.pointer("/properties/defaultHostName")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| AzureError::Config {
                reason: "Azure reports no host name for the app".into(),
            })
    }

    /// Calls an HTTP function's route over its own URL (or `base_url`, such
    /// as a custom domain or Front Door in front of the app), with the
    /// function key when the route requires one. Returns the URL called and
    /// the reply.
    pub async fn invoke_http(
        &self,
        call: &HttpCall<'_>,
        base_url: Option<&str>,
    ) -> Result<(String, HttpReply), AzureError> {
        let base = match base_url {
            Some(b) => b.to_string(),
            None => paths::app_base(&self.settings, &self.default_host().await?),
        };
        let url = http_call::url(&base, call).map_err(|e| AzureError::Config {
            reason: format!("`{base}{}` is not a valid URL: {e}", call.path),
        })?;
        let mut headers = call.headers.clone();
        if call.trigger.auth == HttpAuth::Key {
            let keys = self.host_keys().await?;
            if let Some(key) = keys
                .pointer("/functionKeys/default")
                .and_then(Value::as_str)
            {
                headers.push(("x-functions-key".into(), key.to_string()));
            }
        }
        let shown = url.to_string();
        let reply = self
            .arm
            .send_plain(&call.method, url, headers, call.body.clone())
            .await?;
        let headers = reply
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.as_str().to_string()))
            .collect();
        Ok((
            shown,
            HttpReply {
                status: reply.status,
                headers,
                body: reply.body,
            },
        ))
    }

    /// Starts a blob or timer function through the host's admin endpoint with
    /// an AWS-shaped `event`. Azure runs it asynchronously: the answer is a
    /// note saying it was accepted, not a result.
    pub async fn invoke_admin(&self, function: &str, event: &Value) -> Result<String, AzureError> {
        let app = &self.app;
        let f = app
            .functions
            .get(function)
            .ok_or_else(|| AzureError::Config {
                reason: format!("no function named `{function}`"),
            })?;
        // Queue functions: the message goes onto their queue.
        let sqs = event
            .pointer("/Records/0/eventSource")
            .and_then(Value::as_str)
            == Some("aws:sqs");
        if sqs {
            return self.invoke_queue(&f.name, event).await;
        }
        // Blob and timer functions: the admin endpoint, master key.
        let (azure_name, blob) = package::azure_functions(app)
            .into_iter()
            .find(|af| {
                af.function.name == f.name
                    && match af.trigger {
                        Trigger::Storage(_) => event.get("Records").is_some(),
                        Trigger::Schedule(_) => {
                            event.get("detail-type").is_some() || *event == json!({})
                        }
                        Trigger::Http(_) => false,
                    }
            })
            .map(|af| (af.name, matches!(af.trigger, Trigger::Storage(_))))
            .ok_or_else(|| AzureError::Config {
                reason: format!(
                    "function `{function}` has no trigger for this event; pass --event http|storage|schedule|queue"
                ),
            })?;
        // The host takes a blob trigger's input as the path of a blob it
        // then reads; anything else is the input as given.
        let (input, said) = if blob {
            let (path, said) = self.blob_input(function, &azure_name, event).await?;
            (path, Some(said))
        } else {
            (event.to_string(), None)
        };
        let base = paths::app_base(&self.settings, &self.default_host().await?);
        let keys = self.host_keys().await?;
        let master = keys
            .get("masterKey")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let url = azure_core::Url::parse(&format!("{base}/admin/functions/{azure_name}")).map_err(
            |e| AzureError::Config {
                reason: e.to_string(),
            },
        )?;
        let reply = self
            .arm
            .send_plain(
                "POST",
                url,
                vec![
                    ("x-functions-key".into(), master),
                    ("content-type".into(), "application/json".into()),
                ],
                json!({"input": input}).to_string().into_bytes(),
            )
            .await?;
        if !(200..=299).contains(&reply.status) {
            return Err(super::arm::arm_error(
                "POST /admin/functions",
                &azure_name,
                &reply,
            ));
        }
        Ok(match said {
            Some(said) => format!(
                "Azure accepted the run of `{azure_name}` (HTTP {}) on {said}; it runs asynchronously, so its result is in the app's logs",
                reply.status
            ),
            None => format!(
                "Azure accepted the run of `{azure_name}` (HTTP {}); it runs asynchronously, so its result is in the app's logs",
                reply.status
            ),
        })
    }

    /// Starts a queue-triggered function as Azure does: each record of the
    /// SQS-shaped `event` becomes one message (its `body`) on the Storage
    /// queue of the trigger the record's `eventSourceARN` names (the
    /// function's first queue trigger when it names none of them), kept
    /// for the queue's `retention`. The Functions host then runs the
    /// function once per message, asynchronously; nothing is started
    /// through the admin endpoint, which would skip the queue (and its
    /// retries and poison queue).
    pub async fn invoke_queue(&self, function: &str, event: &Value) -> Result<String, AzureError> {
        let app = &self.app;
        let functions: Vec<_> = package::queue_functions(app)
            .into_iter()
            .filter(|qf| qf.function.name == function)
            .collect();
        let Some(first) = functions.first() else {
            return Err(AzureError::Config {
                reason: format!(
                    "function `{function}` has no queue trigger on Azure, so an SQS event cannot start it; pass --event http|storage|schedule"
                ),
            });
        };
        let records = event
            .get("Records")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut sent: Vec<(String, String, String)> = Vec::new();
        for record in &records {
            let arn = record
                .get("eventSourceARN")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let qf = functions
                .iter()
                .find(|qf| {
                    let aws = crate::provider::aws::names::resource(app, &qf.trigger.queue);
                    arn.ends_with(&format!(":{aws}"))
                        || arn.ends_with(&format!(":{}", qf.queue_name))
                })
                .unwrap_or(first);
            let body = match record.get("body") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            let ttl = match app.resources.get(&qf.trigger.queue).map(|r| &r.kind) {
                Some(ResourceKind::Queue(q)) => q.retention_s,
                _ => crate::model::resource::DEFAULT_RETENTION_S,
            };
            let id = self.put_message(&qf.queue_name, &body, ttl).await?;
            sent.push((qf.queue_name.clone(), qf.name.clone(), id));
        }
        if sent.is_empty() {
            return Err(AzureError::Config {
                reason: format!(
                    "the SQS event for `{function}` has no records, so there is no message to put on its queue; pass --event queue or --data with at least one record"
                ),
            });
        }
        let account = names::data_account(app, &self.settings);
        let queues: std::collections::BTreeSet<String> =
            sent.iter().map(|(q, _, _)| format!("`{q}`")).collect();
        let runs: std::collections::BTreeSet<String> =
            sent.iter().map(|(_, n, _)| format!("`{n}`")).collect();
        let ids: Vec<&str> = sent.iter().map(|(_, _, id)| id.as_str()).collect();
        Ok(format!(
            "put {} message{} on queue {} of the data account `{account}` (message id {}); the Functions host runs {} once per message, asynchronously, so its result is in the app's logs",
            sent.len(),
            if sent.len() == 1 { "" } else { "s" },
            queues.into_iter().collect::<Vec<_>>().join(", "),
            ids.join(", "),
            runs.into_iter().collect::<Vec<_>>().join(", "),
        ))
    }

    /// The input a blob-triggered function is started with: the path
    /// `container/blob` of a blob in the app's storage account, which the
    /// Functions host reads and binds (it parses the input with
    /// `BlobPath.ParseAndValidate` and fetches the blob, so a JSON event or
    /// a blob that is not there fails the run). The event's own object when
    /// the account has it; otherwise a sample blob uploaded into fnctl's
    /// deployment container as `fnctl-invoke/{azure function}/{key}` (never
    /// into the trigger's container: that would fire the trigger a second
    /// time and leave data `remove` keeps). Returns the path and what the
    /// handler will receive, in words.
    async fn blob_input(
        &self,
        function: &str,
        azure_name: &str,
        event: &Value,
    ) -> Result<(String, String), AzureError> {
        let s3 = event.pointer("/Records/0/s3").unwrap_or(&Value::Null);
        let bucket = s3
            .pointer("/bucket/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let key = s3_key(
            s3.pointer("/object/key")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        );
        let receives = |container: &str, blob: &str| {
            format!(
                "the handler receives an S3 `ObjectCreated:Put` record for bucket `{container}`, key `{blob}`, which the adapter builds from the blob the host reads"
            )
        };
        if !bucket.is_empty() && !key.is_empty() && self.blob_exists(bucket, &key).await? {
            return Ok((
                format!("{bucket}/{key}"),
                format!("the blob `{bucket}/{key}`; {}", receives(bucket, &key)),
            ));
        }
        let sample_key = if key.is_empty() { "sample.txt" } else { &key };
        let sample = format!("fnctl-invoke/{azure_name}/{sample_key}");
        let container = names::DEPLOYMENT_CONTAINER;
        let body = format!(
            "A sample blob `fnctl invoke {function}` uploaded to start the blob-triggered function `{azure_name}`: the event's object `{bucket}/{key}` is not in the app's storage account.\n"
        );
        self.put_blob(container, &sample, "text/plain", body.into_bytes())
            .await?;
        Ok((
            format!("{container}/{sample}"),
            format!(
                "the blob `{container}/{sample}`, a sample fnctl uploaded into its own container because `{bucket}/{key}` is not in the app's storage account; {}",
                receives(container, &sample)
            ),
        ))
    }
}

/// An S3 notification's key as the blob name it stands for: S3 sends keys
/// URL-encoded, with a space as `+`.
fn s3_key(encoded: &str) -> String {
    percent_encoding::percent_decode_str(&encoded.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_keys_are_decoded_as_s3_encodes_them() {
        assert_eq!(s3_key("in/photo+1.jpg"), "in/photo 1.jpg");
        assert_eq!(s3_key("in/a%2Bb%C3%A9.txt"), "in/a+bé.txt");
        assert_eq!(s3_key("plain/key.txt"), "plain/key.txt");
    }

    #[test]
    fn only_the_hosts_restart_answer_is_waited_out() {
        let arm = |status, message: &str| AzureError::Arm {
            operation: "POST",
            resource: "/x/host/default/listkeys".into(),
            status,
            code: "BadRequest".into(),
            message: message.into(),
        };
        assert!(host_restarting(&arm(
            400,
            "Encountered an error (ServiceUnavailable) from host runtime."
        )));
        assert!(!host_restarting(&arm(400, "injected by the test")));
        assert!(!host_restarting(&arm(
            409,
            "Encountered an error (ServiceUnavailable) from host runtime."
        )));
    }
}
