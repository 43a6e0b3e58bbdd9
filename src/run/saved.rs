//! Saved plans as `plan --out` writes them and `apply FILE` checks them.

use super::prepare::Prepared;
use crate::base::error::{Error, Result};
use crate::model::Desired;
use crate::output::secret;
use crate::plan::saved::{self, SavedPlan};
use crate::render;

/// The keyed fingerprint of what the selected environments want.
pub(super) fn inputs_fingerprint(salt: &str, p: &Prepared) -> String {
    let sets: Vec<(&str, &[u8], &[Desired])> = p
        .connections
        .iter()
        .zip(&p.desired)
        .map(|(c, d)| {
            (
                c.env.name.as_str(),
                c.plan_key.expose().as_bytes(),
                d.as_slice(),
            )
        })
        .collect();
    saved::inputs_fingerprint(salt, &sets)
}

/// A JSON value as it is written to a file: masked values replaced by `***`.
fn redacted_json(v: &serde_json::Value) -> serde_json::Value {
    let text = serde_json::to_string(v).unwrap_or_default();
    match secret::redact(&text) {
        std::borrow::Cow::Borrowed(_) => v.clone(),
        std::borrow::Cow::Owned(t) => serde_json::from_str(&t).unwrap_or_else(|_| v.clone()),
    }
}

/// What a saved plan's check found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Checked {
    /// Nothing moved: apply it.
    Current,
    /// The environments moved, the files did not, and they now match the files: the plan was
    /// already applied (by an earlier `apply FILE`, or otherwise).
    AlreadyApplied,
}

/// Loads a saved plan and checks that nothing it was made from has moved.
pub(super) fn check_saved(file: &std::path::Path, p: &Prepared) -> Result<Checked> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::io(format!("cannot read the saved plan {}", file.display()), e))?;
    let saved: SavedPlan = serde_json::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "{} is not a saved skconn plan: {e}",
            file.display()
        ))
    })?;
    if saved.kind != saved::KIND || saved.format_version != saved::FORMAT_VERSION {
        return Err(Error::Usage(format!(
            "{} is not a saved skconn plan of format {} (kind `{}`, format {})",
            file.display(),
            saved::FORMAT_VERSION,
            saved.kind,
            saved.format_version
        )));
    }
    let mut moved = Vec::new();
    let inputs_same = saved.inputs == inputs_fingerprint(&saved.salt, p);
    if !inputs_same {
        moved.push(
            "the connector files changed since the plan was made (or an environment's credentials did)"
                .to_string(),
        );
    }
    let names: Vec<&str> = p.connections.iter().map(|c| c.env.name.as_str()).collect();
    let saved_names: Vec<&str> = saved.environments.iter().map(|e| e.name.as_str()).collect();
    if names != saved_names {
        moved.push(format!(
            "the plan covers environments [{}] but this run selects [{}] (use the same --env flags)",
            saved_names.join(", "),
            names.join(", ")
        ));
    } else {
        for ((c, live), s) in p.connections.iter().zip(&p.lives).zip(&saved.environments) {
            let now = saved::keyed_live_fingerprint(
                &saved.salt,
                &c.env.name,
                c.plan_key.expose().as_bytes(),
                live,
            );
            if now != s.live {
                moved.push(format!(
                    "environment {} changed since the plan was made (someone or something wrote to it)",
                    c.env.name
                ));
            }
        }
    }
    if moved.is_empty() {
        let now = redacted_json(&render::json::plan(&p.plan));
        if let Some(why) = super::usage::saved_plan_moved(&saved.plan, &now) {
            moved.push(why);
        }
    }
    if moved.is_empty() {
        return Ok(Checked::Current);
    }
    let had_changes = saved.plan["environments"].as_array().is_some_and(|envs| {
        envs.iter()
            .any(|e| e["changes"].as_array().is_some_and(|c| !c.is_empty()))
    });
    if inputs_same && had_changes && !p.plan.has_changes() && p.plan.refused.is_empty() {
        return Ok(Checked::AlreadyApplied);
    }
    let mut msg = format!(
        "refusing to apply the saved plan {}; nothing was changed:",
        file.display()
    );
    for m in moved {
        msg.push_str("\n  - ");
        msg.push_str(&m);
    }
    msg.push_str("\nRun `skconn plan --out FILE` again, review it, and apply the new file.");
    Err(Error::Usage(msg))
}
