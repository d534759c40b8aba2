//! `deploy -f NAME`: the part of a plan that belongs to some functions.
//!
//! Between edits a user wants one function's code live in seconds, not the
//! whole app planned and applied. A plan is cut down to the changes of the
//! selected functions (every [`Change`] whose `function` is one of them)
//! plus the shared resources those changes cannot do without. What a shared
//! resource is to such a deploy depends on its kind, which only the
//! provider knows ([`Shared`]); the rule itself is here, the same for
//! every cloud. Everything else in the plan is left out: neither applied
//! nor verified, which the command says.

use std::collections::BTreeSet;
use std::fmt;

use super::{Action, Change, Plan, ResourceId};

/// What a resource that belongs to no one function is to `deploy -f`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shared {
    /// The app's foundation (the role, the API, a bucket): must exist
    /// already; deploying some functions never creates or changes it.
    Base,
    /// Made or changed along with the functions that need it: an API path
    /// a selected function's new route needs, the API stage once their
    /// routes changed, a bucket's notifications of their triggers.
    Linked,
    /// Holds every function's code at once (an Azure Function App's one
    /// package): deployed whenever any function is.
    AllCode,
}

/// Why the selected functions cannot be deployed on their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeError {
    /// A shared resource they need does not exist yet.
    Missing(ResourceId),
    /// A shared resource they change also carries changes of functions
    /// that were not selected (`others`: their names, when known).
    Entangled { id: ResourceId, others: Vec<String> },
}

