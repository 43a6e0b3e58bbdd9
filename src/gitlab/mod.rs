//! skconn on GitLab: the merge-request note that shows every environment's plan and its
//! digest (`skconn gitlab note`), and reading back, on the default branch after a merge, what
//! the merged merge request's note approved (`skconn gitlab approved`); the client also reads
//! the snapshot a merge request's plan job plans against (`skconn gitlab snapshot`). When an
//! apply on the default branch stops, `skconn gitlab note` keeps one note per environment on
//! the merged merge request saying why (`write_marked_note`; the body is
//! `github::apply_comment`'s, in GitLab's words).
//!
//! The note is GitHub's comment, byte for byte: the same body, marker and hidden lines, built
//! by `github::comment` and read back by `github::markers` and `github::approved::approve_body`
//! (which both rooms share); only the transport and who is trusted differ.
//!
//! - `context`: the job's CI variables and the token (no I/O beyond reading them).
//! - `client`: GitLab's REST API (v4), with retries and bounded pagination.
//!
//! This room depends downward only: on the pure parts of `github` named above, the HTTP client
//! and retry loop it shares with `github` (`forge`), `secret`, `escape` and `remote`'s
//! transport helpers. It never writes to the terminal or to files
//! (`run::gitlab` does), and never trusts a note its token's user did not write.

pub mod client;
pub mod context;

pub use crate::forge::CallInfo;
pub use client::{Gitlab, MergeRequest, Note};
pub use context::{Pipeline, TOKEN_VARIABLE};

use crate::forge::{attempts, transport_words};
use crate::github::approved::{self, Approval, Review};
use crate::github::Written;
use crate::remote::TransportKind;
use crate::render::markdown::PLAN_MARKER;
use std::time::Duration;

/// GitLab's limit on a note's body, in characters (kept with the other limits of a body, in
/// `github::comment`).
pub const NOTE_LIMIT: usize = crate::github::comment::GITLAB_NOTE_LIMIT;

/// What can go wrong talking to GitLab, or with what it answers.
#[derive(Debug, thiserror::Error)]
pub enum GitlabError {
    /// The job's context (variables) is missing something or cannot be used.
    #[error("{0}")]
    Context(String),
    /// GitLab answered with an error status.
    #[error("{}", describe_status(call, *status, message.as_deref(), *maybe_applied))]
    Status {
        call: CallInfo,
        status: u16,
        message: Option<String>,
        maybe_applied: bool,
    },
    /// No (complete) answer.
    #[error("{call} to GitLab {}: {detail}{}{}", transport_words(*kind), attempts(call), if *maybe_applied { "; GitLab may have carried it out" } else { "" })]
    Transport {
        call: CallInfo,
        kind: TransportKind,
        detail: String,
        maybe_applied: bool,
    },
    /// GitLab asked for a longer wait than `--max-wait`.
    #[error("GitLab rate limited {call} and asked to wait {}, longer than --max-wait ({}): run again later, or raise --max-wait", crate::remote::error_seconds(*.wait), crate::remote::error_seconds(*.max_wait))]
    Throttled {
        call: CallInfo,
        wait: Duration,
        max_wait: Duration,
    },
    /// A success answer that is not what GitLab documents.
    #[error("GitLab's answer to {call} cannot be used: {detail}")]
    Unusable { call: String, detail: String },
    /// `gitlab approved` found nothing it can trust as approved.
    #[error("{0}")]
    NotApproved(String),
}

impl GitlabError {
    /// A write that failed in a way that leaves open whether GitLab carried it out.
    pub fn may_have_been_applied(&self) -> bool {
        match self {
            GitlabError::Status { maybe_applied, .. }
            | GitlabError::Transport { maybe_applied, .. } => *maybe_applied,
            _ => false,
        }
    }
}

fn describe_status(call: &CallInfo, status: u16, message: Option<&str>, maybe: bool) -> String {
    let said = message.map(|m| format!(": {m}")).unwrap_or_default();
    let mut out = match status {
        401 => format!(
            "GitLab refused the token on {call}{said} (401): {TOKEN_VARIABLE} is not a valid token for this GitLab \
             (a project access token with the `api` scope; it may have expired or been revoked)"
        ),
        403 => format!(
            "GitLab refused {call}{said} (403): the token may not do this; it needs the `api` scope and at least the Reporter role"
        ),
        404 => format!(
            "GitLab answered 404 to {call}{said}: the project or merge request does not exist, or the token may not see it"
        ),
        _ => format!("GitLab answered {status} to {call}{said}"),
    };
    out.push_str(&attempts(call));
    if maybe {
        out.push_str("; GitLab may have carried it out");
    }
    out
}

