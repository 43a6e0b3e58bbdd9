//! The plan: a value computed by a pure function from the desired and the live connectors.
//!
//! [`diff_env`] does no I/O, no printing and no async. A [`Plan`] is sorted, counted and
//! serialisable; `render` shows it and `apply` carries it out. Field changes are computed by
//! meaning in [`diff`] (the identity rules of lists are its one table); what a reviewer is
//! warned about, and which changes are auth-relevant, is [`warnings`]; `view` is the readable
//! form of a whole connector (a change's `before` and `after`); `compare` is the same diff
//! between two environments.
//!
//! A [`Change`] carries what its action needs and nothing its action lacks ([`What`]): a
//! create its file and body, an adoption or update its identifier, file and body, a delete its
//! identifier. Never add an optional field that one action must have.

pub mod approval;
pub mod compare;
pub mod diff;
pub mod digest;
pub mod ownership;
pub mod safety;
pub mod saved;
pub mod usage;
pub mod view;
pub mod warnings;

pub use diff::{FieldChange, Op};
pub use safety::Refusal;
pub use usage::{needs_usage, Usage};
pub use warnings::{is_auth_relevant, Warning, WarningKind};

use crate::model::{self, Desired, Live};
use crate::settings::Prune;
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// What happens to one connector, without the data (see [`What`] for that): for sorting,
/// counting and outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    /// A live connector skconn did not write, equal to its file: written once with the marker.
    Adopt,
    Update,
    Delete,
}

impl Action {
    pub fn verb(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Adopt => "adopt",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// What one change does, holding exactly what doing it needs: a create its file and the body
/// to send, an adoption or an update the live identifier as well, a delete the identifier
/// only. A change cannot lack what its action needs, so `apply` has nothing to check.
///
/// `body` is the complete body to send (update replaces the whole object), marker included.
/// A plan read back from its JSON form (`render::json::Document`) is only ever shown: the JSON
/// plan does not carry bodies, so its bodies are `null`.
#[derive(Debug, Clone, PartialEq)]
pub enum What {
    Create {
        file: PathBuf,
        body: Value,
    },
    /// A live connector skconn did not write, equal to its file: written once with the marker.
    Adopt {
        identifier: String,
        file: PathBuf,
        body: Value,
    },
    Update {
        identifier: String,
        file: PathBuf,
        body: Value,
    },
    Delete {
        identifier: String,
    },
}

impl What {
    pub fn action(&self) -> Action {
        match self {
            What::Create { .. } => Action::Create,
            What::Adopt { .. } => Action::Adopt,
            What::Update { .. } => Action::Update,
            What::Delete { .. } => Action::Delete,
        }
    }

    /// The live identifier (adopts, updates and deletes).
    pub fn identifier(&self) -> Option<&str> {
        match self {
            What::Create { .. } => None,
            What::Adopt { identifier, .. }
            | What::Update { identifier, .. }
            | What::Delete { identifier } => Some(identifier),
        }
    }

    /// The file the connector comes from (creates, adopts and updates).
    pub fn file(&self) -> Option<&Path> {
        match self {
            What::Create { file, .. } | What::Adopt { file, .. } | What::Update { file, .. } => {
                Some(file)
            }
            What::Delete { .. } => None,
        }
    }

    /// The body to send (creates, adopts and updates).
    pub fn body(&self) -> Option<&Value> {
        match self {
            What::Create { body, .. } | What::Adopt { body, .. } | What::Update { body, .. } => {
                Some(body)
            }
            What::Delete { .. } => None,
        }
    }

    /// The body to send, to complete it (the owner's marker, a snapshot's shown values).
    pub fn body_mut(&mut self) -> Option<&mut Value> {
        match self {
            What::Create { body, .. } | What::Adopt { body, .. } | What::Update { body, .. } => {
                Some(body)
            }
            What::Delete { .. } => None,
        }
    }
}

/// One change to one connector.
#[derive(Debug, Clone)]
pub struct Change {
    /// What happens, with what doing it needs (identifier, file, body).
    pub what: What,
    /// The connector's display name after the change (before it, for deletes).
    pub display_name: String,
    /// The live connector as people read it (`view::readable`); `None` for a create.
    pub before: Option<Value>,
    /// The connector the files want, as people read it; `None` for a delete.
    pub after: Option<Value>,
    /// Field-level changes (updates), by meaning (see `diff`).
    pub diff: Vec<FieldChange>,
    /// The live object was edited outside skconn since skconn last wrote it.
    pub drift: bool,
    /// Things a reviewer should know: re-authorization, scope changes, adoption, renames.
    pub warnings: Vec<Warning>,
    /// Who depends on the connector (deletes and auth-relevant updates); `None` when not
    /// looked up. Filled in after the diff, by `run::usage`.
    pub usage: Option<Usage>,
    /// The connector as the files write it (`${VAR}` unexpanded), readable form; `None` for a
    /// delete. What the plan digest records as the value after the change.
    pub written: Option<Value>,
    /// This change's entries in the plan digest (see [`digest::fields`]), computed once after
    /// the diff, before values are masked for display.
    pub digest_fields: Vec<Value>,
}

impl Change {
    pub fn action(&self) -> Action {
        self.what.action()
    }

    /// The live identifier (adopts, updates and deletes).
    pub fn identifier(&self) -> Option<&str> {
        self.what.identifier()
    }

    /// The file the connector comes from (creates, adopts and updates).
    pub fn file(&self) -> Option<&Path> {
        self.what.file()
    }

    /// The complete body to send (creates, adopts and updates), marker included.
    pub fn body(&self) -> Option<&Value> {
        self.what.body()
    }
}

/// The serialised form of a change, as it has always been: `action`, `display_name`,
/// `identifier` and `file` (`null` where the action has none), then the readable objects, the
/// diff, drift, warnings and usage. The body to send, the written form and the digest entries
/// are not part of it.
impl Serialize for Change {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Change", 10)?;
        s.serialize_field("action", &self.action())?;
        s.serialize_field("display_name", &self.display_name)?;
        s.serialize_field("identifier", &self.identifier())?;
        s.serialize_field("file", &self.file())?;
        s.serialize_field("before", &self.before)?;
        s.serialize_field("after", &self.after)?;
        s.serialize_field("diff", &self.diff)?;
        s.serialize_field("drift", &self.drift)?;
        s.serialize_field("warnings", &self.warnings)?;
        s.serialize_field("usage", &self.usage)?;
        s.end()
    }
}

/// Where an environment's live side came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Source {
    /// Listed from the environment itself.
    Live,
    /// Read from a snapshot taken at `taken_at` (RFC 3339, UTC).
    Snapshot { taken_at: String },
}

