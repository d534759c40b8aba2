//! `lambda_function` and `lambda_alias`: a manifest function as a Lambda
//! function, and the stage alias every trigger invokes.
//!
//! Each function runs as its own execution role ([`role`]) and receives,
//! besides the manifest's `env`, the `FNCTL_{NAME}_NAME` / `_URL`
//! variables of the resources it can access ([`resource_env`]).
//!
//! Life cycle: the function is created with its code and configuration
//! (retrying while a fresh role cannot yet be assumed) and waited on until
//! Lambda is ready. An update sends only what changed: new code
//! (UpdateFunctionCode), then the configuration fields that differ
//! (UpdateFunctionConfiguration), then tags, waiting for Lambda between
//! steps. The alias is planned to change whenever code or configuration
//! does; applying it publishes a version and points the alias at it, so
//! traffic switches at once and `rollback` can point it back. Packages over
//! Lambda's inline limit go through a staging bucket ([`code`]). Deleting
//! the function takes its alias and permissions with it. A function with
//! the very name this app needs that lacks this app+stage's tags is a
//! conflict, never adopted.

pub mod code;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use aws_sdk_lambda::error::ProvideErrorMetadata;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::common::{
    attrs, derived_name_help, foreign_owner, owned_tags, read_each, string_map, NOT_FOUND,
};
use super::{common, permission, role, Kind, Shared, Step};
use crate::model::resource::ResourceEnvValue;
use crate::model::{App, Function as ManifestFunction, ProviderId, Runtime};
use crate::plan::{Action, Attrs, Change, Conflict, Resource, ResourceId};
use crate::provider::aws::backend::apply::Applied;
use crate::provider::aws::backend::{
    api_error, arn, gone_ok, has_code, AwsBackend, AwsError, Live, SdkResultExt,
};
use crate::provider::aws::names;
use crate::provider::aws::resources::{environment_view, tags};
use crate::provider::CodeDigests;

/// How long a fresh role may be refused by Lambda ("cannot be assumed").
const ROLE_PROPAGATION: Duration = Duration::from_secs(90);

pub struct Function;

/// Lambda's identifier for a runtime.
pub fn runtime_id(r: Runtime) -> &'static str {
    r.lambda_id()
}

/// A function's environment values from the manifest.
pub fn env_values(f: &ManifestFunction) -> BTreeMap<String, String> {
    f.env
        .iter()
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect()
}

/// The variables fnctl sets on `f` for the resources it can access
/// ([`ManifestFunction::resource_env`]): a resource's cloud name, and a
/// queue's URL in the form SQS documents
/// (`https://sqs.{region}.amazonaws.com/{account}/{name}`, "Amazon SQS
/// queue and message identifiers"), with the region and account as
/// placeholders until apply fills them in ([`role::expand`]).
pub fn resource_env(app: &App, f: &ManifestFunction) -> BTreeMap<String, String> {
    f.resource_env(app)
        .into_iter()
        .map(|e| {
            let name = names::resource(app, &e.resource);
            let value = match e.value {
                ResourceEnvValue::Name => name,
                ResourceEnvValue::Url => queue_url(role::REGION, role::ACCOUNT, &name),
            };
            (e.var, value)
        })
        .collect()
}

/// An SQS queue's URL.
pub fn queue_url(region: &str, account: &str, name: &str) -> String {
    format!("https://sqs.{region}.amazonaws.com/{account}/{name}")
}

/// Everything fnctl sets in a function's environment, as planned: the
/// manifest's `env` and the resources' variables (whose names the manifest
/// reserves, so the two never meet).
pub fn desired_env(app: &App, f: &ManifestFunction) -> BTreeMap<String, String> {
    let mut env = env_values(f);
    env.extend(resource_env(app, f));
    env
}

/// A live environment in planned terms: queue URLs in this region and
/// account (the account from the function's ARN) written back with the
/// placeholders [`resource_env`] plans.
fn planned_env(
    mut env: BTreeMap<String, String>,
    region: &str,
    function_arn: Option<&str>,
) -> BTreeMap<String, String> {
    let account = function_arn
        .and_then(|a| a.split(':').nth(4))
        .unwrap_or_default();
    let live = queue_url(region, account, "");
    for (k, v) in env.iter_mut() {
        if k.starts_with("FNCTL_") && k.ends_with("_URL") {
            if let Some(name) = v.strip_prefix(&live) {
                *v = queue_url(role::REGION, role::ACCOUNT, name);
            }
        }
    }
    env
}

