//! A small Azure Resource Manager client on azure_core's pipeline.
//!
//! azure_mgmt_web 0.21 cannot parse real site payloads and mishandles ARM
//! long-running operations (see docs/providers/azure.md), so sites, plans,
//! storage and resource groups go through this client with `serde_json`
//! bodies written from the REST spec. Every call gets an `api-version`, a
//! bearer token from the credential chain, azure_core's retry policy (429
//! and transient 5xx, honouring `Retry-After`), and ARM's error shape turned
//! into [`AzureError::Arm`]. Long-running operations are polled here:
//! `Azure-AsyncOperation` first, then `Location`, then the resource itself.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use azure_core::auth::TokenCredential;
use azure_core::headers::HeaderName;
use azure_core::{Method, Request, Url};
use serde_json::{json, Value};

use super::AzureError;

/// Counts calls, and remembers the mutating ones (for "an unchanged redeploy
/// makes no mutating call", and for `--output json`).
#[derive(Debug, Clone, Default)]
pub struct CallLog {
    inner: Arc<Mutex<(usize, Vec<String>)>>,
}

impl CallLog {
    fn record(&self, method: &Method, path: &str) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.0 += 1;
        if is_mutating(method, path) {
            g.1.push(format!("{method} {path}"));
        }
    }

    pub fn total(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    pub fn mutating(&self) -> Vec<String> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clone()
    }
}

/// Whether a call changes the app: not reads, not POSTs that only read
/// (`listKeys`, `appsettings/list`, `host/default/listkeys`), and not the
/// deploy lock's calls, which coordinate fnctl runs (see `lock.rs`).
fn is_mutating(method: &Method, path: &str) -> bool {
    if path.contains(&format!("/containers/{}", super::lock::LOCK_CONTAINER)) {
        return false;
    }
    match method {
        Method::Get | Method::Head => false,
        Method::Post => {
            let last = path.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
            !(last == "list" || last == "listkeys" || last.starts_with("list"))
        }
        _ => true,
    }
}

/// The answer to one request.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: azure_core::headers::Headers,
    pub body: Vec<u8>,
}

impl Reply {
    /// Reads a response to the end (a body cut off is "unreachable").
    async fn read(resp: azure_core::Response, url: &Url) -> Result<Reply, AzureError> {
        let (status, headers, body) = resp.deconstruct();
        let body = body
            .collect()
            .await
            .map_err(|e| AzureError::Unreachable {
                url: redact_url(url),
                reason: first_line(&e.to_string()),
            })?
            .to_vec();
        Ok(Reply {
            status: u16::from(status),
            headers,
            body,
        })
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &'static str) -> Option<String> {
        self.headers
            .get_optional_str(&HeaderName::from_static(name))
            .map(str::to_string)
    }

    /// `Retry-After` in seconds, bounded so a wrong header cannot stall a deploy.
    fn retry_after(&self, default: Duration) -> Duration {
        self.header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(30)))
            .unwrap_or(default)
    }
}

/// An ARM endpoint with credentials.
#[derive(Clone)]
pub struct Arm {
    pub endpoint: Url,
    pipeline: azure_core::Pipeline,
    credential: Arc<dyn TokenCredential>,
    scope: String,
    pub calls: CallLog,
    /// How long to wait between polls when the service does not say.
    pub poll_interval: Duration,
    /// A bare HTTP client for calls to the app itself.
    plain: Arc<dyn azure_core::HttpClient>,
}

impl std::fmt::Debug for Arm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arm")
            .field("endpoint", &self.endpoint.as_str())
            .finish()
    }
}

/// How many times a long-running operation is polled before giving up.
const MAX_POLLS: usize = 360;

impl Arm {
    pub fn new(endpoint: Url, credential: Arc<dyn TokenCredential>) -> Self {
        let scope = format!("{}/.default", endpoint.as_str().trim_end_matches('/'));
        let retry = azure_core::RetryOptions::exponential(
            azure_core::ExponentialRetryOptions::default()
                .max_retries(5u32)
                .initial_delay(Duration::from_millis(200))
                .max_delay(Duration::from_secs(10)),
        );
        let options = azure_core::ClientOptions::default().retry(retry);
        let pipeline = azure_core::Pipeline::new(
            option_env!("CARGO_PKG_NAME"),
            option_env!("CARGO_PKG_VERSION"),
            options,
            Vec::new(),
            Vec::new(),
        );
        Arm {
            endpoint,
            pipeline,
            credential,
            scope,
            calls: CallLog::default(),
            poll_interval: Duration::from_secs(2),
            plain: azure_core::new_http_client(),
        }
    }

