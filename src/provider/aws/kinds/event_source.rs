//! `lambda_event_source`: an SQS event source mapping per queue trigger —
//! Lambda polls the queue and invokes the function's stage alias with
//! batches of messages.
//!
//! Like every other trigger it invokes the alias, so a deploy switches
//! consumers with the alias and `rollback` moves them back. Each mapping
//! asks for partial batch responses (`ReportBatchItemFailures`): a handler
//! that returns `batchItemFailures` hands back only the messages it failed,
//! not the whole batch. Created after the alias and after the function's
//! role (Lambda checks, when the mapping is created, that the role may
//! receive from the queue; IAM's delay is retried), updated in place
//! (UpdateEventSourceMapping), deleted on its own (deleting a function
//! does not promise to delete its mappings).
//!
//! Ownership: mappings can carry tags, but ListEventSourceMappings does not
//! return them (and moto's ListTags on them is not what the read needs), so
//! a mapping is recognised as fnctl's by its two ends, both named by fnctl
//! for this app+stage: a function `{app}-{stage}-*` at this stage's alias,
//! and a queue `{app}-{stage}-*` in this account and region. fnctl still
//! tags the mappings it creates, for people and cost reports.

use aws_sdk_lambda::error::ProvideErrorMetadata;
use serde_json::json;

use super::common::{attrs, string_list, string_map};
use super::{function, role, Kind, Step};
use crate::model::{App, ProviderId};
use crate::plan::{Action, Resource, ResourceId};
use crate::provider::aws::backend::{
    api_error, arn, gone_ok, AwsBackend, AwsError, Live, SdkResultExt,
};
use crate::provider::aws::names;
use crate::provider::aws::resources::tags;
use crate::provider::CodeDigests;

pub const KIND: &str = "lambda_event_source";

/// Partial batch responses: the only response type Lambda offers for SQS.
const REPORT_BATCH_ITEM_FAILURES: &str = "ReportBatchItemFailures";

/// How long Lambda may refuse a mapping because a fresh policy of the role
/// is not visible to it yet (as for a fresh role, see `function.rs`).
const ROLE_PROPAGATION: std::time::Duration = std::time::Duration::from_secs(90);

pub struct EventSource;

/// `{function}:{alias}/{queue}`.
fn mapping_name(function_target: &str, queue: &str) -> String {
    format!("{function_target}/{queue}")
}

