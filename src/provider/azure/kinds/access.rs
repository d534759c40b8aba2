//! `role_assignment`: what the Function App's system-assigned managed
//! identity may do with the app's resources — one Azure RBAC role
//! assignment per (resource, built-in role), scoped to the resource (the
//! container, queue or table), from the functions' effective access
//! ([`crate::model::Function::access`]).
//!
//! A Function App has one identity for all its functions, so what it is
//! granted on a resource is the union over the functions that access it;
//! the plan lists them (`needed_by`).
//!
//! Roles (built-in role definitions, GUIDs from "Azure built-in roles for
//! Storage", <https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage>):
//! - bucket `read` → Storage Blob Data Reader `2a2b9908-6ea1-4ae2-8e65-a410df84e7d1`;
//!   `write` / `read-write` → Storage Blob Data Contributor
//!   `ba92f5b4-2d11-453d-a403-e96b0029c9fe` (Azure has no write-only blob
//!   role: writing includes reading);
//! - queue `send` → Storage Queue Data Message Sender
//!   `c6a89b2d-59bc-44d0-9896-0f6e12d7b80a`; `consume` → Storage Queue Data
//!   Message Processor `8a0f0c08-91a1-4084-bc3d-661d67233fed` (peek,
//!   receive and delete messages);
//! - table `read` → Storage Table Data Reader `76199698-9eea-4c19-bc75-cec21354c6b6`;
//!   `write` / `read-write` → Storage Table Data Contributor
//!   `0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3`.
//!
//! Role assignments carry no tags: their names mark them as fnctl's
//! ([`names::role_assignment`], a GUID derived from app, stage, resource
//! and role). They cannot be changed either (a PUT with other properties
//! under an existing name is refused), so an update is a delete and a
//! create. Creating one needs `Microsoft.Authorization/roleAssignments/write`,
//! which Contributor lacks (its NotActions exclude
//! `Microsoft.Authorization/*/write`): a 403 says which role to grant.
//!
//! Access that leaves the manifest leaves Azure too: a read also lists the
//! identity's assignments (`RoleAssignments_ListForScope` at the resource
//! group with `$filter=principalId eq '{id}'`, which answers the
//! principal's assignments at, above and below that scope; spec
//! authorization-RoleAssignmentsCalls.json, 2022-04-01,
//! <https://learn.microsoft.com/rest/api/authorization/role-assignments/list-for-scope>)
//! and takes as fnctl's exactly those whose name is the GUID fnctl derives
//! for this app+stage, the scope's resource and the role ([`listed`]).
//! Those on a resource the manifest dropped are planned for deletion like
//! the ones on a resource it keeps. An assignment with any other name is
//! someone else's, whoever it grants to, and is never touched.
//!
//! API: Microsoft.Authorization 2022-04-01, `RoleAssignments_Create` at
//! `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}` with
//! `properties.roleDefinitionId`, `properties.principalId` and
//! `properties.principalType` (`ServicePrincipal` for a managed identity,
//! which also spares the replication delay of a just-created identity).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::{data, function_app, Kind, Outcome, Reading, Run, Then};
use crate::model::{App, AzureSettings, Permission, ProviderId, ResourceKind};
use crate::plan::{Change, Resource, ResourceId};
use crate::provider::azure::backend::{
    paths, AzureBackend, AzureError, API_AUTHORIZATION, API_WEB,
};
use crate::provider::azure::names;
use crate::provider::CodeDigests;

pub struct Access;

/// A built-in role fnctl grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Role {
    pub name: &'static str,
    pub guid: &'static str,
}

pub const BLOB_READER: Role = Role {
    name: "Storage Blob Data Reader",
    guid: "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
};
pub const BLOB_CONTRIBUTOR: Role = Role {
    name: "Storage Blob Data Contributor",
    guid: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
};
pub const QUEUE_SENDER: Role = Role {
    name: "Storage Queue Data Message Sender",
    guid: "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a",
};
pub const QUEUE_PROCESSOR: Role = Role {
    name: "Storage Queue Data Message Processor",
    guid: "8a0f0c08-91a1-4084-bc3d-661d67233fed",
};
pub const TABLE_READER: Role = Role {
    name: "Storage Table Data Reader",
    guid: "76199698-9eea-4c19-bc75-cec21354c6b6",
};
pub const TABLE_CONTRIBUTOR: Role = Role {
    name: "Storage Table Data Contributor",
    guid: "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
};