/// The secret variable names of a function.
pub fn secret_keys(f: &ManifestFunction) -> BTreeSet<String> {
    f.env
        .iter()
        .filter(|(_, v)| v.secret)
        .map(|(k, _)| k.clone())
        .collect()
}

/// A digest of everything that makes up a published version besides the
/// code. The alias's target version is compared by (code, configuration), so
/// a changed function also shows its alias as needing a new version.
pub fn config_digest(
    function: &str,
    runtime: &str,
    handler: &str,
    memory: i64,
    timeout: i64,
    env: &BTreeMap<String, String>,
    role: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(format!(
        "{function}\0{runtime}\0{handler}\0{memory}\0{timeout}\0{role}\0"
    ));
    for (k, v) in env {
        h.update(format!("{k}={v}\0"));
    }
    format!("sha256:{}", &hex::encode(h.finalize())[..16])
}

/// The stage alias of a manifest function: what triggers depend on.
pub fn alias_id(app: &App, function: &str) -> ResourceId {
    ResourceId::new(
        "lambda_alias",
        format!("{}:{}", names::function(app, function), names::alias(app)),
    )
}

#[async_trait::async_trait]
impl Kind for Function {
    fn kinds(&self) -> &'static [&'static str] {
        &["lambda_function", "lambda_alias"]
    }

    fn desired(&self, app: &App, code: &CodeDigests, out: &mut Vec<Resource>) {
        for f in app.functions_for(ProviderId::Aws) {
            let name = names::function(app, &f.name);
            let role_name = names::function_role(app, &f.name);
            let role_id = ResourceId::new("iam_role", &role_name);
            let env = environment_view(&desired_env(app, f), &secret_keys(f), None);
            let config = config_digest(
                &name,
                runtime_id(f.runtime),
                &f.handler,
                f.memory_mb.into(),
                f.timeout_s.into(),
                &env,
                &role_name,
            );
            let lambda = Resource::new("lambda_function", &name)
                .for_function(&f.name)
                .attr("runtime", runtime_id(f.runtime))
                .attr("handler", f.handler.clone())
                .attr("memory_size", f.memory_mb)
                .attr("timeout", f.timeout_s)
                .attr("environment", json!(env))
                .attr("code", code.get(&f.name))
                .attr("role", role_name.clone())
                .attr("tags", tags(app, Some(&f.name)))
                .depends_on(&role_id);
            let alias = Resource::new("lambda_alias", alias_id(app, &f.name).name)
                .for_function(&f.name)
                .attr("function", name.clone())
                .attr(
                    "version",
                    json!({"code": code.get(&f.name), "config": config}),
                )
                .depends_on(&lambda.id);
            out.push(lambda);
            out.push(alias);
        }
    }

    /// Functions named `{app}-{stage}-*` and tagged for this app+stage, with
    /// their alias and fnctl's permission statements.
    ///
    /// ListFunctions pages carry every function's configuration and the
    /// tagging API this app+stage's tags, so a function of ours costs two
    /// calls of its own (alias and policy, which have no bulk form). A
    /// candidate the tagging API does not vouch for is read whole with
    /// GetFunction, which decides its ownership (see [`common::tagged`]).
    async fn read(&self, b: &AwsBackend) -> Result<Live, AwsError> {
        let lambda = &b.clients.lambda;
        let prefix = format!("{}-", names::prefix(&b.app));
        let list = async {
            let mut candidates = Vec::new();
            let mut pages = lambda.list_functions().into_paginator().items().send();
            while let Some(item) = pages.next().await {
                let f = item.or_api_error("ListFunctions", &prefix)?;
                if f.function_name().is_some_and(|n| n.starts_with(&prefix)) {
                    candidates.push(f);
                }
            }
            Ok::<_, AwsError>(candidates)
        };
        let (mut candidates, tagged) =
            tokio::try_join!(list, common::tagged(b, "lambda:function"))?;
        let tagged: BTreeMap<String, BTreeMap<String, String>> = tagged
            .into_iter()
            .map(|(arn, tags)| (arn::lambda_target(&arn), tags))
            .collect();
        candidates.sort_by(|a, b| a.function_name().cmp(&b.function_name()));
        candidates.retain(|c| c.function_name().is_some_and(|n| b.reads(n)));
        let tagged = &tagged;
        let found = read_each(candidates, |conf| async move {
            let name = conf.function_name().unwrap_or_default().to_string();
            match tagged.get(&name) {
                Some(tags) if foreign_owner(tags, &b.app).is_none() => {
                    function_resources(b, &name, &conf, tags.clone()).await
                }
                _ => read_function(b, &name).await,
            }
        })
        .await?;
        let (resources, conflicts): (Vec<_>, Vec<_>) = found.into_iter().unzip();
        Ok(Live {
            resources: resources.into_iter().flatten().collect(),
            conflicts: conflicts.into_iter().flatten().collect(),
            ..Live::default()
        })
    }

    async fn apply(&self, step: &Step<'_>) -> Result<(), AwsError> {
        let (b, change, shared) = (step.backend, step.change, step.shared);
        let after = step.after();
        match change.id.kind.as_str() {
            "lambda_alias" => put_alias(b, change, shared).await,
            _ => put_function(b, change, after, shared).await,
        }
    }

    async fn delete(&self, step: &Step<'_>) -> Result<(), AwsError> {
        let (b, change) = (step.backend, step.change);
        let lambda = &b.clients.lambda;
        let name = change.id.name.as_str();
        match change.id.kind.as_str() {
            "lambda_alias" => {
                let (function, alias) = name.rsplit_once(':').unwrap_or((name, ""));
                gone_ok(
                    lambda
                        .delete_alias()
                        .function_name(function)
                        .name(alias)
                        .send()
                        .await,
                    &["ResourceNotFoundException"],
                    "DeleteAlias",
                    name,
                )
            }
            _ => gone_ok(
                lambda.delete_function().function_name(name).send().await,
                &["ResourceNotFoundException"],
                "DeleteFunction",
                name,
            ),
        }
    }

    fn deleted_with(&self, _app: &App, id: &ResourceId) -> Option<ResourceId> {
        let (function, _alias) = id.name.split_once(':')?;
        (id.kind == "lambda_alias").then(|| ResourceId::new("lambda_function", function))
    }

    async fn remove_leftovers(
        &self,
        b: &AwsBackend,
        found: &Live,
    ) -> Result<Vec<Applied>, AwsError> {
        b.remove_staged_packages(&found.ids.account).await
    }
}