#[async_trait::async_trait]
impl Kind for EventSource {
    fn kinds(&self) -> &'static [&'static str] {
        &[KIND]
    }

    fn desired(&self, app: &App, _code: &CodeDigests, out: &mut Vec<Resource>) {
        for f in app.functions_for(ProviderId::Aws) {
            let alias = function::alias_id(app, &f.name);
            for q in &f.queue_triggers {
                let queue = names::resource(app, &q.queue);
                out.push(
                    Resource::new(KIND, mapping_name(&alias.name, &queue))
                        .for_function(&f.name)
                        .attr("queue", queue.clone())
                        .attr("batch_size", q.batch_size)
                        .attr(
                            "maximum_batching_window",
                            q.max_batching_window_s.unwrap_or(0),
                        )
                        .attr(
                            "function_response_types",
                            json!([REPORT_BATCH_ITEM_FAILURES]),
                        )
                        .depends_on(&alias)
                        // The role must hold the consume actions first.
                        .depends_on(&ResourceId::new(
                            "iam_role",
                            names::function_role(app, &f.name),
                        ))
                        .depends_on(&ResourceId::new("sqs_queue", &queue)),
                );
            }
        }
    }

    /// Every mapping of the account in this region (ListEventSourceMappings
    /// pages, one call for the whole app), keeping fnctl's (see the module
    /// documentation).
    async fn read(&self, b: &AwsBackend) -> Result<Live, AwsError> {
        let app = &b.app;
        let prefix = format!("{}-", names::prefix(app));
        let alias = names::alias(app);
        let mut live = Live::default();
        let mut pages = b
            .clients
            .lambda
            .list_event_source_mappings()
            .into_paginator()
            .items()
            .send();
        while let Some(m) = pages.next().await {
            let m = m.or_api_error("ListEventSourceMappings", &prefix)?;
            let target = arn::lambda_target(m.function_arn().unwrap_or_default());
            let (function, qualifier) = target.rsplit_once(':').unwrap_or((&target, ""));
            // AWS reports the alias the mapping was created on; moto the
            // version the alias pointed to then.
            let at_alias = qualifier == alias
                || (!qualifier.is_empty() && qualifier.bytes().all(|c| c.is_ascii_digit()));
            let queue_arn = m.event_source_arn().unwrap_or_default();
            let queue = queue_name(queue_arn, &b.clients.region);
            let (true, true, Some(queue)) = (
                function.starts_with(&prefix),
                at_alias,
                queue.filter(|q| q.starts_with(&prefix)),
            ) else {
                continue;
            };
            let fn_key = app
                .functions_for(ProviderId::Aws)
                .find(|f| names::function(app, &f.name) == function)
                .map(|f| f.name.clone());
            let mut r = Resource::new(KIND, mapping_name(&format!("{function}:{alias}"), queue));
            r.function = fn_key;
            r.attrs = attrs(vec![
                ("queue", json!(queue)),
                ("batch_size", json!(m.batch_size().unwrap_or_default())),
                (
                    "maximum_batching_window",
                    json!(m.maximum_batching_window_in_seconds().unwrap_or(0)),
                ),
                (
                    "function_response_types",
                    json!(m
                        .function_response_types()
                        .iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()),
                ),
                // Not desired, so never compared: what update and delete address.
                ("uuid", json!(m.uuid().unwrap_or_default())),
            ]);
            live.resources.push(r);
        }
        Ok(live)
    }

    async fn apply(&self, step: &Step<'_>) -> Result<(), AwsError> {
        let (b, change, shared) = (step.backend, step.change, step.shared);
        let after = step.after();
        let lambda = &b.clients.lambda;
        let name = change.id.name.as_str();
        let (target, _) = name.split_once('/').unwrap_or((name, ""));
        let account = shared.ids.lock().await.account.clone();
        let region = &b.clients.region;
        let function_arn = arn::lambda_function(region, &account, target);
        let queue_arn = role::expand(
            &format!(
                "arn:aws:sqs:{}:{}:{}",
                role::REGION,
                role::ACCOUNT,
                after["queue"].as_str().unwrap_or_default()
            ),
            region,
            &account,
        );
        let batch_size = after["batch_size"].as_i64().unwrap_or(10) as i32;
        let window = after["maximum_batching_window"].as_i64().unwrap_or(0) as i32;
        let types: Vec<aws_sdk_lambda::types::FunctionResponseType> =
            string_list(&after["function_response_types"])
                .iter()
                .map(|t| aws_sdk_lambda::types::FunctionResponseType::from(t.as_str()))
                .collect();
        if change.action == Action::Create {
            let started = std::time::Instant::now();
            loop {
                let req = lambda
                    .create_event_source_mapping()
                    .function_name(&function_arn)
                    .event_source_arn(&queue_arn)
                    .batch_size(batch_size)
                    .maximum_batching_window_in_seconds(window)
                    .set_function_response_types(Some(types.clone()))
                    .set_tags(Some(string_map(&tags(&b.app, change.function.as_deref()))));
                match req.send().await {
                    Ok(_) => return Ok(()),
                    // IAM is eventually consistent: the role's new policy
                    // may not be visible to Lambda's check yet.
                    Err(e)
                        if permission_not_visible(&e) && started.elapsed() <= ROLE_PROPAGATION =>
                    {
                        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                    }
                    // Left by an interrupted earlier run: updated below.
                    Err(e)
                        if crate::provider::aws::backend::has_code(
                            &e,
                            &["ResourceConflictException"],
                        ) =>
                    {
                        break;
                    }
                    Err(e) => return Err(api_error("CreateEventSourceMapping", name, e)),
                }
            }
        }
        let Some(uuid) = find_uuid(b, &function_arn, &queue_arn, change).await? else {
            return Err(AwsError::Api {
                operation: "UpdateEventSourceMapping",
                resource: name.to_string(),
                message: "the mapping was deleted by someone else since it was read".into(),
                hint: Some("run the deploy again: it will create the mapping anew".into()),
            });
        };
        lambda
            .update_event_source_mapping()
            .uuid(uuid)
            .function_name(&function_arn)
            .batch_size(batch_size)
            .maximum_batching_window_in_seconds(window)
            .set_function_response_types(Some(types))
            .send()
            .await
            .or_api_error("UpdateEventSourceMapping", name)?;
        Ok(())
    }

    async fn delete(&self, step: &Step<'_>) -> Result<(), AwsError> {
        let (b, change) = (step.backend, step.change);
        let uuid = step
            .before()
            .get("uuid")
            .and_then(|u| u.as_str())
            .unwrap_or_default();
        gone_ok(
            b.clients
                .lambda
                .delete_event_source_mapping()
                .uuid(uuid)
                .send()
                .await,
            &["ResourceNotFoundException"],
            "DeleteEventSourceMapping",
            &change.id.name,
        )
    }
}