/// Every role fnctl grants, on any kind of resource.
pub const ALL_ROLES: [Role; 6] = [
    BLOB_READER,
    BLOB_CONTRIBUTOR,
    QUEUE_SENDER,
    QUEUE_PROCESSOR,
    TABLE_READER,
    TABLE_CONTRIBUTOR,
];

/// Where the resources a role is granted on live in the data account:
/// the ARM collection (`{service}/default/{collection}`) and the words.
fn family(role: Role) -> (&'static str, &'static str) {
    match role {
        r if r == BLOB_READER || r == BLOB_CONTRIBUTOR => {
            ("blobServices/default/containers", "blob container")
        }
        r if r == QUEUE_SENDER || r == QUEUE_PROCESSOR => ("queueServices/default/queues", "queue"),
        _ => ("tableServices/default/tables", "table"),
    }
}

/// The Azure name of the resource `resource` a role of this family is
/// granted on.
fn cloud_name_for(app: &App, resource: &str, role: Role) -> String {
    match family(role).0 {
        "tableServices/default/tables" => names::data_table(app, resource),
        _ => names::data_resource(app, resource),
    }
}

/// Every role fnctl may grant on a resource of `kind` (what a read looks
/// for, so an assignment the access no longer needs is found and deleted).
pub fn candidates(kind: &ResourceKind) -> [Role; 2] {
    match kind {
        ResourceKind::Bucket => [BLOB_READER, BLOB_CONTRIBUTOR],
        ResourceKind::Queue(_) => [QUEUE_SENDER, QUEUE_PROCESSOR],
        ResourceKind::Table(_) => [TABLE_READER, TABLE_CONTRIBUTOR],
    }
}

/// The roles that grant `permissions` (the union over the functions) on a
/// resource of `kind`: the contributor role alone when writing is needed
/// (it includes reading), the sender and the processor as needed.
pub fn roles_for(kind: &ResourceKind, permissions: &BTreeSet<Permission>) -> Vec<Role> {
    let [first, second] = candidates(kind);
    match kind {
        ResourceKind::Queue(_) => {
            let mut roles = Vec::new();
            if permissions.contains(&Permission::Send) {
                roles.push(first);
            }
            if permissions.contains(&Permission::Consume) {
                roles.push(second);
            }
            roles
        }
        _ if permissions.contains(&Permission::Write) => vec![second],
        _ if permissions.contains(&Permission::Read) => vec![first],
        _ => Vec::new(),
    }
}

/// The permissions a role grants.
fn served(role: Role) -> &'static [Permission] {
    match role {
        r if r == BLOB_READER || r == TABLE_READER => &[Permission::Read],
        r if r == QUEUE_SENDER => &[Permission::Send],
        r if r == QUEUE_PROCESSOR => &[Permission::Consume],
        _ => &[Permission::Read, Permission::Write],
    }
}

/// One role assignment the app needs.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The `[resources.NAME]`.
    pub resource: String,
    pub kind: ResourceKind,
    pub role: Role,
    /// The Azure functions whose access needs it, in name order.
    pub needed_by: Vec<String>,
}

/// What a resource needs: the union of the functions' permissions, and
/// each function's own.
type Needs = (BTreeSet<Permission>, Vec<(String, BTreeSet<Permission>)>);

/// The role assignments the app needs: for each resource, the roles for
/// the union of its Azure functions' effective access.
pub fn grants(app: &App) -> Vec<Grant> {
    let mut by_resource: BTreeMap<&str, Needs> = BTreeMap::new();
    for f in app.functions_for(ProviderId::Azure) {
        for (name, access) in &f.access {
            if !app.resources.contains_key(name) {
                continue;
            }
            let entry = by_resource.entry(name).or_default();
            entry.0.extend(access.permissions.iter().copied());
            entry.1.push((f.name.clone(), access.permissions.clone()));
        }
    }
    let mut out = Vec::new();
    for (name, (union, functions)) in by_resource {
        let kind = &app.resources[name].kind;
        for role in roles_for(kind, &union) {
            // The functions whose own access this role serves.
            let needed_by = functions
                .iter()
                .filter(|(_, p)| served(role).iter().any(|s| p.contains(s)))
                .map(|(f, _)| f.clone())
                .collect();
            out.push(Grant {
                resource: name.to_string(),
                kind: kind.clone(),
                role,
                needed_by,
            });
        }
    }
    out
}

