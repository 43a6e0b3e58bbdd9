//! Usage look-ups for a plan: after the pure diff, for each delete and each auth-relevant
//! update, who depends on the connector in that environment (its connections, draft and
//! disabled included, and their connected accounts by status).
//!
//! Only the changes that need it are looked up: a plan without deletes or auth-relevant updates
//! sends no request at all. Within an environment the look-ups run concurrently, at most the
//! environment's `parallelism` requests at once; environments run side by side. The
//! app-connections listing (PREVIEW) is tried first, once alone: when it is missing, every
//! connector of the environment is found in one full listing (`include=all`) instead.
//!
//! A look-up that fails makes that connector's usage unknown, with the reason: never "unused".
//! It never writes, and what it keeps are counts (see `plan::usage`).

use crate::plan::usage::{ConnectionCounts, StatusCounts};
use crate::plan::{needs_usage, Plan, Usage};
use crate::remote::{AccountTally, AppConnection, Client, RemoteError, PROVIDER_FILTER_MAX};
use crate::settings::Environment;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::{Mutex, Semaphore};

/// Fills in `usage` on every change of `plan` that needs it, in the environments whose usage
/// look-ups are on. `connections` (each environment with its client) and `plan.environments`
/// are in the same order; an environment planned against a snapshot has no connection (its
/// usage is the snapshot's).
pub(super) async fn look_up(
    connections: &[Option<(&Environment, &Arc<Client>)>],
    plan: &mut Plan,
    default_budget: usize,
) {
    let mut set = tokio::task::JoinSet::new();
    for (e, (conn, env_plan)) in connections.iter().zip(&plan.environments).enumerate() {
        let Some((env, client)) = conn.filter(|(env, _)| env.usage) else {
            continue;
        };
        let targets: Vec<(usize, String)> = env_plan
            .changes
            .iter()
            .enumerate()
            .filter(|(_, c)| needs_usage(c))
            .filter_map(|(i, c)| Some((i, c.identifier()?.to_string())))
            .collect();
        if targets.is_empty() {
            continue;
        }
        let client = Arc::clone(client);
        let budget = env.parallelism.unwrap_or(default_budget).max(1);
        set.spawn(async move { (e, look_up_env(client, targets, budget).await) });
    }
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((e, found)) => {
                for (i, usage) in found {
                    plan.environments[e].changes[i].usage = Some(usage);
                }
            }
            Err(err) => tracing::error!("a usage look-up worker stopped unexpectedly: {err}"),
        }
    }
}

/// The usage of every connector of an environment (for a snapshot), with as few requests as
/// it takes: the full connections listing once, then the connected accounts of each connection
/// of these connectors, at most `budget` requests at once. Connections of other connectors
/// are never counted. A listing that fails makes every usage unknown, with the reason.
pub(super) async fn look_up_all(
    client: Arc<Client>,
    identifiers: Vec<String>,
    budget: usize,
) -> std::collections::HashMap<String, Usage> {
    let shared = Arc::new(Shared {
        client,
        budget: Semaphore::new(budget.max(1)),
        // Straight to the full listing: one request for all of them.
        app_missing: AtomicBool::new(true),
        all: Mutex::new(None),
        denied: std::sync::Mutex::new(None),
    });
    let mut set = tokio::task::JoinSet::new();
    for identifier in identifiers {
        let shared = shared.clone();
        set.spawn(async move {
            let usage = usage_of(&shared, &identifier).await;
            (identifier, usage)
        });
    }
    let mut out = std::collections::HashMap::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((identifier, usage)) => {
                out.insert(identifier, usage);
            }
            Err(err) => tracing::error!("a usage look-up stopped unexpectedly: {err}"),
        }
    }
    out
}

/// What one environment's look-ups share: the request budget, whether the app-connections
/// listing is missing, and the full listing once it has been read.
struct Shared {
    client: Arc<Client>,
    budget: Semaphore,
    app_missing: AtomicBool,
    all: Mutex<Option<Result<Vec<AppConnection>, String>>>,
    /// Why connections may not be read at all (the token lacks the permission): once known,
    /// no further connector is asked for.
    denied: std::sync::Mutex<Option<String>>,
}

async fn look_up_env(
    client: Arc<Client>,
    targets: Vec<(usize, String)>,
    budget: usize,
) -> Vec<(usize, Usage)> {
    let shared = Arc::new(Shared {
        client,
        budget: Semaphore::new(budget),
        app_missing: AtomicBool::new(false),
        all: Mutex::new(None),
        denied: std::sync::Mutex::new(None),
    });
    let mut out = Vec::with_capacity(targets.len());
    let mut rest = targets.into_iter();
    // The first alone: it finds out whether the app-connections listing exists, so that the
    // others do not all ask a missing endpoint.
    if let Some((i, identifier)) = rest.next() {
        out.push((i, usage_of(&shared, &identifier).await));
    }
    let mut set = tokio::task::JoinSet::new();
    for (i, identifier) in rest {
        let shared = shared.clone();
        set.spawn(async move { (i, usage_of(&shared, &identifier).await) });
    }
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(found) => out.push(found),
            Err(err) => tracing::error!("a usage look-up stopped unexpectedly: {err}"),
        }
    }
    out
}

