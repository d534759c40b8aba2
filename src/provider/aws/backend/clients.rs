//! SDK clients for one deploy, sharing one configuration and one call recorder.
//!
//! Credentials and region come from aws-config's standard chain (environment,
//! profiles, SSO, IMDS), overridden by the manifest's `region`, `profile` and
//! `endpoint`. Every client carries the [`CallRecorder`] interceptor, which
//! counts the calls that change something: an unchanged redeploy must make
//! none, and the JSON output reports the number so CI can check it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::model::AwsSettings;

/// Records every API call; `Get*`, `List*`, `Describe*` and `Head*` are reads.
/// The deploy lock's calls count in [`CallRecorder::total`] (every request
/// fnctl sent) but not as mutating: they coordinate fnctl runs and change
/// nothing of the app, and an unchanged redeploy, which takes no lock, must
/// still report 0 mutating calls.
#[derive(Debug, Default)]
pub struct CallRecorder {
    total: AtomicUsize,
    mutating: Mutex<Vec<String>>,
}

impl CallRecorder {
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// `Service.Operation` of every mutating call, in order.
    pub fn mutating(&self) -> Vec<String> {
        self.mutating
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn record(&self, service: &str, operation: &str) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let read = ["Get", "List", "Describe", "Head"]
            .iter()
            .any(|p| operation.starts_with(p));
        if !read {
            self.mutating
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!("{service}.{operation}"));
        }
    }
}

#[derive(Debug, Clone)]
struct RecorderInterceptor(Arc<CallRecorder>);

/// Counts the lock's calls as calls, never as mutating ones (the SSM
/// client serves only the lock).
#[derive(Debug, Clone)]
struct LockInterceptor(Arc<CallRecorder>);

impl Intercept for LockInterceptor {
    fn name(&self) -> &'static str {
        "fnctl-lock-call-recorder"
    }

    fn read_before_serialization(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.total.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

impl Intercept for RecorderInterceptor {
    fn name(&self) -> &'static str {
        "fnctl-call-recorder"
    }

    fn read_before_serialization(
        &self,
        _: &BeforeSerializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(m) = cfg.load::<Metadata>() {
            self.0.record(m.service(), m.name());
        }
        Ok(())
    }
}

/// All clients fnctl uses on AWS.
#[derive(Debug, Clone)]
pub struct Clients {
    pub region: String,
    pub iam: aws_sdk_iam::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub apigw: aws_sdk_apigateway::Client,
    /// HTTP APIs (`[providers.aws] http = "http-api"`): API Gateway v2.
    pub apigw2: aws_sdk_apigatewayv2::Client,
    pub s3: aws_sdk_s3::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub sts: aws_sdk_sts::Client,
    /// The Resource Groups Tagging API: the tags of many functions and
    /// rules in one call, so a read does not ask for each one's tags.
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// Holds the deploy lock (see `lock.rs`).
    pub ssm: aws_sdk_ssm::Client,
    /// Queue resources (`[resources.NAME]` of kind `queue`).
    pub sqs: aws_sdk_sqs::Client,
    /// Table resources (`[resources.NAME]` of kind `table`).
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub recorder: Arc<CallRecorder>,
}

/// Why clients could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no AWS region: set `region` in [providers.aws], AWS_REGION, or a region in your AWS profile")]
    NoRegion,
}

/// Attempts per call (the first plus retries) for throttles, 5xx and
/// connection errors.
pub const MAX_ATTEMPTS: u32 = 8;

/// Loads the shared configuration and builds every client.
pub async fn connect(settings: &AwsSettings) -> Result<Clients, ClientError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        // Control-plane bursts get throttled (API Gateway especially); the
        // standard mode's 3 attempts are not enough for a large deploy.
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(200)),
        );
    if let Some(r) = &settings.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(p) = &settings.profile {
        loader = loader.profile_name(p);
    }
    if let Some(e) = &settings.endpoint {
        loader = loader.endpoint_url(e);
    }
    let config: SdkConfig = loader.load().await;
    let region = config
        .region()
        .map(|r| r.to_string())
        .ok_or(ClientError::NoRegion)?;
    let recorder = Arc::new(CallRecorder::default());
    let interceptor = RecorderInterceptor(recorder.clone());
    let s3_conf = aws_sdk_s3::config::Builder::from(&config)
        // Emulators on loopback cannot resolve bucket subdomains.
        .force_path_style(
            settings.endpoint.is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        )
        .interceptor(interceptor.clone())
        .build();
    Ok(Clients {
        region,
        iam: aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(&config)
                .interceptor(interceptor.clone())
                .build(),
        ),
        lambda: aws_sdk_lambda::Client::from_conf(
            aws_sdk_lambda::config::Builder::from(&config)
                .interceptor(interceptor.clone())
                .build(),
        ),
        apigw: aws_sdk_apigateway::Client::from_conf(
            aws_sdk_apigateway::config::Builder::from(&config)
                .interceptor(interceptor.clone())
                .build(),
        ),
        apigw2: aws_sdk_apigatewayv2::Client::from_conf(
            aws_sdk_apigatewayv2::config::Builder::from(&config)
                .interceptor(interceptor.clone())
                .build(),
        ),
        s3: aws_sdk_s3::Client::from_conf(s3_conf),
        events: aws_sdk_eventbridge::Client::from_conf(
            aws_sdk_eventbridge::config::Builder::from(&config)
                .interceptor(interceptor.clone())
                .build(),
        ),
        logs: aws_sdk_cloudwatchlogs::Client::from_conf(
            aws_sdk_cloudwatchlogs::config::Builder::from(&config)
                .interceptor(interceptor.clone())
                .build(),
        ),
        // Counted as calls, not as the app's mutating calls (see
        // `CallRecorder`).
        ssm: aws_sdk_ssm::Client::from_conf(
            aws_sdk_ssm::config::Builder::from(&config)
                .interceptor(LockInterceptor(recorder.clone()))
                .build(),
        ),
        tagging: aws_sdk_resourcegroupstagging::Client::from_conf(
            aws_sdk_resourcegroupstagging::config::Builder::from(&config)
                .interceptor(interceptor.clone())
                .build(),
        ),
        sqs: aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&config)
                .interceptor(interceptor.clone())
                .build(),
        ),
        dynamodb: aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&config)
                .interceptor(interceptor.clone())
                .build(),
        ),
        sts: aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&config)
                .interceptor(interceptor)
                .build(),
        ),
        recorder,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_not_mutations() {
        let r = CallRecorder::default();
        for op in [
            "GetFunction",
            "ListTags",
            "DescribeRule",
            "HeadBucket",
            "UpdateFunctionCode",
            "PutRule",
        ] {
            r.record("svc", op);
        }
        assert_eq!(r.total(), 6);
        assert_eq!(r.mutating(), vec!["svc.UpdateFunctionCode", "svc.PutRule"]);
    }
}