/// One function with its alias and permissions, read on its own
/// (GetFunction: configuration and tags); nothing when it is gone or
/// belongs to another app+stage.
async fn read_function(
    b: &AwsBackend,
    name: &str,
) -> Result<(Vec<Resource>, Option<Conflict>), AwsError> {
    let Some(got) = b
        .clients
        .lambda
        .get_function()
        .function_name(name)
        .send()
        .await
        .or_missing(NOT_FOUND, "GetFunction", name)?
    else {
        return Ok((Vec::new(), None));
    };
    let fn_tags: BTreeMap<String, String> = got
        .tags()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let Some(conf) = got.configuration() else {
        return Ok((Vec::new(), None));
    };
    function_resources(b, name, conf, fn_tags).await
}

/// A function as resources from its configuration and tags (however they
/// were read), plus its alias and permissions; a conflict instead when the
/// tags are not this app+stage's and the app needs this very name.
async fn function_resources(
    b: &AwsBackend,
    name: &str,
    conf: &aws_sdk_lambda::types::FunctionConfiguration,
    fn_tags: BTreeMap<String, String>,
) -> Result<(Vec<Resource>, Option<Conflict>), AwsError> {
    let app = &b.app;
    if let Some(owner) = foreign_owner(&fn_tags, app) {
        // Another app's or stage's function that merely shares the name
        // prefix is none of this plan's business; one with the very name
        // this app needs is in the way.
        let wanted = app
            .functions_for(ProviderId::Aws)
            .any(|f| names::function(app, &f.name) == name);
        let conflict = wanted.then(|| Conflict {
            id: ResourceId::new("lambda_function", name),
            owner,
            help: derived_name_help("Lambda function"),
        });
        return Ok((Vec::new(), conflict));
    }
    let fn_key = fn_tags.get("fnctl:function").cloned();
    let manifest_fn = fn_key.as_deref().and_then(|k| app.functions.get(k));
    let secrets = manifest_fn.map(secret_keys).unwrap_or_default();
    let env = planned_env(
        env_of(conf.environment()),
        &b.clients.region,
        conf.function_arn(),
    );
    let desired_env = manifest_fn.map(env_values);
    let env_attr = json!(environment_view(&env, &secrets, desired_env.as_ref()));
    let role = conf.role().map(arn::role_name).unwrap_or_default();
    let mut r = Resource::new("lambda_function", name);
    r.function = fn_key.clone();
    r.attrs = attrs(vec![
        (
            "runtime",
            json!(conf.runtime().map(|r| r.as_str()).unwrap_or_default()),
        ),
        ("handler", json!(conf.handler().unwrap_or_default())),
        ("memory_size", json!(conf.memory_size().unwrap_or_default())),
        ("timeout", json!(conf.timeout().unwrap_or_default())),
        ("environment", env_attr),
        ("code", json!(conf.code_sha256().unwrap_or_default())),
        ("role", json!(role)),
        ("tags", owned_tags(&fn_tags, &tags(app, fn_key.as_deref()))),
    ]);
    let (alias, permissions) = tokio::try_join!(
        read_alias(b, name, fn_key.as_deref()),
        permission::read(b, name, fn_key.as_deref()),
    )?;
    let mut found = vec![r];
    found.extend(alias);
    found.extend(permissions);
    Ok((found, None))
}

