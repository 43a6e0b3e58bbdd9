//! skconn on GitHub: the pull-request comment that shows every environment's plan and its
//! digest (`skconn github comment`), and reading back, on a push to main, what the merged pull
//! request's comment approved (`skconn github approved`).
//!
//! - `context`: the job's variables and event file (no I/O beyond reading them).
//! - `client`: GitHub's REST API, with retries, rate limits and pagination.
//! - `comment`: the comment's body from JSON plans (pure), shortened to GitHub's limit.
//! - `markers`: the hidden lines the comment carries, written and read back (pure).
//! - `approved`: which pull request, which comment, which digests (pure).
//! - `apply_comment`: the comment an apply on main leaves when it stopped or failed (pure).
//! - `artifacts`: the snapshot artifacts of the default branch, found, downloaded, unzipped.
//!
//! This room depends downward only: on `render` (the plan's Markdown, the JSON plan reader),
//! `plan` types, `secret`, `escape` and the retry timing of `remote`. It never writes to the
//! terminal or to files (`run::github` does), and never trusts a comment it did not write.

pub mod apply_comment;
pub mod approved;
pub mod artifacts;
pub mod client;
pub mod comment;
pub mod context;
pub mod markers;

pub use client::{Artifact, CallInfo, Comment, Github, PullRequest, StatusError, TransportFailure};
pub use context::{Actions, PullEvent, RepoName};

use crate::remote::TransportKind;
use crate::render::markdown::PLAN_MARKER;
use std::time::Duration;

/// What can go wrong talking to GitHub, or with what it answers.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// The job's context (variables, event file) is missing something or cannot be used.
    #[error("{0}")]
    Context(String),
    /// GitHub answered with an error status.
    #[error("{}", describe_status(.0))]
    Status(Box<StatusError>),
    /// No (complete) answer.
    #[error("{}", describe_transport(.0))]
    Transport(Box<TransportFailure>),
    /// GitHub asked for a longer wait than `--max-wait`.
    #[error("GitHub rate limited {call} and asked to wait {}, longer than --max-wait ({}): run again later, or raise --max-wait", crate::remote::error_seconds(*.wait), crate::remote::error_seconds(*.max_wait))]
    Throttled {
        call: CallInfo,
        wait: Duration,
        max_wait: Duration,
    },
    /// A success answer that is not what GitHub documents.
    #[error("GitHub's answer to {call} cannot be used: {detail}")]
    Unusable { call: String, detail: String },
    /// `github approved` found nothing it can trust as approved.
    #[error("{0}")]
    NotApproved(String),
}

impl GithubError {
    /// A 403 "Resource not accessible by integration": the token may read but not write (a
    /// pull request from a fork, or a job without `pull-requests: write`).
    pub fn is_read_only(&self) -> bool {
        matches!(self, GithubError::Status(s) if s.status == 403
            && s.message.as_deref().is_some_and(|m| m.contains("not accessible by integration")))
    }

    /// A write that failed in a way that leaves open whether GitHub carried it out.
    pub fn may_have_been_applied(&self) -> bool {
        match self {
            GithubError::Status(s) => s.maybe_applied,
            GithubError::Transport(t) => t.maybe_applied,
            _ => false,
        }
    }
}

fn attempts(call: &CallInfo) -> String {
    if call.attempts <= 1 {
        String::new()
    } else {
        format!(
            " (after {} attempts in {})",
            call.attempts,
            crate::remote::error_seconds(call.elapsed)
        )
    }
}

fn describe_status(s: &StatusError) -> String {
    let said = s
        .message
        .as_deref()
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    let mut out = match s.status {
        401 => format!(
            "GitHub refused the token on {}{said} (401): GITHUB_TOKEN (or GH_TOKEN) is not a valid token for this GitHub; \
             in a workflow, pass the job's own: `GITHUB_TOKEN: ${{{{ github.token }}}}`",
            s.call
        ),
        403 if s.message.as_deref().is_some_and(|m| m.contains("not accessible by integration")) => format!(
            "GitHub refused {}{said} (403): the token may not do this; the job needs `permissions: {}`",
            s.call,
            if s.call.path.contains("/actions/") { "actions: read" } else { "pull-requests: write" }
        ),
        404 => format!(
            "GitHub answered 404 to {}{said}: the repository, pull request or comment does not exist, or the token may not see it",
            s.call
        ),
        status => format!("GitHub answered {status} to {}{said}", s.call),
    };
    out.push_str(&attempts(&s.call));
    if let Some(id) = &s.request_id {
        out.push_str(&format!(" [request id {id}]"));
    }
    if s.maybe_applied {
        out.push_str("; GitHub may have carried it out");
    }
    out
}

fn describe_transport(t: &TransportFailure) -> String {
    let what = match t.kind {
        TransportKind::Connect => "could not connect",
        TransportKind::Timeout => "timed out",
        TransportKind::Dropped => "lost the connection",
        TransportKind::Tls => "failed the TLS handshake (is the CA trusted? see --ca-file)",
        TransportKind::Proxy => "failed at the proxy",
        TransportKind::TooLarge => "got an answer too large to read",
        TransportKind::Other => "failed",
    };
    format!(
        "{} to GitHub {what}: {}{}{}",
        t.call,
        t.detail,
        attempts(&t.call),
        if t.maybe_applied {
            "; GitHub may have carried it out"
        } else {
            ""
        }
    )
}

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
