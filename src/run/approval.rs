//! `--approved` on `plan` and `apply`: the approvals from the command line, the approved plans
//! read from files, and the checks of a fresh plan against them.

use crate::base::error::{Error, Result};
use crate::cli::ApprovalArgs;
use crate::plan::approval::{self, Approved, Check};
use crate::plan::Plan;

/// The largest approval file read (`--approved @FILE`, `--approved-plan FILE`).
const MAX_APPROVAL_BYTES: u64 = 256 << 20;

/// An approval file's text, bounded.
fn read_file(file: &std::path::Path, what: &str) -> Result<String> {
    let too_large = std::fs::metadata(file)
        .map(|m| m.len() > MAX_APPROVAL_BYTES)
        .unwrap_or(false);
    if too_large {
        return Err(Error::Usage(format!(
            "the {what} {} is larger than {} MiB",
            file.display(),
            MAX_APPROVAL_BYTES >> 20
        )));
    }
    std::fs::read_to_string(file)
        .map_err(|e| Error::io(format!("cannot read the {what} {}", file.display()), e))
}

/// A JSON document read from `file`; a saved plan (`plan --out`) stands for the JSON plan it
/// holds under `plan`.
fn json_document(
    file: &std::path::Path,
    text: &str,
) -> std::result::Result<serde_json::Value, String> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "{}:{}:{}: not JSON: {e}",
            file.display(),
            e.line(),
            e.column()
        )
    })?;
    Ok(match doc.get("plan") {
        Some(inner)
            if doc.get("kind").and_then(|k| k.as_str()) == Some(crate::plan::saved::KIND) =>
        {
            inner.clone()
        }
        _ => doc,
    })
}

/// The approvals of `--approved @FILE`: `ENV=DIGEST` lines, or a JSON document (a JSON plan, a
/// saved plan, the file `skconn github approved --save` writes) whose environments' digests,
/// and digest inputs, are approved.
fn from_file(file: &std::path::Path) -> std::result::Result<Vec<Approved>, String> {
    let text = read_file(file, "approval file").map_err(|e| e.to_string())?;
    if text.trim_start().starts_with('{') {
        let doc = json_document(file, &text)?;
        return approval::from_document(&doc).map_err(|why| format!("{}: {why}", file.display()));
    }
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    if lines.is_empty() {
        return Err(format!(
            "{} is empty: it approves nothing (write ENV=DIGEST lines, or give a JSON plan)",
            file.display()
        ));
    }
    approval::parse(&lines).map_err(|p| format!("{}: {}", file.display(), p.join("; ")))
}

/// The approvals given, with the approved digest inputs found in `@FILE` documents and
/// `--approved-plan` files; `None` when `--approved` was not given. Every malformed value is
/// reported at once.
pub(super) fn read(args: &ApprovalArgs) -> Result<Option<Vec<Approved>>> {
    if args.approved.is_empty() {
        return Ok(None);
    }
    let mut approved: Vec<Approved> = Vec::new();
    let mut problems = Vec::new();
    let mut values = Vec::new();
    for value in &args.approved {
        match value.trim().strip_prefix('@') {
            Some(path) => match from_file(std::path::Path::new(path)) {
                Ok(list) => approval::merge(&mut approved, list, &mut problems),
                Err(why) => problems.push(why),
            },
            None => values.push(value.clone()),
        }
    }
    match approval::parse(&values) {
        Ok(list) => approval::merge(&mut approved, list, &mut problems),
        Err(p) => problems.extend(p),
    }
    if !problems.is_empty() {
        return Err(Error::Usage(format!("--approved: {}", problems.join("; "))));
    }
    for file in &args.approved_plan {
        let text = read_file(file, "approved plan")?;
        let doc = json_document(file, &text).map_err(Error::Usage)?;
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
