//! `--approved` on `plan` and `apply`: the approvals from the command line, the approved plans
//! read from files, and the checks of a fresh plan against them.

use crate::cli::ApprovalArgs;
use crate::error::{Error, Result};
use crate::plan::approval::{self, Approved, Check};
use crate::plan::Plan;

/// The approvals given, with the approved digest inputs found in `--approved-plan` files;
/// `None` when `--approved` was not given. Every malformed value is reported at once.
pub(super) fn read(args: &ApprovalArgs) -> Result<Option<Vec<Approved>>> {
    if args.approved.is_empty() {
        return Ok(None);
    }
    let mut approved = approval::parse(&args.approved)
        .map_err(|problems| Error::Usage(format!("--approved: {}", problems.join("; "))))?;
    for file in &args.approved_plan {
        let text = std::fs::read_to_string(file).map_err(|e| {
            Error::io(
                format!("cannot read the approved plan {}", file.display()),
                e,
            )
        })?;
        let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Error::Usage(format!(
                "the approved plan {} is not JSON: {e}",
                file.display()
            ))
        })?;
        // A saved plan (`plan --out`) holds the JSON plan under `plan`.
        let doc = match doc.get("plan") {
            Some(inner)
                if doc.get("kind").and_then(|k| k.as_str()) == Some(crate::plan::saved::KIND) =>
            {
                inner.clone()
            }
            _ => doc,
        };
        if approval::attach_inputs(&mut approved, &doc) == 0 {
            tracing::warn!(
                "{} holds no approved plan with an approved digest: differences are compared by digest only",
                file.display()
            );
        }
    }
    Ok(Some(approved))
}

/// Checks every environment of the plan, in order, against its approval.
pub(super) fn check(plan: &Plan, approved: &[Approved]) -> Vec<Check> {
    plan.environments
        .iter()
        .map(|e| approval::check(e, approved.iter().find(|a| a.environment == e.name)))
        .collect()
}

/// Approvals for environments that are not in the plan: a typo, or an environment left out.
pub(super) fn unknown_environments(plan: &Plan, approved: &[Approved]) -> Result<()> {
    let unknown: Vec<&str> = approved
        .iter()
        .filter(|a| !plan.environments.iter().any(|e| e.name == a.environment))
        .map(|a| a.environment.as_str())
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "--approved names environment(s) this command does not plan: {} (planned: {})",
        unknown.join(", "),
        plan.environments
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// The error of the first check that does not match, with every non-matching check's text.
pub(super) fn differs(checks: &[Check]) -> Option<Error> {
    let texts: Vec<String> = checks
        .iter()
        .filter(|c| !c.matches())
        .map(crate::render::approval::text)
        .collect();
    if texts.is_empty() {
        None
    } else {
        Some(Error::Differs(texts.join("\n")))
    }
}
