//! What a merged pull request approved: the pull request that merged a pushed commit, skconn's
//! comment on it (only one written by the bot skconn writes as: a person can post a look-alike),
//! and per environment the digest that comment shows for the pull request's final head.
//!
//! Pure: decides from answers already fetched; refuses every stale or doubtful case with a
//! message that says what to do.

use super::client::{Comment, PullRequest};
use super::error::GithubError;
use super::markers::{self, Markers};
use crate::render::markdown::PLAN_MARKER;
use serde_json::{json, Value};

/// The bot the job's own token (`GITHUB_TOKEN`) writes as.
pub const DEFAULT_AUTHOR: &str = "github-actions[bot]";

/// The pull request whose merge produced `sha`: merged, with `merge_commit_sha == sha` (for a
/// merge commit, a squash and a rebase alike, the commit a merge pushes to the base branch).
pub fn merged_pull<'a>(
    pulls: &'a [PullRequest],
    sha: &str,
) -> Result<&'a PullRequest, GithubError> {
    let merged: Vec<&PullRequest> = pulls
        .iter()
        .filter(|p| p.merged && p.merge_commit_sha.as_deref() == Some(sha))
        .collect();
    match merged.as_slice() {
        [one] => Ok(one),
        [] => {
            let others: Vec<String> = pulls.iter().map(|p| format!("#{}", p.number)).collect();
            let also = if others.is_empty() {
                String::new()
            } else {
                format!(
                    " (GitHub lists {} with this commit, none merged as it)",
                    others.join(", ")
                )
            };
            Err(GithubError::NotApproved(format!(
                "no pull request was merged as commit {sha}{also}: a push that is not a pull request's merge has no reviewed plan, so nothing is approved. \
                 Apply it by running the apply workflow by hand, which shows the plan first."
            )))
        }
        many => Err(GithubError::NotApproved(format!(
            "several pull requests ({}) name commit {sha} as their merge; skconn cannot tell which was reviewed, so nothing is approved",
            many.iter().map(|p| format!("#{}", p.number)).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Whether a comment's first line is `marker`.
fn starts_with_marker(c: &Comment, marker: &str) -> bool {
    c.body.lines().next().map(str::trim_end) == Some(marker)
}

/// Whether a comment starts with skconn's marker.
fn is_plan_comment(c: &Comment) -> bool {
    starts_with_marker(c, PLAN_MARKER)
}

/// The first comment whose first line is `marker` and whose author is the bot `author`
/// (`user.type == "Bot"`).
pub fn bot_comment<'a>(comments: &'a [Comment], author: &str, marker: &str) -> Option<&'a Comment> {
    comments.iter().find(|c| {
        starts_with_marker(c, marker)
            && c.user_type == "Bot"
            && c.login.eq_ignore_ascii_case(author)
    })
}

/// skconn's comment among a pull request's comments: the first whose first line is the plan
/// marker and whose author is the bot `author` (`user.type == "Bot"`).
pub fn trusted_comment<'a>(comments: &'a [Comment], author: &str) -> Option<&'a Comment> {
    bot_comment(comments, author, PLAN_MARKER)
}

/// Comments that carry the marker but are not by `author` the bot: not trusted.
pub fn lookalikes<'a>(comments: &'a [Comment], author: &str) -> Vec<&'a Comment> {
    comments
        .iter()
        .filter(|c| {
            is_plan_comment(c) && !(c.user_type == "Bot" && c.login.eq_ignore_ascii_case(author))
        })
        .collect()
}

/// One approved environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Approved {
    pub env: String,
    pub digest: String,
    /// The digest input, when the comment holds one that hashes to the digest.
    pub input: Option<Value>,
}

/// What the comment approves.
#[derive(Debug, Clone, PartialEq)]
pub struct Approval {
    pub pull_request: u64,
    pub head_sha: String,
    pub run_id: Option<String>,
    pub comment_url: Option<String>,
    pub environments: Vec<Approved>,
}

