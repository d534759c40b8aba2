//! Operations on deployed functions: invoke, logs, rollback.

use std::collections::BTreeSet;

use aws_sdk_lambda::primitives::Blob;
use base64::Engine;

use super::{api_error, has_code, AwsBackend, AwsError, SdkResultExt};
use crate::model::HttpAuth;
use crate::provider::aws::names;
use crate::provider::http_call::{self, HttpCall, HttpReply};

/// What an invocation returned.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Invocation {
    pub function: String,
    pub status_code: i32,
    /// Set when the handler raised (Lambda's `FunctionError`).
    pub function_error: Option<String>,
    pub payload: String,
    /// The last 4 KB of the invocation's log, when Lambda returned it.
    pub log_tail: Option<String>,
    pub executed_version: Option<String>,
}

/// One log line.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogLine {
    pub timestamp_ms: i64,
    pub stream: String,
    pub message: String,
    #[serde(skip)]
    pub id: String,
}

/// One published version of a function.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Version {
    pub number: u64,
    /// As Lambda reports it (ISO 8601).
    pub last_modified: String,
    /// Base64 sha256 of the code, as Lambda reports it.
    pub code_sha256: String,
}

/// A rollback's effect.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rollback {
    pub function: String,
    pub from_version: String,
    pub to_version: String,
}

impl AwsBackend {
    /// Invokes the stage alias of a manifest function synchronously.
    pub async fn invoke(&self, function: &str, payload: &str) -> Result<Invocation, AwsError> {
        let name = names::function(&self.app, function);
        let out = self
            .clients
            .lambda
            .invoke()
            .function_name(&name)
            .qualifier(names::alias(&self.app))
            .log_type(aws_sdk_lambda::types::LogType::Tail)
            .payload(Blob::new(payload.as_bytes().to_vec()))
            .send()
            .await
            .map_err(|e| {
                let mut err = api_error("Invoke", &name, e);
                if let AwsError::Api { message, hint, .. } = &mut err {
                    if message.contains("ResourceNotFound") {
                        *hint = Some("deploy first: `fnctl deploy`".into());
                    }
                }
                err
            })?;
        let log_tail = out
            .log_result()
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        Ok(Invocation {
            function: function.to_string(),
            status_code: out.status_code(),
            function_error: out.function_error().map(str::to_string),
            payload: out
                .payload()
                .map(|p| String::from_utf8_lossy(p.as_ref()).into_owned())
                .unwrap_or_default(),
            log_tail,
            executed_version: out.executed_version().map(str::to_string),
        })
    }

    /// Calls an HTTP route the way its clients do: over the stage's invoke
    /// URL (or `base_url`, such as a custom domain in front of the API),
    /// with the API key when the route requires one. Returns the URL called
    /// and the reply. The key is only sent, never returned or printed.
    pub async fn invoke_url(
        &self,
        call: &HttpCall<'_>,
        base_url: Option<&str>,
        timeout: std::time::Duration,
    ) -> Result<(String, HttpReply), AwsError> {
        let base = match base_url {
            Some(b) => b.to_string(),
            None => {
                let (api, operation, what) = match self.app.gateway() {
                    crate::model::Gateway::Rest => (
                        self.find_rest_api().await?.and_then(|a| a.id),
                        "GetRestApis",
                        "REST API",
                    ),
                    crate::model::Gateway::HttpApi => (
                        self.find_http_api().await?.and_then(|a| a.api_id),
                        "GetApis",
                        "HTTP API",
                    ),
                };
                let api = api.ok_or_else(|| AwsError::Api {
                    operation,
                    resource: names::rest_api(&self.app),
                    message: format!("the app's {what} does not exist"),
                    hint: Some("deploy first: `fnctl deploy`".into()),
                })?;
                names::stage_url(&api, &self.clients.region, &self.app.stage)
            }
        };
        let url = http_call::url(&base, call).map_err(|e| AwsError::RouteUnreachable {
            url: format!("{base}{}", call.path),
            reason: format!("not a valid URL ({e})"),
        })?;
        let mut headers = call.headers.clone();
        if call.trigger.auth == HttpAuth::Key {
            headers.push(("x-api-key".into(), self.api_key_value().await?));
        }
        let shown = url.to_string();
        let reply = http_call::send(&call.method, url, &headers, &call.body, timeout)
            .await
            .map_err(|reason| AwsError::RouteUnreachable {
                url: shown.clone(),
                reason,
            })?;
        Ok((shown, reply))
    }

