//! `lambda_permission`: one statement in a function alias's resource policy
//! that lets a service (API Gateway, S3, EventBridge) invoke it.
//!
//! Permissions are desired by the kind whose trigger invokes the function
//! ([`super::api`], [`super::http_api`], [`super::bucket`], [`super::rule`]
//! call [`resource`]),
//! so each sits next to what needs it; they are read with their function
//! (one GetPolicy per alias, see [`read`]). fnctl's statements carry the
//! `fnctl-` prefix and nothing else in the policy is read or touched. An
//! update removes the statement and adds it again (statements cannot be
//! changed in place); deleting the function takes its permissions with it.

use serde_json::{json, Value};

use super::common::{attrs, NOT_FOUND};
use super::{Kind, Step};
use crate::model::App;
use crate::plan::{Action, Resource, ResourceId};
use crate::provider::aws::backend::{gone_ok, AwsBackend, AwsError, Live, LiveIds, SdkResultExt};
use crate::provider::aws::names;
use crate::provider::CodeDigests;

pub struct Permission;

/// A permission for `principal` to invoke `function`'s alias from `source`
/// (a bucket ARN, `execute-api:{api}/*` for a REST API,
/// `execute-api:{api}/*/*` for an HTTP API, or `rule/{name}`: the account,
/// region and API id are filled in when it is applied).
pub fn resource(app: &App, function: &str, label: &str, principal: &str, source: &str) -> Resource {
    let fname = names::function(app, function);
    Resource::new(
        "lambda_permission",
        format!("{fname}:{}/{}", names::alias(app), statement_id(label)),
    )
    .for_function(function)
    .attr("action", "lambda:InvokeFunction")
    .attr("principal", principal)
    .attr("source", source)
}

/// Statement ids allow letters, digits, `-` and `_` only.
pub fn statement_id(label: &str) -> String {
    let clean: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    crate::provider::naming::bounded(&["fnctl", &clean], "-", 100)
}

/// `{function}:{alias}/{sid}` → (function, alias, sid).
fn parts(name: &str) -> (&str, &str, &str) {
    let (target, sid) = name.split_once('/').unwrap_or((name, ""));
    let (function, alias) = target.rsplit_once(':').unwrap_or((target, ""));
    (function, alias, sid)
}

#[async_trait::async_trait]
impl Kind for Permission {
    fn kinds(&self) -> &'static [&'static str] {
        &["lambda_permission"]
    }

    /// Nothing of its own: see [`resource`].
    fn desired(&self, _app: &App, _code: &CodeDigests, _out: &mut Vec<Resource>) {}

    /// Nothing of its own: see [`read`].
    async fn read(&self, _b: &AwsBackend) -> Result<Live, AwsError> {
        Ok(Live::default())
    }

    async fn apply(&self, step: &Step<'_>) -> Result<(), AwsError> {
        let (b, change, shared) = (step.backend, step.change, step.shared);
        let after = step.after();
        let name = change.id.name.as_str();
        if change.action == Action::Update {
            remove(b, name).await?;
        }
        let (function, alias, sid) = parts(name);
        let ids = shared.ids.lock().await.clone();
        let source = after["source"].as_str().unwrap_or_default();
        let mut req = b
            .clients
            .lambda
            .add_permission()
            .function_name(function)
            .qualifier(alias)
            .statement_id(sid)
            .action(after["action"].as_str().unwrap_or("lambda:InvokeFunction"))
            .principal(after["principal"].as_str().unwrap_or_default())
            .source_arn(full_source_arn(b, source, &ids));
        if source.starts_with("arn:aws:s3:::") {
            // Bucket ARNs carry no account; without this any account's bucket of that name could invoke.
            req = req.source_account(&ids.account);
        }
        gone_ok(
            req.send().await,
            &["ResourceConflictException"],
            "AddPermission",
            name,
        )
    }

    async fn delete(&self, step: &Step<'_>) -> Result<(), AwsError> {
        let (b, change) = (step.backend, step.change);
        remove(b, &change.id.name).await
    }

    fn deleted_with(&self, _app: &App, id: &ResourceId) -> Option<ResourceId> {
        let (function, _rest) = id.name.split_once(':')?;
        Some(ResourceId::new("lambda_function", function))
    }
}

async fn remove(b: &AwsBackend, name: &str) -> Result<(), AwsError> {
    let (function, alias, sid) = parts(name);
    gone_ok(
        b.clients
            .lambda
            .remove_permission()
            .function_name(function)
            .qualifier(alias)
            .statement_id(sid)
            .send()
            .await,
        &["ResourceNotFoundException"],
        "RemovePermission",
        name,
    )
}

/// The source ARN AWS takes, from the manifest-level form in the plan.
fn full_source_arn(b: &AwsBackend, source: &str, ids: &LiveIds) -> String {
    let region = &b.clients.region;
    if source.starts_with("execute-api:") {
        // `/*/*` (stage, then method and path): an HTTP API's; `/*`: a REST API's.
        let (api, rest) = if source.ends_with("/*/*") {
            (&ids.http_api_id, "*/*")
        } else {
            (&ids.rest_api_id, "*")
        };
        return format!(
            "arn:aws:execute-api:{region}:{}:{}/{rest}",
            ids.account,
            api.clone().unwrap_or_default()
        );
    }
    if let Some(rule) = source.strip_prefix("rule/") {
        return format!("arn:aws:events:{region}:{}:rule/{rule}", ids.account);
    }
    source.to_string()
}

/// The manifest-level form of a permission's source ARN (see [`resource`]).
fn simplify_source(app: &App, source_arn: &str) -> String {
    if source_arn.starts_with("arn:aws:execute-api:") {
        let rest = if source_arn.ends_with("/*/*") {
            "*/*"
        } else {
            "*"
        };
        return format!("execute-api:{}/{rest}", names::rest_api(app));
    }
    if let Some(rule) = source_arn.split(":rule/").nth(1) {
        return format!("rule/{rule}");
    }
    source_arn.to_string()
}

/// fnctl's statements in the policy of `function`'s stage alias (`fn_key`:
/// its manifest name).
pub async fn read(
    b: &AwsBackend,
    function: &str,
    fn_key: Option<&str>,
) -> Result<Vec<Resource>, AwsError> {
    let alias = names::alias(&b.app);
    let Some(policy) = b
        .clients
        .lambda
        .get_policy()
        .function_name(function)
        .qualifier(&alias)
        .send()
        .await
        .or_missing(NOT_FOUND, "GetPolicy", format!("{function}:{alias}"))?
    else {
        return Ok(Vec::new());
    };
    let policy = policy
        .policy()
        .map(|s| serde_json::from_str::<Value>(s).unwrap_or(Value::Null))
        .unwrap_or(Value::Null);
    let mut found = Vec::new();
    for st in policy["Statement"].as_array().into_iter().flatten() {
        let Some(sid) = st["Sid"].as_str().filter(|s| s.starts_with("fnctl-")) else {
            continue;
        };
        let source_arn = st["Condition"]["ArnLike"]["AWS:SourceArn"]
            .as_str()
            .unwrap_or_default();
        let mut r = Resource::new("lambda_permission", format!("{function}:{alias}/{sid}"));
        r.function = fn_key.map(str::to_string);
        r.attrs = attrs(vec![
            ("action", st["Action"].clone()),
            ("principal", st["Principal"]["Service"].clone()),
            ("source", json!(simplify_source(&b.app, source_arn))),
        ]);
        found.push(r);
    }
    Ok(found)
}