/// The digests `comment` approves for the environments `asked` (all in the comment when
/// empty), after checking it was planned for `pull`'s final head. Every problem is reported at
/// once.
pub fn approve(
    comment: &Comment,
    pull: &PullRequest,
    asked: &[String],
) -> Result<Approval, GithubError> {
    let review = Review {
        kind: "pull request",
        reference: format!("#{}", pull.number),
        plan_run: "workflow",
        number: pull.number,
        final_head: &pull.head_sha,
        by_hand: "Run the apply workflow by hand, which shows the plan first.",
        url: comment.html_url.clone(),
    };
    approve_body(&comment.body, &review, asked).map_err(GithubError::NotApproved)
}

/// The review a plan comment (or note) belongs to, for [`approve_body`].
#[derive(Debug, Clone)]
pub struct Review<'a> {
    /// `pull request`, `merge request`.
    pub kind: &'a str,
    /// `#7`, `!7`.
    pub reference: String,
    /// What made the plans: `workflow`, `pipeline`.
    pub plan_run: &'a str,
    pub number: u64,
    /// The head commit that was merged.
    pub final_head: &'a str,
    /// How to apply without an approval, for the stale case.
    pub by_hand: &'a str,
    /// The comment's (or note's) web address.
    pub url: Option<String>,
}

