//! The plan: a value computed by a pure function from the desired and the live connectors.
//!
//! [`diff_env`] does no I/O, no printing and no async. A [`Plan`] is sorted, counted and
//! serialisable; `render` shows it and `apply` carries it out.

pub mod safety;
pub mod saved;

use crate::model::{self, Desired, Live};
use crate::normalize::normalize;
use crate::settings::Prune;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

/// What happens to one connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn verb(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// The kind of one field change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Add,
    Remove,
    Replace,
}

/// One field that changes, by JSON pointer into the connector object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub op: Op,
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// One change to one connector.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub action: Action,
    /// The connector's display name after the change (before it, for deletes).
    pub display_name: String,
    /// The live identifier (updates and deletes).
    pub identifier: Option<String>,
    /// The file the connector comes from (creates and updates).
    pub file: Option<PathBuf>,
    /// The complete body to send (creates and updates): update replaces the whole object.
    #[serde(skip)]
    pub body: Option<Value>,
    /// Field-level changes (updates), in the order of the object.
    pub diff: Vec<FieldChange>,
    /// The live object was edited outside skconn since skconn last wrote it.
    pub drift: bool,
    /// Things a reviewer should know: re-authorization, scope changes, adoption.
    pub warnings: Vec<String>,
}

/// The changes to one environment.
#[derive(Debug, Clone, Serialize)]
pub struct EnvPlan {
    pub name: String,
    /// Sorted: by action (create, update, delete), then display name.
    pub changes: Vec<Change>,
    /// Connectors in the files that already match.
    pub unchanged: usize,
    /// Live custom connectors not in the files that this environment's `prune` leaves alone.
    pub not_managed: Vec<String>,
    /// How many live connectors carry skconn's marker (the base of the change threshold).
    #[serde(skip)]
    pub managed_live: usize,
}

/// Counts of an environment's plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub unchanged: usize,
}

impl Summary {
    pub fn total_changes(&self) -> usize {
        self.create + self.update + self.delete
    }

    pub fn add(&mut self, other: Summary) {
        self.create += other.create;
        self.update += other.update;
        self.delete += other.delete;
        self.unchanged += other.unchanged;
    }
}

impl EnvPlan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            unchanged: self.unchanged,
            ..Summary::default()
        };
        for c in &self.changes {
            match c.action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Delete => s.delete += 1,
            }
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }
}

/// The plan for every selected environment, in configuration order.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub environments: Vec<EnvPlan>,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for e in &self.environments {
            s.add(e.summary());
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        self.environments.iter().any(EnvPlan::has_changes)
    }
}

/// The warning every update carries (the contract: updates change future authorizations).
pub const REAUTH_WARNING: &str =
    "existing connections and connected accounts may need to re-authorize after this update";

/// Computes the changes that make `live` match `desired` in one environment.
pub fn diff_env(name: &str, desired: &[Desired], live: &[Live], prune: Prune) -> EnvPlan {
    let by_name: HashMap<&str, &Live> = live.iter().map(|l| (l.display_name.as_str(), l)).collect();
    let wanted: HashSet<&str> = desired.iter().map(|d| d.display_name.as_str()).collect();
    let mut claimed: HashSet<&str> = HashSet::new();
    let mut changes = Vec::new();
    let mut unchanged = 0;

    for d in desired {
        // A live connector of the same name; failing that, one under a previous name that no
        // file claims as its current name (a rename keeps the identifier and its connections).
        let matched = by_name.get(d.display_name.as_str()).copied().or_else(|| {
            d.previous_names
                .iter()
                .filter(|p| !wanted.contains(p.as_str()))
                .find_map(|p| by_name.get(p.as_str()).copied())
        });
        let Some(l) = matched.filter(|l| !claimed.contains(l.display_name.as_str())) else {
            changes.push(Change {
                action: Action::Create,
                display_name: d.display_name.clone(),
                identifier: None,
                file: Some(d.origin.file.clone()),
                body: Some(model::body_to_send(&d.body)),
                diff: Vec::new(),
                drift: false,
                warnings: Vec::new(),
            });
            continue;
        };
        claimed.insert(l.display_name.as_str());
        let field_changes = field_diff(&l.body, &d.body);
        // A connector that already matches its file is unchanged, marked or not: writing it
        // only to add the marker would be a change with no content (and would make import
        // round trips noisy). It carries the marker from its next real update on.
        if field_changes.is_empty() {
            unchanged += 1;
            continue;
        }
        let adopt = !l.is_managed();
        let mut warnings = Vec::new();
        if l.display_name != d.display_name {
            warnings.push(format!(
                "renames \"{}\" in place (identifier and connections are kept)",
                l.display_name
            ));
        }
        if adopt {
            warnings.push(
                "not yet managed by skconn: applying adopts it (adds skconn's marker to its metadata)"
                    .to_string(),
            );
        }
        warnings.extend(scope_warnings(&l.body, &d.body));
        warnings.push(REAUTH_WARNING.to_string());
        changes.push(Change {
            action: Action::Update,
            display_name: d.display_name.clone(),
            identifier: Some(l.identifier.clone()),
            file: Some(d.origin.file.clone()),
            body: Some(model::body_to_send(&d.body)),
            diff: field_changes,
            drift: has_drifted(l),
            warnings,
        });
    }

    let mut not_managed = Vec::new();
    for l in live {
        if claimed.contains(l.display_name.as_str()) {
            continue;
        }
        let delete = match prune {
            Prune::Off => false,
            Prune::Managed => l.is_managed(),
            Prune::All => true,
        };
        if delete {
            let mut warnings = Vec::new();
            if !l.is_managed() {
                warnings.push("not created by skconn (prune: all deletes it)".to_string());
            }
            changes.push(Change {
                action: Action::Delete,
                display_name: l.display_name.clone(),
                identifier: Some(l.identifier.clone()),
                file: None,
                body: None,
                diff: Vec::new(),
                drift: has_drifted(l),
                warnings,
            });
        } else {
            not_managed.push(l.display_name.clone());
        }
    }
    changes.sort_by(|a, b| (a.action, &a.display_name).cmp(&(b.action, &b.display_name)));
    not_managed.sort();
    EnvPlan {
        name: name.to_string(),
        changes,
        unchanged,
        not_managed,
        managed_live: live.iter().filter(|l| l.is_managed()).count(),
    }
}

