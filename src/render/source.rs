//! Where an environment's live side came from, as every format says it at the top of that
//! environment: "planned against the snapshot of prod taken 2026-12-03 09:12 UTC, 3 h ago".
//! A live plan says nothing. The age is counted from the time the plan is shown.

use crate::base::time;
use crate::plan::{EnvPlan, Source};

/// What usage lines add in an environment planned against a snapshot.
pub const USAGE_NOTE: &str = " (counts from the snapshot)";

/// `planned against the snapshot of prod taken 2026-12-03 09:12 UTC, 3 h ago`, for an
/// environment planned against a snapshot; `None` for a live one.
pub fn phrase(env: &EnvPlan) -> Option<String> {
    let Source::Snapshot { taken_at } = &env.source else {
        return None;
    };
    let now = time::unix_secs(std::time::SystemTime::now());
    Some(match time::parse_rfc3339(taken_at) {
        Some(t) => format!(
            "planned against the snapshot of {} taken {}, {}",
            env.name,
            time::readable(t),
            time::ago(now.saturating_sub(t))
        ),
        None => format!(
            "planned against the snapshot of {} taken {}",
            env.name,
            crate::output::escape::inert(taken_at)
        ),
    })
}

/// Whether usage counts in this environment come from a snapshot.
pub fn from_snapshot(env: &EnvPlan) -> bool {
    matches!(env.source, Source::Snapshot { .. })
}

/// The phrase with its first letter upper case, to start a sentence.
pub fn sentence(env: &EnvPlan) -> Option<String> {
    phrase(env).map(|p| {
        let mut c = p.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default()
    })
}
