//! What an apply with `--force` was approved to do but did not finish (it was interrupted, or
//! some changes failed), kept in `.skconn/forced.json`, so that the rerun that completes it is
//! not blocked by the change threshold: those changes were approved already, and only new ones
//! count. The record of an environment is dropped once it applies cleanly.

use crate::apply::{EnvOutcome, Status};
use crate::plan::Action;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Per environment, the (action, display name) approved with `--force` and not yet applied.
pub(super) type Approved = BTreeMap<String, Vec<(Action, String)>>;

fn path(root: &Path) -> PathBuf {
    root.join(".skconn").join("forced.json")
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

/// The record, or nothing when there is none (or it cannot be read).
pub(super) fn read(root: &Path) -> Approved {
    let Ok(text) = std::fs::read_to_string(path(root)) else {
        return Approved::new();
    };
    let Ok(raw) = serde_json::from_str::<BTreeMap<String, Vec<(String, String)>>>(&text) else {
        return Approved::new();
    };
    raw.into_iter()
        .map(|(env, list)| {
            let list = list
                .into_iter()
                .filter_map(|(a, n)| parse_action(&a).map(|a| (a, n)))
                .collect();
            (env, list)
        })
        .collect()
}

/// Updates the record after an apply: with `--force`, what was not applied is recorded; an
/// environment that applied cleanly loses its record.
pub(super) fn update(root: &Path, force: bool, outcomes: &[EnvOutcome]) {
    let mut record = read(root);
    let before = record.clone();
    for o in outcomes {
        let left: Vec<(Action, String)> = o
            .changes
            .iter()
            .filter(|c| !matches!(c.status, Status::Applied { .. }))
            .map(|c| (c.action, c.display_name.clone()))
            .collect();
        if left.is_empty() {
            record.remove(&o.name);
        } else if force {
            record.insert(o.name.clone(), left);
        }
    }
    if record == before {
        return;
    }
    let file = path(root);
    if record.is_empty() {
        let _ = std::fs::remove_file(&file);
        return;
    }
    let raw: BTreeMap<&String, Vec<(&str, &String)>> = record
        .iter()
        .map(|(env, list)| {
            (
                env,
                list.iter().map(|(a, n)| (action_name(*a), n)).collect(),
            )
        })
        .collect();
    let text = serde_json::to_string_pretty(&raw).unwrap_or_default();
    // `.skconn/` as every file of it is kept: private, ignored by git, redacted like all output.
    let written = file
        .parent()
        .map_or(Ok(()), crate::local_dir::ensure)
        .and_then(|()| {
            crate::local_dir::write_private(&file, crate::secret::redact(&text).as_bytes())
        });
    if let Err(e) = written {
        tracing::warn!(
            "cannot record the unfinished forced apply in {}: {e}",
            file.display()
        );
    }
}
