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

/// The ARM path and role of the assignment a plan id names.
fn target(app: &App, az: &AzureSettings, id: &ResourceId) -> Result<(String, Role), AzureError> {
    let found = app.resources.values().find_map(|r| {
        candidates(&r.kind)
            .into_iter()
            .find(|role| self::id(&r.name, *role) == *id)
            .map(|role| (r, role))
    });
    let Some((r, role)) = found else {
        return Err(AzureError::Config {
            reason: format!(
                "no resource of the manifest has the role assignment `{}`",
                id.name
            ),
        });
    };
    let scope = data::path(app, az, &r.name, &r.kind);
    let name = names::role_assignment(app, az, &r.name, role.guid);
    Ok((paths::role_assignment(&scope, &name), role))
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
