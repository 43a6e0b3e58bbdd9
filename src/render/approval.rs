//! What `--approved` found, for people (text, Markdown) and programs (JSON): per environment,
//! whether the fresh plan is the approved one, and if not what each would do and why they
//! differ. Pure: builds strings and values.

use crate::plan::approval::Check;
use crate::plan::digest::short;
use serde_json::{json, Value};
use std::fmt::Write;

/// What to do after a stop, in every format.
pub const HOW_TO_PROCEED: &str = "nothing was sent to this environment or any later one. Plan again, have the fresh plan reviewed, and apply it with its digest (`--approved ENV=DIGEST`); in CI, the manual run of the apply workflow (GitHub) or a pipeline run by hand on the default branch (GitLab) applies an environment's current plan after showing it";

fn list(changes: &[String]) -> String {
    if changes.is_empty() {
        "no changes".to_string()
    } else {
        changes.join(", ")
    }
}

/// The text of a check that did not match (for the error message and the terminal).
pub fn text(c: &Check) -> String {
    let mut s = format!(
        "environment {}: the plan differs from the approved plan",
        c.environment
    );
    match (&c.approved, &c.approved_changes) {
        (Some(d), Some(changes)) => {
            let _ = write!(
                s,
                "\n  approved: plan digest {} ({})",
                short(d),
                list(changes)
            );
        }
        (Some(d), None) => {
            let _ = write!(
                s,
                "\n  approved: plan digest {} (its changes are not at hand)",
                short(d)
            );
        }
        (None, _) => s.push_str("\n  approved: nothing"),
    }
    let _ = write!(
        s,
        "\n  fresh:    plan digest {} ({})",
        short(&c.fresh),
        list(&c.fresh_changes)
    );
    for r in &c.reasons {
        let _ = write!(s, "\n  - {}", r.message);
    }
    let _ = write!(s, "\n  {HOW_TO_PROCEED}");
    s
}

/// The Markdown block of a check that did not match.
pub fn markdown(c: &Check) -> String {
    let e = crate::output::escape::markdown;
    let mut s = format!(
        "> [!CAUTION]\n> **Environment `{}`: the plan differs from the approved plan.** Nothing was sent to it or to any later environment.\n>\n",
        e(&c.environment)
    );
    match (&c.approved, &c.approved_changes) {
        (Some(d), Some(changes)) => {
            let _ = writeln!(
                s,
                "> - approved: plan digest `{}`: {}",
                short(d),
                e(&list(changes))
            );
        }
        (Some(d), None) => {
            let _ = writeln!(
                s,
                "> - approved: plan digest `{}` (its changes are not at hand)",
                short(d)
            );
        }
        (None, _) => s.push_str("> - approved: nothing\n"),
    }
    let _ = writeln!(
        s,
        "> - fresh: plan digest `{}`: {}",
        short(&c.fresh),
        e(&list(&c.fresh_changes))
    );
    for r in &c.reasons {
        let _ = writeln!(s, "> - {}", e(&r.message));
    }
    let _ = writeln!(s, ">\n> **To proceed:** {}.\n", e(HOW_TO_PROCEED));
    s
}

/// The JSON form of a check (`environments[].approval` of a JSON plan made with `--approved`).
pub fn json(c: &Check) -> Value {
    json!({
        "approved_digest": c.approved,
        "matches": c.matches(),
        "approved_changes": c.approved_changes,
        "fresh_changes": c.fresh_changes,
        "reasons": c.reasons,
    })
}
