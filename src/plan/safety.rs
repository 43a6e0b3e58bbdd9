//! Safety checks on a plan, before anything is applied: protected connectors, empty input, and
//! a threshold on how much of an environment one plan may change. Pure.

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

/// An environment's safety settings.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Display names no plan may delete, whatever the flags.
    pub protect: Vec<String>,
    /// Refuse when more than this share (in percent) of the managed connectors would be
    /// deleted, or updated…
    pub max_change_percent: u32,
    /// …in an environment holding at least this many managed connectors.
    pub min_managed_for_threshold: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            protect: Vec::new(),
            max_change_percent: 30,
            min_managed_for_threshold: 10,
        }
    }
}

/// An environment's change threshold in skconn.yaml: `{percent: 30, min_managed: 10}` (the
/// defaults) or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    Off,
    On { percent: u32, min_managed: usize },
}

impl Threshold {
    /// Reads the `change_threshold` value of skconn.yaml.
    pub fn from_yaml(v: &serde_yaml::Value) -> Result<Threshold, String> {
        use serde_yaml::Value as Y;
        let d = Policy::default();
        match v {
            Y::String(s) if s == "off" => Ok(Threshold::Off),
            Y::Bool(false) => Ok(Threshold::Off),
            Y::Mapping(m) => {
                let mut percent = d.max_change_percent;
                let mut min_managed = d.min_managed_for_threshold;
                for (k, v) in m {
                    match (k.as_str(), v.as_u64()) {
                        (Some("percent"), Some(p)) if p <= 100 => percent = p as u32,
                        (Some("percent"), _) => {
                            return Err("`percent` must be a whole number from 0 to 100".into())
                        }
                        (Some("min_managed"), Some(n)) => min_managed = n as usize,
                        (Some("min_managed"), None) => {
                            return Err("`min_managed` must be a whole number".into())
                        }
                        (k, _) => {
                            return Err(format!(
                                "unknown key `{}` in change_threshold; the keys are `percent` and `min_managed`",
                                k.unwrap_or("?")
                            ))
                        }
                    }
                }
                Ok(Threshold::On {
                    percent,
                    min_managed,
                })
            }
            _ => {
                Err("change_threshold must be a map `{percent: P, min_managed: N}` or `off`".into())
            }
        }
    }

    /// This threshold applied to a policy.
    pub fn apply_to(self, mut policy: Policy) -> Policy {
        match self {
            Threshold::Off => {
                policy.max_change_percent = 100;
                policy.min_managed_for_threshold = usize::MAX;
            }
            Threshold::On {
                percent,
                min_managed,
            } => {
                policy.max_change_percent = percent;
                policy.min_managed_for_threshold = min_managed;
            }
        }
        policy
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
            .any(|(a, n)| *a == c.action && *n == c.display_name)
    };
    let deletes: Vec<&str> = env
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .map(|c| c.display_name.as_str())
        .collect();
    let counted_deletes = env
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .filter(counted)
        .count();
    let updates = env
        .changes
        .iter()
        .filter(|c| c.action == Action::Update)
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
