//! A function's code as Lambda takes it: inline up to Lambda's 50 MiB
//! limit, else staged in an fnctl-owned bucket (one per account and
//! region, keyed by content hash) and deleted from there once Lambda has
//! its copy. `remove` clears what a killed deploy left staged.

use std::time::Instant;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::FunctionCode;

use crate::package::Artifact;
use crate::plan::{Action, ResourceId};
use crate::provider::aws::backend::apply::Applied;
use crate::provider::aws::backend::{AwsBackend, AwsError, SdkResultExt};
use crate::provider::aws::kinds::common::create_bucket;
use crate::provider::aws::kinds::Shared;

/// Where packages over Lambda's 50 MiB inline limit are staged: one bucket
/// per account and region, created on first use.
fn artifact_bucket(account: &str, region: &str) -> String {
    format!("fnctl-artifacts-{account}-{region}")
}

/// The code of manifest function `function` from this run's package.
pub(super) async fn location(
    b: &AwsBackend,
    function: &str,
    shared: &Shared,
) -> Result<FunctionCode, AwsError> {
    let artifact = shared
        .artifacts
        .get(function)
        .ok_or_else(|| AwsError::Api {
            operation: "Package",
            resource: function.to_string(),
            message: "no package was built for this function".into(),
            hint: None,
        })?;
    let bytes = std::fs::read(&artifact.path).map_err(|e| AwsError::Api {
        operation: "ReadPackage",
        resource: artifact.path.display().to_string(),
        message: e.to_string(),
        hint: None,
    })?;
    if artifact.needs_s3_upload() {
        let (bucket, key) = upload(b, function, artifact, bytes).await?;
        return Ok(FunctionCode::builder()
            .s3_bucket(bucket)
            .s3_key(key)
            .build());
    }
    Ok(FunctionCode::builder().zip_file(Blob::new(bytes)).build())
}

/// Packages over Lambda's 50 MB inline limit go through an fnctl-owned
/// bucket, one per account and region, keyed by content hash.
async fn upload(
    b: &AwsBackend,
    function: &str,
    artifact: &Artifact,
    bytes: Vec<u8>,
) -> Result<(String, String), AwsError> {
    let s3 = &b.clients.s3;
    let account = b
        .clients
        .sts
        .get_caller_identity()
        .send()
        .await
        .or_api_error("GetCallerIdentity", "credentials")?
        .account()
        .unwrap_or_default()
        .to_string();
    let staging = artifact_bucket(&account, &b.clients.region);
    if s3.head_bucket().bucket(&staging).send().await.is_err() {
        create_bucket(b, &staging).send().await.or_missing(
            &["BucketAlreadyOwnedByYou"],
            "CreateBucket",
            &staging,
        )?;
    }
    let key = format!(
        "{}/{}/{function}-{}.zip",
        b.app.name, b.app.stage, artifact.sha256_hex
    );
    s3.put_object()
        .bucket(&staging)
        .key(&key)
        .body(bytes.into())
        .send()
        .await
        .or_api_error("PutObject", format!("s3://{staging}/{key}"))?;
    Ok((staging, key))
}

/// Deletes a package staged in the artifact bucket once Lambda has
/// taken its copy (published versions keep their own code, so rollback
/// does not need it). A failed delete is left for `remove`, which
/// clears the app+stage's prefix.
pub(super) async fn discard_staged(b: &AwsBackend, code: &FunctionCode) {
    if let (Some(bucket), Some(key)) = (code.s3_bucket(), code.s3_key()) {
        let _ = b
            .clients
            .s3
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await;
    }
}

impl AwsBackend {
    /// Deletes whatever is left of this app+stage's staged packages (a
    /// deploy killed between the upload and Lambda taking the code). The
    /// bucket is shared by every app of the account and region, so it stays.
    pub async fn remove_staged_packages(&self, account: &str) -> Result<Vec<Applied>, AwsError> {
        let s3 = &self.clients.s3;
        let bucket = artifact_bucket(account, &self.clients.region);
        let prefix = format!("{}/{}/", self.app.name, self.app.stage);
        let mut removed = Vec::new();
        let mut pages = s3
            .list_objects_v2()
            .bucket(&bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let Some(page) = page.or_missing(
                &["NoSuchBucket"],
                "ListObjectsV2",
                format!("s3://{bucket}/{prefix}"),
            )?
            else {
                break;
            };
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let started = Instant::now();
                s3.delete_object()
                    .bucket(&bucket)
                    .key(key)
                    .send()
                    .await
                    .or_api_error("DeleteObject", format!("s3://{bucket}/{key}"))?;
                removed.push(Applied {
                    id: ResourceId::new("staged_package", format!("s3://{bucket}/{key}")),
                    action: Action::Delete,
                    changed: Vec::new(),
                    millis: started.elapsed().as_millis(),
                });
            }
        }
        Ok(removed)
    }
}