/// Whether a note's first line is skconn's plan marker.
fn is_plan_note(n: &Note) -> bool {
    is_marked(n, PLAN_MARKER)
}

/// Whether a note's first line is `marker` (the plan note's, or an environment's apply note's).
fn is_marked(n: &Note, marker: &str) -> bool {
    !n.system && n.body.lines().next().map(str::trim_end) == Some(marker)
}

/// skconn's note among a merge request's notes: the first that starts with the plan marker and
/// was written by `author` (GitLab usernames are case-insensitive).
pub fn trusted_note<'a>(notes: &'a [Note], author: &str) -> Option<&'a Note> {
    notes
        .iter()
        .find(|n| is_plan_note(n) && n.author.eq_ignore_ascii_case(author))
}

/// Notes that carry the marker but are not by `author`: not trusted.
pub fn lookalikes<'a>(notes: &'a [Note], author: &str) -> Vec<&'a Note> {
    notes
        .iter()
        .filter(|n| is_plan_note(n) && !n.author.eq_ignore_ascii_case(author))
        .collect()
}

/// The merge request whose merge produced `sha`: merged, and `sha` is its merge commit, its
/// squash commit, or (a fast-forward merge, which GitLab records with no merge commit) its
/// head.
pub fn merged_request<'a>(
    requests: &'a [MergeRequest],
    sha: &str,
) -> Result<&'a MergeRequest, GitlabError> {
    let merged: Vec<&MergeRequest> = requests
        .iter()
        .filter(|m| {
            m.state == "merged"
                && (m.merge_commit_sha.as_deref() == Some(sha)
                    || m.squash_commit_sha.as_deref() == Some(sha)
                    || (m.merge_commit_sha.is_none() && m.sha == sha))
        })
        .collect();
    match merged.as_slice() {
        [one] => Ok(one),
        [] => {
            let others: Vec<String> = requests.iter().map(|m| format!("!{}", m.iid)).collect();
            let also = if others.is_empty() {
                String::new()
            } else {
                format!(
                    " (GitLab lists {} with this commit, none merged as it)",
                    others.join(", ")
                )
            };
            Err(GitlabError::NotApproved(format!(
                "no merge request was merged as commit {sha}{also}: a push that is not a merge request's merge has no reviewed plan, so nothing is approved. \
                 To apply it, run a pipeline by hand on the default branch (Build → Pipelines → Run pipeline): it applies each environment's current plan, shown in its log."
            )))
        }
        many => Err(GitlabError::NotApproved(format!(
            "several merge requests ({}) name commit {sha} as their merge; skconn cannot tell which was reviewed, so nothing is approved",
            many.iter().map(|m| format!("!{}", m.iid)).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Creates or updates skconn's one note on merge request `iid` (the first note by `author`
/// that starts with the plan marker). A create whose outcome is unknown (a 5xx, a timeout) is
/// never repeated blindly: the notes are listed again, and the one found is updated, so that a
/// merge request never gets a second skconn note.
pub async fn write_note(
    gl: &Gitlab,
    project: &str,
    iid: u64,
    author: &str,
    body: &str,
) -> Result<(Written, Note), GitlabError> {
    write_marked_note(gl, project, iid, author, PLAN_MARKER, body).await
}

/// Creates or updates the note by `author` whose first line is `marker` (the plan note's, or
/// an environment's apply note's, `github::apply_comment::marker`), as [`write_note`] does.
pub async fn write_marked_note(
    gl: &Gitlab,
    project: &str,
    iid: u64,
    author: &str,
    marker: &str,
    body: &str,
) -> Result<(Written, Note), GitlabError> {
    let mut tries = 0u32;
    loop {
        tries += 1;
        let notes = gl.notes(project, iid).await?;
        let mine = notes
            .iter()
            .find(|n| is_marked(n, marker) && n.author.eq_ignore_ascii_case(author));
        if let Some(n) = mine {
            if n.body == crate::output::secret::redact(body) {
                return Ok((Written::Unchanged, n.clone()));
            }
            let n = gl.update_note(project, iid, n.id, body).await?;
            return Ok((Written::Updated, n));
        }
        match gl.create_note(project, iid, body).await {
            Ok(n) => return Ok((Written::Created, n)),
            Err(e) if e.may_have_been_applied() && tries < gl.max_attempts() => {
                let wait = gl.backoff(tries);
                tracing::warn!(error = %e, attempt = tries, wait_ms = wait.as_millis() as u64,
                    "creating the note may or may not have worked; listing the notes again before trying again");
                tokio::time::sleep(wait).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// What the merge request merged as `sha` approved, read from skconn's note on it.
pub async fn find_approval(
    gl: &Gitlab,
    project: &str,
    sha: &str,
    author: &str,
    asked: &[String],
) -> Result<(Approval, MergeRequest), GitlabError> {
    let requests = gl.merge_requests_of_commit(project, sha).await?;
    let mr = merged_request(&requests, sha)?.clone();
    let notes = gl.notes(project, mr.iid).await?;
    let Some(note) = trusted_note(&notes, author) else {
        let others = lookalikes(&notes, author);
        let also = if others.is_empty() {
            String::new()
        } else {
            let who: Vec<String> = others
                .iter()
                .map(|n| crate::output::escape::inert(&n.author).into_owned())
                .collect();
            format!(
                "; notes by {} carry skconn's marker, but only a note written by {author} is trusted",
                who.join(", ")
            )
        };
        return Err(GitlabError::NotApproved(format!(
            "merge request !{} has no skconn plan note written by {author}{also}: nothing is approved. \
             (The note job writes it with {TOKEN_VARIABLE}; its user is the one trusted, or name another with --author.)",
            mr.iid
        )));
    };
    let review = Review {
        kind: "merge request",
        reference: format!("!{}", mr.iid),
        plan_run: "pipeline",
        number: mr.iid,
        final_head: &mr.sha,
        by_hand: "Run a pipeline by hand on the default branch (Build → Pipelines → Run pipeline): it applies each environment's current plan, shown in its log.",
        url: mr.web_url.as_ref().map(|u| format!("{u}#note_{}", note.id)),
    };
    let approval =
        approved::approve_body(&note.body, &review, asked).map_err(GitlabError::NotApproved)?;
    Ok((approval, mr))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mr(
        iid: u64,
        state: &str,
        sha: &str,
        merge: Option<&str>,
        squash: Option<&str>,
    ) -> MergeRequest {
        MergeRequest {
            iid,
            sha: sha.into(),
            state: state.into(),
            merge_commit_sha: merge.map(str::to_string),
            squash_commit_sha: squash.map(str::to_string),
            web_url: None,
        }
    }

    #[test]
    fn the_merged_request_is_found_by_merge_squash_or_fast_forward_commit() {
        let (h, m, s) = ("h".repeat(40), "m".repeat(40), "s".repeat(40));
        let list = [
            mr(1, "opened", &h, None, None),
            mr(2, "merged", &"x".repeat(40), Some(&m), None),
            mr(3, "merged", &h, Some(&"y".repeat(40)), Some(&s)),
        ];
        assert_eq!(merged_request(&list, &m).unwrap().iid, 2);
        assert_eq!(merged_request(&list, &s).unwrap().iid, 3);
        // The open one has the same head, but was not merged.
        assert!(merged_request(&list, &h).is_err());
        let ff = [mr(4, "merged", &h, None, None)];
        assert_eq!(merged_request(&ff, &h).unwrap().iid, 4);
    }

    #[test]
    fn only_the_authors_plan_note_is_trusted() {
        let body = format!("{PLAN_MARKER}\nx");
        let note = |author: &str, body: &str, system: bool| Note {
            id: 1,
            body: body.into(),
            author: author.into(),
            system,
        };
        let notes = [
            note("mallory", &body, false),
            note("project_1_bot", "hello", false),
            note("project_1_bot", &body, true),
            note("Project_1_Bot", &body, false),
        ];
        assert_eq!(
            trusted_note(&notes, "project_1_bot").unwrap().author,
            "Project_1_Bot"
        );
        assert_eq!(lookalikes(&notes, "project_1_bot").len(), 1);
        assert!(trusted_note(&notes, "someone").is_none());
    }
}