async fn read_alias(
    b: &AwsBackend,
    function: &str,
    fn_key: Option<&str>,
) -> Result<Option<Resource>, AwsError> {
    let alias = names::alias(&b.app);
    // GetFunction on the alias returns the configuration of the version
    // it points to, Version included: one call instead of GetAlias plus
    // GetFunctionConfiguration.
    let Some(got) = b
        .clients
        .lambda
        .get_function()
        .function_name(function)
        .qualifier(&alias)
        .send()
        .await
        .or_missing(NOT_FOUND, "GetFunction", format!("{function}:{alias}"))?
    else {
        return Ok(None);
    };
    let Some(conf) = got.configuration() else {
        return Ok(None);
    };
    let version = conf.version().unwrap_or("$LATEST").to_string();
    let env = planned_env(
        env_of(conf.environment()),
        &b.clients.region,
        conf.function_arn(),
    );
    let manifest_fn = fn_key.and_then(|k| b.app.functions.get(k));
    let secrets = manifest_fn.map(secret_keys).unwrap_or_default();
    let desired_env = manifest_fn.map(env_values);
    let env = environment_view(&env, &secrets, desired_env.as_ref());
    let config = config_digest(
        function,
        conf.runtime().map(|r| r.as_str()).unwrap_or_default(),
        conf.handler().unwrap_or_default(),
        conf.memory_size().unwrap_or_default().into(),
        conf.timeout().unwrap_or_default().into(),
        &env,
        &conf.role().map(arn::role_name).unwrap_or_default(),
    );
    let mut r = Resource::new("lambda_alias", format!("{function}:{alias}"));
    r.function = fn_key.map(str::to_string);
    r.attrs = attrs(vec![
        ("function", json!(function)),
        (
            "version",
            json!({"code": conf.code_sha256().unwrap_or_default(), "config": config}),
        ),
    ]);
    r.attrs.insert("published_version".into(), json!(version));
    Ok(Some(r))
}

/// A function's environment variables as Lambda reports them.
fn env_of(env: Option<&aws_sdk_lambda::types::EnvironmentResponse>) -> BTreeMap<String, String> {
    env.and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect()
}

