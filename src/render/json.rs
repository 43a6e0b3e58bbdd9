//! The JSON form of a plan: a contract for programs. Changing its shape means a new
//! [`FORMAT_VERSION`]; docs/plans.md documents it, and `schema/plan.schema.json` describes it.

use crate::plan::{digest, Change, EnvPlan, FieldChange, Plan, Source};
use serde_json::{json, Value};

/// The version of the JSON plan format.
pub const FORMAT_VERSION: &str = "2";

/// The whole plan as one JSON document.
pub fn plan(plan: &Plan) -> Value {
    json!({
        "format_version": FORMAT_VERSION,
        "digest_version": digest::DIGEST_VERSION,
        "refused": plan.refused,
        "environments": plan.environments.iter().map(env).collect::<Vec<_>>(),
    })
}

/// The document written when no plan could be made: the error, and no environments.
pub fn failed(message: &str) -> Value {
    json!({
        "format_version": FORMAT_VERSION,
        "digest_version": digest::DIGEST_VERSION,
        "error": message,
        "refused": [],
        "environments": [],
    })
}

fn env(e: &EnvPlan) -> Value {
    let s = e.summary();
    let input = digest::input(e);
    let source = match &e.source {
        Source::Live => json!({"kind": "live", "taken_at": null}),
        Source::Snapshot { taken_at } => json!({"kind": "snapshot", "taken_at": taken_at}),
    };
    json!({
        "name": e.name,
        "source": source,
        "plan_digest": digest::of(&input),
        "digest_input": input,
        "summary": {"create": s.create, "adopt": s.adopt, "update": s.update, "delete": s.delete, "unchanged": s.unchanged},
        "changes": e.changes.iter().map(change).collect::<Vec<_>>(),
        "not_managed": e.not_managed,
        "other_owners": e.other_owners.iter()
            .map(|(n, o)| json!({"display_name": n, "owner": o}))
            .collect::<Vec<_>>(),
    })
}

/// One change: what happens, to which connector, the whole object before and after (`null`
/// where absent), the field diff by meaning and the typed warnings.
pub fn change(c: &Change) -> Value {
    json!({
        "action": c.action.verb(),
        "display_name": c.display_name,
        "identifier": c.identifier,
        "file": c.file.as_ref().map(|f| f.display().to_string()),
        "drift": c.drift,
        "before": c.before,
        "after": c.after,
        "diff": c.diff.iter().map(field).collect::<Vec<_>>(),
        "warnings": c.warnings,
        "usage": super::usage::json(c.usage.as_ref()),
        "blocked": super::usage::blocked_json(c),
    })
}

/// One field change: `path` readable, `pointer` the JSON Pointer.
pub fn field(f: &FieldChange) -> Value {
    json!({
        "op": f.op,
        "path": f.path,
        "pointer": f.pointer,
        "old": f.old,
        "new": f.new,
    })
}
