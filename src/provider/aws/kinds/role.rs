//! `iam_role`: one execution role per function, holding exactly what that
//! function may do.
//!
//! Least privilege: each function runs as its own role
//! ([`names::function_role`]), trusted by Lambda, with the managed policy
//! that lets it write its logs and one inline policy whose statements are
//! generated from the function's effective `access` ([`access_statements`]:
//! each level's actions on exactly the ARNs of the resources it names),
//! followed by the function's own `[functions.NAME.aws] statements` and the
//! app-wide `[providers.aws] statements`. Created before its function
//! (which names it), updated in place (trust, tags, attached policies,
//! inline policy — each only when it changed), deleted after detaching its
//! policies.
//!
//! Earlier versions ran every function as one shared role
//! (`{app}-{stage}-lambda`, [`names::role`]). The read lists every role
//! named `{app}-{stage}-*` and keeps those carrying this app+stage's tags,
//! so that shared role is found, is not desired, and is planned for
//! deletion; the engine runs deletions after every create and update, so
//! the functions already run as their new roles when it goes (no
//! downtime). A role with a name this app needs that lacks this
//! app+stage's tags is a conflict, never adopted.
//!
//! ARNs of queues and tables carry the account and region, which a plan
//! made offline cannot know: generated statements write them as
//! `{region}` and `{account}` ([`REGION`], [`ACCOUNT`]), apply fills them in
//! ([`expand`]), and the read writes the live values back as placeholders
//! in fnctl's generated statements only (marked by their `Fnctl` Sid), so
//! a statement the user wrote with a literal ARN is compared as written.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::common::{
    attrs, derived_name_help, foreign_owner, owned_tags, read_each, string_list, string_map,
    NOT_FOUND,
};
use super::{Kind, Step};
use crate::model::resource::Permission;
use crate::model::{App, Function as ManifestFunction, IamStatement, ProviderId, ResourceKind};
use crate::plan::{Action, Conflict, Resource, ResourceId};
use crate::provider::aws::backend::{gone_ok, has_code, AwsBackend, AwsError, Live, SdkResultExt};
use crate::provider::aws::names;
use crate::provider::aws::resources::tags;
use crate::provider::CodeDigests;

/// The AWS managed policy that lets a function write its logs.
pub const BASIC_EXECUTION_POLICY: &str =
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";

/// Name of the inline policy holding the generated and the manifest's
/// statements.
pub const INLINE_POLICY: &str = "fnctl-statements";

/// Stands for the region in a planned ARN (see the module documentation).
pub const REGION: &str = "{region}";
/// Stands for the account id in a planned ARN.
pub const ACCOUNT: &str = "{account}";

/// The error codes with which IAM refuses a read the deployer may not make.
const ACCESS_DENIED: &[&str] = &["AccessDenied", "AccessDeniedException"];

/// Sids of the statements fnctl generates start with this; the manifest's
/// statements have none, so the read tells the two apart.
const GENERATED_SID: &str = "Fnctl";

