//! `iam_role`: the execution role every function of an app+stage runs as.
//!
//! One role per app+stage, trusted by Lambda, with the managed policy that
//! lets functions write logs and an inline policy holding the manifest's
//! extra statements. Created first (functions name it), updated in place
//! (trust, tags, attached policies, inline policy — each only when it
//! changed), deleted last after detaching its policies. A role with this
//! name that lacks this app+stage's tags is a conflict, never adopted.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::common::{
    attrs, derived_name_help, foreign_owner, owned_tags, string_list, string_map, NOT_FOUND,
};
use super::{Kind, Shared, Step};
use crate::model::App;
use crate::plan::{Action, Conflict, Resource, ResourceId};
use crate::provider::aws::backend::{gone_ok, AwsBackend, AwsError, Live, SdkResultExt};
use crate::provider::aws::names;
use crate::provider::aws::resources::tags;
use crate::provider::CodeDigests;

/// The AWS managed policy that lets a function write its logs.
pub const BASIC_EXECUTION_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";

/// Name of the inline policy holding the manifest's extra statements.
pub const INLINE_POLICY: &str = "fnctl-statements";

pub struct Role;

#[async_trait::async_trait]
impl Kind for Role {
    fn kinds(&self) -> &'static [&'static str] {
        &["iam_role"]
    }

    fn desired(&self, app: &App, _code: &CodeDigests, out: &mut Vec<Resource>) {
        out.push(
            Resource::new("iam_role", names::role(app))
                .attr("assume_role_principal", "lambda.amazonaws.com")
                .attr("managed_policies", json!([BASIC_EXECUTION_POLICY]))
                .attr(
                    "inline_statements",
                    json!(app
                        .aws
                        .as_ref()
                        .map(|a| a
                            .statements
                            .iter()
                            .map(|s| json!({"effect": s.effect, "actions": s.actions, "resources": s.resources}))
                            .collect::<Vec<_>>())
                        .unwrap_or_default()),
                )
                .attr("tags", tags(app, None)),
        );
    }

    async fn read(&self, b: &AwsBackend) -> Result<Live, AwsError> {
        let mut live = Live::default();
        let app = &b.app;
        let iam = &b.clients.iam;
        let name = names::role(app);
        let Some(role) = iam
            .get_role()
            .role_name(&name)
            .send()
            .await
            .or_missing(NOT_FOUND, "GetRole", &name)?
            .and_then(|r| r.role)
        else {
            return Ok(live);
        };
        live.ids.role_arn = Some(role.arn().to_string());
        let doc = role
            .assume_role_policy_document()
            .map(decode_policy)
            .unwrap_or(Value::Null);
        let principal = doc["Statement"][0]["Principal"]["Service"].clone();
        let attached = iam
            .list_attached_role_policies()
            .role_name(&name)
            .send()
            .await
            .or_api_error("ListAttachedRolePolicies", &name)?;
        let mut managed: Vec<String> = attached
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect();
        managed.sort();
        let statements = iam
            .get_role_policy()
            .role_name(&name)
            .policy_name(INLINE_POLICY)
            .send()
            .await
            .or_missing(NOT_FOUND, "GetRolePolicy", &name)?
            .map(|p| statements_from(&decode_policy(p.policy_document())))
            .unwrap_or_else(|| json!([]));
        let role_tags = iam
            .list_role_tags()
            .role_name(&name)
            .send()
            .await
            .or_api_error("ListRoleTags", &name)?;
        let role_tags: BTreeMap<String, String> = role_tags
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        if let Some(owner) = foreign_owner(&role_tags, app) {
            live.conflicts.push(Conflict {
                id: ResourceId::new("iam_role", &name),
                owner,
                help: derived_name_help("IAM role"),
            });
            live.ids.role_arn = None;
            return Ok(live);
        }
        let mut r = Resource::new("iam_role", &name);
        r.attrs = attrs(vec![
            ("assume_role_principal", principal),
            ("managed_policies", json!(managed)),
            ("inline_statements", statements),
            ("tags", owned_tags(&role_tags, &tags(app, None))),
        ]);
        live.resources.push(r);
        Ok(live)
    }

    async fn apply(&self, step: &Step<'_>) -> Result<(), AwsError> {
        let (b, change, shared) = (step.backend, step.change, step.shared);
        let after = step.after();
        let iam = &b.clients.iam;
        let name = &change.id.name;
        let principal = after["assume_role_principal"]
            .as_str()
            .unwrap_or("lambda.amazonaws.com");
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": principal}, "Action": "sts:AssumeRole"}]}).to_string();
        let changed =
            |k: &str| change.action == Action::Create || change.changed.iter().any(|c| c == k);
        if change.action == Action::Create {
            let mut req = iam
                .create_role()
                .role_name(name)
                .assume_role_policy_document(&trust)
                .description("Execution role of an fnctl app; managed by fnctl");
            for tag in iam_tags(&after["tags"]) {
                req = req.tags(tag);
            }
            let created =
                req.send()
                    .await
                    .or_missing(&["EntityAlreadyExists"], "CreateRole", name)?;
            let role = match created {
                Some(out) => out.role.map(|r| r.arn),
                // Created by an interrupted earlier run: converge instead of failing.
                None => iam
                    .get_role()
                    .role_name(name)
                    .send()
                    .await
                    .ok()
                    .and_then(|r| r.role)
                    .map(|r| r.arn),
            };
            shared.ids.lock().await.role_arn = role;
        } else {
            if changed("assume_role_principal") {
                iam.update_assume_role_policy()
                    .role_name(name)
                    .policy_document(&trust)
                    .send()
                    .await
                    .or_api_error("UpdateAssumeRolePolicy", name)?;
            }
            if changed("tags") {
                let mut req = iam.tag_role().role_name(name);
                for tag in iam_tags(&after["tags"]) {
                    req = req.tags(tag);
                }
                req.send().await.or_api_error("TagRole", name)?;
            }
        }
        if changed("managed_policies") {
            let want: BTreeSet<String> = string_list(&after["managed_policies"])
                .into_iter()
                .collect();
            let have: BTreeSet<String> = change
                .before
                .as_ref()
                .map(|b| string_list(&b["managed_policies"]).into_iter().collect())
                .unwrap_or_default();
            for arn in want.difference(&have) {
                iam.attach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .or_api_error("AttachRolePolicy", name)?;
            }
            for arn in have.difference(&want) {
                iam.detach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .or_api_error("DetachRolePolicy", name)?;
            }
        }
        if changed("inline_statements") {
            match policy_document(&b.app) {
                Some(doc) => {
                    iam.put_role_policy()
                        .role_name(name)
                        .policy_name(INLINE_POLICY)
                        .policy_document(doc)
                        .send()
                        .await
                        .or_api_error("PutRolePolicy", name)?;
                }
                None if change.action == Action::Update => delete_inline_policy(b, name).await?,
                None => {}
            }
        }
        Ok(())
    }

    async fn delete(&self, step: &Step<'_>) -> Result<(), AwsError> {
        let (b, change) = (step.backend, step.change);
        let iam = &b.clients.iam;
        let name = change.id.name.as_str();
        let Some(attached) = iam
            .list_attached_role_policies()
            .role_name(name)
            .send()
            .await
            .or_missing(&["NoSuchEntity"], "ListAttachedRolePolicies", name)?
        else {
            return Ok(());
        };
        for p in attached.attached_policies() {
            if let Some(arn) = p.policy_arn() {
                iam.detach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .or_api_error("DetachRolePolicy", name)?;
            }
        }
        delete_inline_policy(b, name).await?;
        gone_ok(
            iam.delete_role().role_name(name).send().await,
            &["NoSuchEntity"],
            "DeleteRole",
            name,
        )
    }
}

