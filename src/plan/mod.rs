//! Plans: what will be created, updated, left alone and deleted.
//!
//! A plan is a value, not a code path. Providers describe the resources that
//! *should* exist ([`Resource`], attributes as JSON values) and, when they can
//! read the cloud, the ones that *do* exist; [`diff`] compares the two and
//! yields a list of [`Change`]s. Apply (in the provider backends) executes only
//! what the plan says, and the renderers in [`render`] show it to people and
//! machines. Nothing here knows any provider: resource kinds are plain
//! strings chosen by each provider.

pub mod render;
pub mod scope;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::model::ProviderId;

/// Identifies a resource within one app+stage on one provider.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ResourceId {
    /// Provider-chosen kind, such as `lambda_function` or `function_app`.
    pub kind: String,
    /// The resource's name in the cloud (deterministic, see each provider's naming).
    pub name: String,
}

impl ResourceId {
    pub fn new(kind: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.name)
    }
}

/// Attributes compared between desired and live state.
pub type Attrs = BTreeMap<String, Value>;

/// A resource as the provider wants it (or reads it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resource {
    pub id: ResourceId,
    /// The manifest function this resource belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    pub attrs: Attrs,
    /// Resources that must exist before this one (apply order).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<ResourceId>,
}

impl Resource {
    pub fn new(kind: &str, name: impl Into<String>) -> Self {
        Self {
            id: ResourceId::new(kind, name),
            function: None,
            attrs: Attrs::new(),
            depends_on: Vec::new(),
        }
    }

    pub fn for_function(mut self, function: &str) -> Self {
        self.function = Some(function.to_string());
        self
    }

    pub fn attr(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.attrs.insert(key.to_string(), value.into());
        self
    }

    pub fn depends_on(mut self, id: &ResourceId) -> Self {
        self.depends_on.push(id.clone());
        self
    }
}

/// What apply will do to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
    /// Exists and matches: no call will be made.
    NoOp,
}

impl Action {
    /// The Terraform-style marker people already read fluently.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Delete => "-",
            Action::NoOp => "=",
        }
    }

    /// The verb for progress lines and machine output.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::NoOp => "keep",
        }
    }
}

/// One entry of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub id: ResourceId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    pub action: Action,
    /// Live attributes (absent for creates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Attrs>,
    /// Desired attributes (absent for deletes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Attrs>,
    /// For updates: the attribute names that differ.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<ResourceId>,
}

/// Whether the plan was computed against the cloud.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LiveState {
    /// The cloud was read; the plan is an exact diff.
    Read,
    /// The cloud was not read (no credentials or `--offline`): everything is shown as new.
    NotRead { reason: String },
}

/// A resource the app needs that exists in the cloud but is not fnctl's for
/// this app and stage (no ownership marks, or another app's or stage's).
///
/// fnctl never adopts, re-tags, changes or deletes such a resource, so a plan
/// with conflicts cannot be applied: `plan` shows them and fails, `deploy`
/// stops before the first change on any cloud.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub id: ResourceId,
    /// Who owns it, as far as the cloud says: "no fnctl tags (its tags: none)",
    /// "stage `dev` of this app".
    pub owner: String,
    /// The ways out, in words.
    pub help: String,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} `{}` exists and is not fnctl's for this app and stage: {}",
            self.id.kind, self.id.name, self.owner
        )
    }
}

/// A resource `remove` left in place on purpose because it still holds data
/// (objects in a bucket or container, messages, items).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kept {
    pub id: ResourceId,
    /// Why it was kept: "holds objects".
    pub reason: String,
    /// The command that removes it too.
    pub command: String,
}

/// The plan for one app+stage on one provider.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub app: String,
    pub stage: String,
    pub provider: ProviderId,
    /// Where it deploys, e.g. `us-east-1` or `westeurope/rg-shop`.
    pub target: String,
    pub live: LiveState,
    pub changes: Vec<Change>,
    /// Resources the plan would have to take over: applying is refused.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
    /// Resources the manifest no longer names that the plan leaves in
    /// place because they still hold data (deleting them would delete it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<Kept>,
}

/// Counts per action, for summaries and exit decisions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub unchanged: usize,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Delete => s.delete += 1,
                Action::NoOp => s.unchanged += 1,
            }
        }
        s
    }

    /// True when applying would make no mutating call.
    pub fn is_noop(&self) -> bool {
        self.changes.iter().all(|c| c.action == Action::NoOp)
    }
}