/// The changes to one environment.
#[derive(Debug, Clone, Serialize)]
pub struct EnvPlan {
    pub name: String,
    /// Where the live side came from: the environment itself, or a snapshot of it.
    pub source: Source,
    /// Sorted: by action (create, adopt, update, delete), then display name.
    pub changes: Vec<Change>,
    /// Connectors in the files that already match.
    pub unchanged: usize,
    /// Live custom connectors not in the files that this environment's `prune` leaves alone.
    pub not_managed: Vec<String>,
    /// How many live connectors carry skconn's marker (the base of the change threshold).
    #[serde(skip)]
    pub managed_live: usize,
    /// Live connectors marked by another owner, `(display name, owner)`: never updated or
    /// deleted from here (see [`ownership`]).
    pub other_owners: Vec<(String, String)>,
}

/// Counts of an environment's plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: usize,
    pub adopt: usize,
    pub update: usize,
    pub delete: usize,
    pub unchanged: usize,
}

impl Summary {
    pub fn total_changes(&self) -> usize {
        self.create + self.adopt + self.update + self.delete
    }

    pub fn add(&mut self, other: Summary) {
        self.create += other.create;
        self.adopt += other.adopt;
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
            match c.action() {
                Action::Create => s.create += 1,
                Action::Adopt => s.adopt += 1,
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
    /// Why the plan is refused as unsafe (empty when it is safe); set by the safety checks.
    pub refused: Vec<Refusal>,
}

impl Plan {
    pub fn new(environments: Vec<EnvPlan>) -> Plan {
        Plan {
            environments,
            refused: Vec::new(),
        }
    }

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

/// Computes the changes that make `live` match `desired` in one environment.
pub fn diff_env(name: &str, desired: &[Desired], live: &[Live], prune: Prune) -> EnvPlan {
    let by_name: HashMap<&str, &Live> = live.iter().map(|l| (l.display_name.as_str(), l)).collect();
    // A server may trim and collapse the spaces of a name (`"Internal  Billing API "` kept as
    // `"Internal Billing API"`): a live connector whose name is the file's so normalised is the
    // same connector, when no other live name reads the same.
    let mut by_collapsed: HashMap<String, Option<&Live>> = HashMap::new();
    for l in live {
        by_collapsed
            .entry(model::collapse_spaces(&l.display_name))
            .and_modify(|seen| *seen = None)
            .or_insert(Some(l));
    }
    let wanted: HashSet<&str> = desired.iter().map(|d| d.display_name.as_str()).collect();
    let mut claimed: HashSet<&str> = HashSet::new();
    let mut changes = Vec::new();
    let mut unchanged = 0;

    for d in desired {
        // The desired body's one normalisation on its way through the plan: the readable form
        // (`after`), the diff and the content hash of the body to send all start from it.
        let canonical = model::normalize::normalize(&d.body);
        let after = view::ordered(&canonical);
        let to_send = || model::body_to_send_hashed(&d.body, model::canonical_hash(&canonical));
        // A live connector of the same name; failing that, one under a previous name that no
        // file claims as its current name (a rename keeps the identifier and its connections).
        let matched = by_name
            .get(d.display_name.as_str())
            .copied()
            .or_else(|| {
                d.previous_names
                    .iter()
                    .filter(|p| !wanted.contains(p.as_str()))
                    .find_map(|p| by_name.get(p.as_str()).copied())
            })
            .or_else(|| {
                by_collapsed
                    .get(&model::collapse_spaces(&d.display_name))
                    .copied()
                    .flatten()
                    .filter(|l| !wanted.contains(l.display_name.as_str()))
            });
        let Some(l) = matched.filter(|l| !claimed.contains(l.display_name.as_str())) else {
            changes.push(Change {
                what: What::Create {
                    file: d.origin.file.clone(),
                    body: to_send(),
                },
                display_name: d.display_name.clone(),
                before: None,
                after: Some(after),
                diff: Vec::new(),
                drift: false,
                warnings: d.warnings.iter().map(Warning::from_file).collect(),
                usage: None,
                written: Some(view::readable(d.written())),
                digest_fields: Vec::new(),
            });
            continue;
        };
        claimed.insert(l.display_name.as_str());
        // The server's spacing of the name is the file's name, not a change of it.
        let respaced = l.display_name != d.display_name
            && model::collapse_spaces(&l.display_name) == model::collapse_spaces(&d.display_name);
        let field_changes = if respaced {
            let mut compared = after.clone();
            compared["display_name"] = Value::String(l.display_name.clone());
            readable_diff(&l.body, &compared)
        } else {
            readable_diff(&l.body, &after)
        };
        let adopt = !l.is_managed();
        if field_changes.is_empty() && !adopt {
            unchanged += 1;
            continue;
        }
        let mut warnings = Vec::new();
        if l.display_name != d.display_name && !respaced {
            warnings.push(Warning::new(
                WarningKind::Rename,
                format!(
                    "renames \"{}\" in place (identifier and connections are kept)",
                    l.display_name
                ),
            ));
        }
        let what = if field_changes.is_empty() {
            // Matches its file but skconn did not write it: written once with the marker (the
            // same body, so nothing else changes), managed like any other from then on.
            warnings.push(Warning::new(
                WarningKind::Adopt,
                "not yet managed by skconn: applying adopts it (writes the same body with skconn's marker); from then on a `prune: managed` environment deletes it when its file goes",
            ));
            What::Adopt {
                identifier: l.identifier.clone(),
                file: d.origin.file.clone(),
                body: to_send(),
            }
        } else {
            if adopt {
                warnings.push(Warning::new(
                    WarningKind::Adopt,
                    "not yet managed by skconn: this update also adopts it (adds skconn's marker to its metadata)",
                ));
            }
            warnings.extend(warnings::update_warnings(&l.body, &d.body, &field_changes));
            What::Update {
                identifier: l.identifier.clone(),
                file: d.origin.file.clone(),
                body: to_send(),
            }
        };
        warnings.extend(d.warnings.iter().map(Warning::from_file));
        changes.push(Change {
            what,
            display_name: d.display_name.clone(),
            before: Some(view::readable(&l.body)),
            after: Some(after),
            diff: field_changes,
            drift: has_drifted(l),
            warnings,
            usage: None,
            written: Some(view::readable(d.written())),
            digest_fields: Vec::new(),
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
                warnings.push(Warning::new(
                    WarningKind::NotCreatedBySkconn,
                    "not created by skconn (prune: all deletes it)",
                ));
            }
            changes.push(Change {
                what: What::Delete {
                    identifier: l.identifier.clone(),
                },
                display_name: l.display_name.clone(),
                before: Some(view::readable(&l.body)),
                after: None,
                diff: Vec::new(),
                drift: has_drifted(l),
                warnings,
                usage: None,
                written: None,
                digest_fields: Vec::new(),
            });
        } else {
            not_managed.push(l.display_name.clone());
        }
    }
    changes.sort_by(|a, b| (a.action(), &a.display_name).cmp(&(b.action(), &b.display_name)));
    not_managed.sort();
    EnvPlan {
        name: name.to_string(),
        source: Source::Live,
        changes,
        unchanged,
        not_managed,
        managed_live: live.iter().filter(|l| l.is_managed()).count(),
        other_owners: Vec::new(),
    }
}

/// Whether a managed live connector was edited since skconn wrote it: its content no longer
/// hashes to what skconn recorded, neither to what it sent nor to what the server kept of it
/// (a server's rewrite is not an edit).
pub fn has_drifted(l: &Live) -> bool {
    match l.recorded_hash() {
        Some(h) => {
            let now = model::content_hash(&l.body);
            now != h && l.kept_hash() != Some(now.as_str())
        }
        None => false,
    }
}

/// A live connector as a comparison reads it — the one rule for `plan` and `compare`: its
/// readable form (normalised, server-owned fields and skconn's marker left out, see
/// [`view::readable`]) holding only the top-level keys skconn sends: the API fields, and any
/// other key `sent` holds (a file's pass-through keys). What a newer server adds
/// (`created_at`, `links`, …) is never a difference.
pub fn compared(live: &Value, sent: &Value) -> Value {
    let mut live_n = view::readable(live);
    if let Some(l) = live_n.as_object_mut() {
        l.retain(|k, _| model::API_FIELDS.contains(&k.as_str()) || sent.get(k).is_some());
    }
    live_n
}

/// Field-level changes from `live` to `desired`, by meaning, over the normalised forms, in
/// reading order (changes are listed in the order a person reads the file); the live side read
/// by [`compared`].
pub fn field_diff(live: &Value, desired: &Value) -> Vec<FieldChange> {
    readable_diff(live, &view::readable(desired))
}

/// [`field_diff`] with the desired side already in its readable form.
fn readable_diff(live: &Value, desired_n: &Value) -> Vec<FieldChange> {
    diff::diff(&compared(live, desired_n), desired_n)
}

/// Field-level changes from one live connector to another (`compare`), each read by
/// [`compared`] as `plan` reads a live connector.
pub fn live_diff(a: &Value, b: &Value) -> Vec<FieldChange> {
    diff::diff(&compared(a, &Value::Null), &compared(b, &Value::Null))
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
            written: None,
            body,
            previous_names: vec![],
            origin: Origin {
                file: format!("connectors/{name}.yaml").into(),
            },
            unknown: Vec::new(),
            warnings: vec![],
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
        assert_eq!(c.action(), Action::Update);
        assert_eq!(c.identifier(), Some("a:1"));
        assert!(c
            .diff
            .iter()
            .any(|f| f.path == "proxy_url" && f.old == Some(json!("https://a"))));
        let has = |kind, start: &str| {
            c.warnings
                .iter()
                .any(|w| w.kind == kind && w.message.starts_with(start))
        };
        assert!(has(WarningKind::Scopes, "OAuth scopes added: write;"));
        assert!(has(WarningKind::Scopes, "OAuth scopes removed: read;"));
        assert!(has(
            WarningKind::Reauthorize,
            "changes how connections authenticate (proxy_url)"
        ));
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
    fn a_name_the_server_respaced_is_the_same_connector() {
        let b = json!({"proxy_url": "https://a"});
        let mut sent = desired("Internal  Billing API ", b.clone());
        sent.body["description"] = json!("x");
        let kept = live(
            "Internal Billing API",
            json!({"proxy_url": "https://a", "description": "x"}),
            true,
        );
        let p = diff_env(
            "dev",
            std::slice::from_ref(&sent),
            std::slice::from_ref(&kept),
            Prune::Managed,
        );
        assert!(p.changes.is_empty(), "{:#?}", p.changes);
        assert_eq!(p.unchanged, 1);
        // A real change is an update of that connector, not a rename, and not drift.
        sent.body["description"] = json!("y");
        let p = diff_env("dev", &[sent], &[kept], Prune::Managed);
        assert_eq!(p.changes.len(), 1);
        let c = &p.changes[0];
        assert_eq!(c.action(), Action::Update);
        assert_eq!(c.diff.len(), 1, "{:#?}", c.diff);
        assert!(c.warnings.iter().all(|w| w.kind != WarningKind::Rename));
        // Two live names that read the same: neither is taken for the file's.
        let twins = [live("A B", b.clone(), true), live("A  B", b.clone(), true)];
        let p = diff_env("dev", &[desired("A   B", b)], &twins, Prune::Off);
        assert_eq!(p.changes[0].action(), Action::Create);
    }

    #[test]
    fn rename_updates_in_place() {
        let b = json!({"proxy_url": "https://a"});
        let mut d = desired("New", b.clone());
        d.previous_names = vec!["Old".into()];
        let p = diff_env("dev", &[d], &[live("Old", b, true)], Prune::Managed);
        assert_eq!(p.changes.len(), 1);
        assert_eq!(p.changes[0].action(), Action::Update);
        assert_eq!(p.changes[0].identifier(), Some("old:1"));
    }

    #[test]
    fn unmanaged_match_is_adopted_when_equal_and_updated_when_not() {
        let b = json!({"proxy_url": "https://a"});
        let p = diff_env(
            "dev",
            &[desired("A", b.clone())],
            &[live("A", b.clone(), false)],
            Prune::Off,
        );
        assert_eq!(p.changes.len(), 1);
        assert_eq!(p.changes[0].action(), Action::Adopt);
        assert!(p.changes[0].diff.is_empty());
        assert_eq!(p.summary().adopt, 1);
        assert_eq!(p.unchanged, 0);
        let body = p.changes[0].body().unwrap();
        assert_eq!(body["metadata"][model::MARKER_KEY], model::MARKER_VALUE);
        let changed = json!({"proxy_url": "https://b"});
        let p = diff_env(
            "dev",
            &[desired("A", changed)],
            &[live("A", b, false)],
            Prune::Off,
        );
        assert_eq!(p.changes[0].action(), Action::Update);
        assert!(p.changes[0]
            .warnings
            .iter()
            .any(|w| w.kind == WarningKind::Adopt));
    }

    /// The serialised form of a plan is what it was before a change's action and its data were
    /// one value: the same keys, in the same order, `null` where an action has no identifier or
    /// file.
    #[test]
    fn a_change_serialises_as_it_always_has() {
        let d = Desired {
            display_name: "A".into(),
            written: None,
            body: json!({"display_name": "A", "proxy_url": "https://a"}),
            previous_names: vec![],
            origin: Origin {
                file: "connectors/a.yaml".into(),
            },
            unknown: Vec::new(),
            warnings: vec![],
        };
        let mut managed =
            model::body_to_send(&json!({"display_name": "B", "proxy_url": "https://b"}));
        managed["identifier"] = json!("b:1");
        managed["is_custom"] = json!(true);
        let managed = Live::from_provider(&managed).unwrap();
        let hand = json!({"display_name": "A", "proxy_url": "https://old",
            "identifier": "a:1", "is_custom": true});
        let hand = Live::from_provider(&hand).unwrap();
        let p = diff_env(
            "dev",
            std::slice::from_ref(&d),
            std::slice::from_ref(&managed),
            Prune::Managed,
        );
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"name":"dev","source":{"kind":"live"},"changes":[{"action":"create","display_name":"A","identifier":null,"file":"connectors/a.yaml","before":null,"after":{"display_name":"A","proxy_url":"https://a"},"diff":[],"drift":false,"warnings":[],"usage":null},{"action":"delete","display_name":"B","identifier":"b:1","file":null,"before":{"display_name":"B","proxy_url":"https://b"},"after":null,"diff":[],"drift":false,"warnings":[],"usage":null}],"unchanged":0,"not_managed":[],"other_owners":[]}"#
        );
        let p = diff_env("dev", &[d], &[managed, hand], Prune::All);
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"name":"dev","source":{"kind":"live"},"changes":[{"action":"update","display_name":"A","identifier":"a:1","file":"connectors/a.yaml","before":{"display_name":"A","proxy_url":"https://old"},"after":{"display_name":"A","proxy_url":"https://a"},"diff":[{"op":"replace","path":"proxy_url","pointer":"/proxy_url","old":"https://old","new":"https://a"}],"drift":false,"warnings":[{"kind":"adopt","message":"not yet managed by skconn: this update also adopts it (adds skconn's marker to its metadata)"},{"kind":"reauthorize","message":"changes how connections authenticate (proxy_url): existing connections and connected accounts may need to re-authorize after this update"}],"usage":null},{"action":"delete","display_name":"B","identifier":"b:1","file":null,"before":{"display_name":"B","proxy_url":"https://b"},"after":null,"diff":[],"drift":false,"warnings":[],"usage":null}],"unchanged":0,"not_managed":[],"other_owners":[]}"#
        );
    }
}
