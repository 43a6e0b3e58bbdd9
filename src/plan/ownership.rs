//! Owners: which live connectors this repository may update or delete.
//!
//! skconn marks what it writes with `metadata.managed_by`: `skconn` for the owner `default`
//! (today's marker, so connectors written before owners existed stay owned by `default`) and
//! `skconn/NAME` for the owner `NAME` set by `owner:` in skconn.yaml. A live connector marked by
//! another owner is left out of the plan entirely — never updated, never deleted, whatever
//! `prune` says — and listed as owned by that owner; a file defining its display name is an
//! error in that environment. Pure: no I/O.

use super::EnvPlan;
use crate::base::error::Diagnostic;
use crate::model::{Desired, Live};
use crate::output::escape::inert;

/// Splits an environment's live connectors into those this owner plans for (its own and
/// unmarked ones) and those marked by other owners.
pub fn split(live: Vec<Live>, owner: &str) -> (Vec<Live>, Vec<Live>) {
    live.into_iter()
        .partition(|l| l.owner().is_none_or(|o| o == owner))
}

/// A problem for each file that defines a connector another owner holds in this environment.
pub fn conflicts(env: &str, owner: &str, desired: &[Desired], others: &[Live]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for d in desired {
        let names = std::iter::once(&d.display_name).chain(&d.previous_names);
        for name in names {
            let Some(l) = others.iter().find(|l| &l.display_name == name) else {
                continue;
            };
            let theirs = l.owner().unwrap_or_default();
            out.push(
                Diagnostic::new(
                    &d.origin.file,
                    format!(
                        "in environment {env}, \"{}\" is owned by `{}` (another repository's skconn), not by this repository's owner `{}`; it is never updated or deleted from here",
                        inert(name),
                        inert(theirs),
                        inert(owner)
                    ),
                )
                .field("display_name")
                .help("give this connector another display name, remove the file, or agree with the other owner on who manages it (`owner:` in skconn.yaml)"),
            );
        }
    }
    out
}

/// Writes this owner into the marker of every body the plan sends, and lists the connectors
/// of other owners.
pub fn mark(plan: &mut EnvPlan, owner: &str, others: &[Live]) {
    for c in &mut plan.changes {
        if let Some(body) = c.what.body_mut() {
            Live::set_owner(body, owner);
        }
    }
    plan.other_owners = others
        .iter()
        .map(|l| {
            (
                l.display_name.clone(),
                l.owner().unwrap_or_default().to_string(),
            )
        })
        .collect();
    plan.other_owners.sort();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Origin;
    use serde_json::json;

    fn live(name: &str, marker: Option<&str>) -> Live {
        let mut body = json!({"display_name": name, "metadata": {}});
        if let Some(m) = marker {
            body["metadata"]["managed_by"] = json!(m);
        }
        Live {
            display_name: name.into(),
            identifier: format!("{name}:1"),
            body,
        }
    }

    #[test]
    fn the_plain_marker_is_the_default_owner() {
        let lv = vec![
            live("Old", Some("skconn")),
            live("Theirs", Some("skconn/team-b")),
            live("Hand", None),
        ];
        let (ours, others) = split(lv.clone(), "default");
        assert_eq!(ours.len(), 2);
        assert_eq!(others[0].display_name, "Theirs");
        let (ours, others) = split(lv, "team-b");
        let names: Vec<_> = ours.iter().map(|l| l.display_name.as_str()).collect();
        assert_eq!(names, ["Theirs", "Hand"]);
        assert_eq!(others[0].owner(), Some("default"));
    }

    #[test]
    fn a_file_for_another_owners_connector_names_both() {
        let d = Desired {
            display_name: "Theirs".into(),
            body: json!({}),
            written: None,
            previous_names: vec![],
            origin: Origin {
                file: "connectors/theirs.yaml".into(),
            },
            unknown: Vec::new(),
            warnings: vec![],
        };
        let c = conflicts(
            "dev",
            "default",
            &[d],
            &[live("Theirs", Some("skconn/team-b"))],
        );
        assert_eq!(c.len(), 1);
        assert!(c[0].message.contains("`team-b`") && c[0].message.contains("`default`"));
    }
}