    /// The scope tokens are requested for (`<endpoint>/.default`).
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// A bearer token for this endpoint's audience (also used on the scm host).
    pub async fn token(&self) -> Result<String, AzureError> {
        self.token_for(&self.scope).await
    }

    /// A bearer token for another audience (`https://api.loganalytics.io/.default`).
    pub async fn token_for(&self, scope: &str) -> Result<String, AzureError> {
        let t = self
            .credential
            .get_token(&[scope])
            .await
            .map_err(|e| AzureError::Credentials {
                reason: first_line(&e.to_string()),
            })?;
        Ok(t.token.secret().to_string())
    }

    fn url(&self, path: &str, api_version: &str) -> Result<Url, AzureError> {
        let mut url = self
            .endpoint
            .join(path.trim_start_matches('/'))
            .map_err(|e| AzureError::Config {
                reason: format!("bad ARM path {path}: {e}"),
            })?;
        url.query_pairs_mut()
            .append_pair("api-version", api_version);
        Ok(url)
    }

    /// Sends one request to an absolute URL; no status check.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        content_type: &'static str,
    ) -> Result<Reply, AzureError> {
        let token = self.token().await?;
        let headers = vec![
            ("authorization", format!("Bearer {token}")),
            ("accept", "application/json".to_string()),
            ("content-type", content_type.to_string()),
        ];
        self.dispatch(method, url, headers, body).await
    }

    /// POSTs JSON to another Azure API with a token for `scope`, through
    /// the retrying pipeline (for reads such as log queries).
    pub async fn post_json_to(
        &self,
        url: Url,
        scope: &str,
        body: &Value,
    ) -> Result<Reply, AzureError> {
        let token = self.token_for(scope).await?;
        let headers = vec![
            ("authorization", format!("Bearer {token}")),
            ("accept", "application/json".to_string()),
            ("content-type", "application/json".to_string()),
        ];
        self.dispatch(
            Method::Post,
            url,
            headers,
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    /// Sends one request to the blob service: the SAS in the URL is the
    /// credential, so no ARM token goes with it. Retried like ARM calls.
    pub async fn send_storage(
        &self,
        method: Method,
        url: Url,
        headers: Vec<(&'static str, &'static str)>,
        body: Option<Vec<u8>>,
    ) -> Result<Reply, AzureError> {
        let mut all = vec![("x-ms-version", super::blob::STORAGE_VERSION.to_string())];
        all.extend(headers.into_iter().map(|(k, v)| (k, v.to_string())));
        self.dispatch(method, url, all, body).await
    }

    /// One request through the retrying pipeline; error statuses come back
    /// as replies. A `content-type` header is only sent with a body.
    async fn dispatch(
        &self,
        method: Method,
        url: Url,
        headers: Vec<(&'static str, String)>,
        body: Option<Vec<u8>>,
    ) -> Result<Reply, AzureError> {
        let mut req = Request::new(url.clone(), method);
        for (k, v) in headers {
            if k == "content-type" && body.is_none() {
                continue;
            }
            req.insert_header(k, v);
        }
        if let Some(b) = body {
            req.set_body(b);
        } else if matches!(method, Method::Post | Method::Put) {
            req.insert_header("content-length", "0");
        }
        self.calls.record(&method, url.path());
        let ctx = azure_core::Context::new();
        let resp = match self.pipeline.send(&ctx, &mut req).await {
            Ok(r) => r,
            // The retry policy turns error statuses into errors (after
            // retrying the transient ones); give them back as replies so
            // callers see the status and ARM's code and message.
            Err(e) => match e.as_http_error() {
                Some(h) => {
                    let body = json!({"error": {
                        "code": h.error_code().unwrap_or_default(),
                        "message": h.error_message().unwrap_or_default(),
                    }});
                    return Ok(Reply {
                        status: u16::from(h.status()),
                        headers: azure_core::headers::Headers::new(),
                        body: body.to_string().into_bytes(),
                    });
                }
                None => {
                    return Err(AzureError::Unreachable {
                        url: redact_url(&url),
                        reason: first_line(&e.to_string()),
                    })
                }
            },
        };
        Reply::read(resp, &url).await
    }

    /// A request to the app itself (its HTTP functions, its admin
    /// endpoint): no ARM token, no retries, and error statuses come back
    /// as replies, because they are the function's answer.
    pub async fn send_plain(
        &self,
        method: &str,
        url: Url,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<Reply, AzureError> {
        let method = match method.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "HEAD" => Method::Head,
            "OPTIONS" => Method::Options,
            other => {
                return Err(AzureError::Config {
                    reason: format!("unsupported HTTP method {other}"),
                })
            }
        };
        let mut req = Request::new(url.clone(), method);
        for (k, v) in headers {
            req.insert_header(HeaderName::from(k), v);
        }
        if !body.is_empty() {
            req.set_body(body);
        }
        let resp = self
            .plain
            .execute_request(&req)
            .await
            .map_err(|e| AzureError::Unreachable {
                url: redact_url(&url),
                reason: first_line(&e.to_string()),
            })?;
        Reply::read(resp, &url).await
    }

    /// GET; `None` when the resource does not exist.
    pub async fn get(&self, path: &str, api_version: &str) -> Result<Option<Value>, AzureError> {
        let reply = self
            .send(Method::Get, self.url(path, api_version)?, None, "")
            .await?;
        match reply.status {
            404 => Ok(None),
            200..=299 => Ok(Some(reply.json())),
            _ => Err(arm_error("GET", path, &reply)),
        }
    }

    /// PUT (create or replace), waiting for a long-running operation; returns
    /// the resource as ARM reports it afterwards.
    pub async fn put(
        &self,
        path: &str,
        api_version: &str,
        body: &Value,
    ) -> Result<Value, AzureError> {
        let reply = self
            .send(
                Method::Put,
                self.url(path, api_version)?,
                Some(serde_json::to_vec(body).unwrap_or_default()),
                "application/json",
            )
            .await?;
        if !(200..=299).contains(&reply.status) {
            return Err(arm_error("PUT", path, &reply));
        }
        self.wait("PUT", path, &reply).await?;
        if reply.status == 200 && !reply.body.is_empty() && !in_progress(&reply.json()) {
            return Ok(reply.json());
        }
        self.settled(path, api_version).await
    }

    /// PATCH with a JSON body (the Tags API); waits for a long-running operation.
    pub async fn patch(
        &self,
        path: &str,
        api_version: &str,
        body: &Value,
    ) -> Result<Value, AzureError> {
        self.action(Method::Patch, "PATCH", path, api_version, Some(body))
            .await
    }

    /// POST an action; waits for a long-running operation.
    pub async fn post(
        &self,
        path: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<Value, AzureError> {
        self.action(Method::Post, "POST", path, api_version, body)
            .await
    }

    /// A request whose answer is the result (not the resource, as for PUT):
    /// the final body of its long-running operation, or its own body.
    async fn action(
        &self,
        method: Method,
        operation: &'static str,
        path: &str,
        api_version: &str,
        body: Option<&Value>,
    ) -> Result<Value, AzureError> {
        let reply = self
            .send(
                method,
                self.url(path, api_version)?,
                body.map(|b| serde_json::to_vec(b).unwrap_or_default()),
                "application/json",
            )
            .await?;
        if !(200..=299).contains(&reply.status) {
            return Err(arm_error(operation, path, &reply));
        }
        let done = self.wait(operation, path, &reply).await?;
        Ok(done.unwrap_or_else(|| reply.json()))
    }

    /// DELETE; a resource that is already gone is success.
    pub async fn delete(&self, path: &str, api_version: &str) -> Result<(), AzureError> {
        let reply = self
            .send(Method::Delete, self.url(path, api_version)?, None, "")
            .await?;
        match reply.status {
            404 | 204 => Ok(()),
            200..=299 => self.wait("DELETE", path, &reply).await.map(|_| ()),
            _ => Err(arm_error("DELETE", path, &reply)),
        }
    }

    /// Polls a 201/202 to completion. Returns the final body of a Location
    /// poll when there is one.
    async fn wait(
        &self,
        op: &'static str,
        path: &str,
        first: &Reply,
    ) -> Result<Option<Value>, AzureError> {
        if !matches!(first.status, 201 | 202) {
            return Ok(None);
        }
        let mut delay = first.retry_after(self.poll_interval);
        if let Some(status_url) = first.header("azure-asyncoperation") {
            let url = parse_url(&status_url)?;
            for _ in 0..MAX_POLLS {
                tokio::time::sleep(delay).await;
                let r = self.send(Method::Get, url.clone(), None, "").await?;
                if !(200..=299).contains(&r.status) {
                    return Err(arm_error(op, path, &r));
                }
                let body = r.json();
                match body.get("status").and_then(Value::as_str).unwrap_or("") {
                    "Succeeded" => return Ok(None),
                    "Failed" | "Canceled" | "Cancelled" => {
                        return Err(operation_failed(op, path, &body));
                    }
                    _ => delay = r.retry_after(self.poll_interval),
                }
            }
            return Err(AzureError::Timeout {
                operation: format!("{op} {path}"),
            });
        }
        if let Some(location) = first.header("location") {
            let url = parse_url(&location)?;
            for _ in 0..MAX_POLLS {
                tokio::time::sleep(delay).await;
                let r = self.send(Method::Get, url.clone(), None, "").await?;
                match r.status {
                    202 => delay = r.retry_after(self.poll_interval),
                    200..=299 => {
                        return Ok((!r.body.is_empty()).then(|| r.json()));
                    }
                    _ => return Err(arm_error(op, path, &r)),
                }
            }
            return Err(AzureError::Timeout {
                operation: format!("{op} {path}"),
            });
        }
        Ok(None)
    }

    /// GETs a resource until its `provisioningState` is terminal.
    async fn settled(&self, path: &str, api_version: &str) -> Result<Value, AzureError> {
        for _ in 0..MAX_POLLS {
            match self.get(path, api_version).await? {
                Some(v) if !in_progress(&v) => {
                    if provisioning_state(&v).is_some_and(|s| s == "Failed" || s == "Canceled") {
                        return Err(operation_failed("PUT", path, &v));
                    }
                    return Ok(v);
                }
                Some(_) => tokio::time::sleep(self.poll_interval).await,
                None => {
                    return Err(AzureError::Arm {
                        operation: "PUT",
                        resource: path.to_string(),
                        status: 404,
                        code: "NotFoundAfterCreate".into(),
                        message: "the resource is not there after the operation finished".into(),
                    })
                }
            }
        }
        Err(AzureError::Timeout {
            operation: format!("PUT {path}"),
        })
    }
}

fn provisioning_state(v: &Value) -> Option<&str> {
    v.pointer("/properties/provisioningState")
        .and_then(Value::as_str)
}

fn in_progress(v: &Value) -> bool {
    provisioning_state(v)
        .is_some_and(|s| !matches!(s, "Succeeded" | "Failed" | "Canceled" | "Cancelled"))
}

fn parse_url(s: &str) -> Result<Url, AzureError> {
    Url::parse(s).map_err(|e| AzureError::Config {
        reason: format!("ARM returned an unusable polling URL ({e})"),
    })
}

/// ARM's error body: `{"error": {"code", "message"}}` (some services send
/// the object without the wrapper).
pub fn arm_error(operation: &'static str, path: &str, reply: &Reply) -> AzureError {
    let body = reply.json();
    let err = body.get("error").unwrap_or(&body);
    let code = err
        .get("code")
        .or_else(|| err.get("Code"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let message = err
        .get("message")
        .or_else(|| err.get("Message"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            String::from_utf8_lossy(&reply.body)
                .chars()
                .take(300)
                .collect()
        });
    AzureError::Arm {
        operation,
        resource: path.to_string(),
        status: reply.status,
        code,
        message,
    }
}

fn operation_failed(operation: &'static str, path: &str, body: &Value) -> AzureError {
    let err = body
        .get("error")
        .or_else(|| body.pointer("/properties/error"))
        .cloned()
        .unwrap_or(Value::Null);
    AzureError::Arm {
        operation,
        resource: path.to_string(),
        status: 200,
        code: err
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or("OperationFailed")
            .to_string(),
        message: err
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("the long-running operation failed")
            .to_string(),
    }
}

/// A URL without its query (SAS tokens and `code=` keys live there).
pub fn redact_url(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

/// An azure_mgmt_web error as [`AzureError`].
pub fn web_error(operation: &'static str, site: &str, e: azure_core::Error) -> AzureError {
    match e.as_http_error() {
        Some(h) => AzureError::Arm {
            operation,
            resource: site.to_string(),
            status: u16::from(h.status()),
            code: h.error_code().unwrap_or_default().to_string(),
            message: h.error_message().unwrap_or_default().to_string(),
        },
        None => AzureError::Unreachable {
            url: site.to_string(),
            reason: e.to_string().lines().next().unwrap_or_default().to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_posts_are_reads() {
        assert!(!is_mutating(&Method::Post, "/x/storageAccounts/a/listKeys"));
        assert!(!is_mutating(
            &Method::Post,
            "/x/sites/s/config/appsettings/list"
        ));
        assert!(!is_mutating(
            &Method::Post,
            "/x/sites/s/host/default/listkeys"
        ));
        assert!(is_mutating(
            &Method::Post,
            "/x/sites/s/syncfunctiontriggers"
        ));
        assert!(is_mutating(&Method::Put, "/x/sites/s"));
        assert!(is_mutating(&Method::Delete, "/x/sites/s"));
        assert!(!is_mutating(&Method::Get, "/x/sites/s"));
    }
}