/// The name of a queue in this region from its ARN
/// (`arn:aws:sqs:{region}:{account}:{name}`); `None` for anything else.
fn queue_name<'a>(arn: &'a str, region: &str) -> Option<&'a str> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some("sqs"), Some(r), Some(_), Some(name)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    (r == region).then_some(name)
}

/// Whether Lambda refused the mapping because the role may not yet
/// receive from the queue ("The provided execution role does not have
/// permissions to call ReceiveMessage on SQS").
fn permission_not_visible<E: ProvideErrorMetadata, R>(
    e: &aws_sdk_lambda::error::SdkError<E, R>,
) -> bool {
    e.message()
        .unwrap_or_default()
        .contains("execution role does not have permissions")
}

/// The id of the mapping from `function_arn` to `queue_arn`: the read's
/// when it has one, else asked for (an update's plan carries only the
/// attributes fnctl compares).
async fn find_uuid(
    b: &AwsBackend,
    function_arn: &str,
    queue_arn: &str,
    change: &crate::plan::Change,
) -> Result<Option<String>, AwsError> {
    // `before` of an update holds only the attributes fnctl plans.
    if let Some(uuid) = change
        .before
        .as_ref()
        .and_then(|a| a.get("uuid"))
        .and_then(|u| u.as_str())
    {
        return Ok(Some(uuid.to_string()));
    }
    let function_name = function_arn
        .rsplit_once(':')
        .map(|(unqualified, _)| arn::lambda_target(unqualified))
        .unwrap_or_default();
    let mut pages = b
        .clients
        .lambda
        .list_event_source_mappings()
        .event_source_arn(queue_arn)
        .into_paginator()
        .items()
        .send();
    while let Some(m) = pages.next().await {
        let m = m.or_api_error("ListEventSourceMappings", &change.id.name)?;
        let target = arn::lambda_target(m.function_arn().unwrap_or_default());
        if target.split(':').next() == Some(function_name.as_str()) {
            return Ok(m.uuid().map(str::to_string));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_come_from_arns_of_this_region() {
        assert_eq!(
            queue_name(
                "arn:aws:sqs:us-east-1:123456789012:shop-dev-jobs",
                "us-east-1"
            ),
            Some("shop-dev-jobs")
        );
        assert_eq!(
            queue_name(
                "arn:aws:sqs:eu-west-1:123456789012:shop-dev-jobs",
                "us-east-1"
            ),
            None
        );
        assert_eq!(
            queue_name("arn:aws:kinesis:us-east-1:1:stream/x", "us-east-1"),
            None
        );
    }
}