async fn put_function(
    b: &AwsBackend,
    change: &Change,
    after: &Attrs,
    shared: &Shared,
) -> Result<(), AwsError> {
    let lambda = &b.clients.lambda;
    let name = change.id.name.as_str();
    let function = change.function.as_deref().unwrap_or(name);
    let f = b
        .app
        .functions
        .get(function)
        .expect("planned functions are in the manifest");
    let account = shared.ids.lock().await.account.clone();
    let region = &b.clients.region;
    let env = aws_sdk_lambda::types::Environment::builder()
        .set_variables(Some(
            desired_env(&b.app, f)
                .into_iter()
                .map(|(k, v)| (k, role::expand(&v, region, &account)))
                .collect(),
        ))
        .build();
    let role = role::arn(&account, after["role"].as_str().unwrap_or_default());
    if change.action == Action::Create {
        // Built (and, over 50 MiB, uploaded) once, not on every retry.
        let code = code::location(b, function, shared).await?;
        let started = Instant::now();
        let ready = loop {
            let req = lambda
                .create_function()
                .function_name(name)
                .runtime(aws_sdk_lambda::types::Runtime::from(
                    after["runtime"].as_str().unwrap_or_default(),
                ))
                .handler(after["handler"].as_str().unwrap_or_default())
                .role(&role)
                .memory_size(f.memory_mb as i32)
                .timeout(f.timeout_s as i32)
                .environment(env.clone())
                .set_tags(Some(string_map(&after["tags"])))
                .code(code.clone())
                // The first version, exactly what was created, for the
                // alias (see `put_alias`).
                .publish(true);
            match req.send().await {
                Ok(out) => {
                    if let Some(v) = out.version().filter(|v| *v != "$LATEST") {
                        shared
                            .published
                            .lock()
                            .await
                            .insert(name.to_string(), v.to_string());
                    }
                    break is_ready(out.state(), out.last_update_status());
                }
                // IAM is eventually consistent: a fresh role is refused for a while.
                Err(e) if role_not_ready(&e) => {
                    if started.elapsed() > ROLE_PROPAGATION {
                        return Err(api_error("CreateFunction", name, e));
                    }
                    tokio::time::sleep(Duration::from_secs(3)).await;
                }
                Err(e) if has_code(&e, &["ResourceConflictException"]) => break false,
                Err(e) => return Err(api_error("CreateFunction", name, e)),
            }
        };
        if !ready {
            wait_ready(b, name).await?;
        }
        code::discard_staged(b, &code).await;
        return Ok(());
    }
    let changed = |k: &str| change.changed.iter().any(|c| c == k);
    if changed("code") {
        let code = code::location(b, function, shared).await?;
        let mut req = lambda.update_function_code().function_name(name);
        req = match (code.zip_file(), code.s3_bucket(), code.s3_key()) {
            (Some(zip), _, _) => req.zip_file(zip.clone()),
            (None, Some(b), Some(k)) => req.s3_bucket(b).s3_key(k),
            _ => req,
        };
        let out = req.send().await.or_api_error("UpdateFunctionCode", name)?;
        if !is_ready(out.state(), out.last_update_status()) {
            wait_ready(b, name).await?;
        }
        code::discard_staged(b, &code).await;
    }
    let config_fields = [
        "runtime",
        "handler",
        "memory_size",
        "timeout",
        "environment",
        "role",
    ];
    if config_fields.iter().any(|k| changed(k)) {
        // Only the fields that differ are sent.
        let mut req = lambda.update_function_configuration().function_name(name);
        if changed("runtime") {
            req = req.runtime(aws_sdk_lambda::types::Runtime::from(
                after["runtime"].as_str().unwrap_or_default(),
            ));
        }
        if changed("handler") {
            req = req.handler(after["handler"].as_str().unwrap_or_default());
        }
        if changed("memory_size") {
            req = req.memory_size(f.memory_mb as i32);
        }
        if changed("timeout") {
            req = req.timeout(f.timeout_s as i32);
        }
        if changed("environment") {
            req = req.environment(env);
        }
        if changed("role") {
            req = req.role(&role);
        }
        // A role created by this run (moving off the shared role, or a
        // renamed one) may be refused for a while, as on create.
        let started = Instant::now();
        let out = loop {
            match req.clone().send().await {
                Err(e) if role_not_ready(&e) && started.elapsed() <= ROLE_PROPAGATION => {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                }
                out => break out.or_api_error("UpdateFunctionConfiguration", name)?,
            }
        };
        if !is_ready(out.state(), out.last_update_status()) {
            wait_ready(b, name).await?;
        }
    }
    if changed("tags") {
        let arn = arn::lambda_function(&b.clients.region, &shared.ids.lock().await.account, name);
        lambda
            .tag_resource()
            .resource(&arn)
            .set_tags(Some(string_map(&after["tags"])))
            .send()
            .await
            .or_api_error("TagResource", name)?;
    }
    Ok(())
}

/// Whether Lambda refused a role it cannot assume yet: IAM is eventually
/// consistent, and a role a few seconds old is refused with
/// InvalidParameterValueException "The role defined for the function cannot
/// be assumed by Lambda".
fn role_not_ready<E: ProvideErrorMetadata, R>(e: &aws_sdk_lambda::error::SdkError<E, R>) -> bool {
    e.message()
        .unwrap_or_default()
        .contains("cannot be assumed")
}

