//! Carries out one environment's plan through `remote`: bounded, ordered, and honest about what
//! happened to every change.
//!
//! Order: creates and updates first (in parallel, bounded), deletes last, so that nothing is
//! removed before what replaces it exists. A create whose answer was lost is never blindly sent
//! again: the environment is listed and a connector of that name counts as created when it
//! holds what this run meant to write (the marker's hash); otherwise another writer got there
//! first, and the change is reported as a conflict. A delete the plan shows as blocked (the
//! connector still has connections) is never sent: it is reported with the steps that unblock it.
//!
//! A stop request (an interrupt) stops starting changes: those in flight finish, the rest are
//! reported as not attempted.

use crate::model::Live;
use crate::plan::{Action, Change, EnvPlan, What};
use crate::remote::{Client, RemoteError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Set when the run should stop starting changes (an interrupt).
pub type Stop = Arc<AtomicBool>;

/// What happened to one change.
#[derive(Debug, Clone)]
pub enum Status {
    Applied {
        note: Option<String>,
    },
    Failed(String),
    NotAttempted(String),
    /// Held back by the plan: a delete of a connector still in use, which the server refuses.
    /// Not sent; the text says what to do first.
    Blocked(String),
}

#[derive(Debug, Clone)]
pub struct ChangeOutcome {
    pub action: Action,
    pub display_name: String,
    pub status: Status,
    /// The connector as the server returned it after a create or update.
    pub written: Option<Live>,
    /// The change failed because another writer changed the same connector first.
    pub conflict: bool,
}

/// What happened in one environment.
#[derive(Debug, Clone)]
pub struct EnvOutcome {
    pub name: String,
    pub changes: Vec<ChangeOutcome>,
    /// A failure of the environment as a whole (e.g. it could not be reached).
    pub error: Option<String>,
}

impl EnvOutcome {
    /// (applied, failed, not attempted)
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for o in &self.changes {
            match o.status {
                Status::Applied { .. } => c.0 += 1,
                Status::Failed(_) => c.1 += 1,
                Status::NotAttempted(_) | Status::Blocked(_) => c.2 += 1,
            }
        }
        c
    }

    pub fn all_applied(&self) -> bool {
        self.error.is_none()
            && self
                .changes
                .iter()
                .all(|o| matches!(o.status, Status::Applied { .. }))
    }

    /// Whether something went wrong: an error, a failed change, a change not attempted. A
    /// blocked change was planned as such and is not a failure (later environments go on).
    pub fn has_failures(&self) -> bool {
        self.error.is_some()
            || self
                .changes
                .iter()
                .any(|o| matches!(o.status, Status::Failed(_) | Status::NotAttempted(_)))
    }

    /// Every change of `plan` marked as not attempted, for an environment that was skipped.
    pub fn skipped(plan: &EnvPlan, why: &str) -> EnvOutcome {
        EnvOutcome {
            name: plan.name.clone(),
            changes: plan
                .changes
                .iter()
                .map(|c| ChangeOutcome {
                    action: c.action(),
                    display_name: c.display_name.clone(),
                    status: Status::NotAttempted(why.to_string()),
                    written: None,
                    conflict: false,
                })
                .collect(),
            error: None,
        }
    }

    /// Whether some change met another writer.
    pub fn has_conflict(&self) -> bool {
        self.changes.iter().any(|o| o.conflict)
    }
}

/// Called after each change completes, with (done, total, what happened to it).
pub type OnProgress = Arc<dyn Fn(usize, usize, &ChangeOutcome) + Send + Sync>;

/// Why changes were not started after a stop request.
pub const STOPPED: &str = "skconn was interrupted before it started this change";