/// The plan id of a role assignment: `{resource}/{role name}`.
pub fn id(resource: &str, role: Role) -> ResourceId {
    ResourceId::new("role_assignment", format!("{resource}/{}", role.name))
}

/// How the plan shows the identity a role is granted to.
pub const PRINCIPAL_SHOWN: &str =
    "(the Function App's system-assigned identity, shared by all its functions)";

fn resource_of(
    app: &App,
    az: &AzureSettings,
    resource: &str,
    kind: &ResourceKind,
    role: Role,
    needed_by: &[String],
) -> Resource {
    Resource::new("role_assignment", id(resource, role).name)
        .attr("role", role.name)
        .attr("role_definition_id", role.guid)
        .attr("scope", scope_shown(app, az, resource, kind))
        .attr("principal", PRINCIPAL_SHOWN)
        .attr("needed_by", json!(needed_by))
}

/// The scope as the plan shows it: `queue {account}/{queue}`.
fn scope_shown(app: &App, az: &AzureSettings, resource: &str, kind: &ResourceKind) -> String {
    format!(
        "{} {}",
        data::words(kind),
        data::id(app, az, resource, kind).name
    )
}

#[async_trait::async_trait]
impl Kind for Access {
    fn kinds(&self) -> &'static [&'static str] {
        &["role_assignment"]
    }

    fn desired(&self, app: &App, az: &AzureSettings, _: &CodeDigests, out: &mut Vec<Resource>) {
        for g in grants(app) {
            out.push(
                resource_of(app, az, &g.resource, &g.kind, g.role, &g.needed_by)
                    .depends_on(&data::id(app, az, &g.resource, &g.kind))
                    .depends_on(&function_app::id(app, az)),
            );
        }
    }

    /// The assignments fnctl would have made on the app's resources, by
    /// their deterministic names, when the data account is fnctl's and the
    /// Function App exists.
    async fn read(&self, b: &AzureBackend, reading: &mut Reading) -> Result<Then, AzureError> {
        let (app, az) = (&b.app, &b.settings);
        let Some(site) = &reading.site else {
            return Ok(Then::Continue);
        };
        if !reading.data_owned {
            return Ok(Then::Continue);
        }
        let principal = principal_of(site);
        let wanted = grants(app);
        for r in app.resources.values() {
            let scope = data::path(app, az, &r.name, &r.kind);
            for role in candidates(&r.kind) {
                let name = names::role_assignment(app, az, &r.name, role.guid);
                let Some(found) = b
                    .arm
                    .get(&paths::role_assignment(&scope, &name), API_AUTHORIZATION)
                    .await?
                else {
                    continue;
                };
                let needed_by = wanted
                    .iter()
                    .find(|g| g.resource == r.name && g.role == role)
                    .map(|g| g.needed_by.clone())
                    .unwrap_or_default();
                let props = &found["properties"];
                let definition = props["roleDefinitionId"]
                    .as_str()
                    .and_then(|d| d.rsplit('/').next())
                    .unwrap_or_default();
                let found_principal = props["principalId"].as_str().unwrap_or_default();
                let shown_principal = if principal.as_deref() == Some(found_principal) {
                    PRINCIPAL_SHOWN.to_string()
                } else {
                    format!("(another identity: {found_principal})")
                };
                let found_scope = props["scope"].as_str().unwrap_or_default();
                let shown_scope = if found_scope.eq_ignore_ascii_case(&scope) {
                    scope_shown(app, az, &r.name, &r.kind)
                } else {
                    found_scope.to_string()
                };
                let mut res = resource_of(app, az, &r.name, &r.kind, role, &needed_by)
                    .attr("role_definition_id", definition)
                    .attr("principal", shown_principal)
                    .attr("scope", shown_scope);
                if definition != role.guid {
                    res = res.attr("role", "(another role)");
                }
                reading.live.resources.push(res);
            }
        }
        // fnctl's assignments on resources the manifest no longer names.
        let Some(principal) = principal else {
            return Ok(Then::Continue);
        };
        for found in listed(b, &principal).await? {
            if app.resources.contains_key(&found.resource) {
                continue;
            }
            let (_, words) = family(found.role);
            reading.live.resources.push(
                Resource::new("role_assignment", found.id.name)
                    .attr("role", found.role.name)
                    .attr("role_definition_id", found.role.guid)
                    .attr(
                        "scope",
                        format!(
                            "{words} {}/{}",
                            names::data_account(app, az),
                            cloud_name_for(app, &found.resource, found.role)
                        ),
                    )
                    .attr("principal", PRINCIPAL_SHOWN)
                    .attr("needed_by", json!([])),
            );
        }
        Ok(Then::Continue)
    }

    /// Creates the assignment; one to update (another principal — the
    /// Function App was made again — or another role under fnctl's name)
    /// is deleted first: Azure does not change a role assignment.
    async fn apply(
        &self,
        b: &AzureBackend,
        change: &Change,
        _: &mut Run<'_>,
    ) -> Result<Outcome, AzureError> {
        let (app, az) = (&b.app, &b.settings);
        let (path, role) = target(app, az, &change.id)?;
        let principal = b
            .arm
            .get(&paths::site(app, az), API_WEB)
            .await?
            .as_ref()
            .and_then(principal_of)
            .ok_or_else(|| AzureError::Config {
                reason: format!(
                    "the Function App `{}` reports no system-assigned identity, so `{}` cannot be granted to it",
                    names::function_app(app, az),
                    change.id.name
                ),
            })?;
        if let Some(found) = b.arm.get(&path, API_AUTHORIZATION).await? {
            let props = &found["properties"];
            let same = props["principalId"].as_str() == Some(principal.as_str())
                && props["roleDefinitionId"]
                    .as_str()
                    .is_some_and(|d| d.ends_with(role.guid));
            if same {
                return Ok(Outcome::Done);
            }
            b.arm.delete(&path, API_AUTHORIZATION).await?;
        }
        let body = json!({"properties": {
            "roleDefinitionId": paths::role_definition(az, role.guid),
            "principalId": principal,
            "principalType": "ServicePrincipal",
        }});
        b.arm
            .put(&path, API_AUTHORIZATION, &body)
            .await
            .map_err(|e| missing_permission(e, az))?;
        Ok(Outcome::Done)
    }

    /// An assignment the access no longer needs.
    async fn delete(
        &self,
        b: &AzureBackend,
        change: &Change,
        _: &mut Run<'_>,
    ) -> Result<Outcome, AzureError> {
        let (path, _) = target(&b.app, &b.settings, &change.id)?;
        b.arm.delete(&path, API_AUTHORIZATION).await?;
        Ok(Outcome::Done)
    }
}

