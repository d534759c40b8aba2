//! `fnctl invoke --provider azure`: a deployed function, called as a smoke test.
//!
//! HTTP functions are called over their own URL with the request the event
//! describes (method, path, query, headers, body) and, for `auth = "key"`,
//! the function key fetched through ARM. Blob and timer functions are
//! started through the host's admin endpoint with the master key; Azure
//! runs those asynchronously, so there is no result to show. Keys are only
//! sent, never printed. The ARM token is never sent to the app itself.

use base64::Engine;
use serde_json::{json, Value};

use super::{paths, AzureBackend, AzureError, API_WEB};
use crate::model::{HttpAuth, Trigger};
use crate::provider::azure::{names, package};

/// What an Azure invocation gave back.
#[derive(Debug)]
pub struct AzureInvocation {
    /// For HTTP: `{statusCode, headers, body, isBase64Encoded}`; else empty.
    pub payload: String,
    pub function_error: Option<String>,
    pub note: Option<String>,
}

impl AzureBackend {
    pub(super) async fn host_keys(&self) -> Result<Value, AzureError> {
        self.arm
            .post(
                &format!(
                    "{}/host/default/listkeys",
                    paths::site(&self.app, &self.settings)
                ),
                API_WEB,
                None,
            )
            .await
    }

    pub(super) async fn default_host(&self) -> Result<String, AzureError> {
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

    /// Invokes `function` with an AWS-shaped `event`.
    pub async fn invoke(&self, function: &str, event: &str) -> Result<AzureInvocation, AzureError> {
        let app = &self.app;
        let az = &self.settings;
        let f = app
            .functions
            .get(function)
            .ok_or_else(|| AzureError::Config {
                reason: format!("no function named `{function}`"),
            })?;
        let event: Value = serde_json::from_str(event).unwrap_or(Value::Null);
        let base = paths::app_base(az, &self.default_host().await?);
        let http_triggers: Vec<_> = f
            .triggers
            .iter()
            .filter_map(|t| match t {
                Trigger::Http(h) => Some(h),
                _ => None,
            })
            .collect();
        if event.get("httpMethod").is_some() || (event == json!({}) && !http_triggers.is_empty()) {
            let resource = event.get("resource").and_then(Value::as_str);
            let Some(h) = http_triggers
                .iter()
                .find(|h| Some(h.route.to_string().as_str()) == resource)
                .or(http_triggers.first())
            else {
                return Err(AzureError::Config {
                    reason: format!("function `{function}` has no HTTP trigger for this event"),
                });
            };
            let method = event
                .get("httpMethod")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| {
                    h.methods
                        .iter()
                        .find(|m| *m != "ANY")
                        .cloned()
                        .unwrap_or_else(|| "GET".into())
                });
            let path = event
                .get("path")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| h.route.to_string());
            let mut url = azure_core::Url::parse(&format!("{base}{path}")).map_err(|e| {
                AzureError::Config {
                    reason: format!("bad URL for `{function}`: {e}"),
                }
            })?;
            if let Some(q) = event
                .get("multiValueQueryStringParameters")
                .and_then(Value::as_object)
            {
                let mut pairs = url.query_pairs_mut();
                for (k, vs) in q {
                    for v in vs.as_array().into_iter().flatten() {
                        pairs.append_pair(k, v.as_str().unwrap_or_default());
                    }
                }
            } else if let Some(q) = event
                .get("queryStringParameters")
                .and_then(Value::as_object)
            {
                let mut pairs = url.query_pairs_mut();
                for (k, v) in q {
                    pairs.append_pair(k, v.as_str().unwrap_or_default());
                }
            }
            let body = match event.get("body") {
                Some(Value::String(b)) if event["isBase64Encoded"] == true => {
                    base64::engine::general_purpose::STANDARD
                        .decode(b)
                        .unwrap_or_default()
                }
                Some(Value::String(b)) => b.clone().into_bytes(),
                _ => Vec::new(),
            };
            let mut headers: Vec<(String, String)> = event
                .get("headers")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("host"))
                .map(|(k, v)| {
                    (
                        k.to_ascii_lowercase(),
                        v.as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            if h.auth == HttpAuth::Key {
                let keys = self.host_keys().await?;
                if let Some(key) = keys
                    .pointer("/functionKeys/default")
                    .and_then(Value::as_str)
                {
                    headers.push(("x-functions-key".into(), key.to_string()));
                }
            }
            let reply = self.arm.send_plain(&method, url, headers, body).await?;
            let text = String::from_utf8(reply.body.clone());
            let (body, b64) = match text {
                Ok(t) => (t, false),
                Err(_) => (
                    base64::engine::general_purpose::STANDARD.encode(&reply.body),
                    true,
                ),
            };
            let content_type = reply
                .headers
                .get_optional_str(&azure_core::headers::HeaderName::from_static(
                    "content-type",
                ))
                .unwrap_or_default()
                .to_string();
            let payload = json!({
                "statusCode": reply.status,
                "headers": {"content-type": content_type},
                "body": body,
                "isBase64Encoded": b64,
            });
            return Ok(AzureInvocation {
                payload: payload.to_string(),
                function_error: (reply.status >= 500)
                    .then(|| format!("the function answered HTTP {}", reply.status)),
                note: None,
            });
        }
        // Blob and timer functions: the admin endpoint, master key.
        let azure_name = package::azure_functions(app)
            .into_iter()
            .find(|af| {
                af.function.name == f.name
                    && match af.trigger {
                        Trigger::Storage(_) => event.get("Records").is_some(),
                        Trigger::Schedule(_) => event.get("detail-type").is_some() || event == json!({}),
                        Trigger::Http(_) => false,
                    }
            })
            .map(|af| af.name)
            .ok_or_else(|| AzureError::Config {
                reason: format!(
                    "function `{function}` has no trigger for this event; pass --event http|storage|schedule"
                ),
            })?;
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
                json!({"input": event.to_string()}).to_string().into_bytes(),
            )
            .await?;
        if !(200..=299).contains(&reply.status) {
            return Err(super::arm::arm_error(
                "POST /admin/functions",
                &azure_name,
                &reply,
            ));
        }
        Ok(AzureInvocation {
            payload: String::new(),
            function_error: None,
            note: Some(format!(
                "Azure accepted the run of `{azure_name}` (HTTP {}); it runs asynchronously, so its result is in the app's logs",
                reply.status
            )),
        })
    }
}