/// Applies one environment's plan with at most `parallelism` requests in flight. Once `stop`
/// is set, no further change is started.
pub async fn apply_env(
    client: Arc<Client>,
    plan: &EnvPlan,
    parallelism: usize,
    on_progress: OnProgress,
    stop: Stop,
) -> EnvOutcome {
    let total = plan.changes.len();
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut results: Vec<Option<ChangeOutcome>> = vec![None; total];
    let phases: [&[Action]; 2] = [
        &[Action::Create, Action::Adopt, Action::Update],
        &[Action::Delete],
    ];
    for actions in phases {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let sem = Arc::new(Semaphore::new(parallelism.max(1)));
        let mut set = tokio::task::JoinSet::new();
        for (i, change) in plan.changes.iter().enumerate() {
            if !actions.contains(&change.action()) {
                continue;
            }
            let (client, sem, change, done, on_progress, stop) = (
                client.clone(),
                sem.clone(),
                change.clone(),
                done.clone(),
                on_progress.clone(),
                stop.clone(),
            );
            set.spawn(async move {
                let _permit = sem.acquire_owned().await;
                if stop.load(Ordering::SeqCst) {
                    return (i, None);
                }
                let outcome = apply_change(&client, &change).await;
                let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                on_progress(n, total, &outcome);
                (i, Some(outcome))
            });
        }
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok((i, outcome)) => results[i] = outcome,
                Err(e) => tracing::error!("an apply worker stopped unexpectedly: {e}"),
            }
        }
    }
    let changes = plan
        .changes
        .iter()
        .zip(results)
        .map(|(c, r)| {
            r.unwrap_or_else(|| ChangeOutcome {
                action: c.action(),
                display_name: c.display_name.clone(),
                status: if stop.load(Ordering::SeqCst) {
                    Status::NotAttempted(STOPPED.into())
                } else {
                    Status::Failed("the worker applying it stopped unexpectedly".into())
                },
                written: None,
                conflict: false,
            })
        })
        .collect();
    EnvOutcome {
        name: plan.name.clone(),
        changes,
        error: None,
    }
}

async fn apply_change(client: &Client, change: &Change) -> ChangeOutcome {
    let mut written = None;
    let mut conflict = false;
    let status = match &change.what {
        What::Create { body, .. } => match create_once(client, &change.display_name, body).await
        {
            Ok((live, note)) => {
                written = Some(live);
                Status::Applied { note }
            }
            Err(CreateError::Conflict(msg)) => {
                conflict = true;
                Status::Failed(msg)
            }
            Err(CreateError::Failed(msg)) => Status::Failed(msg),
        },
        // Adopting is an update with the same content: it writes the marker.
        What::Update {
            identifier: id,
            body,
            ..
        }
        | What::Adopt {
            identifier: id,
            body,
            ..
        } => match client.update(id, body).await {
            Ok(live) => {
                written = Some(live);
                Status::Applied { note: None }
            }
            // A success status means it was carried out, whatever the body holds.
            Err(e) if e.is_unusable_success() => match find_by_identifier(client, id).await {
                Ok(Some(live)) => {
                    written = Some(live);
                    Status::Applied {
                        note: Some("the server's answer was unusable; listing confirmed it".into()),
                    }
                }
                Ok(None) => Status::Failed(format!(
                    "{e}; listing afterwards does not show identifier {id}"
                )),
                Err(list_err) => Status::Failed(format!(
                    "{e}; the server said it succeeded, but listing to confirm failed: {list_err}"
                )),
            },
            Err(e) => Status::Failed(e.to_string()),
        },
        What::Delete { .. } if crate::plan::usage::blocked(change) => {
            Status::Blocked(unblock_steps(change))
        }
        What::Delete { identifier: id } => {
            match client.delete(id).await {
                Ok(()) => Status::Applied { note: None },
                Err(e) if e.is_unusable_success() => Status::Applied {
                    note: Some("the server's answer was unusable, but it said it succeeded".into()),
                },
                Err(e) if e.is_not_found() => Status::Applied {
                    note: Some("it was already gone".into()),
                },
                Err(e) if e.is_in_use() || refused_delete(&e) => Status::Failed(format!(
                    "\"{}\" {} in use: {e}. Remove its connections and connected accounts in the Scalekit dashboard, then run apply again",
                    change.display_name,
                    if e.is_in_use() { "is still" } else { "may still be" }
                )),
                Err(e) => Status::Failed(e.to_string()),
            }
        }
    };
    ChangeOutcome {
        action: change.action(),
        display_name: change.display_name.clone(),
        status,
        written,
        conflict,
    }
}

