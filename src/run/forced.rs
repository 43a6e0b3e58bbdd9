//! What an apply with `--force` was approved to do but did not finish (it was interrupted, or
//! some changes failed), kept in `.skconn/forced.json`, so that the rerun that completes it is
//! not blocked by the change threshold: those changes were approved already, and only new ones
//! count. The record of an environment is dropped once it applies cleanly.
//!
//! The file is local state: `.skconn/` is checked before it is read (`local_dir::check`: no
//! link, nothing tracked by git), so a record committed to the repository is refused, never
//! honoured. It holds one [`EnvRecord`] per environment, so that what a record is bound to (the
//! digest of the plan it was written for) can be added to it and checked in [`read`] without
//! changing the file's shape.
//!
//! What it must never do: relax the threshold from a file it did not write on this machine.

use crate::apply::{EnvOutcome, Status};
use crate::error::{Error, Result};
use crate::plan::Action;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Per environment, the (action, display name) approved with `--force` and not yet applied.
pub(super) type Approved = BTreeMap<String, Vec<(Action, String)>>;

/// The version of the file's shape.
const FORMAT: u32 = 1;

/// The file.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
struct Record {
    format: u32,
    environments: BTreeMap<String, EnvRecord>,
}

/// What one environment was approved to do with `--force`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
struct EnvRecord {
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

impl From<&EnvRecord> for Vec<(Action, String)> {
    fn from(r: &EnvRecord) -> Self {
        r.changes
            .iter()
            .filter_map(|c| parse_action(&c.action).map(|a| (a, c.display_name.clone())))
            .collect()
    }
}

fn record_of(list: &[(Action, String)]) -> EnvRecord {
    EnvRecord {
        changes: list
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
    crate::local_dir::check(&dir)
        .map_err(|e| Error::io(format!("cannot use {}", dir.display()), e))?;
    Ok(read_unchecked(root))
}

fn read_unchecked(root: &Path) -> Approved {
    let Ok(bytes) = crate::local_dir::read_private(&path(root)) else {
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

/// Updates the record after an apply: with `--force`, what was not applied is recorded; an
/// environment that applied cleanly loses its record.
pub(super) fn update(root: &Path, force: bool, outcomes: &[EnvOutcome]) {
    let mut approved = read_unchecked(root);
    let before = approved.clone();
    for o in outcomes {
        let left: Vec<(Action, String)> = o
            .changes
            .iter()
            .filter(|c| !matches!(c.status, Status::Applied { .. }))
            .map(|c| (c.action, c.display_name.clone()))
            .collect();
        if left.is_empty() {
            approved.remove(&o.name);
        } else if force {
            approved.insert(o.name.clone(), left);
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
            .map(|(env, list)| (env.clone(), record_of(list)))
            .collect(),
    };
    let text = serde_json::to_string_pretty(&record).unwrap_or_default();
    // `.skconn/` as every file of it is kept: checked, private, ignored by git, redacted like
    // all output.
    let written = crate::local_dir::ensure(&dir(root)).and_then(|()| {
        crate::local_dir::write_private(&file, crate::secret::redact(&text).as_bytes())
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
        let list = vec![
            (Action::Delete, "A".to_string()),
            (Action::Update, "B".into()),
        ];
        let record = Record {
            format: FORMAT,
            environments: [("dev".to_string(), record_of(&list))].into(),
        };
        crate::local_dir::ensure(&root.join(".skconn")).unwrap();
        let text = serde_json::to_string(&record).unwrap();
        std::fs::write(path(root), &text).unwrap();
        assert_eq!(read(root).unwrap()["dev"], list);
        std::fs::write(path(root), r#"{"dev": [["delete", "A"]]}"#).unwrap();
        assert!(read(root).unwrap().is_empty());
        std::fs::write(path(root), text.replace("\"format\":1", "\"format\":2")).unwrap();
        assert!(read(root).unwrap().is_empty());
    }
}