/// The digests a skconn plan comment's `body` approves for the environments `asked` (all in it
/// when empty), after checking it was planned for the review's final head: the rule GitHub's
/// comments and GitLab's notes share. Every problem is reported at once, in one message.
pub fn approve_body(body: &str, review: &Review, asked: &[String]) -> Result<Approval, String> {
    let n = &format!("{} {}", review.kind, review.reference);
    let m: Markers = markers::parse(body).unwrap_or_default();
    let Some(head) = &m.head else {
        return Err(format!(
            "skconn's comment on {n} does not say which commit it was planned for; nothing is approved"
        ));
    };
    if head != review.final_head {
        return Err(format!(
            "skconn's comment on {n} was planned for commit {head}, but the {}'s final head is {}: \
             the plan of what was merged was never shown, so nothing is approved. \
             (Was it merged before its plan {} finished? {})",
            review.kind,
            review.final_head,
            review.plan_run,
            review.by_hand
        ));
    }
    let envs: Vec<String> = if asked.is_empty() {
        m.environments()
    } else {
        asked.to_vec()
    };
    if envs.is_empty() {
        return Err(format!(
            "skconn's comment on {n} holds no environment's plan; nothing is approved"
        ));
    }
    let mut problems = Vec::new();
    let mut out = Vec::new();
    let failed_unnamed = m.failed.iter().any(Option::is_none);
    for env in &envs {
        if m.failed.iter().flatten().any(|f| f == env) {
            problems.push(format!("the plan of `{env}` failed"));
            continue;
        }
        if m.refused.contains(env) {
            problems.push(format!("the plan of `{env}` was refused as unsafe"));
            continue;
        }
        if m.no_digest.contains(env) {
            problems.push(format!(
                "the plan of `{env}` has no digest (it was made by a skconn without plan digests)"
            ));
            continue;
        }
        let Some((_, digest)) = m.digests.iter().find(|(e, _)| e == env) else {
            if failed_unnamed {
                problems.push(format!(
                    "a plan failed before naming its environments, and there is no plan of `{env}`"
                ));
            } else {
                let known = m.environments();
                problems.push(format!(
                    "there is no plan digest of `{env}` (the comment holds: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ));
            }
            continue;
        };
        let input = m
            .inputs
            .iter()
            .find(|(e, v)| e == env && markers::input_matches(v, digest))
            .map(|(_, v)| v.clone());
        out.push(Approved {
            env: env.clone(),
            digest: digest.clone(),
            input,
        });
    }
    if asked.is_empty() && failed_unnamed {
        problems.push("a plan failed before naming its environments".into());
    }
    if !problems.is_empty() {
        return Err(format!(
            "skconn's comment on {n} approves nothing for {}: {}",
            envs.iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join(", "),
            problems.join("; ")
        ));
    }
    Ok(Approval {
        pull_request: review.number,
        head_sha: head.clone(),
        run_id: m.run.clone(),
        comment_url: review.url.clone(),
        environments: out,
    })
}

/// The kind and version of the file `github approved --save` writes.
pub const SAVED_KIND: &str = "skconn-approved-plan";
pub const SAVED_FORMAT_VERSION: &str = "1";

/// The document `--save` writes: the approved digests and digest inputs, and where they come
/// from (`apply --approved-plan` reads `environments[].plan_digest` and `.digest_input`, as it
/// reads them from a JSON plan).
pub fn saved_document(a: &Approval, repository: &str, merge_sha: &str) -> Value {
    json!({
        "kind": SAVED_KIND,
        "format_version": SAVED_FORMAT_VERSION,
        "repository": repository,
        "pull_request": a.pull_request,
        "head_sha": a.head_sha,
        "merge_commit_sha": merge_sha,
        "run_id": a.run_id,
        "comment_url": a.comment_url,
        "environments": a.environments.iter().map(|e| json!({
            "name": e.env,
            "plan_digest": e.digest,
            "digest_input": e.input,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::markdown::digest_marker;

    fn pull(n: u64, merged: bool, merge: &str) -> PullRequest {
        PullRequest {
            number: n,
            head_sha: "a".repeat(40),
            head_repo: Some("o/r".into()),
            merged,
            merge_commit_sha: Some(merge.into()),
        }
    }

    fn comment(body: String, login: &str, kind: &str) -> Comment {
        Comment {
            id: 1,
            body,
            login: login.into(),
            user_type: kind.into(),
            html_url: None,
        }
    }

    #[test]
    fn the_merged_pull_request_is_the_one_whose_merge_commit_was_pushed() {
        let m = "m".repeat(40);
        let pulls = [
            pull(1, false, &m),
            pull(2, true, &"x".repeat(40)),
            pull(3, true, &m),
        ];
        assert_eq!(merged_pull(&pulls, &m).unwrap().number, 3);
        assert!(merged_pull(&pulls[..2], &m).is_err());
        assert!(merged_pull(&[], &m).is_err());
    }

    #[test]
    fn only_the_bots_comment_is_trusted() {
        let body = format!("{PLAN_MARKER}\nx");
        let cs = [
            comment(body.clone(), "mallory", "User"),
            comment(body.clone(), "github-actions[bot]", "User"),
            comment("hello".into(), "github-actions[bot]", "Bot"),
            comment(body, "github-actions[bot]", "Bot"),
        ];
        assert_eq!(
            trusted_comment(&cs, DEFAULT_AUTHOR)
                .unwrap()
                .body
                .lines()
                .count(),
            2
        );
        assert_eq!(lookalikes(&cs, DEFAULT_AUTHOR).len(), 2);
        assert!(trusted_comment(&cs, "my-app[bot]").is_none());
    }

    #[test]
    fn digests_for_the_final_head_only() {
        let d = "d".repeat(64);
        let body = format!(
            "{PLAN_MARKER}\n{}\n{}\n{}\n",
            digest_marker("dev", &d),
            markers::failed(Some("prod")),
            markers::head(&"a".repeat(40))
        );
        let c = comment(body, DEFAULT_AUTHOR, "Bot");
        let p = pull(5, true, &"m".repeat(40));
        let a = approve(&c, &p, &["dev".into()]).unwrap();
        assert_eq!(a.environments[0].digest, d);
        assert!(a.environments[0].input.is_none());
        let e = approve(&c, &p, &[]).unwrap_err().to_string();
        assert!(e.contains("the plan of `prod` failed"), "{e}");
        let e = approve(&c, &p, &["eu".into()]).unwrap_err().to_string();
        assert!(
            e.contains("no plan digest of `eu` (the comment holds: dev, prod)"),
            "{e}"
        );
        let mut newer = p.clone();
        newer.head_sha = "b".repeat(40);
        let e = approve(&c, &newer, &["dev".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("final head is bbbb"), "{e}");
    }
}