/// Why a blocked delete was not sent, and what to do before it can be.
fn unblock_steps(change: &Change) -> String {
    let what = match &change.usage {
        Some(crate::plan::Usage::Known {
            connections,
            connected_accounts,
        }) => format!(
            "{} connection(s) with {} connected account(s)",
            connections.counts.total, connected_accounts.total
        ),
        _ => "connections".to_string(),
    };
    format!(
        "blocked: in use by {what}. To delete it: in the Scalekit dashboard, open the connector \"{}\" and its connections; delete each connection's connected accounts (their users lose access until they connect again), then delete the connections (draft and disabled ones too); then run skconn apply again",
        change.display_name
    )
}

/// A delete the server refused (a 4xx other than 404), or kept failing with a 5xx: the usual
/// reason is that the connector is still in use.
fn refused_delete(e: &RemoteError) -> bool {
    e.status().is_some_and(|s| {
        ((400..500).contains(&s) && !matches!(s, 401 | 404 | 429)) || (500..600).contains(&s)
    })
}

/// Why a create did not succeed.
enum CreateError {
    /// Another writer created a connector of that name with other content.
    Conflict(String),
    Failed(String),
}

/// Creates a connector exactly once. The client never repeats a create whose answer was lost
/// (it may have landed); here the environment is listed to find out. Found with the content
/// hash this run meant to write: it was created. Found with other content: another writer got
/// there first (a conflict). Not found: it provably was not created, so sending it again is
/// safe, up to `--max-attempts` tries. A 409 is checked the same way: it may be the echo of an
/// earlier try that landed.
async fn create_once(
    client: &Client,
    name: &str,
    body: &serde_json::Value,
) -> Result<(Live, Option<String>), CreateError> {
    let tries = client.max_attempts();
    let meant = crate::model::metadata_hash(body).map(str::to_string);
    let mut last = String::new();
    for attempt in 1..=tries {
        if attempt > 1 {
            tokio::time::sleep(client.backoff(attempt - 1)).await;
        }
        let e = match client.create(body).await {
            Ok(live) => {
                let note = (attempt > 1).then(|| format!("created on try {attempt}"));
                return Ok((live, note));
            }
            Err(e) if e.may_have_been_applied() || e.is_conflict() => e,
            Err(e) => return Err(CreateError::Failed(e.to_string())),
        };
        tracing::warn!(
            "create of \"{name}\" got no clear answer ({e}); listing to see whether it landed"
        );
        match find_named(client, name).await {
            Ok(Some(live)) => {
                let found = live.recorded_hash().map(str::to_string);
                if live.is_managed() && found.is_some() && found == meant {
                    let how = if e.is_conflict() {
                        "the server answered 409; listing found it created with this content"
                    } else {
                        "the server's answer was lost; listing found it created"
                    };
                    return Ok((live, Some(how.into())));
                }
                return Err(CreateError::Conflict(format!(
                    "conflict: another writer created \"{name}\" first with other content \
                     ({}); skconn did not overwrite it. Run plan to see the difference, then apply again to make it match the files",
                    match found {
                        Some(h) => format!("content hash {h}, this run meant {}", meant.as_deref().unwrap_or("?")),
                        None => "not written by skconn".into(),
                    }
                )));
            }
            Ok(None) if e.is_conflict() => return Err(CreateError::Failed(e.to_string())),
            Ok(None) => last = e.to_string(),
            Err(list_err) => {
                return Err(CreateError::Failed(format!(
                    "{e}; it is unknown whether it was created (listing failed: {list_err}); plan again to find out"
                )))
            }
        }
    }
    Err(CreateError::Failed(format!(
        "{last}; listing after each of {tries} tries showed it was not created, so it is safe to run apply again"
    )))
}

/// The live connector named `name`, if the environment has one.
async fn find_named(client: &Client, name: &str) -> Result<Option<Live>, RemoteError> {
    let live = client.list().await?;
    Ok(live.into_iter().find(|l| l.display_name == name))
}

/// The live connector with this identifier, if the environment has one.
async fn find_by_identifier(client: &Client, id: &str) -> Result<Option<Live>, RemoteError> {
    let live = client.list().await?;
    Ok(live.into_iter().find(|l| l.identifier == id))
}