/// Whether a create or update answer already says the function accepts
/// the next change (State Active, no update in progress): then polling
/// GetFunctionConfiguration would only repeat it. AWS usually answers
/// Pending / InProgress, and then fnctl waits.
fn is_ready(
    state: Option<&aws_sdk_lambda::types::State>,
    update: Option<&aws_sdk_lambda::types::LastUpdateStatus>,
) -> bool {
    use aws_sdk_lambda::types::{LastUpdateStatus, State};
    state == Some(&State::Active) && matches!(update, None | Some(LastUpdateStatus::Successful))
}

/// Waits until the function accepts the next change (State Active,
/// LastUpdateStatus not InProgress).
async fn wait_ready(b: &AwsBackend, name: &str) -> Result<(), AwsError> {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut delay = Duration::from_millis(200);
    loop {
        let conf = b
            .clients
            .lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .or_api_error("GetFunctionConfiguration", name)?;
        let state = conf
            .state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "Active".into());
        let update = conf
            .last_update_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "Successful".into());
        match (state.as_str(), update.as_str()) {
            ("Failed", _) | (_, "Failed") => {
                let reason = conf
                    .state_reason()
                    .or(conf.last_update_status_reason())
                    .unwrap_or("no reason given");
                return Err(AwsError::NotReady {
                    function: name.into(),
                    state: format!("{state}/{update}: {reason}"),
                });
            }
            ("Active", "Successful") => return Ok(()),
            _ if Instant::now() > deadline => {
                return Err(AwsError::NotReady {
                    function: name.into(),
                    state: format!("still {state}/{update} after 5 minutes"),
                })
            }
            _ => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Points the stage alias at a new version of the function: the one a
/// function created by this run published as it was created, else one
/// published now.
async fn put_alias(b: &AwsBackend, change: &Change, shared: &Shared) -> Result<(), AwsError> {
    let lambda = &b.clients.lambda;
    let name = change.id.name.as_str();
    let (function, alias) = name.rsplit_once(':').unwrap_or((name, ""));
    let created = shared.published.lock().await.remove(function);
    let version = match created {
        Some(version) => version,
        None => publish(b, function).await?,
    };
    if change.action == Action::Create {
        let created = lambda
            .create_alias()
            .function_name(function)
            .name(alias)
            .function_version(&version)
            .send()
            .await
            // Left by an interrupted earlier run: updated below instead.
            .or_missing(
                &["ResourceConflictException", "ConflictException"],
                "CreateAlias",
                name,
            )?;
        if created.is_some() {
            return Ok(());
        }
    }
    lambda
        .update_alias()
        .function_name(function)
        .name(alias)
        .function_version(&version)
        .send()
        .await
        .or_api_error("UpdateAlias", name)?;
    Ok(())
}

/// Publishes a version of `function`. Publishing is only reached when code
/// or configuration changed, so no empty version is ever created. The
/// function's own change (the alias depends on it) already waited until it
/// was ready; only when Lambda still refuses (an update of an interrupted
/// run in progress) is it waited on here, then asked again.
async fn publish(b: &AwsBackend, function: &str) -> Result<String, AwsError> {
    let mut attempts = 0;
    loop {
        match b
            .clients
            .lambda
            .publish_version()
            .function_name(function)
            .description("published by fnctl")
            .send()
            .await
        {
            Ok(out) => return Ok(out.version().unwrap_or("$LATEST").to_string()),
            Err(e) if has_code(&e, &["ResourceConflictException"]) && attempts < 3 => {
                attempts += 1;
                wait_ready(b, function).await?;
            }
            Err(e) => return Err(api_error("PublishVersion", function, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_lambda::types::{LastUpdateStatus, State};

    use super::is_ready;

    #[test]
    fn only_an_answer_that_says_active_and_settled_skips_the_wait() {
        assert!(is_ready(Some(&State::Active), None));
        assert!(is_ready(
            Some(&State::Active),
            Some(&LastUpdateStatus::Successful)
        ));
        // What AWS usually answers to a create or an update: wait.
        assert!(!is_ready(Some(&State::Pending), None));
        assert!(!is_ready(
            Some(&State::Active),
            Some(&LastUpdateStatus::InProgress)
        ));
        assert!(!is_ready(
            Some(&State::Active),
            Some(&LastUpdateStatus::Failed)
        ));
        // No state at all says nothing: ask.
        assert!(!is_ready(None, None));
    }
}
