//! How a change's usage reads in each format: one phrase ("in use: 2 connections (1
//! completed, 1 draft), 37 connected accounts (31 active, 6 expired)"), the text line, the
//! Markdown cell and the JSON object. Counts only: a usage holds no identifiers to show. The
//! statuses and the reason a usage is unknown come from a server: the phrase holds them inert.

use crate::output::escape::inert;
use crate::output::Style;
use crate::plan::usage::{StatusCounts, ACCOUNT_STATUSES, CONNECTION_STATUSES};
use crate::plan::{Change, Usage};
use serde_json::{json, Value};

/// What every format shows on a delete that apply holds back because the connector is in use.
pub const BLOCKED: &str = "blocked: in use";

/// The usage in one phrase.
pub fn phrase(u: &Usage) -> String {
    match u {
        Usage::Unknown { reason } => format!("usage unknown: {}", inert(reason)),
        Usage::Known { connections, .. } if connections.counts.total == 0 => {
            "not in use: no connections".to_string()
        }
        Usage::Known {
            connections,
            connected_accounts,
        } => {
            let mut conns = counted(
                &connections.counts,
                "connection",
                "connections",
                CONNECTION_STATUSES,
            );
            if connections.disabled > 0 {
                // `2 connections (1 completed, 1 draft)` → `… draft; 1 disabled)`.
                conns.pop();
                conns = format!("{conns}; {} disabled)", connections.disabled);
            }
            format!(
                "in use: {conns}, {}",
                counted(
                    connected_accounts,
                    "connected account",
                    "connected accounts",
                    ACCOUNT_STATUSES
                )
            )
        }
    }
}

/// `37 connected accounts (31 active, 6 expired)`.
fn counted(c: &StatusCounts, one: &str, many: &str, order: &[&str]) -> String {
    let noun = if c.total == 1 { one } else { many };
    let parts: Vec<String> = c
        .ordered(order)
        .into_iter()
        .map(|(status, n)| format!("{n} {}", inert(&status.replace('_', " "))))
        .collect();
    if parts.is_empty() {
        format!("{} {noun}", c.total)
    } else {
        format!("{} {noun} ({})", c.total, parts.join(", "))
    }
}

/// The usage in one phrase, saying so when the counts come from a snapshot.
fn phrase_from(u: &Usage, from_snapshot: bool) -> String {
    let mut p = phrase(u);
    if from_snapshot && matches!(u, Usage::Known { .. }) {
        p.push_str(super::source::USAGE_NOTE);
    }
    p
}

/// The text line under a change (indented like its warnings).
pub fn text(u: &Usage, from_snapshot: bool, style: &Style) -> String {
    let mark = match u.in_use() {
        Some(true) => style.yellow("!"),
        Some(false) => style.dim("·"),
        None => style.yellow("?"),
    };
    format!("      {mark} {}", phrase_from(u, from_snapshot))
}

/// The Markdown text for a change's table cell (escaped by the caller).
pub fn markdown(u: &Usage, from_snapshot: bool) -> String {
    let icon = match u.in_use() {
        Some(true) => "⚠️ ",
        Some(false) => "",
        None => "❔ ",
    };
    format!("{icon}{}", phrase_from(u, from_snapshot)).replace(['\r', '\n'], " ")
}

/// `"usage"` on a change in JSON: `null` when not looked up.
pub fn json(u: Option<&Usage>) -> Value {
    match u {
        None => Value::Null,
        Some(Usage::Unknown { reason }) => {
            json!({"state": "unknown", "in_use": null, "reason": reason})
        }
        Some(Usage::Known {
            connections,
            connected_accounts,
        }) => json!({
            "state": "known",
            "in_use": connections.counts.total > 0,
            "connections": {
                "total": connections.counts.total,
                "by_status": connections.counts.by_status,
                "disabled": connections.disabled,
            },
            "connected_accounts": {
                "total": connected_accounts.total,
                "by_status": connected_accounts.by_status,
            },
        }),
    }
}

/// `"blocked"` on a change in JSON: `"in use"`, or `null`.
pub fn blocked_json(c: &Change) -> Value {
    if crate::plan::usage::blocked(c) {
        json!("in use")
    } else {
        Value::Null
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::usage::ConnectionCounts;

    #[test]
    fn the_phrase_counts_by_status() {
        let mut conns = ConnectionCounts::default();
        conns.counts.add("COMPLETED", 1);
        conns.counts.add("DRAFT", 1);
        let mut accounts = StatusCounts::default();
        accounts.add("EXPIRED", 6);
        accounts.add("ACTIVE", 31);
        let u = Usage::Known {
            connections: conns,
            connected_accounts: accounts,
        };
        assert_eq!(
            phrase(&u),
            "in use: 2 connections (1 completed, 1 draft), 37 connected accounts (31 active, 6 expired)"
        );
    }
}