/// Compares desired resources with live ones (`None`: live state unknown,
/// so everything desired is a create and nothing is deleted).
///
/// Only the attributes a provider puts in the *desired* resource are
/// compared: live resources carry many more fields that fnctl does not own,
/// and a difference there must not cause an update. Output order: creates
/// and updates in dependency order (providers emit resources in a valid
/// order, which is kept), then deletes in reverse of the live order, so
/// dependants are removed before what they depend on.
pub fn diff(desired: &[Resource], live: Option<&[Resource]>) -> Vec<Change> {
    let live_by_id: BTreeMap<&ResourceId, &Resource> = live
        .unwrap_or_default()
        .iter()
        .map(|r| (&r.id, r))
        .collect();
    let desired_ids: BTreeSet<&ResourceId> = desired.iter().map(|r| &r.id).collect();
    let mut changes = Vec::with_capacity(desired.len());
    for want in order_by_dependencies(desired) {
        let change = match live_by_id.get(&want.id) {
            None => Change {
                id: want.id.clone(),
                function: want.function.clone(),
                action: Action::Create,
                before: None,
                after: Some(want.attrs.clone()),
                changed: Vec::new(),
                depends_on: want.depends_on.clone(),
            },
            Some(have) => {
                let changed: Vec<String> = want
                    .attrs
                    .iter()
                    .filter(|(k, v)| have.attrs.get(*k) != Some(*v))
                    .map(|(k, _)| k.clone())
                    .collect();
                let owned_before: Attrs = have
                    .attrs
                    .iter()
                    .filter(|(k, _)| want.attrs.contains_key(*k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                Change {
                    id: want.id.clone(),
                    function: want.function.clone(),
                    action: if changed.is_empty() {
                        Action::NoOp
                    } else {
                        Action::Update
                    },
                    before: Some(owned_before),
                    after: Some(want.attrs.clone()),
                    changed,
                    depends_on: want.depends_on.clone(),
                }
            }
        };
        changes.push(change);
    }
    for have in live.unwrap_or_default().iter().rev() {
        if !desired_ids.contains(&have.id) {
            changes.push(Change {
                id: have.id.clone(),
                function: have.function.clone(),
                action: Action::Delete,
                before: Some(have.attrs.clone()),
                after: None,
                changed: Vec::new(),
                depends_on: Vec::new(),
            });
        }
    }
    changes
}

/// Stable topological order: each resource after the ones it depends on,
/// otherwise in the order given. Unknown dependencies are ignored (they
/// exist outside this plan), and a cycle falls back to the given order for
/// the rest rather than looping.
fn order_by_dependencies(resources: &[Resource]) -> Vec<&Resource> {
    let ids: BTreeSet<&ResourceId> = resources.iter().map(|r| &r.id).collect();
    let mut placed: BTreeSet<&ResourceId> = BTreeSet::new();
    let mut out = Vec::with_capacity(resources.len());
    while out.len() < resources.len() {
        let before = out.len();
        for r in resources {
            if placed.contains(&r.id) {
                continue;
            }
            if r.depends_on
                .iter()
                .all(|d| placed.contains(d) || !ids.contains(d))
            {
                placed.insert(&r.id);
                out.push(r);
            }
        }
        if out.len() == before {
            for r in resources {
                if placed.insert(&r.id) {
                    out.push(r);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn res(kind: &str, name: &str, attrs: Value) -> Resource {
        let mut r = Resource::new(kind, name);
        if let Value::Object(m) = attrs {
            r.attrs = m.into_iter().collect();
        }
        r
    }

    #[test]
    fn offline_diff_creates_everything_and_deletes_nothing() {
        let desired = vec![res("fn", "a", json!({"memory": 128}))];
        let changes = diff(&desired, None);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].action, Action::Create);
        assert!(changes[0].before.is_none());
    }

    #[test]
    fn live_diff_finds_updates_noops_and_deletes() {
        let desired = vec![
            res("fn", "a", json!({"memory": 256, "runtime": "python3.12"})),
            res("fn", "b", json!({"memory": 128})),
        ];
        let live = vec![
            res(
                "fn",
                "a",
                json!({"memory": 128, "runtime": "python3.12", "last_modified": "x"}),
            ),
            res("fn", "b", json!({"memory": 128, "foreign": true})),
            res("fn", "old", json!({"memory": 128})),
        ];
        let changes = diff(&desired, Some(&live));
        let actions: Vec<(String, Action, Vec<String>)> = changes
            .iter()
            .map(|c| (c.id.name.clone(), c.action, c.changed.clone()))
            .collect();
        assert_eq!(
            actions,
            vec![
                ("a".into(), Action::Update, vec!["memory".to_string()]),
                ("b".into(), Action::NoOp, vec![]),
                ("old".into(), Action::Delete, vec![]),
            ]
        );
        assert!(
            !changes[0]
                .before
                .as_ref()
                .unwrap()
                .contains_key("last_modified"),
            "unowned live fields are not shown"
        );
    }

    #[test]
    fn dependencies_come_first_and_cycles_terminate() {
        let role = Resource::new("role", "r");
        let f = Resource::new("fn", "f").depends_on(&role.id);
        let changes = diff(&[f.clone(), role.clone()], None);
        assert_eq!(changes[0].id.kind, "role");
        let a = Resource::new("x", "a").depends_on(&ResourceId::new("x", "b"));
        let b = Resource::new("x", "b").depends_on(&ResourceId::new("x", "a"));
        assert_eq!(diff(&[a, b], None).len(), 2);
    }

    #[test]
    fn summary_and_noop() {
        let desired = vec![res("fn", "a", json!({"m": 1}))];
        let plan = Plan {
            app: "x".into(),
            stage: "dev".into(),
            provider: ProviderId::Aws,
            target: "us-east-1".into(),
            live: LiveState::Read,
            changes: diff(&desired, Some(&desired)),
            conflicts: Vec::new(),
            kept: Vec::new(),
        };
        assert!(plan.is_noop());
        assert_eq!(
            plan.summary(),
            Summary {
                unchanged: 1,
                ..Summary::default()
            }
        );
    }
}