/// The usage of one connector: its connections, then their connected accounts.
async fn usage_of(shared: &Arc<Shared>, identifier: &str) -> Usage {
    let mut list = match connections_of(shared, identifier).await {
        Ok(list) => list,
        Err(reason) => {
            return Usage::Unknown {
                reason: format!("its connections could not be listed: {reason}"),
            }
        }
    };
    // A connection listed twice (on two pages) is one connection.
    let mut ids = std::collections::HashSet::new();
    list.retain(|c| c.id.is_empty() || ids.insert(c.id.clone()));
    let mut connections = ConnectionCounts::default();
    for c in &list {
        connections.counts.add(&c.status, 1);
        if !c.enabled {
            connections.disabled += 1;
        }
    }
    // Several connections (or a listing that repeats one) may share a name: count each name once.
    let mut names: Vec<String> = list.iter().map(|c| c.name.clone()).collect();
    names.sort();
    names.dedup();
    names.retain(|n| !n.is_empty());
    let mut set = tokio::task::JoinSet::new();
    for name in names {
        let shared = shared.clone();
        set.spawn(async move {
            let _permit = shared.budget.acquire().await;
            shared.client.count_connected_accounts(&name).await
        });
    }
    let mut accounts = StatusCounts::default();
    let mut failure: Option<RemoteError> = None;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok(tally)) => add_tally(&mut accounts, &tally),
            Ok(Err(e)) => failure = failure.or(Some(e)),
            Err(err) => {
                return Usage::Unknown {
                    reason: format!("a look-up stopped unexpectedly: {err}"),
                }
            }
        }
    }
    if let Some(e) = failure {
        return Usage::Unknown {
            reason: format!("its connected accounts could not be counted: {e}"),
        };
    }
    Usage::Known {
        connections,
        connected_accounts: accounts,
    }
}

fn add_tally(counts: &mut StatusCounts, tally: &AccountTally) {
    for (status, n) in &tally.by_status {
        counts.add(status, *n);
    }
    counts.add("uncounted", tally.uncounted);
}

/// The connections of one connector: from the app-connections listing, or, when that is
/// missing, from the environment's full listing (read once, shared by every connector).
async fn connections_of(shared: &Shared, identifier: &str) -> Result<Vec<AppConnection>, String> {
    if let Some(reason) = shared.denied.lock().ok().and_then(|d| d.clone()) {
        return Err(reason);
    }
    if !shared.app_missing.load(Ordering::SeqCst) {
        let found = {
            let _permit = shared.budget.acquire().await;
            shared.client.app_connections(identifier).await
        };
        match found {
            Ok(Some(list)) => return Ok(list),
            Ok(None) => {}
            Err(e) => return Err(refused(shared, &e)),
        }
        // `None` for an identifier too long to filter by says nothing about the endpoint.
        if identifier.chars().count() <= PROVIDER_FILTER_MAX {
            shared.app_missing.store(true, Ordering::SeqCst);
        }
    }
    let mut all = shared.all.lock().await;
    if all.is_none() {
        let listed = {
            let _permit = shared.budget.acquire().await;
            shared.client.all_connections().await
        };
        *all = Some(listed.map_err(|e| refused(shared, &e)));
    }
    match all.as_ref().expect("just filled") {
        Ok(list) => Ok(list
            .iter()
            .filter(|c| c.belongs_to(identifier))
            .cloned()
            .collect()),
        Err(reason) => Err(reason.clone()),
    }
}

/// The reason a listing failed; a refusal of the token (401, 403) is remembered for the
/// environment and says how to turn the look-ups off.
fn refused(shared: &Shared, e: &RemoteError) -> String {
    if !matches!(e.status(), Some(401 | 403)) {
        return e.to_string();
    }
    let reason = format!(
        "{e}; if this environment's client may not read connections, set `usage: off` for it in skconn.yaml"
    );
    if let Ok(mut d) = shared.denied.lock() {
        d.get_or_insert_with(|| reason.clone());
    }
    reason
}

/// Why a saved plan (JSON) no longer matches the plan computed now, if it does not. Counts of
/// connections and accounts move all the time and do not matter; what apply would do does: a
/// delete that became blocked or unblocked refuses the saved plan, like any other difference.
pub(super) fn saved_plan_moved(saved: &Value, now: &Value) -> Option<String> {
    if saved == now {
        return None;
    }
    let (saved, now) = (without(saved, &["usage"]), without(now, &["usage"]));
    if saved == now {
        return None;
    }
    if without(&saved, &["blocked"]) == without(&now, &["blocked"]) {
        return Some(
            "a delete is blocked or unblocked now that was not when the plan was made (the connector's connections changed)".into(),
        );
    }
    Some("the plan computed now differs from the saved one (skconn.yaml changed?)".into())
}

/// The plan JSON without these keys on its changes (and without the digest, which a blocked
/// delete is part of: the changes themselves say what moved).
fn without(plan: &Value, keys: &[&str]) -> Value {
    let mut plan = plan.clone();
    for env in plan
        .get_mut("environments")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(obj) = env.as_object_mut() {
            obj.remove("plan_digest");
            obj.remove("digest_input");
        }
        for change in env
            .get_mut("changes")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(obj) = change.as_object_mut() {
                for k in keys {
                    obj.remove(*k);
                }
            }
        }
    }
    plan
}