/// IAM actions per (resource kind, permission), each with the ARNs it is
/// granted on (`bucket`/`table`/`queue`: the resource's ARN). Sources:
/// - S3: GetObject needs `s3:GetObject` on the object ARN, ListObjectsV2
///   `s3:ListBucket` on the bucket ARN, PutObject/DeleteObject their own
///   actions on the object ARN (Service Authorization Reference, Amazon S3,
///   <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html>).
/// - DynamoDB: reads are GetItem, Query, Scan, BatchGetItem (and
///   DescribeTable, which the SDKs' higher-level clients call), on the table
///   and, for Query and Scan, its indexes (`table/NAME/index/*`); writes
///   PutItem, UpdateItem, DeleteItem, BatchWriteItem on the table
///   (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html>).
/// - SQS: sending needs SendMessage, plus GetQueueUrl and GetQueueAttributes
///   that clients call to find a queue; an SQS event source mapping needs
///   ReceiveMessage, DeleteMessage and GetQueueAttributes on the execution
///   role (the AWSLambdaSQSQueueExecutionRole managed policy; "Setting up
///   Lambda execution role permissions",
///   <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html>),
///   and ChangeMessageVisibility lets a consumer hand a message back early.
fn grants(
    kind: &ResourceKind,
    permission: Permission,
) -> Vec<(&'static str, &'static [&'static str])> {
    match (kind, permission) {
        (ResourceKind::Bucket, Permission::Read) => {
            vec![("Read", &["s3:GetObject"]), ("List", &["s3:ListBucket"])]
        }
        (ResourceKind::Bucket, Permission::Write) => {
            vec![("Write", &["s3:PutObject", "s3:DeleteObject"])]
        }
        (ResourceKind::Table(_), Permission::Read) => vec![(
            "Read",
            &[
                "dynamodb:GetItem",
                "dynamodb:Query",
                "dynamodb:Scan",
                "dynamodb:BatchGetItem",
                "dynamodb:DescribeTable",
            ],
        )],
        (ResourceKind::Table(_), Permission::Write) => vec![(
            "Write",
            &[
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:BatchWriteItem",
            ],
        )],
        (ResourceKind::Queue(_), Permission::Send) => vec![(
            "Send",
            &[
                "sqs:SendMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
            ],
        )],
        (ResourceKind::Queue(_), Permission::Consume) => vec![(
            "Consume",
            &[
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
            ],
        )],
        // Levels are checked against kinds when the manifest is resolved.
        _ => Vec::new(),
    }
}

/// The ARNs a grant applies to (`part`: the first word of [`grants`]).
fn grant_arns(app: &App, resource: &str, kind: &ResourceKind, part: &str) -> Vec<String> {
    let name = names::resource(app, resource);
    match kind {
        ResourceKind::Bucket if part == "List" => vec![format!("arn:aws:s3:::{name}")],
        ResourceKind::Bucket => vec![format!("arn:aws:s3:::{name}/*")],
        ResourceKind::Table(_) => {
            let table = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}");
            if part == "Read" {
                vec![table.clone(), format!("{table}/index/*")]
            } else {
                vec![table]
            }
        }
        ResourceKind::Queue(_) => vec![queue_arn_template(app, resource)],
    }
}

/// The planned ARN of a queue resource (placeholders for region and
/// account).
pub fn queue_arn_template(app: &App, resource: &str) -> String {
    format!(
        "arn:aws:sqs:{REGION}:{ACCOUNT}:{}",
        names::resource(app, resource)
    )
}