/// Whether a managed live connector was edited since skconn wrote it: its content no longer
/// hashes to what skconn recorded, neither to what it sent nor to what the server kept of it
/// (a server's rewrite is not an edit).
fn has_drifted(l: &Live) -> bool {
    match l.recorded_hash() {
        Some(h) => {
            let now = model::content_hash(&l.body);
            now != h && l.kept_hash() != Some(now.as_str())
        }
        None => false,
    }
}

/// Field-level changes from `live` to `desired`, over the normalised forms. Top-level keys the
/// live object has but skconn does not send (fields a newer server added) are not compared.
pub fn field_diff(live: &Value, desired: &Value) -> Vec<FieldChange> {
    let mut live_n = normalize(live);
    let desired_n = normalize(desired);
    if let (Some(l), Some(d)) = (live_n.as_object_mut(), desired_n.as_object()) {
        l.retain(|k, _| model::API_FIELDS.contains(&k.as_str()) || d.contains_key(k));
    }
    let patch = json_patch::diff(&live_n, &desired_n);
    patch
        .0
        .into_iter()
        .filter_map(|op| match op {
            json_patch::PatchOperation::Add(a) => Some(FieldChange {
                op: Op::Add,
                path: a.path.to_string(),
                old: None,
                new: Some(a.value),
            }),
            json_patch::PatchOperation::Remove(r) => Some(FieldChange {
                op: Op::Remove,
                old: live_n.pointer(r.path.as_str()).cloned(),
                path: r.path.to_string(),
                new: None,
            }),
            json_patch::PatchOperation::Replace(r) => Some(FieldChange {
                op: Op::Replace,
                old: live_n.pointer(r.path.as_str()).cloned(),
                path: r.path.to_string(),
                new: Some(r.value),
            }),
            _ => None,
        })
        .collect()
}

/// The OAuth scope names of every pattern of a connector body.
fn scopes(body: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for p in body
        .get("auth_patterns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let list = p
            .pointer("/oauth_config/available_scopes")
            .and_then(Value::as_array);
        for s in list.into_iter().flatten() {
            if let Some(name) = s.get("scope").and_then(Value::as_str) {
                out.insert(name.to_string());
            }
        }
    }
    out
}

