//! Who depends on a connector in one environment: how many connections point at it and how
//! many connected accounts those connections hold, by status. A value the plan carries on a
//! change; `run::usage` fills it in after the pure diff, `render` shows it, `apply` holds back
//! a delete it shows cannot succeed.
//!
//! It holds counts only, never a connection's secrets nor an end user's identifier: those are
//! personal data and stay out of every output.

use crate::plan::{is_auth_relevant, Action, Change};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Whether a change needs its usage looked up before a reviewer approves it: every delete, and
/// every update with an auth-relevant field change (as [`is_auth_relevant`] defines it).
/// Creates and adoptions change nothing existing connections rely on.
pub fn needs_usage(change: &Change) -> bool {
    match change.action() {
        Action::Delete => true,
        Action::Update => change.diff.iter().any(is_auth_relevant),
        Action::Create | Action::Adopt => false,
    }
}

/// How many of something there are, in total and per status (lowercase status names, e.g.
/// `completed`, `draft`, `active`, `expired`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    pub total: usize,
    pub by_status: BTreeMap<String, usize>,
}

impl StatusCounts {
    /// Counts one more item with this status (any case; empty means `unspecified`).
    pub fn add(&mut self, status: &str, n: usize) {
        if n == 0 {
            return;
        }
        let key = if status.trim().is_empty() {
            "unspecified".to_string()
        } else {
            status.trim().to_ascii_lowercase()
        };
        *self.by_status.entry(key).or_default() += n;
        self.total += n;
    }

    /// The statuses in a reading order: the ones in `order` first, the others by name.
    pub fn ordered(&self, order: &[&str]) -> Vec<(&str, usize)> {
        let mut out: Vec<(&str, usize)> = order
            .iter()
            .filter_map(|s| self.by_status.get_key_value(*s))
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        for (k, v) in &self.by_status {
            if !order.contains(&k.as_str()) {
                out.push((k.as_str(), *v));
            }
        }
        out
    }
}

/// A connector's connections: per status, and how many of them are disabled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionCounts {
    #[serde(flatten)]
    pub counts: StatusCounts,
    pub disabled: usize,
}

/// What is known of a connector's usage in one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Usage {
    /// Looked up: every connection (draft and disabled ones included) and its accounts.
    Known {
        connections: ConnectionCounts,
        connected_accounts: StatusCounts,
    },
    /// The look-up failed: nothing is known, and "unused" must never be assumed.
    Unknown { reason: String },
}

impl Usage {
    /// Whether connections point at the connector (`None` when unknown).
    pub fn in_use(&self) -> Option<bool> {
        match self {
            Usage::Known { connections, .. } => Some(connections.counts.total > 0),
            Usage::Unknown { .. } => None,
        }
    }
}

/// Connection statuses in the order the server's lifecycle gives them.
pub const CONNECTION_STATUSES: &[&str] = &["completed", "in_progress", "draft"];

/// Connected-account statuses, healthy first.
pub const ACCOUNT_STATUSES: &[&str] = &[
    "active",
    "expired",
    "pending_auth",
    "pending_verification",
    "disconnected",
];

/// Whether `apply` holds this change back: a delete of a connector that still has
/// connections, which the server refuses. A delete whose usage is unknown is not blocked.
pub fn blocked(change: &Change) -> bool {
    change.action() == Action::Delete
        && change
            .usage
            .as_ref()
            .and_then(Usage::in_use)
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_status() {
        let mut c = StatusCounts::default();
        c.add("EXPIRED", 6);
        c.add("ACTIVE", 31);
        c.add("", 1);
        c.add("NEW_STATUS", 0);
        assert_eq!(c.total, 38);
        assert_eq!(
            c.ordered(ACCOUNT_STATUSES),
            [("active", 31), ("expired", 6), ("unspecified", 1)]
        );
    }

    #[test]
    fn unknown_is_never_unused() {
        let u = Usage::Unknown {
            reason: "no permission".into(),
        };
        assert_eq!(u.in_use(), None);
        let none = Usage::Known {
            connections: ConnectionCounts::default(),
            connected_accounts: StatusCounts::default(),
        };
        assert_eq!(none.in_use(), Some(false));
    }
}