/// `job-queue` → `JobQueue`, for Sids (letters and digits only).
fn pascal(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            c.next()
                .map(|first| first.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The statements `f`'s effective access grants, in resource name order.
pub fn access_statements(app: &App, f: &ManifestFunction) -> Vec<Value> {
    let mut out = Vec::new();
    let mut sids = BTreeSet::new();
    for (name, access) in &f.access {
        let Some(r) = app.resources.get(name) else {
            continue;
        };
        for permission in &access.permissions {
            for (part, actions) in grants(&r.kind, *permission) {
                let base = format!("{GENERATED_SID}{}{part}", pascal(name));
                // Names like `a-1` and `a1` meet in PascalCase; Sids must differ.
                let mut sid = base.clone();
                let mut n = 2;
                while !sids.insert(sid.clone()) {
                    sid = format!("{base}{n}");
                    n += 1;
                }
                out.push(json!({
                    "sid": sid,
                    "effect": "Allow",
                    "actions": actions,
                    "resources": grant_arns(app, name, &r.kind, part),
                }));
            }
        }
    }
    out
}

/// Every statement of `f`'s inline policy: the generated ones, then the
/// function's own, then the app's.
pub fn statements(app: &App, f: &ManifestFunction) -> Vec<Value> {
    let written = |s: &IamStatement| json!({"effect": s.effect, "actions": s.actions, "resources": s.resources});
    let mut out = access_statements(app, f);
    out.extend(f.aws.statements.iter().map(written));
    out.extend(
        app.aws
            .iter()
            .flat_map(|a| a.statements.iter())
            .map(written),
    );
    out
}

/// A planned string with the region and account filled in.
pub fn expand(s: &str, region: &str, account: &str) -> String {
    s.replace(REGION, region).replace(ACCOUNT, account)
}

/// The planned form of a live ARN of a queue or table in this region and
/// account (the inverse of [`expand`] for the ARNs fnctl generates).
fn planned_arn(arn: &str, region: &str, account: &str) -> String {
    for service in ["sqs", "dynamodb"] {
        if let Some(rest) = arn.strip_prefix(&format!("arn:aws:{service}:{region}:{account}:")) {
            return format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{rest}");
        }
    }
    arn.to_string()
}

/// A role's ARN: IAM ARNs carry the account and the path (fnctl's roles
/// use the default `/`), so it needs no call.
pub fn arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

pub struct Role;

#[async_trait::async_trait]
impl Kind for Role {
    fn kinds(&self) -> &'static [&'static str] {
        &["iam_role"]
    }

    fn desired(&self, app: &App, _code: &CodeDigests, out: &mut Vec<Resource>) {
        for f in app.functions_for(ProviderId::Aws) {
            out.push(
                Resource::new("iam_role", names::function_role(app, &f.name))
                    .for_function(&f.name)
                    .attr("assume_role_principal", "lambda.amazonaws.com")
                    .attr("managed_policies", json!([BASIC_EXECUTION_POLICY]))
                    .attr("inline_statements", json!(statements(app, f)))
                    .attr("tags", tags(app, Some(&f.name))),
            );
        }
    }

    /// Every role named `{app}-{stage}-*` (ListRoles pages), each read
    /// whole (GetRole for trust and tags, its attached policies and its
    /// inline policy, at once); those of this app+stage are resources,
    /// functions' roles and the shared role of earlier versions alike.
    async fn read(&self, b: &AwsBackend) -> Result<Live, AwsError> {
        let app = &b.app;
        let prefix = format!("{}-", names::prefix(app));
        let mut candidates = Vec::new();
        let mut pages = b.clients.iam.list_roles().into_paginator().items().send();
        while let Some(role) = pages.next().await {
            let role = role.or_api_error("ListRoles", &prefix)?;
            if role.role_name().starts_with(&prefix) {
                candidates.push(role.role_name().to_string());
            }
        }
        candidates.sort();
        let found = read_each(candidates, |name| read_role(b, name)).await?;
        let mut live = Live::default();
        for (resource, conflict) in found {
            live.resources.extend(resource);
            live.conflicts.extend(conflict);
        }
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
                .description(format!(
                    "Execution role of function `{}` of an fnctl app; managed by fnctl",
                    change.function.as_deref().unwrap_or(name)
                ));
            for tag in iam_tags(&after["tags"]) {
                req = req.tags(tag);
            }
            // Created by an interrupted earlier run: converge instead of failing.
            req.send()
                .await
                .or_missing(&["EntityAlreadyExists"], "CreateRole", name)?;
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
            let account = shared.ids.lock().await.account.clone();
            match policy_document(&after["inline_statements"], &b.clients.region, &account) {
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

/// One role named like this app's: a resource when it carries this
/// app+stage's tags; a conflict when it does not and the app needs its
/// name; nothing otherwise (another app's or stage's role that merely
/// shares the prefix).
async fn read_role(
    b: &AwsBackend,
    name: String,
) -> Result<(Option<Resource>, Option<Conflict>), AwsError> {
    let app = &b.app;
    let iam = &b.clients.iam;
    let (role, attached, inline) = tokio::join!(
        iam.get_role().role_name(&name).send(),
        iam.list_attached_role_policies().role_name(&name).send(),
        iam.get_role_policy()
            .role_name(&name)
            .policy_name(INLINE_POLICY)
            .send(),
    );
    let wanted = app
        .functions_for(ProviderId::Aws)
        .any(|f| names::function_role(app, &f.name) == name);
    // A deployer policy scoped to fnctl's role names (docs/providers/aws.md)
    // may not read another role that merely shares the prefix: that role is
    // none of this app's business, unless the app needs its very name.
    let denied = matches!(&role, Err(e) if has_code(e, ACCESS_DENIED))
        || matches!(&attached, Err(e) if has_code(e, ACCESS_DENIED))
        || matches!(&inline, Err(e) if has_code(e, ACCESS_DENIED));
    if denied && !wanted {
        return Ok((None, None));
    }
    let role = role.or_missing(NOT_FOUND, "GetRole", &name)?;
    let attached = attached.or_missing(NOT_FOUND, "ListAttachedRolePolicies", &name)?;
    let inline = inline.or_missing(NOT_FOUND, "GetRolePolicy", &name)?;
    // Deleted between the list and the read.
    let Some(role) = role.and_then(|r| r.role) else {
        return Ok((None, None));
    };
    let role_tags: BTreeMap<String, String> = role
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    if let Some(owner) = foreign_owner(&role_tags, app) {
        let conflict = wanted.then(|| Conflict {
            id: ResourceId::new("iam_role", &name),
            owner,
            help: derived_name_help("IAM role"),
        });
        return Ok((None, conflict));
    }
    let doc = role
        .assume_role_policy_document()
        .map(decode_policy)
        .unwrap_or(Value::Null);
    let principal = doc["Statement"][0]["Principal"]["Service"].clone();
    let mut managed: Vec<String> = attached
        .map(|a| {
            a.attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    managed.sort();
    // The role's own ARN names the account its statements' ARNs were
    // filled in with.
    let account = role.arn().split(':').nth(4).unwrap_or_default();
    let statements = inline
        .map(|p| {
            statements_from(
                &decode_policy(p.policy_document()),
                &b.clients.region,
                account,
            )
        })
        .unwrap_or_else(|| json!([]));
    let fn_key = role_tags.get("fnctl:function").cloned();
    let mut r = Resource::new("iam_role", &name);
    r.function = fn_key.clone();
    r.attrs = attrs(vec![
        ("assume_role_principal", principal),
        ("managed_policies", json!(managed)),
        ("inline_statements", statements),
        (
            "tags",
            owned_tags(&role_tags, &tags(app, fn_key.as_deref())),
        ),
    ]);
    Ok((Some(r), None))
}

/// Deletes the inline policy (no statements left, or the role goes); none
/// there counts as deleted.
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

/// The inline policy as planned statements: fnctl's generated ones (Sid
/// `Fnctl…`) keep their Sid and get the placeholders back; the manifest's
/// are taken as written.
fn statements_from(doc: &Value, region: &str, account: &str) -> Value {
    let as_list = |v: &Value| match v {
        Value::String(s) => json!([s]),
        other => other.clone(),
    };
    let list: Vec<Value> = doc["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| match s["Sid"].as_str().filter(|sid| sid.starts_with(GENERATED_SID)) {
            Some(sid) => {
                let resources: Vec<String> = string_list(&as_list(&s["Resource"]))
                    .iter()
                    .map(|r| planned_arn(r, region, account))
                    .collect();
                json!({"sid": sid, "effect": s["Effect"], "actions": as_list(&s["Action"]), "resources": resources})
            }
            None => json!({"effect": s["Effect"], "actions": as_list(&s["Action"]), "resources": as_list(&s["Resource"])}),
        })
        .collect();
    json!(list)
}

/// Planned statements as an IAM policy document, placeholders filled in;
/// `None` when there are none (IAM refuses an empty policy).
pub fn policy_document(statements: &Value, region: &str, account: &str) -> Option<String> {
    let list: Vec<Value> = statements
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let resources: Vec<String> = string_list(&s["resources"])
                .iter()
                .map(|r| expand(r, region, account))
                .collect();
            let mut st =
                json!({"Effect": s["effect"], "Action": s["actions"], "Resource": resources});
            if let Some(sid) = s["sid"].as_str() {
                st["Sid"] = json!(sid);
            }
            st
        })
        .collect();
    if list.is_empty() {
        return None;
    }
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
            statements_from(&doc, "us-east-1", "1"),
            json!([{"effect": "Allow", "actions": ["s3:GetObject"], "resources": ["*"]}])
        );
    }

    fn app() -> App {
        let text = r#"
[app]
name = "shop"
runtime = "python3.12"

[providers.aws]
region = "us-east-1"
statements = [{ actions = ["ssm:GetParameter"], resources = ["arn:aws:ssm:us-east-1:123456789012:parameter/x"] }]

[resources.orders]
kind = "table"
partition_key = { name = "id", type = "string" }

[resources.jobs]
kind = "queue"

[resources.uploads]
kind = "bucket"

[functions.api]
handler = "api.handler"
access = { orders = "read-write", jobs = "send", uploads = "read" }

[functions.worker]
handler = "worker.handler"
[[functions.worker.triggers]]
type = "queue"
queue = "jobs"
[functions.worker.aws]
statements = [{ actions = ["sqs:SendMessage"], resources = ["arn:aws:sqs:us-east-1:123456789012:other"] }]
"#;
        crate::manifest::test_app(text)
    }

    /// Each level's actions on exactly its resource's ARNs, in resource
    /// name order, then the function's and the app's statements.
    #[test]
    fn statements_follow_the_effective_access() {
        let app = app();
        let api = statements(&app, &app.functions["api"]);
        let sids: Vec<&str> = api.iter().filter_map(|s| s["sid"].as_str()).collect();
        assert_eq!(
            sids,
            [
                "FnctlJobsSend",
                "FnctlOrdersRead",
                "FnctlOrdersWrite",
                "FnctlUploadsRead",
                "FnctlUploadsList"
            ]
        );
        assert_eq!(
            api[0]["resources"],
            json!(["arn:aws:sqs:{region}:{account}:shop-dev-jobs"])
        );
        assert_eq!(
            api[1]["resources"],
            json!([
                "arn:aws:dynamodb:{region}:{account}:table/shop-dev-orders",
                "arn:aws:dynamodb:{region}:{account}:table/shop-dev-orders/index/*"
            ])
        );
        assert_eq!(
            api[3]["resources"],
            json!(["arn:aws:s3:::shop-dev-uploads/*"])
        );
        assert_eq!(api[4]["actions"], json!(["s3:ListBucket"]));
        assert_eq!(
            api[4]["resources"],
            json!(["arn:aws:s3:::shop-dev-uploads"])
        );
        assert_eq!(api[5]["actions"], json!(["ssm:GetParameter"]));
        assert_eq!(api.len(), 6);

        // The trigger implies consume; the function's own statement follows.
        let worker = statements(&app, &app.functions["worker"]);
        assert_eq!(worker[0]["sid"], "FnctlJobsConsume");
        assert_eq!(
            worker[0]["actions"],
            json!([
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes"
            ])
        );
        assert_eq!(worker[1]["actions"], json!(["sqs:SendMessage"]));
        assert_eq!(worker.len(), 3);
    }

    /// What apply writes reads back as planned: the placeholders return in
    /// generated statements only; a written ARN stays literal.
    #[test]
    fn policies_read_back_as_planned() {
        let app = app();
        let planned = json!(statements(&app, &app.functions["worker"]));
        let doc = policy_document(&planned, "eu-west-1", "111122223333").unwrap();
        assert!(doc.contains("arn:aws:sqs:eu-west-1:111122223333:shop-dev-jobs"));
        let read = statements_from(
            &serde_json::from_str(&doc).unwrap(),
            "eu-west-1",
            "111122223333",
        );
        assert_eq!(read, planned);
        assert_eq!(policy_document(&json!([]), "r", "a"), None);
        assert_eq!(pascal("job-queue-2"), "JobQueue2");
    }
}