fn scope_warnings(live: &Value, desired: &Value) -> Vec<String> {
    let (old, new) = (scopes(live), scopes(desired));
    let added: Vec<&str> = new.difference(&old).map(String::as_str).collect();
    let removed: Vec<&str> = old.difference(&new).map(String::as_str).collect();
    let mut out = Vec::new();
    if !added.is_empty() {
        out.push(format!("OAuth scopes added: {}", added.join(", ")));
    }
    if !removed.is_empty() {
        out.push(format!("OAuth scopes removed: {}", removed.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Origin;
    use serde_json::json;

    fn desired(name: &str, body: Value) -> Desired {
        let mut body = body;
        body["display_name"] = json!(name);
        Desired {
            display_name: name.into(),
            body,
            previous_names: vec![],
            origin: Origin {
                file: format!("connectors/{name}.yaml").into(),
            },
        }
    }

    fn live(name: &str, body: Value, managed: bool) -> Live {
        let mut sent = body.clone();
        sent["display_name"] = json!(name);
        let mut stored = if managed {
            model::body_to_send(&sent)
        } else {
            sent
        };
        stored["identifier"] = json!(format!("{}:1", name.to_lowercase()));
        stored["is_custom"] = json!(true);
        Live::from_provider(&stored).unwrap()
    }

    #[test]
    fn equal_connectors_are_unchanged() {
        let b = json!({"proxy_url": "https://a", "proxy_enabled": true, "auth_patterns": [{"type": "BEARER"}]});
        let p = diff_env(
            "dev",
            &[desired("A", b.clone())],
            &[live("A", b, true)],
            Prune::Off,
        );
        assert!(p.changes.is_empty());
        assert_eq!(p.unchanged, 1);
    }

    #[test]
    fn update_shows_field_paths_and_reauth_warning() {
        let old = json!({"proxy_url": "https://a", "auth_patterns": [{"type": "OAUTH", "oauth_config": {"available_scopes": [{"scope": "read"}]}}]});
        let new = json!({"proxy_url": "https://b", "auth_patterns": [{"type": "OAUTH", "oauth_config": {"available_scopes": [{"scope": "write"}]}}]});
        let p = diff_env(
            "dev",
            &[desired("A", new)],
            &[live("A", old, true)],
            Prune::Off,
        );
        let c = &p.changes[0];
        assert_eq!(c.action, Action::Update);
        assert_eq!(c.identifier.as_deref(), Some("a:1"));
        assert!(c
            .diff
            .iter()
            .any(|f| f.path == "/proxy_url" && f.old == Some(json!("https://a"))));
        assert!(c.warnings.iter().any(|w| w == "OAuth scopes added: write"));
        assert!(c.warnings.iter().any(|w| w == "OAuth scopes removed: read"));
        assert!(c.warnings.iter().any(|w| w == REAUTH_WARNING));
        assert!(!c.drift);
    }

    #[test]
    fn prune_modes() {
        let b = json!({"proxy_url": "https://a"});
        let lv = [live("Mine", b.clone(), true), live("Hand", b, false)];
        let off = diff_env("dev", &[], &lv, Prune::Off);
        assert!(off.changes.is_empty());
        assert_eq!(off.not_managed, ["Hand", "Mine"]);
        let managed = diff_env("dev", &[], &lv, Prune::Managed);
        assert_eq!(managed.changes.len(), 1);
        assert_eq!(managed.changes[0].display_name, "Mine");
        assert_eq!(managed.not_managed, ["Hand"]);
        let all = diff_env("dev", &[], &lv, Prune::All);
        assert_eq!(all.summary().delete, 2);
    }

    #[test]
    fn drift_is_an_edit_after_skconn_wrote() {
        let b = json!({"proxy_url": "https://a"});
        let mut l = live("A", b.clone(), true);
        assert!(!has_drifted(&l));
        l.body["proxy_url"] = json!("https://edited");
        assert!(has_drifted(&l));
        let p = diff_env("dev", &[desired("A", b)], &[l], Prune::Off);
        assert!(p.changes[0].drift);
    }

    #[test]
    fn rename_updates_in_place() {
        let b = json!({"proxy_url": "https://a"});
        let mut d = desired("New", b.clone());
        d.previous_names = vec!["Old".into()];
        let p = diff_env("dev", &[d], &[live("Old", b, true)], Prune::Managed);
        assert_eq!(p.changes.len(), 1);
        assert_eq!(p.changes[0].action, Action::Update);
        assert_eq!(p.changes[0].identifier.as_deref(), Some("old:1"));
    }

    #[test]
    fn unmanaged_match_is_unchanged_when_equal_and_adopted_when_not() {
        let b = json!({"proxy_url": "https://a"});
        let p = diff_env(
            "dev",
            &[desired("A", b.clone())],
            &[live("A", b.clone(), false)],
            Prune::Off,
        );
        assert!(p.changes.is_empty());
        assert_eq!(p.unchanged, 1);
        let changed = json!({"proxy_url": "https://b"});
        let p = diff_env(
            "dev",
            &[desired("A", changed)],
            &[live("A", b, false)],
            Prune::Off,
        );
        assert_eq!(p.changes[0].action, Action::Update);
        assert!(p.changes[0].warnings.iter().any(|w| w.contains("adopts")));
    }
}