    /// The value of the app's API key (routes with `auth = "key"`).
    async fn api_key_value(&self) -> Result<String, AwsError> {
        self.find_api_key(true)
            .await?
            .and_then(|k| k.value)
            .ok_or_else(|| AwsError::Api {
                operation: "GetApiKeys",
                resource: format!("{}-key", names::rest_api(&self.app)),
                message: "the route requires an API key, and the app's key does not exist".into(),
                hint: Some("deploy first: `fnctl deploy`".into()),
            })
    }

    /// Log events of a function since `start_ms`, oldest first, skipping `seen` ids.
    pub async fn logs(
        &self,
        function: &str,
        start_ms: i64,
        seen: &mut BTreeSet<String>,
    ) -> Result<Vec<LogLine>, AwsError> {
        let group = names::log_group(&self.app, function);
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = match self
                .clients
                .logs
                .filter_log_events()
                .log_group_name(&group)
                .start_time(start_ms)
                .set_next_token(token.clone())
                .send()
                .await
            {
                Ok(p) => p,
                // No log group yet: the function has not logged anything.
                Err(e) if has_code(&e, &["ResourceNotFoundException"]) => return Ok(out),
                Err(e) => return Err(api_error("FilterLogEvents", &group, e)),
            };
            for ev in page.events() {
                let id = ev.event_id().unwrap_or_default().to_string();
                if !seen.insert(id.clone()) {
                    continue;
                }
                out.push(LogLine {
                    timestamp_ms: ev.timestamp().unwrap_or_default(),
                    stream: ev.log_stream_name().unwrap_or_default().to_string(),
                    message: ev.message().unwrap_or_default().trim_end().to_string(),
                    id,
                });
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        out.sort_by_key(|l| l.timestamp_ms);
        Ok(out)
    }

    /// The function's published versions, oldest first, and the one its
    /// stage alias points at.
    pub async fn versions(&self, function: &str) -> Result<(Vec<Version>, u64), AwsError> {
        let lambda = &self.clients.lambda;
        let name = names::function(&self.app, function);
        let alias = names::alias(&self.app);
        let current = lambda
            .get_alias()
            .function_name(&name)
            .name(&alias)
            .send()
            .await
            .or_api_error("GetAlias", format!("{name}:{alias}"))?;
        let current: u64 = current
            .function_version()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut versions = Vec::new();
        let mut pages = lambda
            .list_versions_by_function()
            .function_name(&name)
            .into_paginator()
            .items()
            .send();
        while let Some(v) = pages.next().await {
            let v = v.or_api_error("ListVersionsByFunction", &name)?;
            // `$LATEST` is not a version an alias is rolled back to.
            if let Some(n) = v.version().and_then(|s| s.parse::<u64>().ok()) {
                versions.push(Version {
                    number: n,
                    last_modified: v.last_modified().unwrap_or_default().to_string(),
                    code_sha256: v.code_sha256().unwrap_or_default().to_string(),
                });
            }
        }
        versions.sort_by_key(|v| v.number);
        Ok((versions, current))
    }

    /// Points the stage alias of `function` at version `to`, or at the
    /// version before the one it points at now. `Ok(Err(reason))` when there
    /// is no earlier version to go back to.
    pub async fn rollback(
        &self,
        function: &str,
        to: Option<&str>,
    ) -> Result<Result<Rollback, String>, AwsError> {
        let name = names::function(&self.app, function);
        let alias = names::alias(&self.app);
        let (versions, current) = self.versions(function).await?;
        let target = match to {
            Some(wanted) => {
                let found = wanted
                    .parse::<u64>()
                    .ok()
                    .filter(|n| versions.iter().any(|v| v.number == *n));
                let Some(n) = found else {
                    let have: Vec<String> = versions.iter().map(|v| v.number.to_string()).collect();
                    return Err(AwsError::Api {
                        operation: "Rollback",
                        resource: format!("{name}:{alias}"),
                        message: format!("`{name}` has no published version `{wanted}`"),
                        hint: Some(format!(
                            "its versions: {}; `fnctl rollback --list {function}` shows them with their dates",
                            have.join(", ")
                        )),
                    });
                };
                n
            }
            None => match versions
                .iter()
                .map(|v| v.number)
                .filter(|v| *v < current)
                .max()
            {
                Some(n) => n,
                None => {
                    return Ok(Err(if versions.len() <= 1 {
                        format!("version {current} is its only published version")
                    } else {
                        format!("version {current} is its oldest published version")
                    }))
                }
            },
        };
        if target != current {
            self.clients
                .lambda
                .update_alias()
                .function_name(&name)
                .name(&alias)
                .function_version(target.to_string())
                .send()
                .await
                .or_api_error("UpdateAlias", format!("{name}:{alias}"))?;
        }
        Ok(Ok(Rollback {
            function: function.to_string(),
            from_version: current.to_string(),
            to_version: target.to_string(),
        }))
    }
}
