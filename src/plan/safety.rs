//! Safety checks on a plan, before anything is applied: protected connectors, empty input, and
//! a threshold on how much of an environment one plan may change. Pure.

pub use crate::settings::safety::{Policy, Threshold};

use crate::plan::{Action, EnvPlan};
use serde::Serialize;

/// Why one environment's plan is refused, and how to proceed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub environment: String,
    pub reason: String,
    pub how_to_proceed: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "environment {}: {}; {}",
            self.environment, self.reason, self.how_to_proceed
        )
    }
}

/// What the user allowed on the command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    /// `--force`: go past the change threshold.
    pub force: bool,
    /// `--allow-empty`: an empty or missing connectors folder may delete.
    pub allow_empty: bool,
}

/// Why a plan for one environment is refused; empty when it is safe.
pub fn check(
    env: &EnvPlan,
    input_is_empty: bool,
    policy: &Policy,
    allow: Overrides,
) -> Vec<Refusal> {
    check_with(env, input_is_empty, policy, allow, &[])
}

/// [`check`], where `approved` names changes (action and display name) that an earlier apply
/// with `--force` was approved to make but did not finish (it was interrupted): they do not
/// count toward the threshold again, so the rerun that completes that apply is not blocked.
pub fn check_with(
    env: &EnvPlan,
    input_is_empty: bool,
    policy: &Policy,
    allow: Overrides,
    approved: &[(Action, String)],
) -> Vec<Refusal> {
    let refusal = |reason: String, how: String| Refusal {
        environment: env.name.clone(),
        reason,
        how_to_proceed: how,
    };
    let mut reasons = Vec::new();
    let counted = |c: &&crate::plan::Change| {
        !approved
            .iter()
            .any(|(a, n)| *a == c.action() && *n == c.display_name)
    };
    let deletes: Vec<&str> = env
        .changes
        .iter()
        .filter(|c| c.action() == Action::Delete)
        .map(|c| c.display_name.as_str())
        .collect();
    let counted_deletes = env
        .changes
        .iter()
        .filter(|c| c.action() == Action::Delete)
        .filter(counted)
        .count();
    let updates = env
        .changes
        .iter()
        .filter(|c| c.action() == Action::Update)
        .filter(counted)
        .count();

    for name in &deletes {
        if policy.protect.iter().any(|p| p == name) {
            reasons.push(refusal(
                format!("\"{name}\" is protected (skconn.yaml `protect:`) and cannot be deleted"),
                format!("restore its file, or remove \"{name}\" from `protect` in skconn.yaml if it really must go"),
            ));
        }
    }
    if input_is_empty && !deletes.is_empty() && !allow.allow_empty {
        reasons.push(refusal(
            format!(
                "the connectors folder is empty or missing, and the plan would delete {} connector(s)",
                deletes.len()
            ),
            "check that the job checked out the repository; if deleting them is really meant, pass --allow-empty".into(),
        ));
    }
    let managed = env.managed_live;
    if !allow.force && managed >= policy.min_managed_for_threshold && managed > 0 {
        let limit = policy.max_change_percent as usize;
        for (count, what) in [(counted_deletes, "delete"), (updates, "update")] {
            if count * 100 > managed * limit {
                reasons.push(refusal(
                    format!(
                        "the plan would {what} {count} of {managed} managed connectors ({}%), more than the {limit}% allowed",
                        count * 100 / managed
                    ),
                    "review it and pass --force to go ahead (or set `change_threshold` for this environment in skconn.yaml)".into(),
                ));
            }
        }
    }
    reasons
}
