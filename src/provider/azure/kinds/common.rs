//! What the kinds' reads and applies share: ownership judged by tags (and,
//! on blob containers, metadata), the conflict a resource with fnctl's name
//! but another owner becomes, and the shapes ARM reports values in.
//!
//! Ownership: a resource is fnctl's for this app and stage when it carries
//! the tags `fnctl-app`, `fnctl-stage` and `managed-by = fnctl` with this
//! app's and stage's values; a blob container (whose metadata names must be
//! C# identifiers) when its metadata holds `fnctl_app`, `fnctl_stage` and
//! `managed_by = fnctl`. A resource the app needs that exists without them
//! is a [`Conflict`]: it is left out of what was read, with everything that
//! hangs under it, and the read goes on, so one plan shows every conflict.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::App;
use crate::plan::{Conflict, ResourceId};
use crate::provider::azure::backend::{
    AzureBackend, AzureError, Live, HTTP_TAG, PACKAGES_TAG, PACKAGE_TAG,
};

/// ARM reports locations normalised (`West Europe` → `westeurope`).
pub fn normalise_location(l: &str) -> String {
    l.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The location an ARM resource reports, normalised.
pub fn location_of(v: &Value) -> String {
    normalise_location(v["location"].as_str().unwrap_or_default())
}

/// The string values of the object at `pointer` (tags, metadata), as found.
fn strings_at(v: &Value, pointer: &str) -> BTreeMap<String, String> {
    v.pointer(pointer)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect()
}

/// A resource's tags as plans show them: without the package records the
/// Function App carries (they change with every deploy of code).
pub fn tags_of(v: &Value) -> BTreeMap<String, String> {
    let mut tags = strings_at(v, "/tags");
    tags.retain(|k, _| k != PACKAGE_TAG && k != PACKAGES_TAG && k != HTTP_TAG);
    tags
}

/// A container's metadata as found.
pub fn metadata_of(container: &Value) -> BTreeMap<String, String> {
    strings_at(container, "/properties/metadata")
}

/// True when the resource carries this app+stage's ownership tags.
pub fn owned_by(v: &Value, app: &App) -> bool {
    tag_owner(v, app).is_none()
}

/// Who owns an ARM resource, from its tags: `None` when it is this
/// app+stage's (see [`Marks::owner`]).
fn tag_owner(v: &Value, app: &App) -> Option<String> {
    TAG_MARKS.owner(&strings_at(v, "/tags"), app)
}

/// The ownership tags (ARM resources).
const TAG_MARKS: Marks = Marks {
    app: "fnctl-app",
    stage: "fnctl-stage",
    managed: "managed-by",
    what: "tags",
};

/// The ownership metadata of blob containers: metadata names must be C#
/// identifiers, so no `-` (or `:`).
pub const CONTAINER_MARKS: Marks = Marks {
    app: "fnctl_app",
    stage: "fnctl_stage",
    managed: "managed_by",
    what: "metadata",
};

/// The names under which a resource records its owner.
#[derive(Debug, Clone, Copy)]
pub struct Marks {
    pub app: &'static str,
    pub stage: &'static str,
    pub managed: &'static str,
    /// What they are, for messages: "tags" or "metadata".
    pub what: &'static str,
}

impl Marks {
    /// The marks of this app and stage.
    pub fn of(&self, app: &App) -> BTreeMap<String, String> {
        BTreeMap::from([
            (self.app.to_string(), app.name.clone()),
            (self.stage.to_string(), app.stage.clone()),
            (self.managed.to_string(), "fnctl".to_string()),
        ])
    }

    /// Whether `found` carries any of them (whatever their values).
    pub fn any_in(&self, found: &BTreeMap<String, String>) -> bool {
        [self.app, self.stage, self.managed]
            .iter()
            .any(|k| found.contains_key(*k))
    }

    /// `None` when `found` marks the resource as this app+stage's; else who
    /// owns it, in words: "it belongs to stage `prod` of this app", "it
    /// carries no fnctl tags (tags: env=prod)".
    pub fn owner(&self, found: &BTreeMap<String, String>, app: &App) -> Option<String> {
        let managed = found.get(self.managed).map(String::as_str) == Some("fnctl");
        let (a, s) = (found.get(self.app), found.get(self.stage));
        match (a, s) {
            (Some(a), Some(s)) if *a == app.name && *s == app.stage => (!managed).then(|| {
                format!(
                    "it carries this app and stage's {} but not `{} = fnctl`",
                    self.what, self.managed
                )
            }),
            (Some(a), Some(s)) if *a == app.name => {
                Some(format!("it belongs to stage `{s}` of this app"))
            }
            (Some(a), Some(s)) => Some(format!("it belongs to app `{a}` stage `{s}`")),
            (Some(a), None) => Some(format!("it belongs to app `{a}`")),
            _ => {
                let listed: Vec<String> = found.iter().map(|(k, v)| format!("{k}={v}")).collect();
                Some(format!(
                    "it carries no fnctl {what} ({what}: {})",
                    if listed.is_empty() {
                        "none".to_string()
                    } else {
                        listed.join(", ")
                    },
                    what = self.what
                ))
            }
        }
    }
}

/// A resource fnctl names after the app and stage, as reads and messages
/// name it.
#[derive(Debug, Clone, Copy)]
pub struct Named<'a> {
    pub kind: &'a str,
    /// What it is, in words: "storage account".
    pub words: &'a str,
    pub name: &'a str,
    /// Its name also carries a hash of the subscription and resource group
    /// (storage account, Function App).
    pub scoped: bool,
}

/// GETs the resource `named` at `path`: `Some` when it exists and is this
/// app+stage's. One with another owner is left out of the read; it is a
/// [`Conflict`] in `live` when the app `wants` it (one the app does not
/// need is none of fnctl's business).
pub async fn get_owned(
    b: &AzureBackend,
    path: &str,
    api: &str,
    named: Named<'_>,
    wants: bool,
    live: &mut Live,
) -> Result<Option<Value>, AzureError> {
    let Some(found) = b.arm.get(path, api).await? else {
        return Ok(None);
    };
    match tag_owner(&found, &b.app) {
        None => Ok(Some(found)),
        Some(owner) => {
            if wants {
                live.conflicts.push(named.conflict(owner));
            }
            Ok(None)
        }
    }
}

impl Named<'_> {
    /// This resource exists and `owner` (not this app+stage) has it.
    fn conflict(&self, owner: String) -> Conflict {
        let choose = if self.scoped {
            "choose another app name, stage or resource group"
        } else {
            "choose another app name or stage"
        };
        let (words, name) = (self.words, self.name);
        Conflict {
            id: ResourceId::new(self.kind, name),
            owner,
            help: format!(
                "fnctl names the {words} after the app and stage: {choose}, or delete the other {words} `{name}` yourself if nothing needs it; fnctl never takes over a resource it did not create"
            ),
        }
    }
}

/// The last segment of a plan name such as `{account}/{container}` or
/// `{site}/{function}`: the name Azure gives the child resource.
pub fn leaf(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or_default()
}