/// Deletes the inline policy (the manifest has no statements left, or the
/// role goes); none there counts as deleted.
async fn delete_inline_policy(b: &AwsBackend, role: &str) -> Result<(), AwsError> {
    gone_ok(
        b.clients
            .iam
            .delete_role_policy()
            .role_name(role)
            .policy_name(INLINE_POLICY)
            .send()
            .await,
        &["NoSuchEntity"],
        "DeleteRolePolicy",
        role,
    )
}

/// The role's ARN, for functions: learnt from the read or from creating
/// the role in this run, else asked for.
pub async fn arn(b: &AwsBackend, shared: &Shared) -> Result<String, AwsError> {
    if let Some(a) = shared.ids.lock().await.role_arn.clone() {
        return Ok(a);
    }
    let name = names::role(&b.app);
    let got = b
        .clients
        .iam
        .get_role()
        .role_name(&name)
        .send()
        .await
        .or_api_error("GetRole", &name)?;
    let arn = got.role.map(|r| r.arn).unwrap_or_default();
    shared.ids.lock().await.role_arn = Some(arn.clone());
    Ok(arn)
}

fn iam_tags(tags: &Value) -> Vec<aws_sdk_iam::types::Tag> {
    string_map(tags)
        .into_iter()
        .map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .expect("key and value set")
        })
        .collect()
}

/// IAM returns policy documents URL-encoded.
fn decode_policy(doc: &str) -> Value {
    let decoded = percent_decode(doc);
    serde_json::from_str(&decoded).unwrap_or(Value::Null)
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The inline policy as the manifest's statement list.
fn statements_from(doc: &Value) -> Value {
    let list: Vec<Value> = doc["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let as_list = |v: &Value| match v {
                Value::String(s) => json!([s]),
                other => other.clone(),
            };
            json!({"effect": s["Effect"], "actions": as_list(&s["Action"]), "resources": as_list(&s["Resource"])})
        })
        .collect();
    json!(list)
}

/// The manifest's statements as an IAM policy document.
pub fn policy_document(app: &App) -> Option<String> {
    let statements = &app.aws.as_ref()?.statements;
    if statements.is_empty() {
        return None;
    }
    let list: Vec<Value> = statements
        .iter()
        .map(|s| json!({"Effect": s.effect, "Action": s.actions, "Resource": s.resources}))
        .collect();
    Some(json!({"Version": "2012-10-17", "Statement": list}).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_url_encoded_policies() {
        assert_eq!(percent_decode("%7B%22a%22%3A1%7D"), "{\"a\":1}");
        assert_eq!(percent_decode("100%"), "100%");
        let doc = decode_policy("%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D");
        assert_eq!(
            statements_from(&doc),
            json!([{"effect": "Allow", "actions": ["s3:GetObject"], "resources": ["*"]}])
        );
    }
}
