//! The JSON form of a plan: a contract for programs. Changing its shape means a new
//! [`FORMAT_VERSION`]; the README documents it.

use crate::plan::{Change, EnvPlan, FieldChange, Plan};
use serde_json::{json, Value};

/// The version of the JSON plan format.
pub const FORMAT_VERSION: &str = "1";

/// The whole plan as one JSON document.
pub fn plan(plan: &Plan) -> Value {
    json!({
        "format_version": FORMAT_VERSION,
        "environments": plan.environments.iter().map(env).collect::<Vec<_>>(),
    })
}

fn env(e: &EnvPlan) -> Value {
    let s = e.summary();
    json!({
        "name": e.name,
        "summary": {"create": s.create, "update": s.update, "delete": s.delete, "unchanged": s.unchanged},
        "changes": e.changes.iter().map(change).collect::<Vec<_>>(),
        "not_managed": e.not_managed,
        "other_owners": e.other_owners.iter()
            .map(|(n, o)| json!({"display_name": n, "owner": o}))
            .collect::<Vec<_>>(),
    })
}

fn change(c: &Change) -> Value {
    json!({
        "action": c.action.verb(),
        "display_name": c.display_name,
        "identifier": c.identifier,
        "file": c.file.as_ref().map(|f| f.display().to_string()),
        "drift": c.drift,
        "diff": c.diff.iter().map(field).collect::<Vec<_>>(),
        "warnings": c.warnings,
    })
}

fn field(f: &FieldChange) -> Value {
    json!({
        "op": f.op,
        "path": f.path,
        "old": f.old,
        "new": f.new,
    })
}
