//! `eventbridge_rule`: a function's schedule trigger, as an EventBridge rule
//! with one target (the function's stage alias).
//!
//! One rule per schedule trigger, named after app, stage, function and the
//! trigger's index, created after the permission that lets EventBridge
//! invoke the alias. PutRule creates and updates alike; the target is put
//! on create and when it changed. Deleting removes the target, then the
//! rule. Rules are found by name prefix and only those tagged for this
//! app+stage are read.

use std::collections::BTreeMap;

use serde_json::json;

use super::common::{attrs, owned_tags, read_each, string_map};
use super::{common, function, permission, Kind, Step};
use crate::model::{App, ProviderId, Trigger};
use crate::plan::{Action, Resource};
use crate::provider::aws::backend::{arn, AwsBackend, AwsError, Live, SdkResultExt};
use crate::provider::aws::resources::tags;
use crate::provider::aws::{names, schedule};
use crate::provider::CodeDigests;

pub struct Rule;

#[async_trait::async_trait]
impl Kind for Rule {
    fn kinds(&self) -> &'static [&'static str] {
        &["eventbridge_rule"]
    }

    fn desired(&self, app: &App, _code: &CodeDigests, out: &mut Vec<Resource>) {
        for f in app.functions_for(ProviderId::Aws) {
            for (i, t) in f.triggers.iter().enumerate() {
                let Trigger::Schedule(s) = t else { continue };
                // Checks have already rejected what AWS cannot express.
                let Ok(expression) = schedule::to_aws(&s.schedule) else {
                    continue;
                };
                let rule_name = names::schedule_rule(app, &f.name, i);
                let rule = Resource::new("eventbridge_rule", &rule_name)
                    .for_function(&f.name)
                    .attr("schedule_expression", expression)
                    .attr("state", if s.enabled { "ENABLED" } else { "DISABLED" })
                    .attr(
                        "target",
                        format!("{}:{}", names::function(app, &f.name), names::alias(app)),
                    )
                    .attr("tags", tags(app, Some(&f.name)));
                let p = permission::resource(
                    app,
                    &f.name,
                    &format!("events-{rule_name}"),
                    "events.amazonaws.com",
                    &format!("rule/{rule_name}"),
                )
                .depends_on(&function::alias_id(app, &f.name));
                let rule = rule.depends_on(&p.id);
                out.push(p);
                out.push(rule);
            }
        }
    }

    /// Schedule rules named `{app}-{stage}-*` and tagged for this app+stage.
    async fn read(&self, b: &AwsBackend) -> Result<Live, AwsError> {
        let events = &b.clients.events;
        let prefix = format!("{}-", names::prefix(&b.app));
        let list = async {
            let mut rules = Vec::new();
            let mut token = None;
            loop {
                let page = events
                    .list_rules()
                    .name_prefix(&prefix)
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .or_api_error("ListRules", &prefix)?;
                rules.extend(page.rules().iter().cloned());
                token = page.next_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
            Ok::<_, AwsError>(rules)
        };
        // This app+stage's rules' tags in bulk where the tagging API lists
        // rules (AWS does; moto does not); the rest are asked one by one.
        let (mut rules, tagged) = tokio::try_join!(list, common::tagged(b, "events:rule"))?;
        rules.retain(|r| r.name().is_some_and(|n| b.reads(n)));
        let tagged = &tagged;
        let found = read_each(rules, |rule| async move {
            let known = rule.arn().and_then(|a| tagged.get(a)).cloned();
            read_rule(b, &rule, known).await
        })
        .await?;
        Ok(Live {
            resources: found.into_iter().flatten().collect(),
            ..Live::default()
        })
    }

    async fn apply(&self, step: &Step<'_>) -> Result<(), AwsError> {
        let (b, change, shared) = (step.backend, step.change, step.shared);
        let after = step.after();
        let events = &b.clients.events;
        let name = change.id.name.as_str();
        let state = if after["state"] == "DISABLED" {
            aws_sdk_eventbridge::types::RuleState::Disabled
        } else {
            aws_sdk_eventbridge::types::RuleState::Enabled
        };
        let mut req = events
            .put_rule()
            .name(name)
            .schedule_expression(after["schedule_expression"].as_str().unwrap_or_default())
            .state(state)
            .description("schedule of an fnctl function");
        let tags: Vec<aws_sdk_eventbridge::types::Tag> = string_map(&after["tags"])
            .into_iter()
            .map(|(k, v)| {
                aws_sdk_eventbridge::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .expect("key and value set")
            })
            .collect();
        if change.action == Action::Create {
            req = req.set_tags(Some(tags.clone()));
        }
        let out = req.send().await.or_api_error("PutRule", name)?;
        if change.action == Action::Update && change.changed.iter().any(|c| c == "tags") {
            events
                .tag_resource()
                .resource_arn(out.rule_arn().unwrap_or_default())
                .set_tags(Some(tags))
                .send()
                .await
                .or_api_error("TagResource", name)?;
        }
        if change.action == Action::Create || change.changed.iter().any(|c| c == "target") {
            let account = shared.ids.lock().await.account.clone();
            let target = aws_sdk_eventbridge::types::Target::builder()
                .id("fnctl")
                .arn(arn::lambda_function(
                    &b.clients.region,
                    &account,
                    after["target"].as_str().unwrap_or_default(),
                ))
                .build()
                .expect("id and arn set");
            events
                .put_targets()
                .rule(name)
                .targets(target)
                .send()
                .await
                .or_api_error("PutTargets", name)?;
        }
        Ok(())
    }

    async fn delete(&self, step: &Step<'_>) -> Result<(), AwsError> {
        let (b, change) = (step.backend, step.change);
        let events = &b.clients.events;
        let name = change.id.name.as_str();
        let removed = events
            .remove_targets()
            .rule(name)
            .ids("fnctl")
            .send()
            .await
            .or_missing(&["ResourceNotFoundException"], "RemoveTargets", name)?;
        if removed.is_none() {
            return Ok(());
        }
        events
            .delete_rule()
            .name(name)
            .send()
            .await
            .or_api_error("DeleteRule", name)?;
        Ok(())
    }
}