impl fmt::Display for ScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScopeError::Missing(id) => write!(
                f,
                "{} `{}` that the selected functions need does not exist yet",
                id.kind, id.name
            ),
            ScopeError::Entangled { id, others } if others.is_empty() => write!(
                f,
                "{} `{}` would also carry changes outside the selected functions",
                id.kind, id.name
            ),
            ScopeError::Entangled { id, others } => write!(
                f,
                "{} `{}` would also carry changes of {}",
                id.kind,
                id.name,
                others
                    .iter()
                    .map(|o| format!("`{o}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl ScopeError {
    /// The way out, in words.
    pub fn help(&self) -> String {
        match self {
            ScopeError::Missing(_) => "run a full `fnctl deploy` first".to_string(),
            ScopeError::Entangled { others, .. } if !others.is_empty() => format!(
                "add {} to the deploy, or run a full `fnctl deploy`",
                others
                    .iter()
                    .map(|o| format!("`-f {o}`"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            ScopeError::Entangled { .. } => "run a full `fnctl deploy`".to_string(),
        }
    }
}

/// The part of `plan` that deploys `selected` (manifest function names
/// that this provider runs; none gives an empty plan):
///
/// - every change of a selected function, unchanged ones included (so the
///   summary and the verification cover all of it);
/// - [`Shared::AllCode`] changes;
/// - [`Shared::Linked`] changes that an included change depends on (a new
///   route's API path), or that depend on an included change or on a kind
///   an included deletion removes (the API stage after a route changed),
///   or that serve a selected function and are tied to no other change (a
///   bucket notification whose filter changed). Such a change is applied
///   whole: when it also depends on a change left out, the selection
///   cannot be deployed alone ([`ScopeError::Entangled`]);
/// - a [`Shared::Base`] resource an included change depends on must exist
///   ([`ScopeError::Missing`]); its own updates are left out.
pub fn scope(
    plan: &Plan,
    selected: &BTreeSet<String>,
    shared: &dyn Fn(&str) -> Shared,
) -> Result<Plan, ScopeError> {
    let mut out = plan.clone();
    if selected.is_empty() {
        out.changes.clear();
        return Ok(out);
    }
    let changes = &plan.changes;
    let kind_of = |c: &Change| -> Option<Shared> {
        match &c.function {
            Some(_) => None,
            None => Some(shared(&c.id.kind)),
        }
    };
    let mut included: Vec<bool> = changes
        .iter()
        .map(|c| match &c.function {
            Some(f) => selected.contains(f),
            None => kind_of(c) == Some(Shared::AllCode),
        })
        .collect();
    let index = |id: &ResourceId| changes.iter().position(|c| &c.id == id);
    // A Linked resource serves the functions its dependencies belong to.
    let serves_selected = |c: &Change| {
        c.depends_on.iter().any(|d| {
            index(d)
                .and_then(|i| changes[i].function.as_ref())
                .is_some_and(|f| selected.contains(f))
        })
    };
    // Whether `l` is tied to change `c`: depends on it, is depended on by
    // it, or depends on a resource of the kind `c` deletes.
    let tied = |l: &Change, c: &Change| {
        c.action != Action::NoOp
            && (l.depends_on.contains(&c.id)
                || c.depends_on.contains(&l.id)
                || (c.action == Action::Delete && l.depends_on.iter().any(|d| d.kind == c.id.kind)))
    };
    // Whether `l`, applied whole, would carry change `c`: `l` depends on
    // it, or on a resource of the kind `c` deletes.
    let feeds = |l: &Change, c: &Change| {
        c.action != Action::NoOp
            && (l.depends_on.contains(&c.id)
                || (c.action == Action::Delete && l.depends_on.iter().any(|d| d.kind == c.id.kind)))
    };
    loop {
        let mut grew = false;
        for (i, l) in changes.iter().enumerate() {
            if included[i] || l.action == Action::NoOp || kind_of(l) != Some(Shared::Linked) {
                continue;
            }
            let tied_in = changes
                .iter()
                .enumerate()
                .any(|(j, c)| included[j] && tied(l, c));
            let tied_at_all = changes.iter().any(|c| tied(l, c));
            if tied_in || (!tied_at_all && serves_selected(l)) {
                included[i] = true;
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    for (i, c) in changes.iter().enumerate() {
        if !included[i] {
            continue;
        }
        for d in &c.depends_on {
            let Some(j) = index(d) else { continue };
            let dep = &changes[j];
            if dep.action == Action::Create && !included[j] {
                return Err(ScopeError::Missing(dep.id.clone()));
            }
        }
        if kind_of(c) == Some(Shared::Linked) {
            let mut others: BTreeSet<String> = BTreeSet::new();
            let mut any = false;
            for (j, o) in changes.iter().enumerate() {
                if included[j] || kind_of(o) == Some(Shared::Base) || !feeds(c, o) {
                    continue;
                }
                any = true;
                others.extend(o.function.clone());
            }
            if any {
                return Err(ScopeError::Entangled {
                    id: c.id.clone(),
                    others: others.into_iter().collect(),
                });
            }
        }
    }
    out.changes = changes
        .iter()
        .zip(&included)
        .filter(|(_, keep)| **keep)
        .map(|(c, _)| c.clone())
        .collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ProviderId;
    use crate::plan::{diff, LiveState, Resource};
    use serde_json::json;

    fn shared(kind: &str) -> Shared {
        match kind {
            "path" | "stage" | "notification" => Shared::Linked,
            "package" => Shared::AllCode,
            _ => Shared::Base,
        }
    }

    fn plan(desired: &[Resource], live: &[Resource]) -> Plan {
        Plan {
            app: "shop".into(),
            stage: "dev".into(),
            provider: ProviderId::Aws,
            target: "here".into(),
            live: LiveState::Read,
            changes: diff(desired, Some(live)),
            conflicts: Vec::new(),
            kept: Vec::new(),
        }
    }

    fn names(p: &Plan) -> Vec<String> {
        p.changes
            .iter()
            .map(|c| format!("{} {}", c.action.symbol(), c.id))
            .collect()
    }

    fn sel(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    /// role, api, and per function: code, a method on its own path, the
    /// stage over every method.
    fn app(code: &[(&str, &str)], routes: &[&str]) -> Vec<Resource> {
        let role = Resource::new("role", "r");
        let api = Resource::new("api", "a");
        let mut out = vec![role.clone(), api.clone()];
        let mut stage = Resource::new("stage", "s");
        for (f, digest) in code {
            out.push(
                Resource::new("fn", *f)
                    .for_function(f)
                    .attr("code", *digest)
                    .depends_on(&role.id),
            );
        }
        for f in routes {
            let path = Resource::new("path", format!("/{f}")).depends_on(&api.id);
            let m = Resource::new("method", format!("GET /{f}"))
                .for_function(f)
                .attr("target", *f)
                .depends_on(&path.id);
            stage = stage.depends_on(&m.id);
            out.push(path);
            out.push(m);
        }
        stage = stage.attr("routes", json!(routes));
        out.push(stage);
        out
    }

    #[test]
    fn a_code_change_keeps_only_that_function() {
        let live = app(&[("a", "1"), ("b", "1"), ("c", "1")], &["a", "b"]);
        // b's code changed, and c's too (not selected).
        let want = app(&[("a", "1"), ("b", "2"), ("c", "2")], &["a", "b"]);
        let p = scope(&plan(&want, &live), &sel(&["b"]), &shared).unwrap();
        assert_eq!(names(&p), ["~ fn.b", "= method.GET /b"]);
    }

    #[test]
    fn a_new_route_brings_its_path_and_the_stage() {
        let live = app(&[("a", "1"), ("b", "1")], &["a"]);
        let want = app(&[("a", "1"), ("b", "1")], &["a", "b"]);
        let p = scope(&plan(&want, &live), &sel(&["b"]), &shared).unwrap();
        assert_eq!(
            names(&p),
            ["= fn.b", "+ path./b", "+ method.GET /b", "~ stage.s"]
        );
    }

    #[test]
    fn a_removed_route_redeploys_the_stage() {
        let live = app(&[("a", "1"), ("b", "1")], &["a", "b"]);
        let want = app(&[("a", "1"), ("b", "1")], &["a"]);
        let p = scope(&plan(&want, &live), &sel(&["b"]), &shared).unwrap();
        assert_eq!(names(&p), ["= fn.b", "~ stage.s", "- method.GET /b"]);
    }

    #[test]
    fn a_stage_carrying_another_functions_route_is_refused() {
        let live = app(&[("a", "1"), ("b", "1")], &["a"]);
        let want = app(&[("a", "1"), ("b", "1")], &["a", "b"]);
        let mut want2 = want.clone();
        // a's method changes too.
        for r in &mut want2 {
            if r.id.name == "GET /a" {
                r.attrs.insert("target".into(), json!("elsewhere"));
            }
        }
        let err = scope(&plan(&want2, &live), &sel(&["b"]), &shared).unwrap_err();
        assert_eq!(
            err,
            ScopeError::Entangled {
                id: ResourceId::new("stage", "s"),
                others: vec!["a".into()]
            }
        );
        assert!(err.help().contains("`-f a`"), "{}", err.help());
        // With both selected it goes through.
        assert!(scope(&plan(&want2, &live), &sel(&["a", "b"]), &shared).is_ok());
    }

    #[test]
    fn a_missing_base_resource_asks_for_a_full_deploy() {
        let want = app(&[("a", "1")], &[]);
        let err = scope(&plan(&want, &[]), &sel(&["a"]), &shared).unwrap_err();
        assert_eq!(err, ScopeError::Missing(ResourceId::new("role", "r")));
        assert_eq!(err.help(), "run a full `fnctl deploy` first");
    }

    #[test]
    fn base_updates_are_left_out() {
        let live = app(&[("a", "1")], &[]);
        let mut want = app(&[("a", "2")], &[]);
        want[0] = want[0].clone().attr("policy", "new");
        let p = scope(&plan(&want, &live), &sel(&["a"]), &shared).unwrap();
        assert_eq!(names(&p), ["~ fn.a"]);
    }

    #[test]
    fn one_package_goes_with_any_function_and_nothing_goes_without_one() {
        let pkg = |d: &str| Resource::new("package", "p").attr("code", d);
        let f = |n: &str| Resource::new("fn", n).for_function(n);
        let live = vec![pkg("1"), f("a"), f("b")];
        let want = vec![pkg("2"), f("a"), f("b")];
        let p = scope(&plan(&want, &live), &sel(&["a"]), &shared).unwrap();
        assert_eq!(names(&p), ["~ package.p", "= fn.a"]);
        let none = scope(&plan(&want, &live), &BTreeSet::new(), &shared).unwrap();
        assert!(none.changes.is_empty());
    }

    #[test]
    fn a_notification_serving_a_selected_function_follows_its_filter() {
        let bucket = Resource::new("bucket", "b");
        let perm = |f: &str| {
            Resource::new("perm", format!("{f}/s3"))
                .for_function(f)
                .depends_on(&bucket.id)
        };
        let notif = |prefix: &str| {
            Resource::new("notification", "b")
                .attr("prefix", prefix)
                .depends_on(&perm("a").id)
                .depends_on(&bucket.id)
        };
        let live = vec![bucket.clone(), perm("a"), notif("in/")];
        let want = vec![bucket.clone(), perm("a"), notif("uploads/")];
        let p = scope(&plan(&want, &live), &sel(&["a"]), &shared).unwrap();
        assert_eq!(names(&p), ["= perm.a/s3", "~ notification.b"]);
        // A function the notification does not serve leaves it out.
        let f = Resource::new("fn", "z").for_function("z");
        let mut want_z = want.clone();
        want_z.push(f.clone());
        let mut live_z = live.clone();
        live_z.push(f);
        let p = scope(&plan(&want_z, &live_z), &sel(&["z"]), &shared).unwrap();
        assert_eq!(names(&p), ["= fn.z"]);
    }
}