/// The ARM path and role of the assignment a plan id
/// (`{resource}/{role name}`) names. The resource need not be in the
/// manifest any more: the role says what kind of resource it was granted
/// on, and the names follow from the resource's name.
fn target(app: &App, az: &AzureSettings, id: &ResourceId) -> Result<(String, Role), AzureError> {
    let found = id.name.rsplit_once('/').and_then(|(resource, role)| {
        ALL_ROLES
            .into_iter()
            .find(|r| r.name == role)
            .map(|r| (resource, r))
    });
    let Some((resource, role)) = found else {
        return Err(AzureError::Config {
            reason: format!(
                "`{}` names no resource and role fnctl grants (`RESOURCE/ROLE`, a role of: {}); this is a bug in fnctl's plan, please report it",
                id.name,
                ALL_ROLES.map(|r| r.name).join(", ")
            ),
        });
    };
    let scope = format!(
        "{}/{}/{}",
        paths::data_account(app, az),
        family(role).0,
        cloud_name_for(app, resource, role)
    );
    let name = names::role_assignment(app, az, resource, role.guid);
    Ok((paths::role_assignment(&scope, &name), role))
}

/// One of fnctl's role assignments as the list answered it.
pub struct Listed {
    /// The `[resources.NAME]` it was made for (maybe no longer in the
    /// manifest).
    pub resource: String,
    pub role: Role,
    pub id: ResourceId,
    /// Its ARM path, as fnctl builds it.
    pub path: String,
}

