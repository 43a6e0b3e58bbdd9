//! `skconn apply --report FILE`: the fresh plan's JSON document (format 2, as `plan --format
//! json` writes it) with, per environment, its `approval` (with `--approved`) and its `outcome`,
//! and the exit code: written whatever the apply ended with, so that a later step (`skconn
//! github comment`) can say what was and was not applied, and why.
//!
//! Pure: builds the document from what the apply recorded; writes nothing.

use super::Recorded;
use crate::apply::{EnvOutcome, Status};
use crate::base::error::Result;
use serde_json::{json, Value};

/// The report for an apply that recorded `rec` and ended with `result`; `selected` names the
/// environments asked for, for an apply that failed before it had a plan.
pub(in crate::run) fn document(
    rec: &Recorded,
    result: &Result<i32>,
    selected: &dyn Fn() -> Vec<String>,
) -> Value {
    let exit_code = match result {
        Ok(code) => *code,
        Err(e) => e.exit_code(),
    };
    let error = result.as_ref().err().map(crate::run::plan::error_text);
    let Some(plan) = &rec.plan else {
        let mut doc = crate::render::json::failed(
            error
                .as_deref()
                .unwrap_or("the apply ended before it had a plan"),
            &selected(),
        );
        doc["exit_code"] = json!(exit_code);
        return doc;
    };
    let mut doc = plan.clone();
    // Why environments with changes that no outcome covers were not applied: the apply's
    // error, first line (the whole text is in `apply_error`).
    let held = error
        .as_deref()
        .and_then(|e| e.lines().next())
        .map(str::to_string);
    if let Some(envs) = doc["environments"].as_array_mut() {
        for e in envs.iter_mut() {
            let name = e["name"].as_str().unwrap_or_default().to_string();
            if let Some(c) = rec.checks.iter().find(|c| c.environment == name) {
                e["approval"] = crate::render::approval::json(c);
            }
            let has_changes = e["changes"].as_array().is_some_and(|c| !c.is_empty());
            e["outcome"] = match rec.outcomes.iter().find(|o| o.name == name) {
                Some(o) => outcome(o),
                None if !has_changes => json!({
                    "status": "no_changes", "applied": 0, "failed": 0, "not_attempted": 0,
                    "reason": null, "changes": [],
                }),
                None => not_attempted(e, held.as_deref()),
            };
        }
    }
    doc["exit_code"] = json!(exit_code);
    if let Some(e) = error {
        doc["apply_error"] = json!(e);
    }
    doc
}

/// What happened to one environment's changes.
fn outcome(o: &EnvOutcome) -> Value {
    let (applied, failed, not_attempted) = o.counts();
    let status = if o.error.is_some() || failed > 0 {
        if applied > 0 {
            "partial"
        } else {
            "failed"
        }
    } else if not_attempted > 0 {
        if applied > 0 {
            "partial"
        } else {
            "not_attempted"
        }
    } else {
        "applied"
    };
    // A skipped environment's changes all carry the same reason: say it once.
    let reason = match o.changes.as_slice() {
        [first, rest @ ..] if applied == 0 && failed == 0 => match &first.status {
            Status::NotAttempted(why)
                if rest
                    .iter()
                    .all(|c| matches!(&c.status, Status::NotAttempted(w) if w == why)) =>
            {
                Some(why.clone())
            }
            _ => None,
        },
        _ => None,
    }
    .or_else(|| o.error.clone());
    json!({
        "status": status,
        "applied": applied,
        "failed": failed,
        "not_attempted": not_attempted,
        "reason": reason,
        "changes": o.changes.iter().map(|c| {
            let (status, message) = match &c.status {
                Status::Applied { note } => ("applied", note.clone()),
                Status::Failed(m) => ("failed", Some(m.clone())),
                Status::NotAttempted(m) => ("not_attempted", Some(m.clone())),
                Status::Blocked(m) => ("blocked", Some(m.clone())),
            };
            json!({"action": c.action.verb(), "display_name": c.display_name,
                   "status": status, "message": message})
        }).collect::<Vec<_>>(),
    })
}

/// An environment with changes that the apply did not reach.
fn not_attempted(env: &Value, why: Option<&str>) -> Value {
    let why = why.unwrap_or("the apply stopped before this environment");
    let changes: Vec<Value> = env["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            json!({"action": c["action"], "display_name": c["display_name"],
                   "status": "not_attempted", "message": why})
        })
        .collect();
    json!({
        "status": "not_attempted",
        "applied": 0,
        "failed": 0,
        "not_attempted": changes.len(),
        "reason": why,
        "changes": changes,
    })
}
