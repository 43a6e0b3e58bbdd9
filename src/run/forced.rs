//! What an apply with `--force` was approved to do but did not finish (it was interrupted, or
//! some changes failed), kept in `.skconn/forced.json`, so that the rerun that completes it is
//! not blocked by the change threshold: those changes were approved already, and only new ones
//! count. The record of an environment is dropped once it applies cleanly.
//!
//! The file is local state: `.skconn/` is checked before it is read (`local_dir::check`: no
//! link, nothing tracked by git), so a record committed to the repository is refused, never
//! honoured. It holds one [`EnvRecord`] per environment, bound to the plan digest of what was
//! left to do: the rerun's plan is honoured only when it is exactly that plan (same changes, same
//! live state), so a record cannot relax the threshold for any other plan.
//!
//! What it must never do: relax the threshold from a file it did not write on this machine.

use crate::apply::{EnvOutcome, Status};
use crate::base::error::{Error, Result};
use crate::plan::Action;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Per environment, what was approved with `--force` and not yet applied.
pub(super) type Approved = BTreeMap<String, Left>;

/// What an environment has left of an approved forced apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Left {
    /// The plan digest of the changes left: the only plan this record is honoured for.
    pub(super) digest: String,
    /// The (action, display name) of each change left.
    pub(super) changes: Vec<(Action, String)>,
}

impl Left {
    /// The changes already approved, when `env_plan` is exactly the plan this was written for;
    /// none otherwise.
    pub(super) fn for_plan(&self, env_plan: &crate::plan::EnvPlan) -> &[(Action, String)] {
        if crate::plan::digest::env_digest(env_plan) == self.digest {
            &self.changes
        } else {
            &[]
        }
    }
}

/// The version of the file's shape (1 had no digest: it reads as no record).
const FORMAT: u32 = 2;

/// The file.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
struct Record {
    format: u32,
    environments: BTreeMap<String, EnvRecord>,
}

/// What one environment was approved to do with `--force`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
struct EnvRecord {
    /// The plan digest of the changes left.
    digest: String,
    changes: Vec<Approval>,
}

/// One approved change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Approval {
    action: String,
    display_name: String,
}

fn dir(root: &Path) -> PathBuf {
    root.join(".skconn")
}

fn path(root: &Path) -> PathBuf {
    dir(root).join("forced.json")
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Adopt => "adopt",
        Action::Update => "update",
        Action::Delete => "delete",
    }
}

fn parse_action(s: &str) -> Option<Action> {
    match s {
        "create" => Some(Action::Create),
        "adopt" => Some(Action::Adopt),
        "update" => Some(Action::Update),
        "delete" => Some(Action::Delete),
        _ => None,
    }
}

impl From<&EnvRecord> for Left {
    fn from(r: &EnvRecord) -> Self {
        Left {
            digest: r.digest.clone(),
            changes: r
                .changes
                .iter()
                .filter_map(|c| parse_action(&c.action).map(|a| (a, c.display_name.clone())))
                .collect(),
        }
    }
}

fn record_of(left: &Left) -> EnvRecord {
    EnvRecord {
        digest: left.digest.clone(),
        changes: left
            .changes
            .iter()
            .map(|(a, n)| Approval {
                action: action_name(*a).into(),
                display_name: n.clone(),
            })
            .collect(),
    }
}

/// The record, or nothing when there is none (or it cannot be read, or is of another shape).
/// Refused — an error naming why — when `.skconn/` may not be trusted (a link, a file git
/// tracks).
pub(super) fn read(root: &Path) -> Result<Approved> {
    let dir = dir(root);
    if std::fs::symlink_metadata(&dir).is_err() {
        return Ok(Approved::new());
    }
    crate::settings::local_dir::check(&dir)
        .map_err(|e| Error::io(format!("cannot use {}", dir.display()), e))?;
    Ok(read_unchecked(root))
}

fn read_unchecked(root: &Path) -> Approved {
    let Ok(bytes) = crate::settings::local_dir::read_private(&path(root)) else {
        return Approved::new();
    };
    let Ok(record) = serde_json::from_slice::<Record>(&bytes) else {
        return Approved::new();
    };
    if record.format != FORMAT {
        return Approved::new();
    }
    record
        .environments
        .iter()
        .map(|(env, r)| (env.clone(), r.into()))
        .collect()
}

/// Updates the record after an apply of `plan`: with `--force`, what was not applied is
/// recorded with the digest of that remainder; an environment that applied cleanly loses its
/// record.
pub(super) fn update(root: &Path, force: bool, plan: &crate::plan::Plan, outcomes: &[EnvOutcome]) {
    let mut approved = read_unchecked(root);
    let before = approved.clone();
    for o in outcomes {
        let changes: Vec<(Action, String)> = o
            .changes
            .iter()
            .filter(|c| !matches!(c.status, Status::Applied { .. }))
            .map(|c| (c.action, c.display_name.clone()))
            .collect();
        if changes.is_empty() {
            approved.remove(&o.name);
        } else if force {
            let Some(env_plan) = plan.environments.iter().find(|e| e.name == o.name) else {
                continue;
            };
            // The plan a rerun will make once the applied changes are gone: the rest.
            let mut rest = env_plan.clone();
            rest.changes
                .retain(|c| changes.contains(&(c.action(), c.display_name.clone())));
            let digest = crate::plan::digest::env_digest(&rest);
            approved.insert(o.name.clone(), Left { digest, changes });
        }
    }
    if approved == before {
        return;
    }
    let file = path(root);
    if approved.is_empty() {
        let _ = std::fs::remove_file(&file);
        return;
    }
    let record = Record {
        format: FORMAT,
        environments: approved
            .iter()
            .map(|(env, left)| (env.clone(), record_of(left)))
            .collect(),
    };
    let text = serde_json::to_string_pretty(&record).unwrap_or_default();
    // `.skconn/` as every file of it is kept: checked, private, ignored by git, redacted like
    // all output.
    let written = crate::settings::local_dir::ensure(&dir(root)).and_then(|()| {
        crate::settings::local_dir::write_private(
            &file,
            crate::output::secret::redact(&text).as_bytes(),
        )
    });
    if let Err(e) = written {
        tracing::warn!(
            "cannot record the unfinished forced apply in {}: {e}",
            file.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_and_another_shape_is_no_record() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let left = Left {
            digest: "0".repeat(64),
            changes: vec![
                (Action::Delete, "A".to_string()),
                (Action::Update, "B".into()),
            ],
        };
        let record = Record {
            format: FORMAT,
            environments: [("dev".to_string(), record_of(&left))].into(),
        };
        crate::settings::local_dir::ensure(&root.join(".skconn")).unwrap();
        let text = serde_json::to_string(&record).unwrap();
        std::fs::write(path(root), &text).unwrap();
        assert_eq!(read(root).unwrap()["dev"], left);
        std::fs::write(path(root), r#"{"dev": [["delete", "A"]]}"#).unwrap();
        assert!(read(root).unwrap().is_empty());
        std::fs::write(path(root), text.replace("\"format\":2", "\"format\":1")).unwrap();
        assert!(read(root).unwrap().is_empty());
    }
}