/// One rule with its target; `None` when it belongs to someone else.
/// `known`: its tags from the tagging API, when it listed the rule.
async fn read_rule(
    b: &AwsBackend,
    rule: &aws_sdk_eventbridge::types::Rule,
    known: Option<BTreeMap<String, String>>,
) -> Result<Option<Resource>, AwsError> {
    let app = &b.app;
    let events = &b.clients.events;
    let (Some(name), Some(rule_arn)) = (rule.name(), rule.arn()) else {
        return Ok(None);
    };
    let read_tags = async {
        match known {
            Some(tags) => Ok(tags),
            None => Ok::<_, AwsError>(
                events
                    .list_tags_for_resource()
                    .resource_arn(rule_arn)
                    .send()
                    .await
                    .or_api_error("ListTagsForResource", name)?
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect::<BTreeMap<String, String>>(),
            ),
        }
    };
    let targets = async {
        events
            .list_targets_by_rule()
            .rule(name)
            .send()
            .await
            .or_api_error("ListTargetsByRule", name)
    };
    // Both at once (one round trip, not two): the target of a rule that
    // turns out not to be this app+stage's is read and dropped.
    let (rule_tags, targets) = tokio::try_join!(read_tags, targets)?;
    if rule_tags.get("fnctl:app") != Some(&app.name)
        || rule_tags.get("fnctl:stage") != Some(&app.stage)
    {
        return Ok(None);
    }
    let target = targets
        .targets()
        .first()
        .map(|t| arn::lambda_target(t.arn()))
        .unwrap_or_default();
    let fn_key = rule_tags.get("fnctl:function").cloned();
    let mut r = Resource::new("eventbridge_rule", name);
    r.function = fn_key.clone();
    r.attrs = attrs(vec![
        (
            "schedule_expression",
            json!(rule.schedule_expression().unwrap_or_default()),
        ),
        (
            "state",
            json!(rule.state().map(|s| s.as_str()).unwrap_or_default()),
        ),
        ("target", json!(target)),
        (
            "tags",
            owned_tags(&rule_tags, &tags(app, fn_key.as_deref())),
        ),
    ]);
    Ok(Some(r))
}