/// fnctl's role assignments for `principal` (the Function App's identity):
/// the principal's assignments under the resource group, listed, of which
/// fnctl's are exactly those scoped to a container, queue or table of the
/// data account with one of fnctl's roles and named by the GUID fnctl
/// derives for this app+stage, that resource and that role. The resource's
/// name is recovered from the scope's (`{app}-{stage}-{name}`, or for a
/// table `{app}{stage}{name}` without hyphens) and the GUID checks it: an
/// assignment fnctl cannot recover a name for (a table resource whose name
/// had hyphens, a name cut with a hash) is left alone, as someone else's
/// would be.
pub async fn listed(b: &AzureBackend, principal: &str) -> Result<Vec<Listed>, AzureError> {
    let (app, az) = (&b.app, &b.settings);
    let account = paths::data_account(app, az).to_ascii_lowercase();
    let path = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments?$filter=principalId eq '{principal}'",
        paths::resource_group(az)
    );
    let mut out = Vec::new();
    let mut page = b.arm.get(&path, API_AUTHORIZATION).await?;
    while let Some(doc) = page.take() {
        for a in doc["value"].as_array().into_iter().flatten() {
            let props = &a["properties"];
            let (Some(name), Some(scope), Some(definition)) = (
                a["name"].as_str(),
                props["scope"].as_str(),
                props["roleDefinitionId"].as_str(),
            ) else {
                continue;
            };
            if props["principalId"].as_str() != Some(principal) {
                continue;
            }
            let guid = definition.rsplit('/').next().unwrap_or_default();
            let Some(role) = ALL_ROLES
                .into_iter()
                .find(|r| r.guid.eq_ignore_ascii_case(guid))
            else {
                continue;
            };
            let collection = format!("{account}/{}/", family(role).0.to_ascii_lowercase());
            let scope_lower = scope.to_ascii_lowercase();
            let Some(leaf) = scope_lower
                .strip_prefix(&collection)
                .filter(|l| !l.contains('/'))
                .map(|_| &scope[collection.len()..])
            else {
                continue;
            };
            let Some(resource) = resource_from(app, leaf, role) else {
                continue;
            };
            if !names::role_assignment(app, az, &resource, role.guid).eq_ignore_ascii_case(name) {
                continue;
            }
            let id = self::id(&resource, role);
            let path = paths::role_assignment(scope, name);
            out.push(Listed {
                resource,
                role,
                id,
                path,
            });
        }
        if let Some(next) = doc["nextLink"].as_str().filter(|n| !n.is_empty()) {
            let url = azure_core::Url::parse(next).map_err(|e| AzureError::Config {
                reason: format!("ARM returned an unusable nextLink listing role assignments ({e})"),
            })?;
            let reply = b.arm.send(azure_core::Method::Get, url, None, "").await?;
            if !(200..=299).contains(&reply.status) {
                return Err(crate::provider::azure::backend::arm::arm_error(
                    "GET", &path, &reply,
                ));
            }
            page = Some(reply.json());
        }
    }
    Ok(out)
}

/// The `[resources.NAME]` whose Azure name is `leaf`, for a role of this
/// family, when it can be told from the name (checked by the caller
/// against the assignment's GUID).
fn resource_from(app: &App, leaf: &str, role: Role) -> Option<String> {
    let resource = match family(role).0 {
        "tableServices/default/tables" => {
            let prefix: String = format!("{}{}", app.name, app.stage)
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect();
            let rest = leaf
                .strip_prefix(&prefix)
                .or_else(|| leaf.strip_prefix('t')?.strip_prefix(&prefix))?;
            rest.to_string()
        }
        _ => leaf
            .strip_prefix(&format!("{}-{}-", app.name, app.stage))?
            .to_string(),
    };
    (!resource.is_empty() && cloud_name_for(app, &resource, role) == leaf).then_some(resource)
}

/// The principal id of a site's system-assigned identity.
pub fn principal_of(site: &Value) -> Option<String> {
    site.pointer("/identity/principalId")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
}

/// Every role assignment fnctl may have made for the app: (path, plan id).
/// `remove` deletes those that exist.
pub fn all_paths(app: &App, az: &AzureSettings) -> Vec<(String, ResourceId)> {
    let mut out = Vec::new();
    for r in app.resources.values() {
        let scope = data::path(app, az, &r.name, &r.kind);
        for role in candidates(&r.kind) {
            let name = names::role_assignment(app, az, &r.name, role.guid);
            out.push((paths::role_assignment(&scope, &name), id(&r.name, role)));
        }
    }
    out
}

