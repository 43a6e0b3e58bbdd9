//! skconn on GitHub: the pull-request comment that shows every environment's plan and its
//! digest (`skconn github comment`), and reading back, on a push to main, what the merged pull
//! request's comment approved (`skconn github approved`).
//!
//! - `context`: the job's variables and event file (no I/O beyond reading them).
//! - `client`: GitHub's REST API, with retries, rate limits and pagination.
//! - `comment`: the comment's body from JSON plans (pure), shortened to GitHub's limit.
//! - `error`: what can go wrong, and how it is said.
//! - `markers`: the hidden lines the comment carries, written and read back (pure).
//! - `approved`: which pull request, which comment, which digests (pure).
//! - `apply_comment`: the comment an apply on main leaves when it stopped or failed (pure).
//! - `artifacts`: the snapshot artifacts of the default branch, found, downloaded, unzipped.
//!
//! This room depends downward only: on `render` (the plan's Markdown, the JSON plan reader),
//! `plan` types, `output` (secrets, inert text), the HTTP client and retry loop it shares with
//! `gitlab` (`forge`) and the retry timing of `remote`. It never writes to the
//! terminal or to files (`run::github` does), and never trusts a comment it did not write.

pub mod apply_comment;
pub mod approved;
pub mod artifacts;
pub mod client;
pub mod comment;
pub mod context;
pub mod error;
pub mod markers;

pub use client::{Artifact, Comment, Github, PullRequest};
pub use context::{Actions, PullEvent, RepoName};
pub use error::{CallInfo, GithubError, StatusError, TransportFailure};

use crate::render::markdown::PLAN_MARKER;

/// What `write_comment` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Created,
    Updated,
    /// The comment already held this body.
    Unchanged,
}

/// Creates or updates skconn's one comment on pull request `number` (the first comment by the
/// bot `author` that starts with the plan marker). A create whose outcome is unknown (a 5xx, a
/// timeout) is never repeated blindly: the comments are listed again, and the one found is
/// updated, so that a pull request never gets a second skconn comment.
pub async fn write_comment(
    gh: &Github,
    repo: &RepoName,
    number: u64,
    author: &str,
    body: &str,
) -> Result<(Written, Comment), GithubError> {
    write_marked_comment(gh, repo, number, author, PLAN_MARKER, body).await
}

/// Creates or updates the comment by the bot `author` whose first line is `marker` (the plan
/// comment's, or an environment's apply comment's), as [`write_comment`] does.
pub async fn write_marked_comment(
    gh: &Github,
    repo: &RepoName,
    number: u64,
    author: &str,
    marker: &str,
    body: &str,
) -> Result<(Written, Comment), GithubError> {
    let mut tries = 0u32;
    loop {
        tries += 1;
        let comments = gh.comments(repo, number).await?;
        if let Some(c) = approved::bot_comment(&comments, author, marker) {
            if c.body == crate::output::secret::redact(body) {
                return Ok((Written::Unchanged, c.clone()));
            }
            let c = gh.update_comment(repo, c.id, body).await?;
            return Ok((Written::Updated, c));
        }
        match gh.create_comment(repo, number, body).await {
            Ok(c) => return Ok((Written::Created, c)),
            Err(e) if e.may_have_been_applied() && tries < gh.max_attempts() => {
                let wait = gh.backoff(tries);
                tracing::warn!(error = %e, attempt = tries, wait_ms = wait.as_millis() as u64,
                    "creating the comment may or may not have worked; listing the comments again before trying again");
                tokio::time::sleep(wait).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// What the pull request merged as `sha` approved, read from skconn's comment on it.
pub async fn find_approval(
    gh: &Github,
    repo: &RepoName,
    sha: &str,
    author: &str,
    asked: &[String],
) -> Result<approved::Approval, GithubError> {
    let pulls = gh.pulls_of_commit(repo, sha).await?;
    let pull = approved::merged_pull(&pulls, sha)?;
    let comments = gh.comments(repo, pull.number).await?;
    let Some(comment) = approved::trusted_comment(&comments, author) else {
        let others = approved::lookalikes(&comments, author);
        let also = if others.is_empty() {
            String::new()
        } else {
            let who: Vec<String> = others
                .iter()
                .map(|c| {
                    format!(
                        "{} ({})",
                        crate::output::escape::inert(&c.login),
                        crate::output::escape::inert(&c.user_type)
                    )
                })
                .collect();
            format!(
                "; comments by {} carry skconn's marker, but only a comment written by the bot {author} is trusted",
                who.join(", ")
            )
        };
        return Err(GithubError::NotApproved(format!(
            "pull request #{} has no skconn plan comment written by {author}{also}: nothing is approved. \
             (An App token writes as its own bot: name it with --author.)",
            pull.number
        )));
    };
    approved::approve(comment, pull, asked)
}
