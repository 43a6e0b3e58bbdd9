//! What can go wrong talking to GitHub: the error of every call, the request it is about, and
//! how it is said to a user. It never makes a request and never holds a token.

pub use crate::forge::CallInfo;
use crate::forge::{attempts, transport_words};
use crate::remote::TransportKind;
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
    let what = transport_words(t.kind);
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

/// An answer with an error status.
#[derive(Debug, Clone)]
pub struct StatusError {
    pub call: CallInfo,
    pub status: u16,
    /// GitHub's `message` (made inert), and its `documentation_url`.
    pub message: Option<String>,
    pub documentation_url: Option<String>,
    /// `x-github-request-id`, for GitHub's support.
    pub request_id: Option<String>,
    /// A create answered 5xx: GitHub may have written it all the same.
    pub maybe_applied: bool,
}

/// A request that got no (complete) answer.
#[derive(Debug, Clone)]
pub struct TransportFailure {
    pub call: CallInfo,
    pub kind: TransportKind,
    pub detail: String,
    pub maybe_applied: bool,
}