/// A 403 on creating a role assignment: the deploying identity lacks
/// `Microsoft.Authorization/roleAssignments/write`, which Contributor does
/// not include. The error names the role to grant.
pub fn missing_permission(e: AzureError, az: &AzureSettings) -> AzureError {
    match e {
        AzureError::Arm {
            status: 403,
            code,
            message,
            ..
        } => AzureError::Config {
            reason: format!(
                "creating a role assignment for the Function App's identity was refused ({code}: {message}): the deploying identity needs Microsoft.Authorization/roleAssignments/write, which Contributor does not include; grant it the role \"Role Based Access Control Administrator\" (or \"User Access Administrator\") on the resource group: az role assignment create --assignee <deploying identity> --role \"Role Based Access Control Administrator\" --scope {}",
                paths::resource_group(az)
            ),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Queue;

    fn perms(p: &[Permission]) -> BTreeSet<Permission> {
        p.iter().copied().collect()
    }

    /// The resource a dropped assignment was made for is recovered from
    /// its scope's name, and only when the name says it unambiguously.
    #[test]
    fn a_dropped_resource_is_recovered_from_the_scope_name() {
        let app = crate::manifest::test_app(
            r#"
[app]
name = "shop"
runtime = "python3.12"
[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "shop-rg"
location = "westeurope"
[functions.f]
handler = "f.handler"
"#,
        );
        let got = |leaf: &str, role: Role| resource_from(&app, leaf, role);
        assert_eq!(got("shop-dev-jobs", QUEUE_SENDER).as_deref(), Some("jobs"));
        assert_eq!(
            got("shop-dev-up-loads", BLOB_READER).as_deref(),
            Some("up-loads")
        );
        assert_eq!(
            got("shopdevledger", TABLE_CONTRIBUTOR).as_deref(),
            Some("ledger")
        );
        // Another app's or stage's names, and the wrong kind for the role.
        assert_eq!(got("shop-prod-jobs", QUEUE_SENDER), None);
        assert_eq!(got("other-dev-jobs", QUEUE_SENDER), None);
        assert_eq!(got("shopdevledger", QUEUE_SENDER), None);
        assert_eq!(got("shop-dev-", QUEUE_SENDER), None);
    }

    #[test]
    fn a_plan_id_names_its_assignment_without_the_manifest() {
        let app = crate::manifest::test_app(
            r#"
[app]
name = "shop"
runtime = "python3.12"
[providers.azure]
subscription = "00000000-0000-0000-0000-000000000000"
resource_group = "shop-rg"
location = "westeurope"
[functions.f]
handler = "f.handler"
"#,
        );
        let az = app.azure.clone().unwrap();
        let (path, role) = target(&app, &az, &id("ledger", TABLE_READER)).unwrap();
        assert_eq!(role, TABLE_READER);
        assert!(
            path.contains("/tableServices/default/tables/shopdevledger/providers/Microsoft.Authorization/roleAssignments/"),
            "{path}"
        );
        assert!(path.ends_with(&names::role_assignment(
            &app,
            &az,
            "ledger",
            TABLE_READER.guid
        )));
        assert!(target(
            &app,
            &az,
            &ResourceId::new("role_assignment", "ledger/Owner")
        )
        .is_err());
    }

    #[test]
    fn access_maps_to_the_documented_roles() {
        let bucket = ResourceKind::Bucket;
        assert_eq!(
            roles_for(&bucket, &perms(&[Permission::Read])),
            [BLOB_READER]
        );
        assert_eq!(
            roles_for(&bucket, &perms(&[Permission::Write])),
            [BLOB_CONTRIBUTOR]
        );
        assert_eq!(
            roles_for(&bucket, &perms(&[Permission::Read, Permission::Write])),
            [BLOB_CONTRIBUTOR]
        );
        let queue = ResourceKind::Queue(Queue {
            visibility_timeout_s: 30,
            visibility_timeout_span: 0..0,
            retention_s: 60,
            dead_letter: None,
        });
        assert_eq!(
            roles_for(&queue, &perms(&[Permission::Send])),
            [QUEUE_SENDER]
        );
        assert_eq!(
            roles_for(&queue, &perms(&[Permission::Send, Permission::Consume])),
            [QUEUE_SENDER, QUEUE_PROCESSOR]
        );
    }
}
